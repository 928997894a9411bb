"""What an acceptance run collects: criteria, figures, tables, samples, notes — per lab."""

from __future__ import annotations

import base64
import math
import re
from dataclasses import dataclass, field
from typing import Any, Literal

Direction = Literal[">=", ">", "<=", "<"]
DIRECTIONS: tuple[Direction, ...] = (">=", ">", "<=", "<")
# A value in one of these units is a factor: its margin over a bound is counted in decades (log10), so that
# 1e5x over a bound of 10x is 4 decades, not 99,990.
FACTOR = "x"


@dataclass(frozen=True)
class Bound:
    """One number a criterion judges (issue #33): its value against its bound, in one direction and unit.

    The verdict, the margin and the report's words are all computed from these numbers; nothing downstream
    reads a number back out of a sentence. A bound may itself be measured (the RNN's effective context, the
    baseline's accuracy): each run, and each seed, records its own.
    """

    value: float
    bound: float
    direction: Direction
    unit: str = ""  # "%", "points", "x" (a factor), "characters", "nats", ... ("" for a plain number)
    label: str = ""  # which value this is, where a criterion judges several ("attention", "best recurrent")
    against: str = ""  # what the bound is where it is itself measured ("the RNN's", "the baseline's")

    def __post_init__(self) -> None:
        if self.direction not in DIRECTIONS:
            raise ValueError(f"Bound: direction {self.direction!r} is not one of {DIRECTIONS}")

    @property
    def margin(self) -> float:
        """How far the value clears its bound, in the value's units (decades for a factor); >= 0 passes a
        ``>=``/``<=`` bound, > 0 a strict one."""
        value, bound = float(self.value), float(self.bound)
        if self.unit == FACTOR and value > 0 and bound > 0:
            value, bound = math.log10(value), math.log10(bound)
        return value - bound if self.direction.startswith(">") else bound - value

    @property
    def passed(self) -> bool:
        m = self.margin
        if not math.isfinite(m):
            return False
        return m >= 0 if self.direction.endswith("=") else m > 0

    def as_json(self) -> dict[str, Any]:
        return {
            "value": finite_or_text(self.value),
            "bound": finite_or_text(self.bound),
            "direction": self.direction,
            "unit": self.unit,
            "label": self.label,
            "against": self.against,
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Bound:
        return cls(
            float(data["value"]),
            float(data["bound"]),
            data["direction"],
            data["unit"],
            data["label"],
            data.get("against", ""),
        )


def finite_or_text(x: float) -> float | str:
    """``x`` for JSON: a float, or its name where JSON has no number for it (nan, inf)."""
    x = float(x)
    return x if math.isfinite(x) else str(x)


def render_number(x: float, unit: str = "") -> str:
    """A value as the report prints it, in its unit."""
    if not math.isfinite(x):
        return str(x)
    if unit == "%":
        return f"{x:.1f}%" if abs(x) >= 10 else f"{x:.2f}%"
    if unit == "points":
        return f"{x:+.1f} points"
    if unit == FACTOR:
        return f"{x:.3g}x"
    number = f"{x:,.0f}" if float(x).is_integer() else (f"{x:.4g}" if abs(x) < 1000 else f"{x:,.0f}")
    return f"{number} {unit}" if unit else number


def margin_words(b: Bound) -> str:
    """A bound's margin in words: a percentage's in points, a factor's in decades, anything else in its unit."""
    if b.unit == FACTOR:
        return f"{b.margin:+.3g} decades"
    if b.unit in ("%", "points"):  # under a point, two significant digits: a pass by 0.04 is not "+0.0"
        return f"{b.margin:+.2g} points" if 0 < abs(b.margin) < 1 else f"{b.margin:+.1f} points"
    return f"{b.margin:+.4g}" + (f" {b.unit}" if b.unit else "")


def render_value(b: Bound) -> str:
    return (f"{b.label} " if b.label else "") + render_number(b.value, b.unit)


def render_bound(b: Bound) -> str:
    against = f" ({b.against})" if b.against else ""
    return (f"{b.label} " if b.label else "") + f"{b.direction} {render_number(b.bound, b.unit)}{against}"


@dataclass
class Criterion:
    id: str
    lab: str
    description: str
    bounds: tuple[Bound, ...]  # every number judged; the criterion passes when each passes
    detail: str = ""
    known_failure: str = ""  # why a criterion is expected to fail at this profile's budget (see profiles.py)
    attempted: bool = True  # False: a learner's run whose exercises for this lab are still stubs

    @property
    def passed(self) -> bool:
        return self.attempted and bool(self.bounds) and all(b.passed for b in self.bounds)

    @property
    def measured(self) -> str:
        """The values, in words (rendered from the numbers)."""
        if not self.attempted:
            return "not attempted"
        return "; ".join(render_value(b) for b in self.bounds) or "not measured"

    @property
    def threshold(self) -> str:
        """The bounds, in words (rendered from the numbers)."""
        return "; ".join(render_bound(b) for b in self.bounds)

    @property
    def margin(self) -> str:
        """How far each value clears its bound, in words (negative: by how much it misses)."""
        return "; ".join(margin_words(b) for b in self.bounds)

    def as_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "lab": self.lab,
            "description": self.description,
            "bounds": [b.as_json() for b in self.bounds],
            "passed": bool(self.passed),
            "measured": self.measured,  # words for a reader; the numbers are in "bounds"
            "threshold": self.threshold,
            "margin": self.margin,
            "detail": self.detail,
            "known_failure": self.known_failure,
            "attempted": self.attempted,
        }


@dataclass
class Figure:
    title: str
    caption: str
    png: bytes

    @property
    def data_uri(self) -> str:
        return "data:image/png;base64," + base64.b64encode(self.png).decode("ascii")


@dataclass
class Table:
    title: str
    columns: list[str]
    rows: list[list[Any]]
    caption: str = ""


@dataclass
class LabSection:
    lab: str
    title: str
    summary: str = ""
    figures: list[Figure] = field(default_factory=list)
    tables: list[Table] = field(default_factory=list)
    samples: list[tuple[str, str]] = field(default_factory=list)  # (label, text)
    notes: list[str] = field(default_factory=list)

    @property
    def nav(self) -> str:
        """Its name in the report's contents line: "Lab 02" from "Lab 02 — ...", "copying study" from study-copying."""
        if self.lab.startswith("study-"):
            return f"{self.lab.removeprefix('study-')} study"
        return self.title.split(" — ")[0]


@dataclass
class Claim:
    """A figure someone else stated (the seed write-up, a prototype, a paper) beside ours."""

    lab: str
    topic: str
    source: str
    theirs: str
    ours: str
    why: str  # one honest line on why the two differ (or agree)
    key: str  # the same claim in every profile's report (its measured value is matched across profiles by it)
    others: dict[str, str] = field(default_factory=dict)  # profile -> what that profile's recorded run measured


# What a candidate says aloud: the standard answer, sourced, in two or three sentences (issue #25).
MAX_ANSWER_SENTENCES = 3


def sentences(text: str) -> list[str]:
    """``text`` split into sentences: a full stop, ! or ? and a space before a capital letter (so "et al. 2014"
    and "e.g. a" do not end one)."""
    return [s for s in re.split(r"(?<=[.!?])\s+(?=[A-Z])", text.strip()) if s]


@dataclass
class TalkingPoint:
    """An interview question: the answer a candidate would say aloud, then this run's evidence as a list."""

    lab: str
    question: str
    answer: str  # the standard answer with its source, no more than MAX_ANSWER_SENTENCES sentences
    measured: list[str]  # this run's evidence, one number or comparison per item
    evidence: str  # where in the report the cited numbers are (a section or criterion anchor)
    # numbers this run did not measure, recorded by earlier runs (each item names their machine and commit): what a
    # profile that leaves a model to another profile still has to say
    recorded: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        said = sentences(self.answer)
        if len(said) > MAX_ANSWER_SENTENCES:
            raise ValueError(
                f"talking point {self.question!r}: the answer runs to {len(said)} sentences; say it in at most "
                f"{MAX_ANSWER_SENTENCES} and move this run's numbers to `measured`"
            )
        if not self.measured:
            raise ValueError(f"talking point {self.question!r}: give this run's evidence in `measured`")


@dataclass
class Number:
    """A measured number that is not a criterion (a model's perplexity, ...), kept by id in the run's
    record, so that a learner's report can show the reference run's beside the learner's."""

    id: str  # "lab02.lstm.ppl"
    lab: str
    label: str  # "LSTM validation perplexity"
    value: float
    unit: str = ""  # as Bound's

    @property
    def text(self) -> str:
        return render_number(self.value, self.unit)


class Recorder:
    def __init__(self) -> None:
        self.criteria: list[Criterion] = []
        self.sections: dict[str, LabSection] = {}
        self.claims: list[Claim] = []
        self.talking_points: list[TalkingPoint] = []
        self.numbers: dict[str, Number] = {}
        self.judged = 0  # criteria recorded so far (a test that records none before it stops is found by it)

    def number(self, id: str, lab: str, label: str, value: float, unit: str = "") -> None:
        self.numbers[id] = Number(id, lab, label, float(value), unit)

    def section(self, lab: str, title: str = "") -> LabSection:
        if lab not in self.sections:
            self.sections[lab] = LabSection(lab, title or lab)
        elif title:
            self.sections[lab].title = title
        return self.sections[lab]

    def criterion(self, id: str, lab: str, description: str, *bounds: Bound, detail: str = "") -> Criterion:
        if not bounds:
            raise ValueError(f"criterion {id}: give at least one Bound (its value, bound, direction and unit)")
        return self._add(Criterion(id, lab, description, tuple(bounds), detail))

    def not_attempted(self, id: str, lab: str, description: str, why: str) -> Criterion:
        """A criterion a learner's run could not measure: its exercises are still stubs."""
        return self._add(Criterion(id, lab, description, (), why, attempted=False))

    def stopped(self, id: str, lab: str, description: str, error: str) -> Criterion:
        """A criterion whose test raised before it judged anything: a failed row naming the error, never a missing
        one (a report cannot say every criterion passed while one of its tests crashed)."""
        return self._add(
            Criterion(id, lab, description, (), f"its test stopped with an error before it judged: {error}")
        )

    def _add(self, c: Criterion) -> Criterion:
        self.criteria = [x for x in self.criteria if x.id != c.id] + [c]
        self.judged += 1
        return c
