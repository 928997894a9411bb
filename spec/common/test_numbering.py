"""One numbering everywhere: every place that shows an exercise's number and title (pytest's
markers, the README's tables, the spec files, the stubs, `status`, the report) is built from
the one list in rnnlab/exercise/catalogue.py, or is checked against it here."""

import ast
import re
from pathlib import Path

import pytest

from rnnlab import exercise

ROOT = Path(__file__).resolve().parents[2]
NUMBER = re.compile(r"Lab \d\d\.\d+")


def _docstring(path: Path) -> str:
    return ast.get_docstring(ast.parse(path.read_text(encoding="utf-8"))) or ""


def test_the_readme_tables_are_generated_from_the_exercise_list():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert exercise.render_readme(readme) == readme, (
        "the README's exercise tables differ from rnnlab/exercise/catalogue.py; rebuild them with "
        "`python -m rnnlab.exercise README.md` (never edit them by hand)"
    )
    for lab in ("lab01", "lab02", "lab03"):
        assert f"<!-- generated: specs {lab} -->" in readme, f"the README lost its generated {lab} table"
    assert "<!-- generated: exercises -->" in readme


def test_every_lab_number_in_the_readme_and_tox_ini_is_an_exercise_s():
    known = {e.number for e in exercise.EXERCISES}
    for name in ("README.md", "tox.ini"):
        stray = set(NUMBER.findall((ROOT / name).read_text(encoding="utf-8"))) - known
        assert not stray, f"{name} numbers {sorted(stray)}, which no exercise in rnnlab/exercise/catalogue.py has"


@pytest.mark.parametrize("e", exercise.EXERCISES, ids=lambda e: e.id)
def test_an_exercise_s_spec_file_carries_its_number_and_only_its_marker(e):
    path = ROOT / e.spec
    doc = _docstring(path)
    assert doc.startswith(f"{e.number} — "), f"{e.spec} must open with '{e.number} — ', it opens {doc[:40]!r}"
    others = [x.marker for x in exercise.EXERCISES if x is not e and re.search(rf"\b{x.marker}\b", path.read_text())]
    assert not others, f"{e.spec} uses other exercises' markers {others}; `status` runs one file per exercise"
    assert exercise.stub_line(e, "").count(e.number) == 1, "the stub names the exercise by its number"


@pytest.mark.parametrize("topic", exercise.TOPICS, ids=lambda t: t.marker)
def test_a_reference_topic_s_spec_file_has_no_exercise_number(topic):
    doc = _docstring(ROOT / topic.spec)
    assert not NUMBER.match(doc), f"{topic.spec} is not an exercise; its docstring must not number it ({doc[:40]!r})"
    assert doc.startswith(topic.lab.replace("lab", "Lab ") + " — ")


def test_every_spec_marker_is_registered_from_the_list(pytestconfig):
    registered = {line.split(":")[0] for line in pytestconfig.getini("markers")}
    for e in exercise.EXERCISES:
        assert e.marker in registered
    for t in exercise.TOPICS:
        assert t.marker in registered
    used = set()
    for path in (ROOT / "spec").rglob("test_*.py"):
        used |= set(re.findall(r"pytest\.mark\.(lab0\d_\w+)", path.read_text(encoding="utf-8")))
    listed = {e.marker for e in exercise.EXERCISES} | {t.marker for t in exercise.TOPICS}
    assert used <= listed, (
        f"spec files use markers {sorted(used - listed)} that rnnlab/exercise/catalogue.py does not list"
    )
