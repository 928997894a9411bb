"""A seeded parallel corpus for date normalisation: human-written dates -> ``YYYY-MM-DD``.

Families (each rendered from a real calendar date; a weekday, where shown, is the true one):

* ``numeric``   ``14/03/2024``, ``14.03.2024``, ``14-03-2024`` (day first)
* ``month``     ``14 Mar 2024``, ``Mar 14 2024``, ``March 14, 2024``, ``14 March 2024``
* ``weekday``   ``Thursday, March 14, 2024``, ``Thu 14 Mar 2024``
* ``ordinal``   ``the 14th of March, 2024``, ``the 14th day of March in the year 2024``
* ``words``     ``Thursday, the fourteenth of March, two thousand and twenty-four``,
                ``the fourteenth of March, nineteen eighty-four``,
                ``March the fourteenth, in the year nineteen oh five``
* ``sentence``  any of the above inside a sentence of 60–200 characters with distractor
                words and numbers before and after it.

Years 1900–1999 read "nineteen hundred", "nineteen oh five", "nineteen eighty-four";
2000–2099 read "two thousand", "two thousand and five", "two thousand and twenty-four".

The split is by date value: every calendar day from 1900-01-01 to 2099-12-31 is assigned to
train, validation or test by a seeded shuffle, so no test date is ever seen in training.
Each example records the character span of the year, month and day in its source text, for
measuring attention alignment.
"""

from __future__ import annotations

import datetime as dt
import random
from dataclasses import dataclass

from tqdm import tqdm

from rnnlab.errors import ConfigError

FIRST, LAST = dt.date(1900, 1, 1), dt.date(2099, 12, 31)
MONTHS = [
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
]
WEEKDAYS = ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"]
ONES = [
    "zero",
    "one",
    "two",
    "three",
    "four",
    "five",
    "six",
    "seven",
    "eight",
    "nine",
    "ten",
    "eleven",
    "twelve",
    "thirteen",
    "fourteen",
    "fifteen",
    "sixteen",
    "seventeen",
    "eighteen",
    "nineteen",
]
TENS = ["", "", "twenty", "thirty", "forty", "fifty", "sixty", "seventy", "eighty", "ninety"]
ORDINAL_ONES = [
    "zeroth",
    "first",
    "second",
    "third",
    "fourth",
    "fifth",
    "sixth",
    "seventh",
    "eighth",
    "ninth",
    "tenth",
    "eleventh",
    "twelfth",
    "thirteenth",
    "fourteenth",
    "fifteenth",
    "sixteenth",
    "seventeenth",
    "eighteenth",
    "nineteenth",
]
ORDINAL_TENS = {20: "twentieth", 30: "thirtieth"}
FAMILIES = ("numeric", "month", "weekday", "ordinal", "words", "sentence")
SHORT_MAX, LONG_MIN = 20, 60  # length buckets: short < 20 characters, long >= 60

# Every character the generator can write; the model's input vocabulary is exactly this.
INPUT_ALPHABET = "".join(
    sorted(set(" ,.-/'()0123456789" + "abcdefghijklmnopqrstuvwxyz" + "ABCDEFGHIJKLMNOPQRSTUVWXYZ"))
)


def number_words(n: int) -> str:
    """0..99 in words: 'seven', 'twenty-four'."""
    if n < 20:
        return ONES[n]
    tens, ones = divmod(n, 10)
    return TENS[tens] + ("" if ones == 0 else "-" + ONES[ones])


def ordinal_words(n: int) -> str:
    """1..31 as an ordinal: 'first', 'fourteenth', 'twenty-second', 'thirtieth'."""
    if n < 20:
        return ORDINAL_ONES[n]
    tens, ones = divmod(n, 10)
    if ones == 0:
        return ORDINAL_TENS[n]
    return TENS[tens] + "-" + ORDINAL_ONES[ones]


def ordinal_suffix(n: int) -> str:
    if 11 <= n % 100 <= 13:
        return f"{n}th"
    return f"{n}" + {1: "st", 2: "nd", 3: "rd"}.get(n % 10, "th")


def year_words(year: int) -> str:
    """1900 'nineteen hundred', 1905 'nineteen oh five', 1984 'nineteen eighty-four',
    2000 'two thousand', 2005 'two thousand and five', 2024 'two thousand and twenty-four'."""
    if 1900 <= year <= 1999:
        rest = year - 1900
        if rest == 0:
            return "nineteen hundred"
        if rest < 10:
            return "nineteen oh " + ONES[rest]
        return "nineteen " + number_words(rest)
    if 2000 <= year <= 2099:
        rest = year - 2000
        return "two thousand" + ("" if rest == 0 else " and " + number_words(rest))
    raise ConfigError(f"years are rendered for 1900-2099 only, got {year}")


@dataclass(frozen=True)
class Example:
    source: str  # what a human wrote
    target: str  # YYYY-MM-DD
    family: str
    spans: dict[str, tuple[int, int]]  # field -> [start, end) character span in source


class _Builder:
    """Concatenates pieces and remembers where the year, month and day went."""

    def __init__(self) -> None:
        self.parts: list[str] = []
        self.length = 0
        self.spans: dict[str, tuple[int, int]] = {}

    def add(self, text: str, field: str | None = None) -> _Builder:
        if field is not None:
            self.spans[field] = (self.length, self.length + len(text))
        self.parts.append(text)
        self.length += len(text)
        return self

    def text(self) -> str:
        return "".join(self.parts)


def _render_core(date: dt.date, family: str, rng: random.Random) -> _Builder:
    """The date written in one of the ``FAMILIES`` of formats, with its fields' spans recorded.

    Args: ``date``; ``family``, one of ``FAMILIES``, whose formats are (for 2024-03-14):

    * ``numeric``  ``14/03/2024``, ``14.03.2024``, ``14-03-2024`` (day first)
    * ``month``    ``14 Mar 2024``, ``Mar 14 2024``, ``March 14, 2024``, ``14 March 2024``
    * ``weekday``  ``Thursday, March 14, 2024``, ``Thu 14 Mar 2024`` (the true weekday)
    * ``ordinal``  ``the 14th of March, 2024``, ``the 14th day of March in the year 2024``
    * ``words``    ``Thursday, the fourteenth of March, two thousand and twenty-four``,
      ``the fourteenth of March, two thousand and twenty-four``, ``March the fourteenth, in the
      year two thousand and twenty-four``; years 1900-1999 read "nineteen hundred", "nineteen
      oh five", "nineteen eighty-four", 2000-2099 "two thousand", "two thousand and five"

    (``sentence`` wraps one of these; spec/lab03/test_dates.py checks every one of them);
    ``rng`` for every random choice (separators, casing, ...).
    Returns: the ``_Builder`` ``b``, after ``b.add(text, field)`` for each piece in order, with
    ``field`` "day", "month" or "year" on the pieces that spell them (None for separators),
    so the attention spec can check which input characters hold which field.
    """
    d, m, y = date.day, date.month, date.year
    month, mon = MONTHS[m - 1], MONTHS[m - 1][:3]
    weekday = WEEKDAYS[date.weekday()]
    b = _Builder()
    # region exercise lab03.dates
    if family == "numeric":
        sep = rng.choice("/.-")
        b.add(f"{d:02d}", "day").add(sep).add(f"{m:02d}", "month").add(sep).add(str(y), "year")
    elif family == "month":
        style = rng.randrange(4)
        name = mon if style < 2 else month
        if style in (0, 3):
            b.add(str(d), "day").add(" ").add(name, "month").add(" ").add(str(y), "year")
        elif style == 1:
            b.add(name, "month").add(" ").add(str(d), "day").add(" ").add(str(y), "year")
        else:
            b.add(name, "month").add(" ").add(str(d), "day").add(", ").add(str(y), "year")
    elif family == "weekday":
        if rng.random() < 0.5:
            b.add(f"{weekday}, ").add(month, "month").add(" ").add(str(d), "day").add(", ").add(str(y), "year")
        else:
            b.add(f"{weekday[:3]} ").add(str(d), "day").add(" ").add(mon, "month").add(" ").add(str(y), "year")
    elif family == "ordinal":
        if rng.random() < 0.5:
            b.add("the ").add(ordinal_suffix(d), "day").add(" of ").add(month, "month").add(", ").add(str(y), "year")
        else:
            b.add("the ").add(ordinal_suffix(d), "day").add(" day of ").add(month, "month").add(" in the year ")
            b.add(str(y), "year")
    elif family == "words":
        style = rng.randrange(3)
        if style == 0:
            b.add(f"{weekday}, the ").add(ordinal_words(d), "day").add(" of ").add(month, "month").add(", ")
            b.add(year_words(y), "year")
        elif style == 1:
            b.add("the ").add(ordinal_words(d), "day").add(" of ").add(month, "month").add(", ").add(
                year_words(y), "year"
            )
        else:
            b.add(month, "month").add(" the ").add(ordinal_words(d), "day").add(", in the year ").add(
                year_words(y), "year"
            )
    else:
        raise ConfigError(f"unknown date family {family!r}; choose one of {FAMILIES}")
    # endregion
    return b


PREFIXES = [
    "minutes of the meeting held on",
    "the shipment left the port of Rotterdam with {n} crates on",
    "according to invoice {n}, payment of {n} euros was received on",
    "she was born in ward {n} on",
    "the committee of {n} members will vote on",
    "flight {n} to Lisbon with {n} passengers departs on",
    "please note that the {n} tickets for row {n} are valid until",
    "the contract, signed by {n} parties, ends on",
]
SUFFIXES = [
    "with {n} members present and {n} absent",
    "as recorded in volume {n} of the archive",
    "according to the {n} page report filed by the clerk",
    "and the total came to {n} pounds and {n} pence",
    "before gate {n} closes at {n} in the morning",
    "unless {n} of the {n} signatories object in writing",
]


def _distractor(template: str, rng: random.Random) -> str:
    while "{n}" in template:
        template = template.replace("{n}", str(rng.randint(2, 999)), 1)
    return template


def render(date: dt.date, family: str, rng: random.Random, sentence_range: tuple[int, int] = (60, 200)) -> Example:
    """Render ``date`` in ``family``; ``sentence`` wraps another family in distractor text."""
    if not FIRST <= date <= LAST:
        raise ConfigError(f"dates must lie in {FIRST}..{LAST}, got {date}")
    target = date.isoformat()
    if family != "sentence":
        core = _render_core(date, family, rng)
        return Example(core.text(), target, family, dict(core.spans))
    lo, hi = sentence_range
    for _ in range(100):
        inner = _render_core(date, rng.choice(FAMILIES[:-1]), rng)
        before = _distractor(rng.choice(PREFIXES), rng) + " "
        after = " " + _distractor(rng.choice(SUFFIXES), rng)
        if rng.random() < 0.3:  # sometimes a second distractor clause, for length
            after += ", " + _distractor(rng.choice(SUFFIXES), rng)
        if lo <= len(before) + inner.length + len(after) <= hi:
            spans = {k: (s + len(before), e + len(before)) for k, (s, e) in inner.spans.items()}
            return Example(before + inner.text() + after, target, "sentence", spans)
    raise RuntimeError(f"could not fit a sentence into {lo}-{hi} characters")  # pragma: no cover


def split_dates(seed: int = 0, fractions: tuple[float, float, float] = (0.8, 0.1, 0.1)) -> dict[str, list[dt.date]]:
    """Every day 1900..2099 into train / validation / test by a seeded shuffle: disjoint by value."""
    days = [FIRST + dt.timedelta(days=i) for i in range((LAST - FIRST).days + 1)]
    random.Random(seed).shuffle(days)
    n_train = int(len(days) * fractions[0])
    n_val = int(len(days) * fractions[1])
    return {"train": days[:n_train], "validation": days[n_train : n_train + n_val], "test": days[n_train + n_val :]}


def make_examples(
    dates: list[dt.date], n: int, seed: int, sentence_share: float = 0.4, progress: bool | None = False
) -> list[Example]:
    """``n`` examples over ``dates``: a ``sentence_share`` of long sentences, the rest spread over
    the other families evenly. ``progress=None`` shows a bar on a terminal (about 90,000 a second)."""
    rng = random.Random(seed)
    out = []
    for _ in tqdm(range(n), desc="examples", disable=None if progress is None else not progress, leave=False):
        family = "sentence" if rng.random() < sentence_share else rng.choice(FAMILIES[:-1])
        out.append(render(rng.choice(dates), family, rng))
    return out


def bucket(source: str) -> str:
    return "short" if len(source) < SHORT_MAX else "long" if len(source) >= LONG_MIN else "medium"
