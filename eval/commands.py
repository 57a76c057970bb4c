"""The evaluation subcommands of `minutes-qa`: eval, train, train-encoder.

They live here, beside the code they run, because the service never imports `eval/` (the
evaluation uses the service, not the other way round). `register` adds them to the service's
parser; the `minutes-qa` console script (`eval/cli.py`) passes it to `service.cli.main`.
"""

from __future__ import annotations

import argparse
from typing import NoReturn

from service.settings import Settings


def cmd_train(args: argparse.Namespace, settings: Settings) -> NoReturn:
    from eval.train import main as train_main

    raise SystemExit(train_main(args, settings))


def cmd_train_encoder(args: argparse.Namespace, settings: Settings) -> NoReturn:
    from eval.train import main_encoder

    raise SystemExit(main_encoder(args, settings))


def cmd_eval(args: argparse.Namespace, settings: Settings) -> NoReturn:
    from eval.runner import main as eval_main

    raise SystemExit(eval_main(args, settings))


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    e = sub.add_parser("eval", help="run the gold question set and report accuracy")
    e.add_argument("--gold", default=None, help="gold set (default eval/gold.yaml)")
    e.add_argument("--url", help="run against a live server instead of in-process")
    e.add_argument("--json", action="store_true", help="print the metrics as one JSON object")
    e.add_argument(
        "--split",
        choices=["test", "train", "all"],
        default="test",
        help="which side of the frozen split to score (default test; the report shows train too)",
    )
    e.add_argument("--compare", action="store_true", help="also run the ablations (each component removed)")
    e.add_argument("--report", default="-", help="write a markdown report here (make eval writes eval/REPORT.md)")
    e.add_argument("--validate", action="store_true", help="only check the gold set against the corpus")
    e.add_argument(
        "--assign-split", action="store_true", help="give new gold items a side of the split (never moves old ones)"
    )
    e.set_defaults(func=cmd_eval)

    t = sub.add_parser("train", help="fit the answer scorer on the gold set's train split")
    t.add_argument(
        "--no-cross-fit",
        action="store_true",
        help="use the service's encoder for every train question (faster; optimistic)",
    )
    t.set_defaults(func=cmd_train)

    te = sub.add_parser(
        "train-encoder", help="build the fine-tuned encoder from its recipe (service/data/encoder.json)"
    )
    te.add_argument("--refit", action="store_true", help="write a new recipe from the current gold train split")
    te.add_argument(
        "--genre-pairs",
        choices=("on", "off"),
        help="with --refit: train on the genre examples too (indexer/data/genre_pairs.jsonl); "
        "default: as the committed recipe",
    )
    te.add_argument(
        "--recipe",
        default="{}",
        help="with --refit: recipe fields to change, as JSON — the variant bench/train_cv.py measured "
        '(e.g. \'{"sentence_pairs": true, "mask_same_question": true}\')',
    )
    te.set_defaults(func=cmd_train_encoder)
