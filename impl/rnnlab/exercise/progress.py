"""What ``rnnlab exercise status`` prints: the table of exercises and the line that says what to do next."""

from __future__ import annotations

import os
import shutil
from pathlib import Path
from typing import Any

from rnnlab.exercise.catalogue import BY_ID
from rnnlab.exercise.source import where
from rnnlab.usage import quote_path


def next_step(
    rows: list[dict[str, Any]],
    impl_dir: str | os.PathLike[str],
    spec_dir: Path | None = None,
    checked_all: bool = True,
) -> str:
    """The line that says what to do next: the first exercise, in curriculum order, not done.
    ``checked_all`` False: ``rows`` are only the exercises asked for, so passing them is not
    passing the curriculum."""
    for r in rows:
        if r["state"] in ("in progress", "not started"):
            e = BY_ID[r["exercise"]]
            verb = "fix" if r["state"] == "in progress" else "write"
            spec = spec_dir.parent / e.spec if spec_dir is not None else e.spec
            return (
                f"next: {e.number} — {e.title}: {verb} {where(e)}, then run "
                f"`rnnlab exercise status {quote_path(impl_dir)} {e.id}` (or `pytest {quote_path(spec)} --impl "
                f"{quote_path(impl_dir)}`)"
            )
    if any(r["state"] == "waiting" for r in rows):
        return "next: finish the exercises the waiting ones need (shown beside them)"
    if not checked_all:
        names = ", ".join(r["number"] for r in rows)
        verb = "passes its" if len(rows) == 1 else "pass their"
        return f"next: {names} {verb} specs; see the others with `rnnlab exercise status {quote_path(impl_dir)}`"
    return (
        f"next: every exercise passes its specs; train your code: RNNLAB_IMPL={quote_path(impl_dir)} tox -e acceptance"
    )


def format_status(rows: list[dict[str, Any]], width: int | None = None, full: bool = False) -> str:
    """The table ``rnnlab exercise status`` prints; ``full``: every failing message, whole."""
    width = width or max(120, shutil.get_terminal_size((160, 24)).columns)
    wide = max(len(r["title"]) for r in rows) if rows else 4
    lines = [f"{'exercise':<10} {'task':<{wide}} {'state':<21} first failing message"]
    for r in rows:
        state = {
            "done": f"done ({r['passed']}/{r['total']})",
            "in progress": f"{r['passed']}/{r['total']} specs pass",
            "not started": "not started (stub)",
            "waiting": f"waiting on {', '.join(r.get('waiting', []))}",
        }[r["state"]]
        msg = r["first_failure"].replace("\n", " ")
        room = width - 34 - wide
        shown = msg if full or len(msg) <= room else msg[: max(room - 1, 20)] + "…"
        lines.append(f"{r['number']:<10} {r['title']:<{wide}} {state:<21} {shown}".rstrip())
        if full:
            lines += [f"{'':<10} - {m}" for m in r["failures"][1:]]
    return "\n".join(lines)
