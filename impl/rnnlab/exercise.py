"""Learner exercises: the reference code's exercise regions, stubbed out in a copy.

Every function a lab asks the learner to write is marked in the reference code::

    # region exercise lab02.lstm_cell
    ...reference body...
    # endregion

``rnnlab exercise init DIR`` writes a complete copy of the package to ``DIR/rnnlab`` with each
region's body replaced by ``raise NotImplementedError("Lab 02.2 — LSTM cell: ... see spec/...")``.
The specs then run against the copy (``tox -e spec -- --impl DIR`` or ``RNNLAB_IMPL=DIR``) and
``rnnlab exercise status DIR`` prints progress, one row per exercise, in curriculum order.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from rnnlab.fast.dispatch import KERNEL_MODULES

PACKAGE_DIR = Path(__file__).resolve().parent
REGION_START = re.compile(r"^(?P<indent>[ \t]*)# region exercise (?P<id>[\w.]+)\s*$")
REGION_END = re.compile(r"^[ \t]*# endregion\s*$")
STUB_TAG = re.compile(r"# stub: (?P<id>[\w.]+)\s*$")  # ends every stub line; gone once the learner replaces it


@dataclass(frozen=True)
class Exercise:
    id: str  # region id, e.g. "lab02.lstm_cell"
    number: str  # "Lab 02.1"
    title: str
    task: str  # the equation or behaviour to implement
    spec: str  # the spec file that checks it
    depends: tuple[str, ...] = ()  # exercises whose code its specs also run

    @property
    def marker(self) -> str:
        return self.id.replace(".", "_")


# Curriculum order. `depends` is what a learner must have finished for this task's specs to run.
EXERCISES: tuple[Exercise, ...] = (
    Exercise(
        "lab01.rnn_cell",
        "Lab 01.1",
        "RNN cell",
        "h_t = tanh(W_ih x_t + b_ih + W_hh h_{t-1} + b_hh); step() gets x_proj = W_ih x_t + b_ih",
        "spec/lab01/test_rnn_cell.py",
    ),
    Exercise(
        "lab01.unroll",
        "Lab 01.2",
        "unrolling over time",
        "project all inputs once, loop t = 0..T-1 carrying the state, stack the outputs; a False mask step keeps the state",
        "spec/lab01/test_unroll.py",
        ("lab01.rnn_cell",),
    ),
    Exercise(
        "lab01.tbptt",
        "Lab 01.3",
        "truncated BPTT (detaching the carried state)",
        "return the state's values without their autograd history (Tensor.detach), for a tensor, an LSTMState "
        "(h, c) or a stack's tuple of them: rnnlab.recurrent.map_state reaches every tensor of a nested state",
        "spec/lab01/test_tbptt.py",
        ("lab01.rnn_cell", "lab01.unroll"),
    ),
    Exercise(
        "lab01.clipping",
        "Lab 01.4",
        "gradient clipping by global norm",
        "norm = sqrt(sum ||g||^2); if norm > max_norm scale every g by max_norm / (norm + 1e-6); return norm",
        "spec/lab01/test_clipping.py",
    ),
    Exercise(
        "lab01.perplexity",
        "Lab 01.5",
        "perplexity",
        "perplexity = exp(mean cross-entropy)",
        "spec/lab01/test_perplexity.py",
        ("lab01.rnn_cell", "lab01.unroll", "lab01.tbptt"),
    ),
    Exercise(
        "lab01.sampling",
        "Lab 01.6",
        "temperature sampling",
        "T = 0: argmax; T > 0: draw from softmax(logits / T) with the given generator",
        "spec/lab01/test_sampling.py",
        ("lab01.rnn_cell", "lab01.unroll"),
    ),
    Exercise(
        "lab02.lstm_cell",
        "Lab 02.1",
        "LSTM cell",
        "[i, f, g, o] = x_proj + W_hh h + b_hh; c_t = sigmoid(f) c + sigmoid(i) tanh(g); h_t = sigmoid(o) tanh(c_t)",
        "spec/lab02/test_lstm_cell.py",
        ("lab01.unroll", "lab01.rnn_cell"),
    ),
    Exercise(
        "lab02.gru_cell",
        "Lab 02.2",
        "GRU cell",
        "r, z = sigmoid(...); n = tanh(x_n + r * (W_hn h + b_hn)); h_t = (1 - z) n + z h",
        "spec/lab02/test_gru_cell.py",
        ("lab01.unroll", "lab01.rnn_cell"),
    ),
    Exercise(
        "lab02.grad_flow",
        "Lab 02.3",
        "gradient norms through time",
        "step the cell keeping every h_t, take L_T at the last step, autograd.grad w.r.t. every h_t, mean row norm",
        "spec/lab02/test_grad_flow.py",
        ("lab01.rnn_cell", "lab02.lstm_cell"),
    ),
    Exercise(
        "lab03.dates",
        "Lab 03.1",
        "rendering dates",
        "write each family's pieces with _Builder.add(text, field) so the year/month/day spans are recorded",
        "spec/lab03/test_dates.py",
    ),
    Exercise(
        "lab03.attention",
        "Lab 03.2",
        "attention",
        "masked softmax (-inf at padding); additive v^T tanh(W_s s + W_h h_j); dot s^T h_j (/ sqrt(D) if scaled)",
        "spec/lab03/test_attention.py",
    ),
    Exercise(
        "lab03.seq2seq",
        "Lab 03.3",
        "decoder step, teacher forcing, scheduled sampling",
        "context (fixed or attention) -> GRU on [emb; context] -> logits from [s; context; emb]; "
        "feed gold with probability = teacher-forcing ratio; the ratio decays linearly",
        "spec/lab03/test_seq2seq.py",
        ("lab01.rnn_cell", "lab01.unroll", "lab01.clipping", "lab02.gru_cell", "lab03.dates", "lab03.attention"),
    ),
)
BY_ID = {e.id: e for e in EXERCISES}


def find_regions(package_dir: Path = PACKAGE_DIR) -> dict[str, list[tuple[Path, int, int]]]:
    """Exercise id -> [(file relative to the package, first body line, end line)] (0-based, end exclusive)."""
    regions: dict[str, list[tuple[Path, int, int]]] = {}
    for path in sorted(package_dir.rglob("*.py")):
        lines = path.read_text(encoding="utf-8").splitlines()
        start = None
        for i, line in enumerate(lines):
            match = REGION_START.match(line)
            if match:
                start, rid = i, match["id"]
            elif REGION_END.match(line) and start is not None:
                regions.setdefault(rid, []).append((path.relative_to(package_dir), start + 1, i))
                start = None
    return regions


def stub_line(exercise: Exercise, indent: str) -> str:
    message = (
        f"not yet implemented: {exercise.number} — {exercise.title}: {exercise.task}. "
        f"See {exercise.spec} (run: tox -e spec -- --impl DIR -m {exercise.marker})"
    )
    return f"{indent}raise NotImplementedError({message!r})  # stub: {exercise.id}"


def stubbed(impl_dir: str | os.PathLike[str]) -> list[str]:
    """The exercises whose stub is still in the copy at ``impl_dir`` (curriculum order): a
    stub left in place raises, so nothing of that exercise can have been done."""
    found: set[str] = set()
    for path in (Path(impl_dir) / "rnnlab").rglob("*.py"):
        for line in path.read_text(encoding="utf-8").splitlines():
            tag = STUB_TAG.search(line)
            if tag and "NotImplementedError" in line:
                found.add(tag["id"])
    return [e.id for e in EXERCISES if e.id in found]


def init(dest: str | os.PathLike[str], keep: set[str] | frozenset[str] = frozenset()) -> Path:
    """Write the package to ``dest/rnnlab`` with every region stubbed, except those in ``keep``."""
    dest = Path(dest)
    target = dest / "rnnlab"
    if target.exists():
        raise FileExistsError(f"{target} already exists; choose an empty directory (your work is never overwritten)")
    unknown = set(keep) - set(BY_ID)
    if unknown:
        raise ValueError(f"unknown exercise(s) {sorted(unknown)}; choose from {list(BY_ID)}")
    dest.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(dir=dest, prefix=".rnnlab-"))
    try:
        copy = staging / "rnnlab"
        shutil.copytree(PACKAGE_DIR, copy, ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
        for module in KERNEL_MODULES.values():  # the fast kernels spell out every cell's equations
            (staging / Path(*module.split("."))).with_suffix(".py").unlink()
        by_file: dict[Path, list[tuple[int, int, str]]] = {}
        for rid, places in find_regions(copy).items():
            if rid in keep:
                continue
            for rel, start, end in places:
                by_file.setdefault(rel, []).append((start, end, rid))
        for rel, spans in by_file.items():
            path = copy / rel
            lines = path.read_text(encoding="utf-8").splitlines()
            for start, end, rid in sorted(spans, reverse=True):
                opening = REGION_START.match(lines[start - 1])
                assert opening is not None  # found by the same pattern when the regions were listed
                indent = opening["indent"]
                lines[start:end] = [stub_line(BY_ID[rid], indent)]
            path.write_text("\n".join(lines) + "\n", encoding="utf-8")
        os.replace(copy, target)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return target


def run_specs(
    impl_dir: str | os.PathLike[str],
    spec_dir: str | os.PathLike[str],
    markers: list[str] | None = None,
    timeout: float = 900,
    env: dict[str, str] | None = None,
) -> dict[str, dict[str, Any]]:
    """Run the specs against ``impl_dir``; return per-test outcomes (nodeid -> {markers, outcome, message}).
    ``env`` adds environment variables to the spec run (e.g. a Hypothesis profile)."""
    spec_dir = Path(spec_dir).resolve()
    if not (spec_dir / "conftest.py").is_file():
        raise FileNotFoundError(f"{spec_dir} is not rnnlab's spec folder; pass --specs PATH/TO/spec")
    with tempfile.TemporaryDirectory() as tmp:
        results = Path(tmp) / "results.json"
        cmd = [
            sys.executable,
            "-m",
            "pytest",
            str(spec_dir),
            "-q",
            "-p",
            "no:cacheprovider",
            "--no-header",
            f"--impl={Path(impl_dir).resolve()}",
            "-o",
            "addopts=--strict-markers",
        ]
        if markers:
            cmd += ["-m", " or ".join(markers)]
        run_env = {**os.environ, **(env or {}), "RNNLAB_RESULTS_JSON": str(results)}
        subprocess.run(cmd, cwd=spec_dir.parent, env=run_env, capture_output=True, text=True, timeout=timeout)
        if not results.is_file():
            raise RuntimeError("the spec run wrote no results; run pytest by hand to see why")
        return json.loads(results.read_text())


def status(impl_dir: str | os.PathLike[str], spec_dir: str | os.PathLike[str]) -> list[dict[str, Any]]:
    """One row per exercise: passed / total specs and the first failing message."""
    outcomes = run_specs(impl_dir, spec_dir, [e.marker for e in EXERCISES])
    rows = []
    for e in EXERCISES:
        mine = [r for r in outcomes.values() if e.marker in r["markers"]]
        failed = [r for r in mine if r["outcome"] != "passed"]
        rows.append(
            {
                "exercise": e.id,
                "number": e.number,
                "title": e.title,
                "passed": len(mine) - len(failed),
                "total": len(mine),
                "first_failure": failed[0]["message"] if failed else "",
            }
        )
    return rows


def format_status(rows: list[dict[str, Any]], width: int | None = None) -> str:
    width = width or max(160, shutil.get_terminal_size((160, 24)).columns)
    lines = [f"{'exercise':<10} {'task':<44} {'specs':>7}  first failing message"]
    for r in rows:
        mark = "done" if r["passed"] == r["total"] and r["total"] else f"{r['passed']}/{r['total']}"
        msg = r["first_failure"].replace("\n", " ")
        lines.append(f"{r['number']:<10} {r['title'][:44]:<44} {mark:>7}  {msg[: width - 65]}")
    return "\n".join(lines)
