"""The acceptance harness's fixtures and hooks: each lab trains once per session, each criterion
records what it measured, and at the end of the session (pass or fail) reports/acceptance.json
and reports/acceptance.html are written with every criterion, its measured value and threshold,
and the lab sections (plots, tables, samples).

Registered as a plugin by ``acceptance/conftest.py`` once the rnnlab under test is chosen (the
reference, or a learner's copy): this module imports rnnlab.
"""

from __future__ import annotations

import atexit
import datetime as dt
import json
import os
import re
import tempfile
import time
from collections.abc import Callable, Generator
from pathlib import Path
from typing import Any

import pytest
import torch

from acceptance import learner, profiles, runs, sections
from acceptance.criteria import criterion_words, require_models
from acceptance.record import Recorder
from acceptance.report import LAB_ORDER, git_revision, lab_rank, machine_info, write_report
from acceptance.trained import BridgeResult, Corpus, Lab01Result, Lab02Result, Lab03Result, RecallResult
from rnnlab.cells import MODEL_KINDS
from rnnlab.device import resolve_device
from rnnlab.training import loop

LEARNER = learner.current()  # the learner's copy under test, or None: the reference
ROOT = Path(__file__).resolve().parent.parent
REPORTS = Path(os.environ.get("RNNLAB_REPORTS", ROOT / "reports"))
RECORDER = Recorder()


def _lock_reports(folder: Path) -> Any:
    """Hold ``folder``'s lock for the whole session (#35): two runs writing one reports folder at once each printed
    a report line, and the folder kept the last writer's lab only. The second is refused, saying which holds it."""
    import fcntl

    try:
        folder.mkdir(parents=True, exist_ok=True)
        handle = open(folder / ".lock", "a+")  # noqa: SIM115  (held open until the session ends)
    except OSError as exc:
        raise pytest.UsageError(
            f"RNNLAB_REPORTS={str(folder)!r}: cannot write there ({exc.strerror}); give a writable folder"
        ) from None
    try:
        fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        handle.seek(0)
        holder = handle.read().strip() or "another run"
        handle.close()
        raise pytest.UsageError(
            f"{folder} is being written by another acceptance run ({holder}); wait for it to end, or set "
            "RNNLAB_REPORTS to another folder"
        ) from None
    handle.seek(0)
    handle.truncate()
    handle.write(f"pid {os.getpid()}\n")
    handle.flush()
    return handle


REPORTS_LOCK = _lock_reports(REPORTS) if os.name == "posix" else None
# RNNLAB_DEVICE=auto|cpu|cuda|mps: where the labs train (auto: CUDA, then MPS, then CPU); the
# from-scratch vs fused timing table always runs on the CPU, which is what it is about.
DEVICE = resolve_device(os.environ.get("RNNLAB_DEVICE", "auto"))
_STARTED_WALL = time.perf_counter()
_STARTED_AT = dt.datetime.now(dt.timezone.utc)


LAB_SECONDS: dict[str, float] = {}  # wall seconds of each lab's tests (setup, call, teardown)


def rerun_command(profile: str, report: str, learner: str | None) -> str:
    """The tox command that writes this report again: ``tox -e studies`` for the studies, else the acceptance run
    (with the learner's copy where one trained)."""
    impl = f"RNNLAB_IMPL={learner} " if learner else ""
    return f"{impl}RNNLAB_PROFILE={profile} tox -e {'studies' if report == 'studies' else 'acceptance'}"


def _is_study(item: pytest.Item) -> bool:
    return STUDIES in Path(str(item.fspath)).parents


def _lab(item: pytest.Item) -> str:
    return Path(str(item.fspath)).stem.removeprefix("test_")


STUDIES = Path(__file__).resolve().parent / "studies"
REPORT = {"name": "acceptance"}  # "studies" when the session runs only the opt-in studies
# what the collected tests need beyond their own lab's fixture: the bridge (its attention LM trains beside Lab 02's
# models where the profile trains it), and a study that reads the trained attention LM whatever the profile
WANTS = {"attention": False, "studied": False}


@pytest.hookimpl(trylast=True)  # after pytest's own selection (-k, -m, --deselect): decide from what will run
def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Labs run in the report's order (the bridge after Lab 02, whose trained models it reuses), so
    each lab's time includes the training it starts and no other lab's."""
    if items and all(_is_study(item) for item in items):
        REPORT["name"] = "studies"
    items.sort(key=lambda item: lab_rank(_lab(item)))
    # the bridge's attention LM trains beside Lab 02's models where this session runs the bridge
    WANTS["attention"] = any("bridge" in getattr(item, "fixturenames", ()) for item in items)
    WANTS["studied"] = any("bridge" in getattr(item, "fixturenames", ()) and _is_study(item) for item in items)
    for item in items:
        item.add_marker(pytest.mark.acceptance)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_protocol(item: pytest.Item, nextitem: pytest.Item | None) -> Generator[None, object, object]:
    started = time.perf_counter()
    try:
        return (yield)
    finally:
        part = _part(item)
        LAB_SECONDS[part] = LAB_SECONDS.get(part, 0.0) + time.perf_counter() - started


def _part(item: pytest.Item) -> str:
    """What a test's seconds count toward in the report's header: its lab, or for a study the study itself
    ("in context copying"), so the studies report says which study took how long."""
    if _is_study(item):
        return item.name.removeprefix("test_").replace("_", " ")
    return _lab(item)


@pytest.fixture(scope="session")
def recorder() -> Recorder:
    return RECORDER


@pytest.fixture(scope="session")
def profile() -> profiles.Profile:
    return profiles.current()


@pytest.fixture(scope="session")
def device() -> torch.device:
    return DEVICE


@pytest.fixture(scope="session")
def runs_dir() -> Path:
    path = REPORTS / "runs"
    path.mkdir(parents=True, exist_ok=True)
    return path


@pytest.fixture(scope="session")
def corpus() -> Corpus:
    """Tiny Shakespeare, split 90/10, with its vocabulary."""
    from rnnlab.data import Vocab, load_tiny_shakespeare, split_text
    from rnnlab.errors import RnnlabError

    try:
        text = load_tiny_shakespeare()
    except RnnlabError as exc:  # not there, no network, a damaged copy: the loader's one line names the fix
        # (as an error of each test that needs it, the line came inside as many tracebacks: 2,400 lines for Lab 02)
        pytest.exit(f"cannot train: {' '.join(str(exc).split())}", returncode=pytest.ExitCode.USAGE_ERROR)
    train, val = split_text(text)
    vocab = Vocab.from_text(text)
    return {
        "text": text,
        "train": train,
        "val": val,
        "vocab": vocab,
        "train_ids": vocab.encode(train),
        "val_ids": vocab.encode(val),
    }


# Each lab trains once per session (acceptance/runs.py), then writes its report section
# (acceptance/sections/); a learner's copy skips a lab none of whose exercises it has written yet.


@pytest.fixture(scope="session")
def lab01(
    profile: profiles.Profile, corpus: Corpus, runs_dir: Path, recorder: Recorder, device: torch.device
) -> Lab01Result:
    learner.require("lab01")
    result = runs.lab01(profile, corpus, runs_dir, device)
    sections.lab01.write(recorder, result)
    return result


@pytest.fixture(scope="session")
def lab02(
    profile: profiles.Profile, corpus: Corpus, runs_dir: Path, recorder: Recorder, device: torch.device
) -> Lab02Result:
    """Lab 02's trained models and measurements (Lab 02's tests and the bridge's)."""
    learner.require("lab02")
    attention = (
        WANTS["attention"]
        and trains_attention_lm(profile)
        and set(dict(profile.lab02.hidden(len(corpus["vocab"])))) == set(MODEL_KINDS)
    )
    result = runs.lab02(profile, corpus, runs_dir, device, attention=attention)
    sections.lab02.write(recorder, result)
    return result


@pytest.fixture(scope="session")
def lab03(profile: profiles.Profile, runs_dir: Path, recorder: Recorder, device: torch.device) -> Lab03Result:
    learner.require("lab03")
    result = runs.lab03(profile, runs_dir, device)
    sections.lab03.write(recorder, result)
    return result


@pytest.fixture(scope="session")
def bridge(
    profile: profiles.Profile, corpus: Corpus, lab02: Lab02Result, recorder: Recorder, device: torch.device
) -> BridgeResult:
    learner.require("bridge")
    require_models(lab02.runs, *MODEL_KINDS)  # compared with every Lab 02 model
    result = runs.bridge(profile, corpus, lab02, device, train_lm=trains_attention_lm(profile))
    sections.bridge.write(recorder, result)
    return result


def trains_attention_lm(profile: profiles.Profile) -> bool:
    """Whether this session trains the bridge's attention LM: where the profile does (``Bridge.train_lm``), or a
    study reads the trained model (the in-context copying study, in any profile)."""
    return profile.bridge.train_lm or WANTS["studied"]


@pytest.fixture(scope="session")
def recall(profile: profiles.Profile, recorder: Recorder, device: torch.device) -> RecallResult:
    """Multi-query associative recall, every model parameters matched (the bridge's criterion in the
    full profile, and the studies tier's section)."""
    learner.require("bridge")
    result = runs.recall(profile, device)
    sections.recall.write(recorder, result)
    return result


def pytest_sessionstart(session: pytest.Session) -> None:
    loop.progress_sink = _past_capture(session.config)
    if LEARNER is not None:
        learner.verify_kernels()
        from rnnlab.fast import adopt  # the learner's copy's

        variable = getattr(adopt, "LOG_VARIABLE", None)  # a copy made before the checks on a run's batches: none
        if variable is not None:
            # each training process, side by side too, appends the checks of its kernels on its own batches here
            handle, path = tempfile.mkstemp(prefix="rnnlab-kernels-", suffix=".jsonl")
            os.close(handle)
            atexit.register(lambda: Path(path).unlink(missing_ok=True))
            os.environ[variable] = path


def kernel_checks(recurrence: dict[str, str]) -> dict[str, str]:
    """How each cell trained, after the run: where a reference kernel stood in for the learner's cell, what the checks
    on the run's own batches found (every training process logged them to ``adopt.LOG_VARIABLE``'s file)."""
    from rnnlab.fast import adopt

    variable, checked_again = getattr(adopt, "LOG_VARIABLE", None), getattr(adopt, "CHECKED_AGAIN", None)
    if variable is None or checked_again is None:
        return recurrence
    path = os.environ.get(variable)
    entries = []
    if path and Path(path).is_file():
        entries = [json.loads(line) for line in Path(path).read_text(encoding="utf-8").splitlines() if line.strip()]
    out = dict(recurrence)
    for cell, how in recurrence.items():
        mine = [e for e in entries if e.get("cell") == cell]
        mismatch = next((e["mismatch"] for e in mine if "mismatch" in e), None)
        if mismatch is not None:
            out[cell] = mismatch
        elif how.startswith("fast path") and how.endswith(checked_again):
            if not mine:
                out[cell] = how.removesuffix(checked_again) + "; this run trained nothing with it"
                continue
            largest = max(float(e["difference"]) for e in mine)
            out[cell] = (
                how.removesuffix(checked_again)
                + f"; and on {len(mine)} of this run's own batches (its first, and at every evaluation; float32): "
                f"largest relative difference {largest:.1e}"
            )
    return out


def _past_capture(config: pytest.Config) -> Callable[[str], None]:
    """Training progress as whole lines on the terminal or in the CI log, past pytest's capture (as
    its live logging writes; the runs' progress bars are off there: pytest's capture is no terminal)."""
    capture = config.pluginmanager.getplugin("capturemanager")
    reporter = config.pluginmanager.getplugin("terminalreporter")

    def write(line: str) -> None:
        with capture.global_and_fixture_disabled():
            reporter.ensure_newline()
            reporter.write_line(line)
            reporter.flush()

    return write


JUDGED = pytest.StashKey[int]()  # criteria recorded before a test ran: one it failed without recording is found


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(
    item: pytest.Item, call: pytest.CallInfo[None]
) -> Generator[None, pytest.TestReport, pytest.TestReport]:
    """A lab test skipped because its exercises are stubs: a "not attempted" row in the report. A test that fails
    before it records its criterion (an error in its fixture's training or in its own code): a failed row naming
    the error."""
    report = yield
    if report.when == "setup":
        item.stash[JUDGED] = RECORDER.judged
    if call.excinfo is None or report.when not in ("setup", "call"):
        return report
    lab = Path(str(item.fspath)).stem.removeprefix("test_")
    callspec = getattr(item, "callspec", None)
    words = criterion_words(getattr(item, "function", None), item.name, callspec.params if callspec else {})
    case = f"{lab}.{item.name.removeprefix('test_').replace('[', '.').rstrip(']')}"
    if report.skipped:
        reason = str(call.excinfo.value)
        if reason.startswith(learner.NOT_ATTEMPTED):
            named = re.match(rf"{re.escape(learner.NOT_ATTEMPTED)} ({lab}\.\w+) ", reason)  # the criterion's own id
            RECORDER.not_attempted(named[1] if named else case, lab, words, reason)
    elif report.failed and RECORDER.judged == item.stash.get(JUDGED, RECORDER.judged) and not _is_study(item):
        error = call.excinfo.value
        first = str(error).strip().splitlines()[0] if str(error).strip() else ""
        RECORDER.stopped(case, lab, words, f"{type(error).__name__}: {first}" if first else type(error).__name__)
    return report


def trained_code() -> dict[str, object]:
    """Whose code this run trained, for the report's header."""
    if LEARNER is None:
        return {"who": "reference", "directory": str(ROOT / "impl" / "rnnlab")}
    from rnnlab.exercise import BY_ID

    return {
        "who": "learner",
        "directory": str(LEARNER.directory),
        "stubbed": [f"{BY_ID[e].number} {BY_ID[e].title}" for e in LEARNER.stubbed],
        # each stub trained as the reference's code, by lab
        "from_reference": {
            lab: [f"{BY_ID[e].number} {BY_ID[e].title}" for e in learner.from_reference(lab)]
            for lab in LAB_ORDER
            if lab in LAB_SECONDS and lab in learner.LAB_NEEDS and learner.from_reference(lab)  # the labs that ran
        },
        "done": len(BY_ID) - len(LEARNER.stubbed),
        "exercises": len(BY_ID),
        # how each cell the learner wrote trains (a cell still a stub is the reference's: nothing of theirs to say)
        "recurrence": {
            cell: how
            for cell, how in kernel_checks(LEARNER.recurrence).items()
            if cell in MODEL_KINDS and MODEL_KINDS[cell].exercise not in LEARNER.stubbed
        },
    }


def add_learner_progress(recorder: Recorder, impl_dir: str) -> None:
    """With RNNLAB_IMPL=DIR set, the report gains the `rnnlab exercise status DIR` table."""
    from acceptance.record import Table
    from rnnlab import exercise

    rows = exercise.status(impl_dir, ROOT / "spec")
    done = sum(r["passed"] == r["total"] and r["total"] > 0 for r in rows)
    section = recorder.section("exercises", f"Learner progress — {impl_dir}")
    section.summary = f"{done} of {len(rows)} exercises done (specs run against {impl_dir})."
    section.tables.append(
        Table(
            "Exercises in curriculum order",
            ["task", "exercise", "specs passed", "first failing message"],
            [[r["number"], r["title"], f"{r['passed']}/{r['total']}", r["first_failure"]] for r in rows],
        )
    )


def pytest_sessionfinish(session: pytest.Session, exitstatus: int | pytest.ExitCode) -> None:
    trained = RECORDER.criteria or RECORDER.sections  # a lab, a study or a criterion ran
    if not trained or exitstatus == pytest.ExitCode.INTERRUPTED:
        why = "it was interrupted" if trained else "it selected or trained nothing"
        session.config.get_terminal_writer().line(
            f"\nno report written: {why}; {REPORTS / (REPORT['name'] + '.html')} is as it was", yellow=True
        )
        return
    if os.environ.get("RNNLAB_IMPL"):
        add_learner_progress(RECORDER, os.environ["RNNLAB_IMPL"])
    prof = os.environ.get("RNNLAB_PROFILE", "quick")
    meta = {
        "profile": prof,
        "started": _STARTED_AT.isoformat(timespec="seconds"),
        "wall_seconds": round(time.perf_counter() - _STARTED_WALL, 1),
        "lab_seconds": {lab: round(sec, 1) for lab, sec in LAB_SECONDS.items()},
        "machine": {**machine_info(), "device": str(DEVICE)},
        "git": git_revision(ROOT),
        "seed": profiles.seed(),
        # how to run this again: `rnnlab exercise accept` names itself (RNNLAB_COMMAND), tox is the default
        "command": os.environ.get("RNNLAB_COMMAND")
        or rerun_command(prof, REPORT["name"], str(LEARNER.directory) if LEARNER else None),
        "trained_code": trained_code(),
    }
    try:
        json_path, html_path = write_report(RECORDER, meta, REPORTS, REPORT["name"])
    except OSError as exc:
        session.config.get_terminal_writer().line(f"rnnlab: could not write the report: {exc}", red=True)
        session.exitstatus = pytest.ExitCode.INTERNAL_ERROR
        return
    except KeyboardInterrupt:  # Ctrl-C (or a stop signal) while the report was written: one line, not a traceback
        session.config.get_terminal_writer().line(
            f"\nno report written whole: interrupted while writing {REPORTS}; each of its files is either the "
            "old one or the new one, never half of either",
            yellow=True,
        )
        session.exitstatus = pytest.ExitCode.INTERRUPTED
        return
    attempted = [c for c in RECORDER.criteria if c.attempted]
    passed = sum(c.passed for c in attempted)
    skipped = len(RECORDER.criteria) - len(attempted)
    more = f", {skipped} not attempted (each row of the report says why)" if skipped else ""
    verdict = f"{passed}/{len(attempted)} criteria passed{more}" if RECORDER.criteria else "findings only"
    session.config.get_terminal_writer().line(f"\n{REPORT['name']} report: {html_path} ({verdict})")


torch.set_num_threads(int(os.environ.get("RNNLAB_THREADS", torch.get_num_threads())))
