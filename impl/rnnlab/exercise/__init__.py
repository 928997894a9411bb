"""Learner exercises: the reference code's exercise regions, stubbed out in a copy.

Every function a lab asks the learner to write is marked in the reference code with a line
``# region exercise <id>`` before its body and ``# endregion`` after it (``<id>`` such as
``lab02.lstm_cell``; the markers are only recognised as whole comment lines in code).

``rnnlab exercise init DIR`` writes a complete copy of the package to ``DIR/rnnlab`` with each
region's body replaced by ``raise NotImplementedError("...")  # stub: <id>``, the message
stating the function's contract, and leaves the fast kernels out (they spell out every
cell's equations). The specs then run against the copy (``pytest spec --impl DIR``,
``tox -e spec -- --impl DIR`` or ``RNNLAB_IMPL=DIR``), ``rnnlab exercise status DIR`` prints
progress in curriculum order, and ``RNNLAB_IMPL=DIR tox -e acceptance`` trains the copy.

The package by job: ``catalogue`` (the exercises and topics), ``source`` (the regions in the reference's code),
``copies`` (writing and completing a learner's copy), ``runner`` (running its specs, each exercise's state),
``progress`` (what ``status`` prints) and ``readme`` (the README's generated tables).
"""

from __future__ import annotations

from rnnlab.exercise.catalogue import BY_ID, EXERCISES, TOPICS, Exercise, ExerciseError, Topic, marker_lines
from rnnlab.exercise.copies import RECORD, complete, init, read_record, spec_dir_for
from rnnlab.exercise.progress import format_status, next_step
from rnnlab.exercise.readme import GENERATED, learner_table, main, render_readme, spec_table
from rnnlab.exercise.runner import INSTALL, TEST_TOOLS, TIME_LIMIT, failure_line, missing_test_tools, run_specs, status
from rnnlab.exercise.source import (
    PACKAGE_DIR,
    REGION_END,
    REGION_START,
    STUB_TAG,
    enclosing,
    find_regions,
    stub_line,
    stubbed,
    summaries,
    where,
)

__all__ = [
    "BY_ID",
    "EXERCISES",
    "GENERATED",
    "INSTALL",
    "PACKAGE_DIR",
    "RECORD",
    "REGION_END",
    "REGION_START",
    "STUB_TAG",
    "TEST_TOOLS",
    "TIME_LIMIT",
    "TOPICS",
    "Exercise",
    "ExerciseError",
    "Topic",
    "complete",
    "enclosing",
    "failure_line",
    "find_regions",
    "format_status",
    "init",
    "learner_table",
    "main",
    "marker_lines",
    "missing_test_tools",
    "next_step",
    "read_record",
    "render_readme",
    "run_specs",
    "spec_dir_for",
    "spec_table",
    "status",
    "stub_line",
    "stubbed",
    "summaries",
    "where",
]
