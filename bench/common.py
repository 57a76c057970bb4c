"""Shared helpers for the benchmarks (never imported by tests' timing assertions: there are none)."""

from __future__ import annotations

import datetime as dt
import os
import platform
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx

REPO = Path(__file__).resolve().parent.parent
OUT = REPO / "bench" / "out"


def percentile(values: list[float], q: float) -> float:
    if not values:
        return 0.0
    values = sorted(values)
    return round(values[min(len(values) - 1, int(round(q * (len(values) - 1))))], 2)


def machine() -> dict:
    cpu = "unknown"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    mem = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    return {
        "date": dt.date.today().isoformat(),
        "cpu": cpu,
        "cores": os.cpu_count(),
        "memory_gib": round(mem, 1),
        "python": platform.python_version(),
        "platform": platform.platform(),
    }


def gold_questions() -> list[str]:
    import yaml

    return [q["question"] for q in yaml.safe_load((REPO / "eval" / "gold.yaml").read_text())["questions"]]


def dir_size_mb(path: Path) -> float:
    return round(sum(p.stat().st_size for p in path.rglob("*") if p.is_file()) / 2**20, 2)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def save_result(name: str, result: dict) -> None:
    """Write a benchmark's result to bench/out/<name>.json (not committed) and print it."""
    import json

    OUT.mkdir(exist_ok=True)
    (OUT / f"{name}.json").write_text(json.dumps(result, indent=1))
    print(json.dumps(result, indent=1))


class Server:
    """`minutes-qa serve` in a subprocess on a free loopback port (stopped on exit); with
    `workers`, uvicorn's own command with that many worker processes over the same app."""

    def __init__(self, index_dir: Path, workers: int = 0, **env: str) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        environment = dict(os.environ, MINUTES_QA_INDEX_DIR=str(index_dir), **env)
        if workers:
            cmd = [sys.executable, "-m", "uvicorn", "service.api:create_app", "--factory", "--workers", str(workers)]
        else:
            cmd = [shutil.which("minutes-qa", path=str(Path(sys.executable).parent)) or "minutes-qa", "serve"]
        self.proc = subprocess.Popen(
            [*cmd, "--port", str(self.port), "--log-level", "warning"],
            env=environment,
            cwd=REPO,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )

    def __enter__(self) -> Server:
        deadline = time.monotonic() + 180
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError("server exited: " + self.proc.stderr.read().decode()[-2000:])
            try:
                if httpx.get(f"{self.url}/healthz", timeout=2).status_code == 200:
                    return self
            except httpx.HTTPError:
                time.sleep(0.3)
        raise RuntimeError("server did not start")

    def rss_mb(self) -> float:
        """Resident memory of the server: its process and any worker processes."""
        import psutil

        root = psutil.Process(self.proc.pid)
        return round(sum(p.memory_info().rss for p in [root, *root.children(recursive=True)]) / 2**20, 1)

    def __exit__(self, *exc) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.proc.kill()
