"""Lab 01 — a character vocabulary: text <-> ids, losslessly, with clear errors."""

import pytest
import torch
from hypothesis import given

from rnnlab.data import Vocab
from spec.strategies import texts

pytestmark = [pytest.mark.lab01, pytest.mark.lab01_vocab]


@given(texts)
def test_encode_then_decode_gives_back_the_text(text):
    vocab = Vocab.from_text(text)
    ids = vocab.encode(text)
    assert ids.dtype == torch.long, f"ids should be int64 (what nn.Embedding takes), got {ids.dtype}"
    back = vocab.decode(ids)
    assert back == text, f"decode(encode(text)) should give back the text; {text!r} came back as {back!r}"


@given(texts)
def test_ids_are_dense_and_ordered(text):
    vocab = Vocab.from_text(text)
    assert list(vocab.chars) == sorted(set(text)), "the vocabulary is the sorted set of characters"
    ids = vocab.encode(text)
    assert int(ids.min()) >= 0 and int(ids.max()) < len(vocab), (
        f"ids must lie in [0, {len(vocab)}) to index an embedding table; got [{int(ids.min())}, {int(ids.max())}]"
    )


def test_unknown_character_is_named_in_the_error():
    vocab = Vocab.from_text("abc")
    with pytest.raises(ValueError, match=r"'z'") as info:
        vocab.encode("abz")
    assert "not in the vocabulary" in str(info.value)


def test_decode_rejects_out_of_range_ids():
    vocab = Vocab.from_text("abc")
    with pytest.raises(ValueError, match=r"\[0, 3\)"):
        vocab.decode([0, 3])
    with pytest.raises(ValueError):
        vocab.decode([-1])  # Python would silently index from the end


def test_empty_text_has_no_vocabulary():
    with pytest.raises(ValueError, match="empty"):
        Vocab.from_text("")
