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


def test_restoring_an_exercise_passes_it_and_changes_no_other(tmp_path):
    """Restore one exercise and what it depends on: its specs pass, every exercise still stubbed still fails."""
    markers = [e.marker for e in exercise.EXERCISES]

    def run(e):
        restored = {e.id, *e.depends}
        folder = tmp_path / e.marker
        exercise.init(folder, keep=restored)
        outcomes = exercise.run_specs(folder, SPEC_DIR, markers, env={"HYPOTHESIS_PROFILE": "curriculum"})
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
