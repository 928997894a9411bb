"""The learner's command line: `rnnlab exercise init` and `status`, without running specs."""

import pytest

from rnnlab import exercise
from rnnlab.exercise_cli import _exercise_id
from rnnlab.usage import UsageError


@pytest.mark.parametrize("name", ["lab01.tbptt", "lab01_tbptt", "01.3", "Lab 01.3", "LAB01.TBPTT"])
def test_an_exercise_is_named_by_id_marker_or_number(name):
    assert _exercise_id(name) == "lab01.tbptt"


def test_an_unknown_exercise_lists_the_known_ones():
    with pytest.raises(UsageError, match="unknown exercise 'lab09.magic'.*01.1 lab01.rnn_cell"):
        _exercise_id("lab09.magic")


@pytest.mark.skipif(
    not (exercise.PACKAGE_DIR.parent.parent / "spec").is_dir(), reason="run against a copy, not the checkout"
)
def test_init_records_where_the_specs_are(tmp_path):
    exercise.init(tmp_path)
    assert exercise.spec_dir_for(tmp_path) == exercise.PACKAGE_DIR.parent.parent / "spec"
    (tmp_path / exercise.RECORD).unlink()
    with pytest.raises(FileNotFoundError, match="pass --specs"):
        exercise.spec_dir_for(tmp_path)


def _row(number, state, passed=0, total=0, failures=(), waiting=()):
    e = next(x for x in exercise.EXERCISES if x.number == number)
    return {
        "exercise": e.id,
        "number": number,
        "title": e.title,
        "state": state,
        "passed": passed,
        "total": total,
        "failures": list(failures),
        "first_failure": (list(failures) or [""])[0],
        "waiting": list(waiting),
    }


def test_status_shows_the_whole_message_on_request_and_names_the_next_step():
    long = "with f = 1 and i = 0 the cell state must pass through unchanged; " + "x" * 300
    rows = [
        _row("Lab 01.1", "done", 5, 5),
        _row("Lab 02.1", "in progress", 3, 6, [long, "second failure"]),
        _row("Lab 01.3", "not started"),
        _row("Lab 03.3", "waiting", waiting=["Lab 02.2"]),
    ]
    short = exercise.format_status(rows, width=120)
    assert long not in short and "…" in short, "the table cuts long messages"
    full = exercise.format_status(rows, width=120, full=True)
    assert long in full and "second failure" in full, "--full prints every failing message whole"
    assert "not started (stub)" in short and "waiting on Lab 02.2" in short and "3/6 specs pass" in short
    nxt = exercise.next_step(rows, "~/mine")
    assert nxt.startswith("next: Lab 02.1 — LSTM cell: fix rnnlab/cells.py: LSTMCell.step"), nxt
    done = [_row("Lab 01.1", "done", 5, 5)]
    assert "RNNLAB_IMPL=~/mine tox -e acceptance" in exercise.next_step(done, "~/mine")


def test_the_learner_commands_start_without_torch():
    """`rnnlab exercise ...` is the learner's inner loop: it must not wait ~2 s for torch to import."""
    import subprocess
    import sys

    probe = "import sys; from rnnlab.launch import main; import rnnlab.exercise_cli; print('torch' in sys.modules)"
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=60)
    assert done.stdout.strip() == "False", f"importing the learner's commands pulled in torch: {done.stderr[-500:]}"


def test_a_missing_folder_is_the_only_thing_status_asks_for(capsys):
    from rnnlab.exercise_cli import main

    assert main(["exercise", "status"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "required: dir " in err and "EXERCISE" not in err, (
        f"naming exercises is optional; the error must ask for the folder only: {err!r}"
    )
