"""Tiny Shakespeare: fetching, verifying, splitting, and a character vocabulary.

Where the corpus comes from, in order:
1. ``$RNNLAB_TINY_SHAKESPEARE`` naming a local copy (CI points it at a verified copy);
2. the user's cache, ``$XDG_CACHE_HOME/rnnlab/tinyshakespeare/input.txt``
   (default ``~/.cache/...``);
3. a download from karpathy/char-rnn's canonical address, written to the cache.

Whatever the source, the bytes are checked against the published sha256 before use.
"""

from __future__ import annotations

import hashlib
import os
import urllib.error
import urllib.request
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

import torch

from rnnlab.errors import ConfigError, RnnlabError
from rnnlab.files import atomic_write

TINY_SHAKESPEARE_URL = "https://raw.githubusercontent.com/karpathy/char-rnn/master/data/tinyshakespeare/input.txt"
TINY_SHAKESPEARE_SHA256 = "86c4e6aa9db7c042ec79f339dcb96d42b0075e16b8fc2e86bf0ca57e2dc565ed"
ENV_VAR = "RNNLAB_TINY_SHAKESPEARE"
TRAIN_FRACTION = 0.9


class CorpusError(RnnlabError, RuntimeError):
    """The corpus is missing, corrupt or unusable; the message says how to fix it."""


def sha256_of(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def cache_path() -> Path:
    root = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    return root / "rnnlab" / "tinyshakespeare" / "input.txt"


def _verified(data: bytes, source: str, expected_sha256: str) -> bytes:
    got = sha256_of(data)
    if got != expected_sha256:
        raise CorpusError(
            f"{source}: sha256 mismatch (expected {expected_sha256}, got {got}). "
            "The file is not the published Tiny Shakespeare; delete it and let rnnlab "
            f"download it again, or point ${ENV_VAR} at a verified copy."
        )
    return data


def download(url: str, dest: Path, expected_sha256: str, timeout: float = 60.0) -> Path:
    """Fetch ``url``, verify it, and only then move it into ``dest`` (atomically)."""
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response:
            data = response.read()
    except (urllib.error.URLError, OSError) as exc:
        raise CorpusError(
            f"could not download Tiny Shakespeare from {url} ({exc}). Without network access, "
            f"download input.txt elsewhere and set ${ENV_VAR}=/path/to/input.txt."
        ) from exc
    _verified(data, url, expected_sha256)
    dest.parent.mkdir(parents=True, exist_ok=True)
    return atomic_write(dest, data)


def tiny_shakespeare_path(url: str = TINY_SHAKESPEARE_URL) -> Path:
    """Return the path of a verified local copy, downloading it into the cache if need be."""
    override = os.environ.get(ENV_VAR)
    if override:
        path = Path(override).expanduser()
        problem = _not_a_file(path)
        if problem:
            raise CorpusError(
                f"${ENV_VAR} points at {path}, which {problem}. Point it at Tiny Shakespeare's input.txt, or unset "
                "the variable to let rnnlab download the corpus into its cache."
            )
        _verified(path.read_bytes(), str(path), TINY_SHAKESPEARE_SHA256)
        return path
    cached = cache_path()
    if cached.is_file():
        _verified(cached.read_bytes(), str(cached), TINY_SHAKESPEARE_SHA256)
        return cached
    return download(url, cached, TINY_SHAKESPEARE_SHA256)


def read_text(path: str | os.PathLike[str]) -> str:
    """Read a UTF-8 training corpus, refusing empty or binary files with a clear message."""
    path = Path(path)
    problem = _not_a_file(path)
    if problem:
        raise CorpusError(f"corpus {path} {problem}; give the path of a UTF-8 text file.")
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise CorpusError(f"cannot read corpus file {path}: {exc.strerror or exc}; check its permissions.") from None
    if not data:
        raise CorpusError(f"corpus file {path} is empty; a language model needs text to learn from.")
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise CorpusError(
            f"corpus file {path} is not UTF-8 text (byte {exc.start} is 0x{data[exc.start]:02x}); "
            "convert it to UTF-8 first."
        ) from None
    if "\x00" in text:
        raise CorpusError(f"corpus file {path} contains NUL bytes; it looks binary, not text.")
    return text.removeprefix("\ufeff")  # a byte-order mark says how the file is encoded; it is not text


def _not_a_file(path: Path) -> str | None:
    """Why ``path`` cannot be read as a text file, or None when it can."""
    if path.is_dir():
        return "is a folder, not a file"
    if not path.exists():
        return "does not exist"
    if not path.is_file():
        return "is not a regular file (a FIFO, socket or device)"
    return None


def load_tiny_shakespeare() -> str:
    return read_text(tiny_shakespeare_path())


def split_text(text: str, train_fraction: float = TRAIN_FRACTION) -> tuple[str, str]:
    """First ``train_fraction`` for training, the rest for validation, contiguous.

    nanoGPT's convention: the cut is ``int(len(text) * 0.9)``, independent of batch size
    or sequence length (1,003,854 / 111,540 characters for Tiny Shakespeare).
    """
    if not 0.0 < train_fraction < 1.0:
        raise ConfigError(f"train_fraction must lie in (0, 1), got {train_fraction}")
    cut = int(len(text) * train_fraction)
    return text[:cut], text[cut:]


@dataclass(frozen=True)
class Vocab:
    """A character vocabulary: sorted unique characters, ids 0..V-1 in that order."""

    chars: tuple[str, ...]
    _index: dict[str, int] = field(init=False, repr=False, compare=False)  # character -> id, built below

    @classmethod
    def from_text(cls, text: str) -> Vocab:
        if not text:
            raise ConfigError("cannot build a vocabulary from empty text")
        return cls(tuple(sorted(set(text))))

    def __post_init__(self) -> None:
        object.__setattr__(self, "_index", {ch: i for i, ch in enumerate(self.chars)})
        if len(self._index) != len(self.chars):
            raise ConfigError("vocabulary characters must be unique")

    def __len__(self) -> int:
        return len(self.chars)

    def __contains__(self, ch: object) -> bool:
        return ch in self._index

    def unknown(self, text: str) -> list[str]:
        """The characters of ``text`` that are not in the vocabulary, in first-seen order."""
        return list(dict.fromkeys(ch for ch in text if ch not in self._index))

    def encode(self, text: str) -> torch.Tensor:
        """Text -> int64 tensor of ids; an unknown character is a ValueError naming it."""
        missing = self.unknown(text)
        if missing:
            shown = ", ".join(repr(ch) for ch in missing[:10])
            raise ConfigError(
                f"{len(missing)} character(s) not in the vocabulary: {shown}. "
                f"The model knows {len(self.chars)} characters; remove or replace the others."
            )
        return torch.tensor([self._index[ch] for ch in text], dtype=torch.long)

    def decode(self, ids: torch.Tensor | Iterable[int]) -> str:
        if isinstance(ids, torch.Tensor):
            ids = ids.tolist()
        ids = list(ids)
        bad = [i for i in ids if not isinstance(i, int) or not 0 <= i < len(self.chars)]
        if bad:
            raise ConfigError(f"ids must be integers in [0, {len(self.chars)}); got {bad[:10]}")
        return "".join(self.chars[i] for i in ids)
