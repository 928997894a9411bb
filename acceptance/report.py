"""Writing reports/acceptance.json and the self-contained reports/acceptance.html."""

from __future__ import annotations

import json
import os
import platform
import re
import subprocess
from pathlib import Path
from typing import Any, Protocol, TypeVar

import torch
from jinja2 import Environment, FileSystemLoader, select_autoescape
from markupsafe import Markup, escape

from acceptance.record import Bound, Recorder, finite_or_text, render_number, render_value
from rnnlab.files import atomic_write


class _InLab(Protocol):
    lab: str


T = TypeVar("T", bound=_InLab)

TEMPLATES = Path(__file__).resolve().parent / "templates"
LAB_ORDER = [
    "lab01",
    "lab02",
    "lab03",
    "bridge",
    "study-copying",
    "study-window",
    "study-clipping",
    "study-bidirectional",
    "study-sizes",
    "study-recall",
    "exercises",
]


def lab_rank(lab: str) -> int:
    """Where ``lab`` (a lab's or study's section id) comes in a report: its place in LAB_ORDER, else after them all."""
    return LAB_ORDER.index(lab) if lab in LAB_ORDER else len(LAB_ORDER)


# The profiles whose claims stand side by side in every report: each run writes its own record
# (REPORTS/claims-PROFILE.json); the other's comes from its latest run in the same folder, else from
# the record of one reference run kept in acceptance/measured/.
COMPARED_PROFILES = ("quick", "full")
MEASURED = Path(__file__).resolve().parent / "measured"


def claims_record(recorder: Recorder, meta: dict[str, Any]) -> dict[str, Any]:
    """What this run measured for each claim, with where and when."""
    machine = meta.get("machine", {})
    return {
        "profile": meta.get("profile"),
        "started": meta.get("started"),
        "git": meta.get("git"),
        "machine": f"{machine.get('cores')}-core {machine.get('cpu')}",
        "device": machine.get("device"),
        "torch": machine.get("torch"),
        "wall_seconds": meta.get("wall_seconds"),
        "who": meta.get("trained_code", {}).get("who", "reference"),
        "claims": {c.key: c.ours for c in recorder.claims},
        # every judged criterion's measured value: a learner's report shows the reference run's beside its own
        "criteria": {c.id: [b.as_json() for b in c.bounds] for c in recorder.criteria if c.attempted},
        "numbers": {n.id: {"value": finite_or_text(n.value), "unit": n.unit} for n in recorder.numbers.values()},
    }


CHECKOUT_REPORTS = Path(__file__).resolve().parent.parent / "reports"


def reference_run(profile: str, machine: str = "", torch_build: str = "") -> dict[str, Any] | None:
    """The reference run of ``profile`` a learner's report stands beside (None without one): the checkout's own
    latest reference run (reports/claims-PROFILE.json, written by `tox`) where it was made on this ``machine`` with
    this ``torch_build``, else the recorded one (acceptance/measured/claims-PROFILE.json). Its ``source`` says
    which."""
    for source, folder in (
        ("this checkout's latest reference run", CHECKOUT_REPORTS),
        ("the recorded reference run", MEASURED),
    ):
        try:
            record: dict[str, Any] = json.loads((folder / f"claims-{profile}.json").read_text(encoding="utf-8"))
        except (OSError, ValueError):
            continue
        if record.get("who", "reference") != "reference" or not record.get("criteria"):
            continue
        here = record.get("machine") == machine and record.get("torch") == torch_build
        if folder == CHECKOUT_REPORTS and not (machine and here):
            continue  # a run of the checkout on another machine is no better than the recorded one
        return {**record, "source": source, "same_machine": bool(machine) and here}
    return None


# The same reference code on two CPUs (issues #33, #34): its numbers differ where float kernels do. Measured by the
# sessions that filed those issues at b4c8044, quick profile: a fresh clone's tox on a 2-core Intel Xeon against
# the recorded run on a 2-core AMD EPYC (measured/claims-quick.json of that commit).
CROSS_CPU = "RNN perplexity 4.769 against 4.800 (0.6%), LSTM 4.752 against 4.756 (0.1%)"


def other_profiles(profile: str, out_dir: Path) -> dict[str, dict[str, Any]]:
    """profile -> its claims record, for every compared profile but this one that has one."""
    found = {}
    for other in COMPARED_PROFILES:
        if other == profile:
            continue
        for path in (out_dir / f"claims-{other}.json", MEASURED / f"claims-{other}.json"):
            try:
                found[other] = json.loads(path.read_text(encoding="utf-8"))
                break
            except (OSError, ValueError):
                continue
    return found


def provenance(record: dict[str, Any]) -> str:
    minutes = f", {record['wall_seconds'] / 60:.0f} min in all" if record.get("wall_seconds") else ""
    who = " (a learner's code)" if record.get("who") == "learner" else ""
    return (
        f"run of {str(record.get('started'))[:10]} on a {record.get('machine')} ({record.get('device')})"
        f"{minutes}, git {record.get('git')}{who}"
    )


def cpu_name() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def git_revision(root: Path) -> str:
    try:
        rev = subprocess.run(
            ["git", "rev-parse", "--short=12", "HEAD"], cwd=root, capture_output=True, text=True, check=True, timeout=10
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "status", "--porcelain", "--untracked-files=no"],
            cwd=root,
            capture_output=True,
            text=True,
            timeout=10,
        ).stdout.strip()
        return rev + ("+uncommitted changes" if dirty else "")
    except (OSError, subprocess.SubprocessError):
        return "unknown (not a git checkout)"


def machine_info() -> dict[str, Any]:
    return {
        "cpu": cpu_name(),
        "cores": os.cpu_count(),
        "torch_threads": torch.get_num_threads(),
        "torch": torch.__version__,
        "python": platform.python_version(),
        "platform": platform.platform(),
    }


def write_report(
    recorder: Recorder, meta: dict[str, Any], out_dir: Path, name: str = "acceptance"
) -> tuple[Path, Path]:
    """Write ``out_dir/NAME.json`` and ``NAME.html`` (``acceptance``, or ``studies`` for the opt-in
    studies), atomically; the acceptance run also records its claims (``claims-PROFILE.json``)."""
    try:
        out_dir.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise OSError(
            f"cannot write the report: {out_dir} cannot be created ({exc.strerror}: something in the way "
            "is a file, or a parent folder is not writable); set RNNLAB_REPORTS to a writable folder"
        ) from None
    if not os.access(out_dir, os.W_OK):
        raise PermissionError(
            f"cannot write the report: {out_dir} is not writable; fix its permissions "
            "or set RNNLAB_REPORTS to a writable folder"
        )
    profile = str(meta.get("profile"))
    others = other_profiles(profile, out_dir)
    for c in recorder.claims:
        c.others = {name: record["claims"][c.key] for name, record in others.items() if c.key in record["claims"]}
    criteria = sorted(  # by lab; within a lab, what was measured before what was not attempted
        recorder.criteria, key=lambda c: (lab_rank(c.lab), not c.attempted, c.id)
    )
    # in LAB_ORDER's order; a section it does not name comes last, as recorded (sorted is stable)
    sections = sorted(recorder.sections.values(), key=lambda section: lab_rank(section.lab))
    # unexpected failures first, then those the profile lists as known (each says why in its row)
    failed = sorted((c for c in criteria if c.attempted and not c.passed), key=lambda c: bool(c.known_failure))
    known = [c for c in failed if c.known_failure]
    not_attempted = [c for c in criteria if not c.attempted]
    payload = {
        "meta": meta,
        "summary": {
            "criteria": len(criteria),
            "passed": len(criteria) - len(failed) - len(not_attempted),
            "failed": len(failed),
            "known_failures": len(known),
            "not_attempted": len(not_attempted),
        },
        "criteria": [c.as_json() for c in criteria],
        "sections": [
            {
                "lab": s.lab,
                "title": s.title,
                "summary": s.summary,
                "tables": [
                    {"title": t.title, "columns": t.columns, "rows": t.rows, "caption": t.caption} for t in s.tables
                ],
                "samples": [{"label": label, "text": text} for label, text in s.samples],
                "figures": [{"title": f.title, "caption": f.caption} for f in s.figures],
                "notes": s.notes,
            }
            for s in sections
        ],
        "claims": [vars(c) for c in _ordered(recorder.claims)],
        "claims_elsewhere": {name: provenance(record) for name, record in others.items()},
        "talking_points": [vars(t) for t in _ordered(recorder.talking_points)],
    }
    learner = meta.get("trained_code", {}).get("who") == "learner"
    here = meta.get("machine", {})
    this_machine = f"{here.get('cores')}-core {here.get('cpu')}"
    reference = reference_run(profile, this_machine, str(here.get("torch"))) if learner else None
    if reference is not None:
        payload["reference"] = {
            "provenance": provenance(reference),
            "source": reference["source"],
            "same_machine": reference["same_machine"],
            "this_machine": f"{this_machine}, torch {here.get('torch')}",
            "cross_cpu": CROSS_CPU,
            "criteria": reference["criteria"],
            "words": {cid: criterion_words(bounds) for cid, bounds in reference["criteria"].items()},
        }
    recorded = (reference or {}).get("numbers", {})
    payload["numbers"] = [
        {**vars(n), "text": n.text, "reference": number_words(recorded.get(n.id))}
        for n in _ordered(list(recorder.numbers.values()))
    ]
    json_path, html_path = out_dir / f"{name}.json", out_dir / f"{name}.html"
    atomic_write(json_path, json.dumps(payload, indent=2, default=str).encode("utf-8"))
    env = Environment(loader=FileSystemLoader(TEMPLATES), autoescape=select_autoescape(["html", "j2"]))
    env.filters["prose"] = prose
    env.tests["numeric"] = numeric
    html = env.get_template("report.html.j2").render(
        meta=meta,
        criteria=criteria,
        failed=failed,
        sections=sections,
        claims=_ordered(recorder.claims),
        claims_elsewhere=payload["claims_elsewhere"],
        talking_points=_ordered(recorder.talking_points),
        summary=payload["summary"],
        reference=payload.get("reference"),
        numbers=payload["numbers"] if reference is not None else [],
        contents=[
            *([("criteria", "criteria")] if criteria else []),
            *([("claims", "claims vs measured")] if recorder.claims else []),
            *((f"section-{s.lab}", s.nav) for s in sections),
            *([("talking-points", "interview talking points")] if recorder.talking_points else []),
        ],
        fmt=format_value,
        title="rnnlab studies" if name == "studies" else "rnnlab acceptance report",
    )
    atomic_write(html_path, html.encode("utf-8"))
    if recorder.claims and name == "acceptance":
        record = json.dumps(claims_record(recorder, meta), indent=2, default=str)
        atomic_write(out_dir / f"claims-{profile}.json", record.encode("utf-8"))
    return json_path, html_path


CODE_SPAN = re.compile(r"`([^`\n]+)`")


def prose(text: Any) -> Markup:
    """Report text as HTML: escaped, with each `command` quoted in backticks shown as code. The sections write
    their prose once, in Markdown's quoting, for this page and RESULTS.md alike."""
    return Markup(CODE_SPAN.sub(r"<code>\1</code>", str(escape(text))))


NUMBER_TEXT = re.compile(r"[+\-−]?\d[\d,]*(\.\d+)?%?")


def numeric(value: Any) -> bool:
    """Whether a table cell reads as a number (a float, or text a section formatted itself: "+0.95", "-3.2%",
    "1,234"), so that it is right-aligned with the others of its column."""
    if isinstance(value, str):
        return NUMBER_TEXT.fullmatch(value.strip()) is not None
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def criterion_words(bounds: Any) -> str:
    """A recorded criterion's values in words, rendered from its numbers (a list of Bound records); "—" for a
    record that holds no numbers (one written before criteria were numbers, issue #33)."""
    if not isinstance(bounds, list):
        return "—"
    try:
        return "; ".join(render_value(Bound.from_json(b)) for b in bounds)
    except (KeyError, TypeError, ValueError):
        return "—"


def number_words(entry: Any) -> str:
    """A recorded number (``{"value", "unit"}``) as the report prints it; "" where the run did not record it."""
    if not isinstance(entry, dict):
        return ""
    try:
        return render_number(float(entry["value"]), str(entry.get("unit", "")))
    except (KeyError, TypeError, ValueError):
        return ""


def _ordered(items: list[T]) -> list[T]:
    return sorted(items, key=lambda x: LAB_ORDER.index(x.lab) if x.lab in LAB_ORDER else 9)


def format_value(value: Any) -> str:
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float):
        if value != value:
            return "nan"
        if abs(value) >= 1000:
            return f"{value:,.0f}"
        if abs(value) >= 10:
            return f"{value:.1f}"
        return f"{value:.4g}" if abs(value) >= 0.01 or value == 0 else f"{value:.3g}"
    if isinstance(value, int):
        return f"{value:,}"
    return str(value)
