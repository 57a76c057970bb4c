"""Scale corpora whose texts and vectors are distinct, for honest recall and cost figures.

A corpus at factor F holds the five real papers plus 5·(F − 1) synthetic ones, so the real
questions still have their answers and everything else is a distractor. A synthetic paper has as
many passages as a real paper has on average (sentence rows per passage drawn from the real
distribution). Its text is made of *spliced sentences*: the first half of one real sentence's
words followed by the second half of another's, both drawn from any of the real papers. Every
spliced sentence and every passage is therefore a new text, never a copy.

Vectors:
- `embed=True` (the 10× corpus): every synthetic passage and sentence is embedded by the real
  model, exactly as `minutes-qa index` would.
- otherwise (100×, 1000×: 2.4M texts would take this machine days): a text's vector is *drawn*
  around an anchor: a spliced sentence's is the mean of its two source sentences' real vectors; a
  passage's is a random real passage's vector (a mean of several random sentences is already
  farther from everything than real passages are from each other, so it could not be calibrated).
  Gaussian noise shaped like the real vectors' covariance, scaled by σ, is added and the result
  normalised. σ is calibrated (bisection) so that a drawn set the size of the real one has the
  real corpus's median nearest-neighbour cosine; the 10th/50th/90th percentiles of both are
  reported (`calibration` in the result), so neighbours are as far apart as real ones are, not the
  near-duplicates the earlier noised copies were. Texts and vectors do not correspond at these
  factors: they measure cost and recall, not answers.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from dataclasses import dataclass, field

import numpy as np

from indexer.models import Chunk, DocumentMeta, ParsedDocument, Section, Unit
from service.index import LoadedIndex


@dataclass
class Sources:
    """Real sentence rows each synthetic text was made from (to draw its vector)."""

    chunk_sources: list[list[int]] = field(default_factory=list)  # per synthetic chunk
    sentence_sources: list[tuple[int, int]] = field(default_factory=list)  # per synthetic sentence


def real_documents(ix: LoadedIndex) -> list[ParsedDocument]:
    """The index's own papers as the build's records (doc-local chunk numbers), in index order."""
    docs = []
    rows_by_chunk = ix.chunk_sentences
    base = 0
    for doc_id in ix.doc_order:
        d = ix.documents[doc_id]
        n = int((np.asarray(ix.chunk_doc) == ix.doc_order.index(doc_id)).sum())
        chunks = [ix.chunks[base + i] for i in range(n)]
        sentences = [
            (ci, int(ix.sentence_spans[r][1]), int(ix.sentence_spans[r][2]))
            for ci in range(n)
            for r in rows_by_chunk[base + ci]
        ]
        units = [Unit(**{**u.__dict__, "chunks": [c - base for c in u.chunks]}) for u in ix.units if u.doc_id == doc_id]
        docs.append(ParsedDocument(d.meta, d.text, list(d.sections), chunks, sentences, units, list(d.pages)))
        base += n
    return docs


def synthetic_documents(ix: LoadedIndex, count: int, seed: int = 7) -> tuple[list[ParsedDocument], Sources]:
    docs: list[ParsedDocument] = []
    sources = Sources()
    for batch, batch_sources in synthetic_batches(ix, count, count, seed):
        docs += batch
        sources.chunk_sources += batch_sources.chunk_sources
        sources.sentence_sources += batch_sources.sentence_sources
    return docs, sources


def synthetic_batches(
    ix: LoadedIndex, count: int, batch: int, seed: int = 7
) -> Iterator[tuple[list[ParsedDocument], Sources]]:
    """`count` synthetic papers, `batch` at a time (the same papers whatever the batch size), so a
    streamed build never holds them all."""
    rng = np.random.default_rng(seed)
    texts = [ix.documents[ix.chunks[int(c)].doc_id].text[s:e] for c, s, e in ix.sentence_spans.tolist()]
    words = [t.split() for t in texts]
    per_chunk = np.array([len(r) for r in ix.chunk_sentences])
    passages_per_doc = max(1, len(ix.chunks) // len(ix.doc_order))
    metas = [ix.documents[d].meta for d in ix.doc_order]
    sources = Sources()
    docs = []
    for j in range(count):
        base_meta = metas[j % len(metas)]
        date = base_meta.meeting_date
        if date:
            date = (dt.date.fromisoformat(date) - dt.timedelta(days=int(rng.integers(1, 5000)))).isoformat()
        doc_id = f"synthetic-{j:05d}"
        meta = DocumentMeta(
            id=doc_id,
            file=f"{doc_id}.txt",
            title=f"{base_meta.title} (synthetic {j})",
            council=base_meta.council,
            body=base_meta.body,
            meeting_date=date,
            doc_type=base_meta.doc_type,
        )
        parts: list[str] = []
        offset = 0
        chunks: list[Chunk] = []
        sentences: list[tuple[int, int, int]] = []
        for ci, k in enumerate(rng.choice(per_chunk, passages_per_doc)):
            made = []
            for a, b in rng.integers(0, len(texts), (max(1, int(k)), 2)):
                wa, wb = words[a], words[b]
                made.append((" ".join(wa[: max(1, len(wa) // 2)] + wb[len(wb) // 2 :]), int(a), int(b)))
            passage = " ".join(m[0] for m in made)
            at = offset
            for sentence, a, b in made:
                if int(k):  # a passage drawn with no sentence rows (a table row) still has text
                    sentences.append((ci, at, at + len(sentence)))
                    sources.sentence_sources.append((a, b))
                at += len(sentence) + 1
            chunks.append(Chunk(doc_id, "text", offset, offset + len(passage), None, None, passage))
            sources.chunk_sources.append([r for m in made for r in m[1:]])
            parts.append(passage)
            offset += len(passage) + 2  # "\n\n" between passages
        text = "\n\n".join(parts)
        section = Section(meta.title, None, 1, 0, len(text))
        docs.append(ParsedDocument(meta, text, [section], chunks, sentences))
        if len(docs) == batch or j == count - 1:
            yield docs, sources
            docs, sources = [], Sources()


def _nn_cosines(v: np.ndarray) -> np.ndarray:
    gram = v @ v.T
    np.fill_diagonal(gram, -np.inf)
    return gram.max(axis=1)


def _draw(means: np.ndarray, sigma: float, basis: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    noisy = means + sigma * (rng.standard_normal((len(means), basis.shape[0])).astype(np.float32) @ basis)
    return (noisy / np.linalg.norm(noisy, axis=1, keepdims=True)).astype(np.float32)


def calibrate(real: np.ndarray, sample_means: np.ndarray, basis: np.ndarray, seed: int = 11) -> tuple[float, dict]:
    """σ whose drawn set (as large as `real`) has the real set's median nearest-neighbour cosine."""
    target = _nn_cosines(real)
    lo, hi = 0.0, 8.0
    for _ in range(18):
        sigma = (lo + hi) / 2
        got = _nn_cosines(_draw(sample_means, sigma, basis, np.random.default_rng(seed)))
        lo, hi = (sigma, hi) if np.median(got) > np.median(target) else (lo, sigma)
    got = _nn_cosines(_draw(sample_means, sigma, basis, np.random.default_rng(seed)))
    q = [10, 50, 90]
    report = {
        "sigma": round(sigma, 4),
        "real_nn_cosine_p10_p50_p90": np.percentile(target, q).round(3).tolist(),
        "drawn_nn_cosine_p10_p50_p90": np.percentile(got, q).round(3).tolist(),
    }
    return sigma, report


class VectorDrawer:
    """Draws vectors for texts made from real sentences (`sources`: rows per text, their vectors
    in `real_sentence_vectors`), σ calibrated once against `real` (the real vectors of that kind)
    on a sample of `calibration_sources`; `draw` then makes any number of batches."""

    def __init__(self, real_sentence_vectors: np.ndarray, real: np.ndarray, calibration_sources, seed: int = 3):
        self._rng = np.random.default_rng(seed)
        self._vectors = real_sentence_vectors
        centred = real - real.mean(axis=0)
        # noise with the real vectors' covariance: z @ basis, basis = sqrt(eigenvalues) · eigenvectors
        _, s, vt = np.linalg.svd(centred, full_matrices=False)
        self._basis = ((s / np.sqrt(len(real)))[:, None] * vt).astype(np.float32)
        sample = self._rng.choice(len(calibration_sources), min(len(calibration_sources), len(real)), replace=False)
        sample_means = np.stack([real_sentence_vectors[list(calibration_sources[i])].mean(axis=0) for i in sample])
        self.sigma, self.report = calibrate(real, sample_means.astype(np.float32), self._basis)

    def draw(self, sources) -> np.ndarray:
        lengths = np.array([len(x) for x in sources])
        flat = np.fromiter((r for x in sources for r in x), dtype=np.int64, count=int(lengths.sum()))
        starts = np.concatenate([[0], np.cumsum(lengths)[:-1]])
        out = np.empty((len(sources), self._basis.shape[1]), dtype=np.float32)
        for lo in range(0, len(sources), 200_000):
            hi = min(len(sources), lo + 200_000)
            a, b = starts[lo], starts[hi - 1] + lengths[hi - 1]
            sums = np.add.reduceat(self._vectors[flat[a:b]], starts[lo:hi] - a, axis=0)
            means = (sums / lengths[lo:hi, None]).astype(np.float32)
            out[lo:hi] = _draw(means, self.sigma, self._basis, self._rng)
        return out


def drawn_vectors(
    real_sentence_vectors: np.ndarray, real: np.ndarray, sources, seed: int = 3
) -> tuple[np.ndarray, dict]:
    """Vectors for all of `sources` at once (the drawer calibrated on them)."""
    drawer = VectorDrawer(real_sentence_vectors, real, sources, seed)
    return drawer.draw(sources), drawer.report
