"""Writing reports/acceptance.json and the self-contained reports/acceptance.html."""

from __future__ import annotations

import json
import os
import platform
import subprocess
from pathlib import Path
from typing import Any

import torch
from jinja2 import Environment, FileSystemLoader, select_autoescape

from acceptance.record import Recorder
from rnnlab.files import atomic_write

TEMPLATES = Path(__file__).resolve().parent / "templates"
LAB_ORDER = ["lab01", "lab02", "lab03", "bridge", "exercises"]


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
        "device": "cpu",
    }


def write_report(recorder: Recorder, meta: dict[str, Any], out_dir: Path) -> tuple[Path, Path]:
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
    criteria = sorted(recorder.criteria, key=lambda c: (LAB_ORDER.index(c.lab) if c.lab in LAB_ORDER else 9, c.id))
    sections = [recorder.sections[lab] for lab in LAB_ORDER if lab in recorder.sections]
    failed = [c for c in criteria if c.attempted and not c.passed]
    not_attempted = [c for c in criteria if not c.attempted]
    payload = {
        "meta": meta,
        "summary": {
            "criteria": len(criteria),
            "passed": len(criteria) - len(failed) - len(not_attempted),
            "failed": len(failed),
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
        "talking_points": [vars(t) for t in _ordered(recorder.talking_points)],
        "errors": recorder.errors,
    }
    json_path, html_path = out_dir / "acceptance.json", out_dir / "acceptance.html"
    atomic_write(json_path, json.dumps(payload, indent=2, default=str).encode("utf-8"))
    env = Environment(loader=FileSystemLoader(TEMPLATES), autoescape=select_autoescape(["html", "j2"]))
    html = env.get_template("report.html.j2").render(
        meta=meta,
        criteria=criteria,
        failed=failed,
        sections=sections,
        errors=recorder.errors,
        claims=_ordered(recorder.claims),
        talking_points=_ordered(recorder.talking_points),
        summary=payload["summary"],
        fmt=format_value,
    )
    atomic_write(html_path, html.encode("utf-8"))
    return json_path, html_path


def _ordered(items: list) -> list:
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
