"""Every stub states its contract: the function a learner writes carries its inputs, outputs and
rule in its docstring, and its stub names the function, the rule and how to check it."""

import ast

import pytest

from rnnlab import exercise

REGIONS = [(e, rel, start) for e in exercise.EXERCISES for rel, start, _ in exercise.find_regions().get(e.id, [])]


def _function(rel, start):
    source = (exercise.PACKAGE_DIR / rel).read_text(encoding="utf-8")
    name = exercise._enclosing(source.splitlines(), start)
    return name, exercise._summaries(source), ast.parse(source)


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
