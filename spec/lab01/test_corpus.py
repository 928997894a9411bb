"""Lab 01 — the corpus: where it comes from, that it is the right file, how it is split."""

import hashlib
import os

import pytest

from rnnlab.data import CorpusError, read_text, split_text
from rnnlab.data import text as text_mod

pytestmark = [pytest.mark.lab01, pytest.mark.lab01_corpus]


def test_split_is_contiguous_ninety_ten(tiny_text):
    train, val = split_text(tiny_text)
    assert train + val == tiny_text, "the split must be contiguous: train followed by validation is the corpus"
    assert len(train) == int(len(tiny_text) * 0.9), (
        f"train should be the first int(0.9 * {len(tiny_text)}) = {int(len(tiny_text) * 0.9)} characters "
        f"(nanoGPT's convention), got {len(train)}"
    )


def test_tiny_shakespeare_split_sizes():
    if not os.environ.get(text_mod.ENV_VAR) and not text_mod.cache_path().is_file():
        pytest.skip(f"Tiny Shakespeare is not available locally (set ${text_mod.ENV_VAR}); specs never download")
    text = text_mod.load_tiny_shakespeare()
    train, val = split_text(text)
    assert (len(text), len(set(text))) == (1_115_394, 65), "Tiny Shakespeare has 1,115,394 characters, 65 distinct"
    assert (len(train), len(val)) == (1_003_854, 111_540), (
        f"expected the 1,003,854 / 111,540 split, got {len(train):,} / {len(val):,}"
    )


def test_env_var_pointing_at_the_wrong_file_is_a_checksum_error(monkeypatch, fixtures_dir):
    monkeypatch.setenv(text_mod.ENV_VAR, str(fixtures_dir / "tiny_corpus.txt"))
    with pytest.raises(CorpusError, match="sha256 mismatch") as info:
        text_mod.tiny_shakespeare_path()
    assert text_mod.TINY_SHAKESPEARE_SHA256 in str(info.value), "the error should show the expected checksum"


def test_env_var_pointing_nowhere_says_so(monkeypatch, tmp_path):
    monkeypatch.setenv(text_mod.ENV_VAR, str(tmp_path / "missing.txt"))
    with pytest.raises(CorpusError, match="does not exist"):
        text_mod.tiny_shakespeare_path()


def test_download_verifies_before_writing(tmp_path, fixtures_dir):
    """The real download code, over a file:// URL (specs never touch the network)."""
    source = fixtures_dir / "tiny_corpus.txt"
    url = source.as_uri()
    dest = tmp_path / "cache" / "input.txt"
    with pytest.raises(CorpusError, match="sha256 mismatch"):
        text_mod.download(url, dest, expected_sha256="0" * 64)
    assert not dest.exists(), "a file that failed its checksum must not be left in the cache"
    leftovers = list(dest.parent.glob("*")) if dest.parent.exists() else []
    assert leftovers == [], f"no partial files may be left behind, found {leftovers}"
    good = hashlib.sha256(source.read_bytes()).hexdigest()
    assert text_mod.download(url, dest, expected_sha256=good) == dest
    assert dest.read_bytes() == source.read_bytes()


def test_unreachable_address_gives_advice(tmp_path):
    with pytest.raises(CorpusError, match=text_mod.ENV_VAR):
        text_mod.download((tmp_path / "nowhere.txt").as_uri(), tmp_path / "x.txt", "0" * 64)


def test_the_cache_is_used_and_verified(monkeypatch, tmp_path):
    monkeypatch.delenv(text_mod.ENV_VAR, raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    cached = text_mod.cache_path()
    assert cached.is_relative_to(tmp_path)
    cached.parent.mkdir(parents=True)
    cached.write_text("not shakespeare")
    with pytest.raises(CorpusError, match="sha256 mismatch"):
        text_mod.tiny_shakespeare_path()


@pytest.mark.parametrize(
    "content, message",
    [(b"", "empty"), (b"\xff\xfe\x00bad", "not UTF-8"), (b"abc\x00def", "NUL")],
    ids=["empty", "non-utf8", "binary"],
)
def test_unusable_corpus_files_are_refused(tmp_path, content, message):
    path = tmp_path / "corpus.txt"
    path.write_bytes(content)
    with pytest.raises(CorpusError, match=message):
        read_text(path)
