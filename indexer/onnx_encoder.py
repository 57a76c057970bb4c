"""The encoder run by ONNX Runtime: the same vectors as PyTorch, about three times faster per question.

A question's embedding was ~60% of an answer's time with PyTorch (29 of 46 ms in-process). The
model is small (MiniLM-L6, 22M parameters), so most of that was framework overhead; ONNX Runtime
with its graph optimisations runs the same network in a fraction of it.

The ONNX graph is exported here, locally, from the encoder's own weights (no hub): the transformer,
then mean pooling over the attention mask and L2 normalisation — exactly what sentence-transformers
does for all-MiniLM-L6-v2 — so the graph returns finished vectors. It is written atomically under
`models/onnx/<encoder>/` and rebuilt when missing or when its source weights change. Equality with
PyTorch is a contract, not a hope: `tests/indexer/test_onnx_encoder.py` checks cosine ≥ 0.9999 for
every corpus text and gold question, and every export stores the PyTorch vectors of a few probe
texts, which `OnnxEmbedder` re-encodes whenever it loads, refusing a graph that no longer gives them.
"""

from __future__ import annotations

import hashlib
import json
import shutil
import tempfile
import warnings
from pathlib import Path

import numpy as np

ONNX_FILE = "model.onnx"
STAMP_FILE = "export.json"
OPSET = 17
EXPORT_FORMAT = 3  # bump when what an export folder holds changes: older exports are redone
MIN_COSINE = 0.9999  # ONNX vs PyTorch vectors of the same text (float rounding only)


# Texts of the genre whose PyTorch vectors are stored with each export: the exported graph must
# give the same vectors for them (checked after export, and again every time it is loaded).
PROBES = (
    "Who chaired the meeting?",
    "RESOLVED that the recommendations set out in the report be approved.",
    "Apologies for absence were received from Councillor Smith.",
    "Is the new company going to cost us anything to set up?",
    "The estimated one-off implementation costs are £1.2 million over two years.",
    "Strategic Partnership\t1385\t64%\t3",
    "x",
    "Members asked about the impact on staff, including any redundancies and the timescales. " * 8,
)


class EncoderMismatch(ValueError):
    """The ONNX encoder's vectors are not the PyTorch encoder's."""


def onnx_dir(name: str) -> Path:
    from indexer.finetune import MODELS_DIR

    safe = "".join(ch if ch.isalnum() or ch in "-_." else "_" for ch in name)
    return MODELS_DIR / "onnx" / safe


def _weights_hash(folder: Path) -> str:
    """What the export was made from: the source folder's weights files by name, size and change
    time (a rewritten file is re-exported). Reading the 90 MB to hash its bytes would add half a
    second to every start-up; the probe vectors checked at load are the check on content."""
    digest = hashlib.sha256()
    for weights in sorted(folder.glob("*.safetensors")) + sorted(folder.glob("pytorch_model.bin")):
        info = weights.stat()
        digest.update(f"{weights.name}\0{info.st_size}\0{info.st_mtime_ns}\n".encode())
    return digest.hexdigest()


def export(name: str, source: Path) -> Path:
    """Export the SentenceTransformer folder `source` (transformer + mean pooling + normalise) to
    ONNX under `onnx_dir(name)`, unless an export of the same weights is already there."""
    target = onnx_dir(name)
    source_hash = _weights_hash(source)
    stamp = target / STAMP_FILE
    if all((target / f).exists() for f in (ONNX_FILE, STAMP_FILE, "probe.npy")):
        done = json.loads(stamp.read_text(encoding="utf-8"))
        if done.get("source_sha256") == source_hash and done.get("format") == EXPORT_FORMAT:
            return target
    import torch
    from sentence_transformers import SentenceTransformer

    # Eager attention: the SDPA path branches in Python on the mask, which a trace would freeze.
    model = SentenceTransformer(str(source), device="cpu", model_kwargs={"attn_implementation": "eager"})
    transformer: torch.nn.Module = model[0].auto_model  # type: ignore[assignment]  # a BertModel, typed loosely
    transformer.eval()

    class Encoder(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.transformer = transformer

        def forward(self, input_ids, attention_mask, token_type_ids):
            hidden = self.transformer(
                input_ids=input_ids, attention_mask=attention_mask, token_type_ids=token_type_ids
            ).last_hidden_state
            mask = attention_mask.unsqueeze(-1).to(hidden.dtype)
            pooled = (hidden * mask).sum(1) / mask.sum(1).clamp(min=1e-9)
            return torch.nn.functional.normalize(pooled, dim=-1)

    # A padded batch, so the traced graph is the one that masks padding.
    sample = model.tokenizer(
        ["a council question", "who chaired the meeting of the panel?"], padding=True, return_tensors="pt"
    )
    tokens = {0: "batch", 1: "tokens"}
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=".tmp-", dir=target.parent))
    try:
        with torch.no_grad(), warnings.catch_warnings():
            warnings.simplefilter("ignore")  # tracer notes about Python-side shape checks; parity is checked below
            torch.onnx.export(
                Encoder().eval(),
                (sample["input_ids"], sample["attention_mask"], sample["token_type_ids"]),
                str(tmp / ONNX_FILE),
                input_names=["input_ids", "attention_mask", "token_type_ids"],
                output_names=["embedding"],
                dynamic_axes={
                    "input_ids": tokens,
                    "attention_mask": tokens,
                    "token_type_ids": tokens,
                    "embedding": {0: "batch"},
                },
                opset_version=OPSET,
                dynamo=False,  # the TorchScript exporter: no onnxscript needed, a stable graph for BERT
            )
        model.tokenizer.save_pretrained(str(tmp / "tokenizer"))
        np.save(tmp / "probe.npy", model.encode(list(PROBES), normalize_embeddings=True, convert_to_numpy=True))
        (tmp / STAMP_FILE).write_text(
            json.dumps(
                {
                    "format": EXPORT_FORMAT,
                    "model": name,
                    "source_sha256": source_hash,
                    "max_tokens": int(model.max_seq_length or 256),
                    "opset": OPSET,
                    "torch": torch.__version__,
                },
                indent=1,
            ),
            encoding="utf-8",
        )
        OnnxEmbedder(name, tmp)  # refuses an export whose vectors differ from PyTorch's
        if target.exists():
            shutil.rmtree(target)
        tmp.rename(target)
    finally:
        if tmp.exists():
            shutil.rmtree(tmp)
    return target


class OnnxEmbedder:
    """The Embedder protocol (indexer.embed) over an exported graph: same name, tokenizer, window
    and vectors as the PyTorch encoder it was exported from."""

    dimension = 384

    def __init__(self, name: str, folder: Path, threads: int = 1, batch_size: int = 64) -> None:
        import onnxruntime as ort  # type: ignore[import-untyped]  # ships no type information
        from tokenizers import Tokenizer

        stamp = json.loads((folder / STAMP_FILE).read_text(encoding="utf-8"))
        self.model_name = name
        self.max_tokens = int(stamp["max_tokens"])
        self.batch_size = batch_size
        # The fast tokenizer's own file, read by the `tokenizers` library alone: serving needs
        # neither transformers nor torch (less memory, quicker start). One instance counts tokens
        # (no truncation), the other makes padded, truncated batches — settings are per instance.
        tokenizer_file = str(folder / "tokenizer" / "tokenizer.json")
        self._counter = Tokenizer.from_file(tokenizer_file)
        self._counter.no_truncation()
        self._counter.no_padding()
        self._batcher = Tokenizer.from_file(tokenizer_file)
        self._batcher.enable_truncation(self.max_tokens)
        self._batcher.enable_padding()  # pads to the longest text of the batch, with the model's [PAD]
        options = ort.SessionOptions()
        options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        # One thread per call: two concurrent questions use the two cores (the same policy as
        # the PyTorch encoder's torch_threads).
        options.intra_op_num_threads = threads
        options.inter_op_num_threads = 1
        self._session = ort.InferenceSession(str(folder / ONNX_FILE), options, providers=["CPUExecutionProvider"])
        self.folder = folder
        self._check_probes()

    def encode(self, texts: list[str]) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dimension), dtype=np.float32)
        # Similar lengths batched together pad less; the order is restored at the end.
        order = sorted(range(len(texts)), key=lambda i: len(texts[i]))
        out = np.zeros((len(texts), self.dimension), dtype=np.float32)
        for i in range(0, len(order), self.batch_size):
            rows = order[i : i + self.batch_size]
            encodings = self._batcher.encode_batch([texts[j] for j in rows])
            feeds = {
                "input_ids": np.array([e.ids for e in encodings], dtype=np.int64),
                "attention_mask": np.array([e.attention_mask for e in encodings], dtype=np.int64),
                "token_type_ids": np.array([e.type_ids for e in encodings], dtype=np.int64),
            }
            out[rows] = self._session.run(None, feeds)[0]
        return np.ascontiguousarray(out, dtype=np.float32)

    def count_tokens(self, text: str) -> int:
        return len(self._counter.encode(text).ids)

    def _check_probes(self) -> None:
        """Raise EncoderMismatch, naming the fix, when this graph no longer gives the PyTorch vectors
        stored with the export."""
        expected = np.load(self.folder / "probe.npy")
        lowest = float(np.min(np.sum(self.encode(list(PROBES)) * expected, axis=1)))
        if lowest < MIN_COSINE:
            raise EncoderMismatch(
                f"the ONNX encoder's vectors differ from the PyTorch encoder's (lowest cosine {lowest:.6f} < "
                f"{MIN_COSINE}); delete {self.folder} to re-export it, or set MINUTES_QA_ENCODER_BACKEND=torch"
            )
