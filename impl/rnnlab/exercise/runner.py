"""Running the specs against a learner's copy, and each exercise's state from their outcomes."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

from rnnlab.exercise.catalogue import BY_ID, EXERCISES, ExerciseError
from rnnlab.exercise.source import stubbed
from rnnlab.usage import quote_path

# and torch at the pin of constraints.txt (a plain `pip install -e .` may pull another torch build, and no pytest).
INSTALL = "pip install -c constraints.txt -e '.[test]'"
TEST_TOOLS = ("pytest", "hypothesis")  # what the specs import besides rnnlab and torch


def missing_test_tools() -> list[str]:
    """The test tools this Python cannot import (``TEST_TOOLS``)."""
    import importlib.util

    return [name for name in TEST_TOOLS if importlib.util.find_spec(name) is None]


TIME_LIMIT = 300.0  # seconds a status run's specs may take; all twelve exercises take about 10-60 s on 2 cores


def run_specs(
    impl_dir: str | os.PathLike[str],
    spec_dir: str | os.PathLike[str],
    markers: list[str] | None = None,
    timeout: float = TIME_LIMIT,
    env: dict[str, str] | None = None,
    paths: list[str] | None = None,
) -> dict[str, dict[str, Any]]:
    """Run the specs against ``impl_dir``; return per-test outcomes (nodeid -> {markers, outcome, message}).
    ``paths`` (relative to the checkout) limits the files collected; ``env`` adds environment
    variables to the spec run (e.g. a Hypothesis profile). A run that cannot import the copy
    (a syntax error), or that outlasts ``timeout`` seconds (a loop that never ends), is an
    ``ExerciseError`` saying so."""
    missing = missing_test_tools()
    if missing:
        raise ExerciseError(
            f"{' and '.join(missing)} {'is' if len(missing) == 1 else 'are'} not installed for {sys.executable}: "
            f"run `{INSTALL}` in the checkout (the test tools, with the pinned torch)"
        )
    spec_dir = Path(spec_dir).resolve()
    if not (spec_dir / "conftest.py").is_file():
        raise FileNotFoundError(f"{spec_dir} is not rnnlab's spec folder; pass --specs PATH/TO/spec")
    with tempfile.TemporaryDirectory() as tmp:
        results = Path(tmp) / "results.json"
        targets = [str(spec_dir.parent / p) for p in paths] if paths else [str(spec_dir)]
        cmd = [
            sys.executable,
            "-m",
            "pytest",
            *targets,
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
        by_hand = f"pytest {' '.join(paths or ['spec'])} --impl {quote_path(impl_dir)} -x"
        try:
            # no tracebacks: the outcomes and their messages come from RNNLAB_RESULTS_JSON, and printing a fresh
            # copy's failures took 3 of a run's 8.5 s (measured: 68 failing specs of 86)
            done = subprocess.run(
                [*cmd, "--tb=no"], cwd=spec_dir.parent, env=run_env, capture_output=True, text=True, timeout=timeout
            )
        except subprocess.TimeoutExpired:  # subprocess.run has killed and reaped the spec run
            raise ExerciseError(
                f"the specs did not finish within {timeout:g} s against {impl_dir}: a function of yours may "
                f"loop forever (a loop whose condition never changes?); run `{by_hand}` from the checkout "
                "and press Ctrl-C to see the line it is on"
            ) from None
        if done.returncode not in (0, 1, 5) or not results.is_file():  # 0, 1, 5: passed, failed, none chosen
            output = done.stdout + done.stderr
            try:  # collect again, with tracebacks: the import of the copy that failed, with its file and line
                again = subprocess.run(
                    [*cmd, "--collect-only"],
                    cwd=spec_dir.parent,
                    env=run_env,
                    capture_output=True,
                    text=True,
                    timeout=timeout,
                )
                output += again.stdout + again.stderr
            except subprocess.TimeoutExpired:
                pass
            raise ExerciseError(f"the specs could not run against {impl_dir}: {_first_error(output)}; see `{by_hand}`")
        return json.loads(results.read_text())


def _first_error(output: str) -> str:
    """The error that stopped a spec run before its specs ran (an import of the learner's copy
    that failed), with the file and line it names: "SyntaxError: ... (cells.py, line 12)"."""
    errors = re.findall(r"^E\s+(\w*(?:Error|Exception)\b.*)$", output, re.MULTILINE)
    where = re.findall(r'^E\s+File "(.+?)", line (\d+)', output, re.MULTILINE)
    if not errors:
        return "pytest stopped before running them"
    place = f" ({where[-1][0]}, line {where[-1][1]})" if where else ""
    return f"{errors[-1].strip()}{place}"


def status(
    impl_dir: str | os.PathLike[str],
    spec_dir: str | os.PathLike[str],
    only: list[str] | None = None,
    time_limit: float = TIME_LIMIT,
) -> list[dict[str, Any]]:
    """One row per exercise (those in ``only``, or all): its state and, where its specs ran,
    passed / total and every failing message.

    An exercise whose stub is still in place is "not started" and one whose prerequisites are
    stubs is "waiting"; neither runs its specs, so no count suggests progress where none was
    made. The others run their own spec file only, in one pytest run."""
    stubs = set(stubbed(impl_dir))
    chosen = [e for e in EXERCISES if only is None or e.id in only]
    runnable = [e for e in chosen if e.id not in stubs and not any(d in stubs for d in e.depends)]
    outcomes = (
        run_specs(
            impl_dir, spec_dir, [e.marker for e in runnable], time_limit, paths=sorted({e.spec for e in runnable})
        )
        if runnable
        else {}
    )
    rows = []
    for e in chosen:
        row: dict[str, Any] = {"exercise": e.id, "number": e.number, "title": e.title, "passed": 0, "total": 0}
        if e.id in stubs:
            row.update(state="not started", failures=[])
        elif e not in runnable:
            waiting = [BY_ID[d].number for d in e.depends if d in stubs]
            row.update(state="waiting", failures=[], waiting=waiting)
        else:
            mine = [r for r in outcomes.values() if e.marker in r["markers"]]
            failed = [r["message"] for r in mine if r["outcome"] != "passed"]
            done = bool(mine) and not failed
            row.update(state="done" if done else "in progress", passed=len(mine) - len(failed), total=len(mine))
            row["failures"] = failed
        row["first_failure"] = row["failures"][0] if row["failures"] else ""
        rows.append(row)
    return rows


def failure_line(message: str, limit: int = 400) -> str:
    """A failing spec's message on one line: its first line, and where that line is a bare
    ``assert ...`` the values pytest's assertion rewriting adds beneath it (``+  where ...``)."""
    lines = [line.strip() for line in message.strip().splitlines()]
    if not lines:
        return ""
    first = lines[0]
    if first.startswith("assert "):
        first = " ".join([first, *(line for line in lines[1:] if line.startswith("+"))])
    return first if len(first) <= limit else first[: limit - 1] + "…"
