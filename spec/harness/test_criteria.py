"""The harness's own measures: what Lab 01's "looks like English" criterion counts."""

from acceptance.measures import known_word_share


def test_known_word_share_counts_words_not_characters():
    vocabulary = {"to", "be", "or", "not"}
    assert known_word_share("To be, or NOT to bee!", vocabulary) == 5 / 6
    assert known_word_share("!!! ...", vocabulary) == 0.0
