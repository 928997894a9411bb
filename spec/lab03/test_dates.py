"""Lab 03.1 — the date corpus: every rendering says the true date, and the splits never meet."""

import datetime as dt
import random
import re

import pytest
from hypothesis import given
from hypothesis import strategies as st

from rnnlab.data.dates import (
    FAMILIES,
    INPUT_ALPHABET,
    MONTHS,
    WEEKDAYS,
    bucket,
    make_examples,
    number_words,
    ordinal_words,
    render,
    split_dates,
    year_words,
)

pytestmark = [pytest.mark.lab03, pytest.mark.lab03_dates]

dates = st.dates(min_value=dt.date(1900, 1, 1), max_value=dt.date(2099, 12, 31))

WORD_NUMBERS = {number_words(n): n for n in range(100)}
WORD_ORDINALS = {ordinal_words(n): n for n in range(1, 32)}


def parse_year_words(text: str) -> int:
    if text == "nineteen hundred":
        return 1900
    if text.startswith("nineteen oh "):
        return 1900 + WORD_NUMBERS[text[len("nineteen oh ") :]]
    if text.startswith("nineteen "):
        return 1900 + WORD_NUMBERS[text[len("nineteen ") :]]
    if text == "two thousand":
        return 2000
    return 2000 + WORD_NUMBERS[text[len("two thousand and ") :]]


def parse_field(field: str, text: str) -> int:
    """An independent reading of a field's span back into a number."""
    if field == "year":
        return int(text) if text.isdigit() else parse_year_words(text)
    if field == "month":
        if text.isdigit():
            return int(text)
        return [m[: len(text)] for m in MONTHS].index(text) + 1
    if text.isdigit():
        return int(text)
    if re.fullmatch(r"\d+(st|nd|rd|th)", text):
        return int(text[:-2])
    return WORD_ORDINALS[text]


@given(dates, st.sampled_from(FAMILIES), st.integers(0, 10**6))
def test_the_source_says_the_target_date(date, family, seed):
    example = render(date, family, random.Random(seed))
    assert example.target == date.isoformat(), "the target is the date as YYYY-MM-DD"
    assert set(example.source) <= set(INPUT_ALPHABET), "every character the generator writes is in its alphabet"
    got = {f: parse_field(f, example.source[s:e]) for f, (s, e) in example.spans.items()}
    assert got == {"year": date.year, "month": date.month, "day": date.day}, (
        f"{example.source!r}: the year, month and day spans read {got}, but the date is {date}"
    )


@given(dates, st.integers(0, 10**6))
def test_a_shown_weekday_is_the_true_weekday(date, seed):
    rng = random.Random(seed)
    for family in ("weekday", "words", "sentence"):
        source = render(date, family, rng).source
        shown = [w for w in WEEKDAYS if w in source or re.search(rf"\b{w[:3]}\b", source)]
        if shown:
            assert shown == [WEEKDAYS[date.weekday()]], (
                f"{source!r} shows {shown}, but {date} is a {WEEKDAYS[date.weekday()]}"
            )


@given(dates, st.integers(0, 10**6))
def test_sentences_are_60_to_200_characters(date, seed):
    source = render(date, "sentence", random.Random(seed)).source
    assert 60 <= len(source) <= 200, f"a long example is a 60-200 character sentence, got {len(source)}: {source!r}"
    assert bucket(source) == "long"


def test_year_words_follow_the_spec():
    assert [year_words(y) for y in (1900, 1905, 1984, 2000, 2005, 2024)] == [
        "nineteen hundred",
        "nineteen oh five",
        "nineteen eighty-four",
        "two thousand",
        "two thousand and five",
        "two thousand and twenty-four",
    ]
    assert (
        ordinal_words(14) == "fourteenth" and ordinal_words(22) == "twenty-second" and ordinal_words(30) == "thirtieth"
    )


def test_the_splits_share_no_date():
    splits = split_dates(seed=0)
    train, val, test = (set(splits[k]) for k in ("train", "validation", "test"))
    assert not (train & test) and not (train & val) and not (val & test), "no date may appear in two splits"
    assert len(train) + len(val) + len(test) == (dt.date(2099, 12, 31) - dt.date(1900, 1, 1)).days + 1
    assert split_dates(seed=0) == splits, "the split is seeded: the same seed gives the same split"


def test_examples_are_seeded_and_mixed():
    dates_ = split_dates(0)["test"][:100]
    a, b = make_examples(dates_, 300, seed=1), make_examples(dates_, 300, seed=1)
    assert a == b, "the same seed must give the same examples"
    families = {e.family for e in a}
    assert families == set(FAMILIES), f"every family should appear in 300 examples, saw {sorted(families)}"
    share = sum(e.family == "sentence" for e in a) / len(a)
    assert 0.3 < share < 0.5, f"about 40% of examples are long sentences, got {share:.0%}"


def test_out_of_range_dates_are_refused():
    with pytest.raises(ValueError, match="1900"):
        render(dt.date(1899, 12, 31), "numeric", random.Random(0))
    with pytest.raises(ValueError, match="unknown date family"):
        render(dt.date(2000, 1, 1), "emoji", random.Random(0))
