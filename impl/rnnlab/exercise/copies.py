"""A learner's copy: written with every exercise stubbed (``init``), completed from the reference for training
(``complete``), and the record beside it that says where its specs are."""

from __future__ import annotations

import contextlib
import json
import os
import re
import shutil
import tempfile
from pathlib import Path
from typing import Any

from rnnlab.errors import ConfigError
from rnnlab.exercise.catalogue import BY_ID, EXERCISES, ExerciseError
from rnnlab.exercise.source import (
    PACKAGE_DIR,
    REGION_START,
    STUB_TAG,
    enclosing,
    find_regions,
    stub_line,
    summaries,
)
from rnnlab.files import os_reason


def init(dest: str | os.PathLike[str], keep: set[str] | frozenset[str] = frozenset()) -> Path:
    """Write the package to ``dest/rnnlab`` with every region stubbed, except those in ``keep``.
    A copy that cannot be written (a file in the way, a read-only place, a full disk) is one
    ``ExerciseError`` and leaves nothing behind."""
    dest = Path(dest)
    target = dest / "rnnlab"
    if target.exists():
        raise FileExistsError(f"{target} already exists; choose an empty directory (your work is never overwritten)")
    unknown = set(keep) - set(BY_ID)
    if unknown:
        raise ConfigError(f"unknown exercise(s) {sorted(unknown)}; choose from {list(BY_ID)}")
    for place in (dest, *dest.parents):
        if place.exists() and not place.is_dir():
            raise ExerciseError(f"{place} is a file; give `rnnlab exercise init` a folder for the learner's copy")
    created = [folder for folder in (dest, *dest.parents) if not folder.exists()]  # deepest first
    try:
        _write_copy(dest, target, keep)
    except OSError as exc:
        for folder in created:
            with contextlib.suppress(OSError):
                folder.rmdir()  # only if empty: nothing of the learner's is removed
        raise ExerciseError(f"cannot write the learner's copy to {dest}: {_reason(exc)}") from None
    return target


def _reason(exc: OSError) -> str:
    """``os_reason`` of an OSError, or of the first of the many that ``shutil.copytree`` collects."""
    if isinstance(exc, shutil.Error) and exc.args and isinstance(exc.args[0], list) and exc.args[0]:
        why = str(exc.args[0][0][-1])
        code = re.search(r"\[Errno (\d+)\]", why)
        return os_reason(OSError(int(code[1]), why)) if code else why
    return os_reason(exc)


def _write_copy(dest: Path, target: Path, keep: set[str] | frozenset[str]) -> None:
    dest.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(dir=dest, prefix=".rnnlab-"))
    try:
        copy = staging / "rnnlab"
        shutil.copytree(PACKAGE_DIR, copy, ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
        from rnnlab.fast.dispatch import KERNEL_MODULES  # here: the learner's commands start without torch

        for module in KERNEL_MODULES.values():  # the fast kernels spell out every cell's equations
            (staging / Path(*module.split("."))).with_suffix(".py").unlink(missing_ok=True)
        regions = find_regions(copy)
        by_file: dict[Path, list[tuple[int, int, str]]] = {}
        for rid, places in regions.items():
            if rid in keep:
                continue
            for rel, start, end in places:
                by_file.setdefault(rel, []).append((start, end, rid))
        for rel, spans in by_file.items():
            path = copy / rel
            source = path.read_text(encoding="utf-8")
            lines, summarised = source.splitlines(), summaries(source)
            for start, end, rid in sorted(spans, reverse=True):
                opening = REGION_START.match(lines[start - 1])
                assert opening is not None  # found by the same pattern when the regions were listed
                indent = opening["indent"]
                function = enclosing(source, start)
                several = len(regions[rid]) > 1  # then each function states its own rule
                rule = summarised.get(function, "") if several else ""
                lines[start:end] = [stub_line(BY_ID[rid], indent, function, str(dest), rule)]
            path.write_text("\n".join(lines) + "\n", encoding="utf-8")
        # what the copy needs to know of where it came from: the reference package (whose fast
        # kernels rnnlab.fast.adopt may use once proven equal) and the checkout's specs, if any
        record: dict[str, str] = {"made_from": str(PACKAGE_DIR)}
        specs = PACKAGE_DIR.parent.parent / "spec"
        if (specs / "conftest.py").is_file():
            record["specs"] = str(specs)
        (staging / RECORD).write_text(json.dumps(record, indent=2) + "\n", encoding="utf-8")
        os.replace(staging / RECORD, dest / RECORD)
        os.replace(copy, target)
    finally:
        shutil.rmtree(staging, ignore_errors=True)


RECORD = ".rnnlab-exercise.json"  # written by init beside the copy: where its specs are


def complete(impl_dir: str | os.PathLike[str], out_dir: str | os.PathLike[str]) -> list[str]:
    """Copy the learner's package at ``impl_dir`` to ``out_dir/rnnlab`` with every exercise that is
    still a stub filled in from the reference (the body of its region here); return those exercises'
    ids in curriculum order. What the learner wrote is copied as written, and the copy at
    ``impl_dir`` is not touched. The acceptance harness trains the completed copy, so a lab trains as
    soon as one of its exercises is the learner's, and its report names which parts came from where."""
    source, out = Path(impl_dir), Path(out_dir)
    target = out / "rnnlab"
    shutil.copytree(source / "rnnlab", target, ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
    if (source / RECORD).is_file():
        shutil.copy2(source / RECORD, out / RECORD)
    reference = find_regions(PACKAGE_DIR)
    filled: set[str] = set()
    by_file: dict[Path, list[tuple[int, int, str, int]]] = {}
    for rid, places in find_regions(target).items():
        for k, (rel, start, end) in enumerate(places):
            by_file.setdefault(rel, []).append((start, end, rid, k))
    for rel, spans in by_file.items():
        path = target / rel
        lines = path.read_text(encoding="utf-8").splitlines()
        for start, end, rid, k in sorted(spans, reverse=True):
            body = lines[start:end]
            if not (len(body) == 1 and STUB_TAG.search(body[0]) and "NotImplementedError" in body[0]):
                continue  # the learner's own code
            places = reference.get(rid, [])
            if k >= len(places) or places[k][0] != rel:
                raise ExerciseError(
                    f"{source}: exercise {rid} is not where this rnnlab has it ({rel}); the copy was made from "
                    "another version: make a new one with `rnnlab exercise init` and move your code into it"
                )
            _, ref_start, ref_end = places[k]
            lines[start:end] = (PACKAGE_DIR / rel).read_text(encoding="utf-8").splitlines()[ref_start:ref_end]
            filled.add(rid)
        path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return [e.id for e in EXERCISES if e.id in filled]


def read_record(impl_dir: str | os.PathLike[str]) -> dict[str, Any]:
    """The copy's ``RECORD`` (what ``init`` wrote beside it), or one ``ExerciseError`` naming the file and the fix
    when it is damaged (#35: a truncated or wrongly typed record was a traceback from status and accept)."""
    path = Path(impl_dir) / RECORD
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError):
        data = None
    if not isinstance(data, dict) or not all(
        isinstance(data.get(k, ""), (str, type(None))) for k in ("specs", "made_from")
    ):
        raise ExerciseError(
            f"{path} is damaged (not the record `rnnlab exercise init` writes); pass --specs PATH/TO/spec, or delete "
            "it and pass --specs each time"
        )
    return data


def spec_dir_for(impl_dir: str | os.PathLike[str], given: str | os.PathLike[str] | None = None) -> Path:
    """The spec folder to run against the copy at ``impl_dir``: ``given``, or the one ``init``
    recorded (the checkout it was made from), so that ``status`` works from any directory."""
    if given is not None:
        found = Path(given).expanduser().resolve()
    else:
        record = Path(impl_dir) / RECORD
        if not record.is_file():
            raise FileNotFoundError(
                f"{impl_dir} does not say where rnnlab's specs are ({RECORD} is missing); pass --specs PATH/TO/spec"
            )
        recorded = read_record(impl_dir).get("specs")
        if recorded is None:
            raise FileNotFoundError(
                f"{impl_dir} was made from an installed rnnlab without specs; pass --specs PATH/TO/spec"
            )
        found = Path(recorded)
    if not (found / "conftest.py").is_file():
        raise FileNotFoundError(f"{found} is not rnnlab's spec folder; pass --specs PATH/TO/spec (a checkout's spec/)")
    return found
