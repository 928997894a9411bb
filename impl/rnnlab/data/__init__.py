"""Corpora: Tiny Shakespeare and its character vocabulary."""
from rnnlab.data.text import (
    CorpusError,
    Vocab,
    load_tiny_shakespeare,
    read_text,
    split_text,
    tiny_shakespeare_path,
)

__all__ = [
    "CorpusError",
    "Vocab",
    "load_tiny_shakespeare",
    "read_text",
    "split_text",
    "tiny_shakespeare_path",
]
