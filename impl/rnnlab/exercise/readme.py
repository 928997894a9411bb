"""The README's generated tables, from the catalogue: ``python -m rnnlab.exercise README.md`` rebuilds them."""

from __future__ import annotations

import re
import sys
from pathlib import Path

from rnnlab.exercise.catalogue import BY_ID, EXERCISES, TOPICS
from rnnlab.exercise.source import where
from rnnlab.files import atomic_write


def spec_table(lab: str) -> str:
    """The README's table of one lab's spec groups: exercises (numbered) and reference topics."""
    rows = ["| exercise | what | marker | spec | code |", "| --- | --- | --- | --- | --- |"]
    for e in EXERCISES:
        if e.id.startswith(lab + "."):
            rows.append(f"| {e.number} | {e.title} | `{e.marker}` | `{e.spec}` | {_code(where(e))} |")
    for t in TOPICS:
        if t.lab == lab:
            code = ", ".join(f"`rnnlab/{c.strip()}`" for c in t.code.split(","))
            rows.append(f"| reference | {t.title} | `{t.marker}` | `{t.spec}` | {code} |")
    return "\n".join(rows)


def learner_table() -> str:
    """The README's table of the exercises in curriculum order."""
    rows = ["| exercise | what | where you write it | finish first |", "| --- | --- | --- | --- |"]
    for e in EXERCISES:
        needs = ", ".join(BY_ID[d].number.removeprefix("Lab ") for d in e.depends) or "—"
        rows.append(f"| {e.number} | {e.title} (`{e.marker}`) | {_code(where(e))} | {needs} |")
    return "\n".join(rows)


def _code(places: str) -> str:
    return "; ".join(f"`{p.strip()}`" for p in places.split(";"))


GENERATED = re.compile(r"(<!-- generated: (?P<what>[\w ]+) -->\n)(?P<body>.*?)(\n<!-- end generated -->)", re.S)


def render_readme(text: str) -> str:
    """``text`` (the README) with every generated block rebuilt from the lists above."""

    def block(found: re.Match[str]) -> str:
        what = found["what"].split()
        body = learner_table() if what == ["exercises"] else spec_table(what[1])
        return found.group(1) + body + found.group(4)

    return GENERATED.sub(block, text)


def main(argv: list[str] | None = None) -> int:
    """``python -m rnnlab.exercise README.md``: rebuild the README's generated tables in place."""
    args = sys.argv[1:] if argv is None else argv
    path = Path(args[0] if args else "README.md")
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:  # missing, a folder, unreadable, not UTF-8 (#35)
        why = "not UTF-8 text" if isinstance(exc, UnicodeDecodeError) else (exc.strerror or str(exc)).lower()
        print(f"python -m rnnlab.exercise: cannot read {path}: {why}; give the README to rebuild", file=sys.stderr)
        return 2
    if not GENERATED.search(text):
        print(f"python -m rnnlab.exercise: {path} has no generated tables (<!-- generated: ... -->); nothing rebuilt")
        return 1
    rebuilt = render_readme(text)
    if rebuilt == text:
        print(f"the generated tables in {path} are up to date")
        return 0
    atomic_write(path, rebuilt.encode("utf-8"))
    print(f"rebuilt the generated tables in {path}")
    return 0
