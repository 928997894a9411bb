"""The acceptance harness's environment variables are checked in one place, before anything trains (#35): a bad
value is one line naming the variable, never an INTERNALERROR traceback or pytest's own errors after the message."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

CHECKOUT = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize(
    "name, value",
    [
        ("RNNLAB_DEVICE", "bogus"),
        ("RNNLAB_THREADS", "abc"),
        ("RNNLAB_WORKERS", "0"),
        ("RNNLAB_SEED", "-1"),
        ("RNNLAB_PROFILE", "nope"),
        ("RNNLAB_MODELS", "transformer"),
    ],
)
def test_a_bad_setting_is_one_line_naming_the_variable(name, value, monkeypatch):
    from acceptance import environment

    for key in [k for k in os.environ if k.startswith("RNNLAB_") and k != "RNNLAB_TINY_SHAKESPEARE"]:
        monkeypatch.delenv(key)
    monkeypatch.setenv(name, value)
    with pytest.raises(pytest.UsageError) as refused:
        environment.check()
    message = str(refused.value)
    assert f"{name}={value!r}" in message and "\n" not in message, message


def test_the_harness_stops_at_a_bad_setting_with_one_error_line():
    """End to end: `RNNLAB_SEED=-1 pytest acceptance` printed the message and then five of pytest's own internal
    errors (620 lines); now one ERROR line and exit 4, before anything trains."""
    _refused_in_one_error_line({"RNNLAB_SEED": "-1"}, "RNNLAB_SEED='-1'")


def _refused_in_one_error_line(settings: dict[str, str], named: str) -> None:
    """`pytest acceptance` with only ``settings`` among the RNNLAB_* variables stops before anything trains: a usage
    error (exit 4), one ERROR line holding ``named``, no INTERNALERROR and no traceback."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("RNNLAB_")}
    done = subprocess.run(
        [sys.executable, "-m", "pytest", "acceptance", "--collect-only", "-q", "-p", "no:cacheprovider"],
        cwd=CHECKOUT,
        env={**env, **settings},
        capture_output=True,
        text=True,
        timeout=120,
    )
    out = done.stdout + done.stderr
    assert done.returncode == 4, f"a usage error (exit 4), got {done.returncode}: {out[-800:]}"
    errors = [line for line in out.splitlines() if line.startswith("ERROR:")]
    assert len(errors) == 1 and named in errors[0], out[-800:]
    assert "INTERNALERROR" not in out and "Traceback" not in out, out[-800:]


def test_a_corpus_it_cannot_load_stops_the_harness_in_one_line(tmp_path):
    """`rnnlab exercise accept DIR --lab 02` without the corpus and without a network printed the loader's one clear
    message inside eleven tracebacks of urllib's, 2,400 lines; now the harness stops at the first lab that needs the
    corpus with that one line (exit 4, a usage error: the fix is a setting), and writes no report."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("RNNLAB_")}
    missing = tmp_path / "input.txt"  # never downloaded: the loader takes a path given as it is
    done = subprocess.run(
        [sys.executable, "-m", "pytest", "acceptance/test_lab01.py", "-q", "-p", "no:cacheprovider"],
        cwd=CHECKOUT,
        env={
            **env,
            "RNNLAB_TINY_SHAKESPEARE": str(missing),
            "RNNLAB_PROFILE": "smoke",
            "RNNLAB_REPORTS": str(tmp_path),
        },
        capture_output=True,
        text=True,
        timeout=120,
    )
    out = done.stdout + done.stderr
    assert done.returncode == 4, f"a usage error (exit 4), got {done.returncode}: {out[-800:]}"
    said = [line for line in out.splitlines() if "RNNLAB_TINY_SHAKESPEARE" in line]
    assert len(said) == 1 and str(missing) in said[0], out[-1500:]
    assert "Traceback" not in out and "\nE   " not in out and out.count("\n") < 12, out[-1500:]
    assert not (tmp_path / "acceptance.html").exists()


@pytest.mark.parametrize("case", ["another rnnlab", "reports is a file"])
def test_a_learner_folder_or_reports_folder_it_cannot_use_is_one_line(tmp_path, case):
    """Issue #35: an RNNLAB_IMPL folder holding some other `rnnlab` was an INTERNALERROR traceback at harness import,
    and a reports folder that is a file was found only after training. Both are one ERROR line, before training."""
    if case == "another rnnlab":
        (tmp_path / "rnnlab").mkdir()
        (tmp_path / "rnnlab" / "__init__.py").write_text("NAME = 'not the rnnlab of this project'\n")
        _refused_in_one_error_line({"RNNLAB_IMPL": str(tmp_path)}, "RNNLAB_IMPL")
    else:
        (tmp_path / "reports").write_text("a file, not a folder\n")
        _refused_in_one_error_line({"RNNLAB_REPORTS": str(tmp_path / "reports")}, "RNNLAB_REPORTS")


def test_two_runs_never_write_one_reports_folder_at_once(tmp_path):
    """Issue #35: two runs on one reports folder both printed their report line and the folder kept the last
    writer's lab; while one holds the folder, a second is refused in one line naming the folder."""
    import fcntl

    reports = tmp_path / "reports"
    reports.mkdir()
    with open(reports / ".lock", "a+") as held:
        fcntl.flock(held, fcntl.LOCK_EX | fcntl.LOCK_NB)
        held.write("pid 12345\n")
        held.flush()
        env = {k: v for k, v in os.environ.items() if not k.startswith("RNNLAB_")}
        done = subprocess.run(
            [sys.executable, "-m", "pytest", "acceptance", "--collect-only", "-q", "-p", "no:cacheprovider"],
            cwd=CHECKOUT,
            env={**env, "RNNLAB_REPORTS": str(reports)},
            capture_output=True,
            text=True,
            timeout=120,
        )
    out = done.stdout + done.stderr
    assert done.returncode == 4, out[-600:]
    errors = [line for line in out.splitlines() if line.startswith("ERROR:")]
    assert len(errors) == 1 and "being written by another acceptance run (pid 12345)" in errors[0], out[-600:]


@pytest.mark.parametrize(
    "breakage, said",
    [
        ("def broken(:\n", "SyntaxError"),
        ("import not_a_module_anywhere\n", "ModuleNotFoundError"),
        ("import sys\nsys.exit(0)\n", "SystemExit"),
    ],
)
def test_a_learner_module_that_cannot_be_imported_is_one_line_naming_the_learners_file(tmp_path, breakage, said):
    """Issue #35: a module-level SyntaxError, ImportError or sys.exit in the learner's cells.py was an INTERNALERROR
    pointing at a temporary copy ($TMPDIR/rnnlab-completed-*), not at the learner's file."""
    from rnnlab import exercise

    exercise.init(tmp_path / "mine", keep={"lab01.rnn_cell"})
    cells = tmp_path / "mine" / "rnnlab" / "cells.py"
    text = cells.read_text()
    head = "from __future__ import annotations\n"
    cells.write_text(text.replace(head, head + breakage, 1))
    env = {k: v for k, v in os.environ.items() if not k.startswith("RNNLAB_")}
    done = subprocess.run(
        [sys.executable, "-m", "pytest", "acceptance", "--collect-only", "-q", "-p", "no:cacheprovider"],
        cwd=CHECKOUT,
        env={**env, "RNNLAB_IMPL": str(tmp_path / "mine"), "RNNLAB_REPORTS": str(tmp_path / "reports")},
        capture_output=True,
        text=True,
        timeout=120,
    )
    out = done.stdout + done.stderr
    errors = [line for line in out.splitlines() if line.startswith("ERROR:")]
    assert done.returncode == 4 and len(errors) == 1, out[-800:]
    assert said in errors[0] and "rnnlab-completed-" not in errors[0], errors[0]
    assert "INTERNALERROR" not in out, out[-800:]


INTERRUPTED_WHILE_WRITING = """
import sys
from acceptance import harness
from acceptance.record import Bound

harness.RECORDER.criterion("lab01.perplexity", "lab01", "perplexity", Bound(5.4, 6.0, "<="))


def interrupted(*args, **kwargs):
    raise KeyboardInterrupt  # Ctrl-C after the last test, while the report is written


class Writer:
    def line(self, text, **markup):
        print("LINE", text.strip())


class Config:
    def get_terminal_writer(self):
        return Writer()


class Session:
    config = Config()
    exitstatus = 0


harness.write_report = interrupted
session = Session()
harness.pytest_sessionfinish(session, 0)
print("EXIT", int(session.exitstatus))
"""


def test_ctrl_c_while_the_report_is_written_is_one_line(tmp_path):
    """Issue #35: Ctrl-C between the last test and the report line was an 88-line KeyboardInterrupt traceback; it is
    one line saying that no report was written whole, and the session ends as interrupted."""
    env = {**os.environ, "RNNLAB_REPORTS": str(tmp_path), "PYTHONPATH": os.pathsep.join([str(CHECKOUT), *sys.path])}
    env.pop("RNNLAB_IMPL", None)
    done = subprocess.run(
        [sys.executable, "-c", INTERRUPTED_WHILE_WRITING],
        env=env,
        cwd=CHECKOUT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0 and "Traceback" not in done.stderr, done.stderr[-2000:]
    lines = [line for line in done.stdout.splitlines() if line.startswith("LINE")]
    assert len(lines) == 1 and "no report written whole: interrupted while writing" in lines[0], done.stdout
    assert done.stdout.strip().endswith(f"EXIT {int(pytest.ExitCode.INTERRUPTED)}"), done.stdout


CRASHING_CRITERION = '''
from acceptance.criteria import check
from acceptance.record import Bound


def test_a_criterion_that_is_judged(recorder):
    check(recorder, "bridge.judged", "bridge", "a criterion judged by its numbers", Bound(1.0, 2.0, "<="))


def test_attention_recalls_what_a_fixed_size_state_cannot_hold(recorder):
    """Attention recalls what a fixed-size state cannot hold"""
    runs = {"attention": object()}
    runs["attention"]["by_pairs"]  # a result read the old way: the test stops before it judges anything
'''


def test_a_criterion_whose_test_stops_with_an_error_is_a_failed_row_not_a_missing_one(tmp_path):
    """`tox -e full` stopped in the recall criterion's test (a TypeError, before it judged anything), and its report
    said "All 22 criteria passed": a row that is never recorded cannot fail. A criterion test that raises before it
    judges is a FAIL row naming the error, and the banner counts it."""
    (tmp_path / "test_bridge.py").write_text(CRASHING_CRITERION)
    run = (
        "import sys, pytest\nfrom acceptance import harness\n"
        f"sys.exit(pytest.main([{str(tmp_path / 'test_bridge.py')!r}, '-q', '-p', 'no:cacheprovider'], plugins=[harness]))"
    )
    env = {**os.environ, "RNNLAB_REPORTS": str(tmp_path / "reports"), "PYTHONPATH": str(CHECKOUT)}
    env.pop("RNNLAB_IMPL", None)
    done = subprocess.run(
        [sys.executable, "-c", run], env=env, cwd=CHECKOUT, capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 1, done.stdout[-2000:] + done.stderr[-2000:]
    assert "1/2 criteria passed" in done.stdout, done.stdout[-1500:]
    data = json.loads((tmp_path / "reports" / "acceptance.json").read_text())
    assert data["summary"]["failed"] == 1 and data["summary"]["passed"] == 1, data["summary"]
    (row,) = [c for c in data["criteria"] if c["id"] != "bridge.judged"]
    assert row["id"] == "bridge.attention_recalls_what_a_fixed_size_state_cannot_hold" and not row["passed"], row
    assert row["description"] == "Attention recalls what a fixed-size state cannot hold", row
    assert (
        "stopped with an error before it judged" in row["detail"]
        and "TypeError: 'object' object is not" in row["detail"]
    ), row["detail"]
    html = (tmp_path / "reports" / "acceptance.html").read_text()
    assert "1 of 2 criteria FAILED" in html, "the banner counts a criterion whose test crashed"
