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
    rows = exercise.status(tmp_path, SPEC_DIR)
    for row in rows:
        assert row["total"] > 0, f"{row['exercise']} has no specs selected by its marker"
        assert row["passed"] < row["total"], f"{row['exercise']}: a fresh copy should fail its specs, all passed"
        assert "not yet implemented" in row["first_failure"] or row["first_failure"], row


def test_restoring_an_exercise_makes_its_specs_pass(tmp_path):
    def run(e):
        folder = tmp_path / e.marker
        exercise.init(folder, keep={e.id, *e.depends})
        outcomes = exercise.run_specs(folder, SPEC_DIR, [e.marker])
        failed = {k: v["message"] for k, v in outcomes.items() if v["outcome"] != "passed"}
        return e, len(outcomes), failed

    with ThreadPoolExecutor(max_workers=2) as pool:
        results = list(pool.map(run, exercise.EXERCISES))
    problems = [f"{e.id} (with {list(e.depends)} restored): {failed}" for e, n, failed in results if failed or not n]
    assert not problems, "restoring an exercise should make all its specs pass:\n" + "\n".join(problems)


def test_exercise_init_refuses_to_overwrite(tmp_path):
    exercise.init(tmp_path)
    with pytest.raises(FileExistsError, match="already exists"):
        exercise.init(tmp_path)
