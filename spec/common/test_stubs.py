"""Every stub states its contract: the function a learner writes carries its inputs, outputs and
rule in its docstring, and its stub names the function, the rule and how to check it."""

import ast

import pytest

from rnnlab import exercise

REGIONS = [(e, rel, start) for e in exercise.EXERCISES for rel, start, _ in exercise.find_regions().get(e.id, [])]


def _function(rel, start):
    source = (exercise.PACKAGE_DIR / rel).read_text(encoding="utf-8")
    name = exercise.enclosing(source, start)
    return name, exercise.summaries(source), ast.parse(source)


@pytest.mark.parametrize("e, rel, start", REGIONS, ids=lambda v: getattr(v, "id", str(v)))
def test_every_exercise_function_documents_its_contract(e, rel, start):
    name, summaries, tree = _function(rel, start)
    node = next(
        n
        for n in ast.walk(tree)
        if isinstance(n, ast.FunctionDef)
        and n.name == name.split(".")[-1]
        and n.lineno <= start + 1
        and n.end_lineno >= start
    )
    doc = ast.get_docstring(node) or ""
    assert "return" in doc.lower(), (
        f"{e.id}: {rel}:{name} is an exercise; its docstring must say what it returns (and the inputs, shapes "
        f"and rule), since the learner sees only the docstring above the stub. It says: {doc!r}"
    )
    assert name in summaries, f"{rel}:{name} has no docstring summary"


def test_each_stub_names_its_own_function_and_how_to_check_it(tmp_path):
    exercise.init(tmp_path)
    stubs = [
        line
        for path in (tmp_path / "rnnlab").rglob("*.py")
        for line in path.read_text(encoding="utf-8").splitlines()
        if exercise.STUB_TAG.search(line) and "NotImplementedError" in line
    ]
    assert len(stubs) == len(REGIONS), f"one stub per exercise function: {len(stubs)} stubs, {len(REGIONS)} regions"
    assert len(set(stubs)) == len(stubs), "no two functions share a stub message"
    for line in stubs:
        assert f"rnnlab exercise status {tmp_path} " in line, f"a stub says how to check it: {line[:160]}"


def test_a_partial_copy_trains_with_the_reference_where_it_is_still_a_stub(tmp_path):
    """The acceptance harness trains a lab as soon as one of its exercises is the learner's: each
    exercise still a stub is filled in from the reference, in a copy, and the report says which."""
    copy, done = tmp_path / "copy", tmp_path / "done"
    exercise.init(copy, keep={"lab02.lstm_cell"})  # as if the learner had written the LSTM cell, and only it
    cells = copy / "rnnlab" / "cells.py"
    cells.write_text(
        cells.read_text(encoding="utf-8").replace(
            "# region exercise lab02.lstm_cell\n",
            "# region exercise lab02.lstm_cell\n        # the learner's own line\n",
            1,
        ),
        encoding="utf-8",
    )
    filled = exercise.complete(copy, done)
    assert filled == [e.id for e in exercise.EXERCISES if e.id != "lab02.lstm_cell"], (
        "every exercise still stubbed is filled in, and named, in curriculum order"
    )
    assert exercise.stubbed(done) == [], "the completed copy has no stub left"
    assert "# the learner's own line" in (done / "rnnlab" / "cells.py").read_text(encoding="utf-8"), (
        "what the learner wrote is kept as written"
    )
    assert len(exercise.stubbed(copy)) == len(exercise.EXERCISES) - 1, "the learner's copy itself is not touched"
    reference = exercise.find_regions()
    for rid in filled:
        for rel, start, end in reference[rid]:
            body = (exercise.PACKAGE_DIR / rel).read_text(encoding="utf-8").splitlines()[start:end]
            assert "\n".join(body) in (done / "rnnlab" / rel).read_text(encoding="utf-8"), (
                f"{rid}: the reference's body, in {rel}"
            )
    assert (done / exercise.RECORD).is_file(), "the record of where the copy came from goes with it"


def test_a_spec_of_no_exercise_waits_on_the_stubs_of_a_fresh_copy(tmp_path):
    """Issue #34: against a fresh copy, a CLI spec failed with a bare `assert 2 == 0` that named no exercise; it is
    reported as waiting on the stubs, as `status` reports a waiting exercise."""
    import json
    import os
    import subprocess
    import sys
    from pathlib import Path

    checkout = Path(__file__).resolve().parents[2]
    exercise.init(tmp_path / "mine")
    results = tmp_path / "results.json"
    done = subprocess.run(
        [
            sys.executable, "-m", "pytest", "spec/common/test_cli_help.py::test_the_cli_builds_the_same_configs_as_the_library",
            f"--impl={tmp_path / 'mine'}", "-q", "-p", "no:cacheprovider", "-rs",
        ],
        cwd=checkout, capture_output=True, text=True, timeout=300,
        env={**os.environ, "RNNLAB_RESULTS_JSON": str(results)},
    )  # fmt: skip
    (outcome,) = json.loads(results.read_text()).values()
    assert outcome["outcome"] == "skipped", f"{outcome}\n{done.stdout[-800:]}"
    assert "waiting on Lab 01.1" in done.stdout and "still stubs" in done.stdout, done.stdout[-800:]
