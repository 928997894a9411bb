"""The exercises hold together: a fresh copy fails every exercise; restoring one exercise (and
what it depends on, as listed in rnnlab.exercise.EXERCISES and the README) makes its specs pass.

Slow (a pytest run per exercise), so it has its own tox env: `tox -e curriculum`.
"""

from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from rnnlab import exercise

pytestmark = pytest.mark.curriculum
SPEC_DIR = Path(__file__).resolve().parent.parent


def test_every_exercise_has_regions_and_a_spec():
    regions = exercise.find_regions()
    assert set(regions) == set(exercise.BY_ID), (
        f"regions in the code {sorted(regions)} and the curriculum {sorted(exercise.BY_ID)} must match"
    )
    for e in exercise.EXERCISES:
        assert (SPEC_DIR.parent / e.spec).is_file(), f"{e.id}: its spec {e.spec} does not exist"
        assert all(d in exercise.BY_ID for d in e.depends), f"{e.id} depends on an unknown exercise"


def test_a_fresh_copy_fails_every_exercise(tmp_path):
    exercise.init(tmp_path)
    outcomes = exercise.run_specs(tmp_path, SPEC_DIR, [e.marker for e in exercise.EXERCISES])
    for e in exercise.EXERCISES:
        mine = [v for v in outcomes.values() if e.marker in v["markers"]]
        assert mine, f"{e.id} has no specs selected by its marker"
        failed = [v for v in mine if v["outcome"] != "passed"]
        assert failed, f"{e.id}: a fresh copy should fail its specs, all {len(mine)} passed"
        elsewhere = [node for node, v in outcomes.items() if e.marker in v["markers"] and not node.startswith(e.spec)]
        assert not elsewhere, (
            f"{e.id}'s specs must live in its spec file {e.spec} (the restore runs below collect only those): "
            f"{elsewhere[:3]}"
        )
    rows = exercise.status(tmp_path, SPEC_DIR)
    assert [r["state"] for r in rows] == ["not started"] * len(rows), "an untouched exercise is not started"


def test_status_works_from_anywhere_and_says_what_to_do_next(tmp_path):
    """`rnnlab exercise status DIR` from outside the checkout: done, in progress (with the failing
    message), not started, waiting on a stub, and a last line naming the next exercise."""
    import subprocess
    import sys

    copy = tmp_path / "mine"
    exercise.init(copy, keep={"lab01.rnn_cell", "lab01.unroll", "lab02.lstm_cell", "lab03.seq2seq"})
    cells = copy / "rnnlab" / "cells.py"
    text = cells.read_text()
    assert "c_new = torch.sigmoid(f) * c + torch.sigmoid(i) * torch.tanh(g)" in text
    cells.write_text(text.replace("torch.sigmoid(f) * c +", "c +"))  # a mistake: the forget gate left out
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    done = subprocess.run(
        [sys.executable, "-m", "rnnlab", "exercise", "status", str(copy)],
        cwd=elsewhere,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 1, f"Lab 02.1 fails its specs, so status exits 1: {done.returncode} {done.stderr}"
    lines = {line.split("  ")[0]: line for line in done.stdout.splitlines()}
    assert "done (" in lines["Lab 01.1"] and "done (" in lines["Lab 01.2"], done.stdout
    assert "specs pass" in lines["Lab 02.1"] and "not started" not in lines["Lab 02.1"], done.stdout
    assert "not started (stub)" in lines["Lab 01.3"], done.stdout
    assert "waiting on Lab 01.4, Lab 02.2, Lab 03.1, Lab 03.2" in lines["Lab 03.3"], done.stdout
    last = done.stdout.strip().splitlines()[-1]
    assert last.startswith("next: Lab 01.3 — truncated BPTT") and "rnnlab/recurrent.py: detach_state" in last, last


def test_restoring_an_exercise_passes_it_and_changes_no_other(tmp_path):
    """Restore one exercise and what it depends on: its specs pass, every exercise still stubbed still fails."""
    markers = [e.marker for e in exercise.EXERCISES]
    files = sorted({e.spec for e in exercise.EXERCISES})

    def run(e):
        restored = {e.id, *e.depends}
        folder = tmp_path / e.marker
        exercise.init(folder, keep=restored)
        # only the exercises' spec files are collected (the fresh-copy spec above holds every marked spec to them):
        # a second or so less per run than collecting the whole spec folder, thirteen runs over
        outcomes = exercise.run_specs(folder, SPEC_DIR, markers, env={"HYPOTHESIS_PROFILE": "curriculum"}, paths=files)
        problems = []
        for other in exercise.EXERCISES:
            mine = [v for v in outcomes.values() if other.marker in v["markers"]]
            failed = [v["message"] for v in mine if v["outcome"] != "passed"]
            if other.id == e.id and (failed or not mine):
                problems.append(
                    f"restoring {e.id} (with {sorted(e.depends)}) should pass its specs; failing: {failed[:3]}"
                )
            if other.id not in restored and not failed:
                problems.append(f"restoring {e.id} made {other.id} pass although its own code is still a stub")
        return problems

    with ThreadPoolExecutor(max_workers=2) as pool:
        problems = [p for found in pool.map(run, exercise.EXERCISES) for p in found]
    assert not problems, "\n".join(problems)


def test_exercise_init_refuses_to_overwrite(tmp_path):
    exercise.init(tmp_path)
    with pytest.raises(FileExistsError, match="already exists"):
        exercise.init(tmp_path)
