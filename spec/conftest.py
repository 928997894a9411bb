"""Shared set-up for the specs: Hypothesis profiles, determinism, fixtures."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import sys
from pathlib import Path

import pytest
import torch
from hypothesis import HealthCheck, Phase, settings

# No explain phase: its "lines always run by failing cases" report is noise to a learner; the
# shrunk example and the spec's own message say what went wrong.
PHASES = [phase for phase in Phase if phase is not Phase.explain]

# `ci`: derandomized (the same examples every run), no deadline (2-core CI machines stall).
settings.register_profile(
    "ci",
    derandomize=True,
    deadline=None,
    max_examples=40,
    print_blob=True,
    phases=PHASES,
    suppress_health_check=[HealthCheck.too_slow],
)
settings.register_profile("dev", deadline=None, max_examples=40, phases=PHASES)
# `curriculum`: the curriculum spec runs the exercise specs 13 times over to see *which* pass;
# derandomized like `ci` but with fewer examples, since each property already ran in full in the spec tier.
settings.register_profile(
    "curriculum",
    derandomize=True,
    deadline=None,
    max_examples=8,
    phases=PHASES,
    suppress_health_check=[HealthCheck.too_slow],
)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci" if os.environ.get("CI") else "dev"))

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures"
_RESULTS: dict[str, dict] = {}


def pytest_addoption(parser):
    parser.addoption(
        "--impl",
        default=os.environ.get("RNNLAB_IMPL"),
        help="run the specs against a learner's copy of rnnlab in DIR (from `rnnlab exercise init DIR`); "
        "also RNNLAB_IMPL=DIR",
    )
    parser.addoption(
        "--half",
        choices=("1", "2"),
        help="run one half of the specs selected (tox runs the two side by side; spec/side_by_side.py: half)",
    )


def pytest_collection_modifyitems(config, items):
    chosen = config.getoption("--half")
    if chosen is None:
        return
    from spec.side_by_side import half

    kept, other = [], []
    for item in items:
        (kept if half(item.nodeid) == int(chosen) else other).append(item)
    if other:
        config.hook.pytest_deselected(items=other)
        items[:] = kept


def pytest_configure(config):
    impl = config.getoption("--impl")
    if impl:
        path = Path(impl).expanduser().resolve()
        if not (path / "rnnlab" / "__init__.py").is_file():
            raise pytest.UsageError(
                f"--impl {path}: no rnnlab package there; create one with `rnnlab exercise init {impl}`"
            )
        if "rnnlab" in sys.modules:
            raise pytest.UsageError("rnnlab was imported before --impl took effect")
        import rnnlab_under_test  # imports no rnnlab

        try:
            rnnlab_under_test.activate(path)
        except rnnlab_under_test.UnderTestError as exc:
            raise pytest.UsageError(str(exc)) from None
        # the copy has no fast kernels; the reference's run a cell only where this run finds them
        # equal to the learner's cell and loop (else the learner's code runs as written)
        rnnlab_under_test.verify_kernels()
    from rnnlab.exercise import marker_lines  # after --impl: the copy's own list

    for line in marker_lines():  # each exercise's and topic's marker, described from the one list
        config.addinivalue_line("markers", line)


def pytest_report_header(config):
    import rnnlab
    import rnnlab_under_test

    header = f"rnnlab under test: {Path(rnnlab.__file__).parent}"
    copy = rnnlab_under_test.current()
    if copy is not None:
        header += "".join(f"\n  {cell}: {how}" for cell, how in copy.recurrence.items())
    return header


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item, call):
    report = yield
    if call.excinfo is not None and call.excinfo.errisinstance(NotImplementedError):
        # a learner's stub: one teaching line instead of a traceback wall
        report.longrepr = str(call.excinfo.value)
    if report.failed and report.when in ("setup", "call"):
        _waiting(item, report)
    if report.when == "call" or (report.when == "setup" and report.outcome != "passed"):
        message = ""
        if report.outcome != "passed" and call.excinfo is not None:
            from rnnlab.exercise import failure_line

            message = failure_line(str(call.excinfo.value)) or call.excinfo.typename
        _RESULTS[item.nodeid] = {
            "markers": sorted({m.name for m in item.iter_markers()}),
            "outcome": report.outcome,
            "message": message,
        }
    return report


def _waiting(item, report) -> None:
    """Issue #34: against a learner's copy that still has stubs, a spec of no exercise (the CLI, training end to
    end, the harness) that fails is reported as waiting on those stubs, as `rnnlab exercise status` reports an
    exercise whose prerequisites are stubs, instead of as a failure that names no exercise. Once every exercise is
    written it runs, and fails, as it does against the reference."""
    import rnnlab_under_test

    copy = rnnlab_under_test.current()
    if copy is None or not copy.stubbed:
        return
    from rnnlab.exercise import BY_ID, EXERCISES

    exercise_markers = {e.marker for e in EXERCISES}
    if any(m.name in exercise_markers for m in item.iter_markers()):
        return  # an exercise's own spec fails as it is: its failure is the exercise's
    waiting = ", ".join(BY_ID[e].number for e in copy.stubbed if e in BY_ID)
    path, line, _ = item.location
    report.outcome = "skipped"
    report.longrepr = (
        str(path),
        (line or 0) + 1,
        f"waiting on {waiting} (still stubs in {copy.directory}): this spec runs rnnlab end to end, so it runs once "
        "they are written",
    )


def pytest_sessionfinish(session):
    target = os.environ.get("RNNLAB_RESULTS_JSON")
    if target:
        Path(target).write_text(json.dumps(_RESULTS))


@pytest.fixture(autouse=True)
def _deterministic_torch():
    """Every spec starts from the same global seed and leaves the default dtype alone."""
    torch.manual_seed(0)
    dtype = torch.get_default_dtype()
    yield
    torch.set_default_dtype(dtype)


def _living_children() -> dict[int, str]:
    """This process's children that are still running (pid -> command line), read from /proc;
    empty where there is no /proc (macOS), which this check then cannot see."""
    me, found = str(os.getpid()), {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
            if fields[1] == me and fields[0] != "Z":  # field 4 is the parent's pid; Z: a zombie, already ended
                found[int(stat.parent.name)] = (stat.parent / "cmdline").read_bytes().replace(b"\0", b" ").decode()
        except (OSError, IndexError):
            continue  # it ended while being read
    return found


@pytest.fixture(autouse=True)
def _no_process_outlives_its_spec():
    """A spec that starts a process must kill and wait for it however it ends: one left running
    (a training run at 67% of a core, 19 minutes on) fails the spec that left it, and is killed."""
    before = set(_living_children())
    yield
    left = {pid: cmd for pid, cmd in _living_children().items() if pid not in before}
    for pid in left:
        with contextlib.suppress(OSError):
            os.kill(pid, signal.SIGKILL)
    assert not left, f"this spec left processes running (now killed): {sorted(left.values())}"


@pytest.fixture
def fixtures_dir() -> Path:
    return FIXTURES


@pytest.fixture
def tiny_text() -> str:
    """A small English text written for these specs (fixtures/tiny_corpus.txt)."""
    return (FIXTURES / "tiny_corpus.txt").read_text(encoding="utf-8")
