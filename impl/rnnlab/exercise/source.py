"""The exercise regions in the reference's source: finding them, the function around each (by ``ast``), the stub
line that replaces a body, and which stubs a copy still holds."""

from __future__ import annotations

import ast
import os
import re
from pathlib import Path

from rnnlab.exercise.catalogue import EXERCISES, Exercise
from rnnlab.usage import quote_path

PACKAGE_DIR = Path(__file__).resolve().parent.parent  # the rnnlab package these regions are read from
REGION_START = re.compile(r"^(?P<indent>[ \t]*)# region exercise (?P<id>[\w.]+)\s*$")
REGION_END = re.compile(r"^[ \t]*# endregion\s*$")
STUB_TAG = re.compile(r"# stub: (?P<id>[\w.]+)\s*$")  # ends every stub line; gone once the learner replaces it


def find_regions(package_dir: Path = PACKAGE_DIR) -> dict[str, list[tuple[Path, int, int]]]:
    """Exercise id -> [(file relative to the package, first body line, end line)] (0-based, end exclusive)."""
    regions: dict[str, list[tuple[Path, int, int]]] = {}
    for path in sorted(package_dir.rglob("*.py")):
        lines = path.read_text(encoding="utf-8").splitlines()
        start = None
        for i, line in enumerate(lines):
            match = REGION_START.match(line)
            if match:
                start, rid = i, match["id"]
            elif REGION_END.match(line) and start is not None:
                regions.setdefault(rid, []).append((path.relative_to(package_dir), start + 1, i))
                start = None
    return regions


def summaries(source: str) -> dict[str, str]:
    """Each function's qualified name (``LSTMCell.step``) -> the first line of its docstring."""
    found: dict[str, str] = {}

    def visit(node: ast.AST, prefix: str) -> None:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
                name = prefix + child.name
                doc = ast.get_docstring(child)
                if doc and not isinstance(child, ast.ClassDef):
                    found[name] = " ".join(doc.strip().split("\n\n")[0].split()).rstrip(".")
                visit(child, name + ".")

    visit(ast.parse(source), "")
    return found


def stub_line(exercise: Exercise, indent: str, function: str = "", copy: str = "DIR", rule: str = "") -> str:
    """The line that replaces a region's body: one message per function, naming it, its rule
    (``rule``, for an exercise of several functions; else the exercise's), where its contract
    is (the function's docstring, just above) and how to check it."""
    where_ = f" ({function})" if function else ""
    message = (
        f"not yet implemented: {exercise.number} — {exercise.title}{where_}: {rule or exercise.task}. "
        f"Inputs, outputs and shapes: the docstring above. Check: rnnlab exercise status {quote_path(copy)} {exercise.id}"
    )
    return f"{indent}raise NotImplementedError({message!r})  # stub: {exercise.id}"


def stubbed(impl_dir: str | os.PathLike[str]) -> list[str]:
    """The exercises whose stub is still in the copy at ``impl_dir`` (curriculum order): a
    stub left in place raises, so nothing of that exercise can have been done."""
    found: set[str] = set()
    for path in (Path(impl_dir) / "rnnlab").rglob("*.py"):
        for line in path.read_text(encoding="utf-8").splitlines():
            tag = STUB_TAG.search(line)
            if tag and "NotImplementedError" in line:
                found.add(tag["id"])
    return [e.id for e in EXERCISES if e.id in found]


def enclosing(source: str, line: int) -> str:
    """``Class.method`` or ``function`` whose body holds line ``line`` (0-based) of a module's ``source``: the
    innermost definition around it, found by ``ast`` (as ``summaries`` names functions), "?" at module level."""
    found: list[str] = []

    def visit(node: ast.AST, prefix: str) -> None:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
                end = child.end_lineno or child.lineno
                if child.lineno <= line + 1 <= end:
                    found.append(prefix + child.name)
                    visit(child, prefix + child.name + ".")

    visit(ast.parse(source), "")
    return found[-1] if found else "?"


def where(exercise: Exercise) -> str:
    """Where the learner writes ``exercise``: "rnnlab/cells.py: LSTMCell.step" (every place, for
    an exercise of several functions)."""
    places = []
    for rel, start, _ in find_regions(PACKAGE_DIR).get(exercise.id, []):
        source = (PACKAGE_DIR / rel).read_text(encoding="utf-8")
        places.append(f"rnnlab/{rel.as_posix()}: {enclosing(source, start)}")
    return "; ".join(dict.fromkeys(places))
