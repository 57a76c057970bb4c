"""What the fetcher keeps on disk: papers, `manifest.yaml` entries, and the hidden state and cache.

Every write goes to a hidden temporary file in the same folder and is then renamed over the target
(`os.replace` is atomic on one file system), so an interrupted run leaves either the old file or
the new one, never half of one; a leftover temporary file is hidden, which the corpus loader skips.

`manifest.yaml` is edited with ruamel.yaml's round-trip mode so that comments, key order, quoting
and hand-written entries survive; entries are only ever added or updated, never removed.

`.moderngov-state.json` holds, per URL, the validators (ETag, Last-Modified), the sha256 and the
file name of what was last fetched, so a re-run can send conditional requests and resume.
`.moderngov-cache/` holds the last XML answer of each web-service call, needed when the service
answers 304 to a call whose answer (the list of meetings, a meeting's agenda) drives the rest.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
from pathlib import Path
from typing import Any

from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap, CommentedSeq
from ruamel.yaml.error import YAMLError
from ruamel.yaml.representer import RoundTripRepresenter

STATE_FILE = ".moderngov-state.json"
CACHE_DIR = ".moderngov-cache"
STATE_VERSION = 1
MANIFEST_HEADER = "Papers in this folder. `minutes-qa fetch moderngov` entries say in notes where values came from."


class StoreError(Exception):
    """The corpus folder cannot be used as it is (unreadable manifest, not a folder); nothing was changed."""


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _mode_for(path: Path) -> int:
    """The replaced file's permissions, or what a plain open() would give (mkstemp's are owner-only)."""
    try:
        return path.stat().st_mode & 0o777
    except OSError:
        mask = os.umask(0)
        os.umask(mask)
        return 0o666 & ~mask


def atomic_write(path: Path, data: bytes) -> None:
    """Write `data` to `path` via a hidden temporary file and a rename: all or nothing."""
    mode = _mode_for(path)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".part")
    try:
        os.fchmod(fd, mode)
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


class State:
    """Per-URL validators and results of earlier runs (a cache: checked against the files before use)."""

    def __init__(self, corpus: Path) -> None:
        self.path = corpus / STATE_FILE
        self.cache = corpus / CACHE_DIR
        self.urls: dict[str, dict[str, Any]] = {}
        self.html_minutes: dict[str, list[str]] = {}  # committee id -> ISO dates whose minutes we hold as HTML
        self.dirty = False  # saved only when something changed, so a run that fails at once writes nothing
        try:
            data = json.loads(self.path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return
        except (OSError, ValueError):
            return  # unreadable state costs a full re-download, never a lost paper
        if isinstance(data, dict) and data.get("version") == STATE_VERSION:
            self.urls = dict(data.get("urls") or {})
            self.html_minutes = {str(k): list(v) for k, v in (data.get("html_minutes") or {}).items()}

    def get(self, url: str) -> dict[str, Any]:
        return self.urls.get(url, {})

    def put(self, url: str, **values: Any) -> None:
        entry = self.urls.setdefault(url, {})
        if any(entry.get(k) != v for k, v in values.items()):
            entry.update(values)
            self.dirty = True

    def cached_body(self, url: str) -> bytes | None:
        name = self.get(url).get("cache")
        try:
            return (self.cache / name).read_bytes() if name else None
        except OSError:
            return None

    def cache_body(self, url: str, body: bytes) -> None:
        self.cache.mkdir(exist_ok=True)
        name = hashlib.sha256(url.encode()).hexdigest()[:32] + ".xml"
        atomic_write(self.cache / name, body)
        self.put(url, cache=name)

    def save(self) -> None:
        data = {"version": STATE_VERSION, "urls": self.urls, "html_minutes": self.html_minutes}
        atomic_write(self.path, json.dumps(data, indent=1, sort_keys=True).encode("utf-8"))
        self.dirty = False


def _represent_none(representer: RoundTripRepresenter, _: None) -> Any:
    return representer.represent_scalar("tag:yaml.org,2002:null", "null")  # `null`, as the manifest writes it


class Manifest:
    """`manifest.yaml`, round-trip: existing comments and entries are kept as they are."""

    def __init__(self, corpus: Path) -> None:
        self.path = corpus / "manifest.yaml"
        self._yaml = YAML(typ="rt")
        self._yaml.preserve_quotes = True
        self._yaml.width = 4096  # never re-wrap a long hand-written line
        self._yaml.indent(mapping=2, sequence=4, offset=2)
        self._yaml.representer.add_representer(type(None), _represent_none)
        if not self.path.exists():
            self.data = CommentedMap()
            self.data.yaml_set_start_comment(MANIFEST_HEADER)
            self.data["documents"] = CommentedSeq()
            return
        try:
            loaded = self._yaml.load(self.path.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, YAMLError) as exc:
            raise StoreError(f"{self.path} cannot be read as YAML ({type(exc).__name__}); fix it first") from None
        if loaded is None:
            loaded = CommentedMap()
        if not isinstance(loaded, CommentedMap):
            raise StoreError(f"{self.path} is not a mapping with a 'documents' list; fix it first")
        if loaded.get("documents") is None:
            loaded["documents"] = CommentedSeq()
        if not isinstance(loaded["documents"], list):
            raise StoreError(f"{self.path}: 'documents' is not a list; fix it first")
        self.data = loaded

    @property
    def entries(self) -> list[Any]:
        return list(self.data["documents"])

    def find(self, key: str, value: str) -> dict[str, Any] | None:
        """The first entry whose `key` ('file', 'id', 'source_url') is `value`, or None."""
        for entry in self.data["documents"]:
            if isinstance(entry, dict) and entry.get(key) == value:
                return entry
        return None

    def taken(self) -> tuple[set[str], set[str]]:
        """(ids, files) already used by entries, so new names never collide with hand-written ones."""
        ids = {str(e.get("id")) for e in self.data["documents"] if isinstance(e, dict)}
        files = {str(e.get("file")) for e in self.data["documents"] if isinstance(e, dict)}
        return ids, files

    def add(self, entry: dict[str, Any]) -> None:
        self.data["documents"].append(CommentedMap(entry))

    def save(self) -> None:
        from io import StringIO

        out = StringIO()
        self._yaml.dump(self.data, out)
        atomic_write(self.path, out.getvalue().encode("utf-8"))
