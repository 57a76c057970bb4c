"""Start-up and idle memory of `minutes-qa serve` for each encoder backend.

For each backend, three times: start the server on a free port, time until the first `/ask`
answer arrives (process start → answer), then read the process's RSS. Prints one JSON object.
The ONNX backend serves without importing torch or transformers; the export it needs is made
once beforehand (by `make index`), so it is not part of the time measured here.

    .venv/bin/python bench/startup.py
"""

from __future__ import annotations

import json
import statistics
import sys
import time
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.common import REPO, Server, machine  # noqa: E402

QUESTION = "Who chaired the meeting?"


def first_answer(backend: str) -> tuple[float, float]:
    started = time.monotonic()
    with Server(REPO / "index", MINUTES_QA_ENCODER_BACKEND=backend) as server:
        r = httpx.post(f"{server.url}/ask", json={"question": QUESTION}, timeout=60)
        r.raise_for_status()
        seconds = time.monotonic() - started
        return seconds, server.rss_mb()


def main() -> None:
    out: dict = {"machine": machine()}
    for backend in ("onnx", "torch"):
        runs = [first_answer(backend) for _ in range(3)]
        out[backend] = {
            "first_answer_s_median": round(statistics.median(s for s, _ in runs), 2),
            "rss_after_first_answer_mb_median": round(statistics.median(m for _, m in runs), 1),
            "runs": [[round(s, 2), m] for s, m in runs],
        }
    print(json.dumps(out, indent=1))


if __name__ == "__main__":
    main()
