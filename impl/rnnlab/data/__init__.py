"""Corpora: Tiny Shakespeare and its character vocabulary; the generated date corpus."""

from rnnlab.data.dates import INPUT_ALPHABET, Example, make_examples, split_dates
from rnnlab.data.text import (
    CorpusError,
    Vocab,
    load_tiny_shakespeare,
    read_text,
    split_text,
    tiny_shakespeare_path,
)

__all__ = [
    "INPUT_ALPHABET",
    "CorpusError",
    "Example",
    "Vocab",
    "load_tiny_shakespeare",
    "make_examples",
    "read_text",
    "split_dates",
    "split_text",
    "tiny_shakespeare_path",
]
