"""The acceptance report's writer: one self-contained page, failures impossible to miss."""

import json
import re

from acceptance import plots
from acceptance.record import Figure, Recorder
from acceptance.report import write_report
from spec.helpers import REPORT_META


def make_recorder():
    rec = Recorder()
    rec.criterion("lab01.ok", "lab01", "a criterion that passed", 1.5, "<= 2", True)
    failed = rec.criterion("lab01.bad", "lab01", "a criterion that failed", 9.0, "<= 2", False, "why it failed")
    failed.known_failure = "measured reasons"
    section = rec.section("lab01", "Lab 01 — test")
    section.figures.append(Figure("A plot", "caption", plots.series({"a": [1.0, 2.0]}, "x", "y", "t")))
    section.samples.append(("sample", "<script>alert(1)</script>"))
    return rec


def test_failures_are_unmissable_and_the_page_is_self_contained(tmp_path):
    json_path, html_path = write_report(make_recorder(), REPORT_META, tmp_path)
    html = html_path.read_text()
    assert "1 of 2 criteria FAILED" in html and 'href="#lab01.bad"' in html, "the banner names every failing criterion"
    assert re.search(r'<tr id="lab01.bad" class="fail">', html), "a failing row is marked (red)"
    assert "known at this budget: measured reasons" in html, "a known failure says why"
    assert "data:image/png;base64," in html, "figures are embedded, not linked"
    assert not re.search(r'(src|href)="(https?:)?//', html), "nothing may load from outside the file"
    assert "<script>alert(1)</script>" not in html, "sample text is escaped, never executed"
    data = json.loads(json_path.read_text())
    assert data["summary"] == {"criteria": 2, "passed": 1, "failed": 1, "not_attempted": 0}
    assert {c["id"] for c in data["criteria"]} == {"lab01.ok", "lab01.bad"}
    assert sorted(p.name for p in tmp_path.iterdir()) == ["acceptance.html", "acceptance.json"], (
        "no temporary files left"
    )


def test_unwritable_reports_directory_is_a_clear_error(tmp_path):
    import pytest

    blocker = tmp_path / "reports"
    blocker.write_text("a file where the reports folder should be")
    with pytest.raises(OSError, match="cannot be created.*RNNLAB_REPORTS"):
        write_report(Recorder(), {"profile": "quick"}, blocker / "sub")
    assert blocker.read_text().startswith("a file"), "nothing may be written over the blocking file"
