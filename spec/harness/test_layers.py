"""The layers (issue #33): the harness (acceptance/) imports nothing from the specs, and the specs import the harness
only where they are about it (spec/harness/). What both need, which rnnlab is under test, lives in a package of its
own beside rnnlab (impl/rnnlab_under_test), which imports neither."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def _imports(path: Path) -> set[str]:
    """The top-level packages ``path`` imports, at any depth of its code."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), filename=str(path))):
        if isinstance(node, ast.Import):
            found.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module.split(".")[0])
    return found


def _offenders(folder: Path, package: str, allowed: Path | None = None) -> list[str]:
    return sorted(
        str(path.relative_to(ROOT))
        for path in folder.rglob("*.py")
        if (allowed is None or allowed not in path.parents) and package in _imports(path)
    )


def test_the_harness_imports_nothing_from_the_specs():
    offenders = _offenders(ROOT / "acceptance", "spec")
    assert not offenders, f"these harness modules import from spec/: {offenders}; move what they share beside rnnlab"


def test_only_the_harness_specs_import_the_harness():
    offenders = _offenders(ROOT / "spec", "acceptance", allowed=ROOT / "spec" / "harness")
    assert not offenders, f"these specs import from acceptance/ outside spec/harness/: {offenders}"


def test_which_rnnlab_is_under_test_depends_on_neither():
    imported = _imports(ROOT / "impl" / "rnnlab_under_test" / "__init__.py")
    assert not imported & {"spec", "acceptance", "pytest"}, f"rnnlab_under_test imports {sorted(imported)}"
