"""What an acceptance run collects: criteria, figures, tables, samples, notes — per lab."""

from __future__ import annotations

import base64
import math
import re
from dataclasses import dataclass, field
from typing import Any


@dataclass
class Criterion:
    id: str
    lab: str
    description: str
    measured: Any
    threshold: str
    passed: bool
    detail: str = ""
    known_failure: str = ""  # why a criterion is expected to fail at this profile's budget (see profiles.py)
    attempted: bool = True  # False: a learner's run whose exercises for this lab are still stubs

    def as_json(self) -> dict[str, Any]:
        measured = self.measured
        if isinstance(measured, float) and not math.isfinite(measured):
            measured = str(measured)
        return {
            "id": self.id,
            "lab": self.lab,
            "description": self.description,
            "measured": measured,
            "threshold": self.threshold,
            "passed": bool(self.passed),
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
    value: str  # as the report prints it


class Recorder:
    def __init__(self) -> None:
        self.criteria: list[Criterion] = []
        self.sections: dict[str, LabSection] = {}
        self.claims: list[Claim] = []
        self.talking_points: list[TalkingPoint] = []
        self.numbers: dict[str, Number] = {}

    def number(self, id: str, lab: str, label: str, value: str) -> None:
        self.numbers[id] = Number(id, lab, label, value)

    def section(self, lab: str, title: str = "") -> LabSection:
        if lab not in self.sections:
            self.sections[lab] = LabSection(lab, title or lab)
        elif title:
            self.sections[lab].title = title
        return self.sections[lab]

    def criterion(
        self, id: str, lab: str, description: str, measured: Any, threshold: str, passed: bool, detail: str = ""
    ) -> Criterion:
        c = Criterion(id, lab, description, measured, threshold, bool(passed), detail)
        self.criteria = [x for x in self.criteria if x.id != id] + [c]
        return c

    def not_attempted(self, id: str, lab: str, description: str, why: str) -> Criterion:
        """A criterion a learner's run could not measure: its exercises are still stubs."""
        c = self.criterion(id, lab, description, "not attempted", "", False, why)
        c.attempted = False
        return c
