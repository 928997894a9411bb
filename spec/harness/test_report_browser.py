"""The acceptance report in a real browser: headless Chromium loads it, every image decodes,
no request leaves the file, nothing is logged, and a screenshot is kept.

By default the spec renders a report of its own (the real template and real plots, no
training). `tox -e acceptance` runs it again on the report it just wrote, with
RNNLAB_REPORT_HTML pointing at it. Without Chromium it skips, naming the package to install
(`apt-get install chromium`); CI sets RNNLAB_REQUIRE_BROWSER=1, which turns that skip into
a failure.
"""

import json
import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from acceptance import plots
from acceptance.record import Bound, Claim, Figure, Recorder, TalkingPoint
from acceptance.report import write_report
from spec.helpers import REPORT_META

pytestmark = pytest.mark.browser

FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--hide-scrollbars",
    "--virtual-time-budget=5000",
]
# Injected into a copy of the page (never into the report itself): records image decoding,
# the resources the page fetched and any error, into a <pre> that --dump-dom prints.
PROBE = """<script>
window.__errors = [];
window.addEventListener('error', e => window.__errors.push(String(e.message || (e.target && e.target.src) || 'error')), true);
window.addEventListener('load', () => {
  const out = document.createElement('pre'); out.id = '__probe';
  out.textContent = JSON.stringify({
    images: [...document.images].map(i => ({complete: i.complete, width: i.naturalWidth, height: i.naturalHeight,
                                            alt: i.alt})),
    resources: performance.getEntriesByType('resource').map(r => r.name),
    errors: window.__errors});
  document.body.appendChild(out);
});
</script>"""


def chromium() -> str:
    found = shutil.which("chromium") or shutil.which("chromium-browser") or shutil.which("google-chrome")
    if not found:
        if os.environ.get("RNNLAB_REQUIRE_BROWSER"):
            pytest.fail("RNNLAB_REQUIRE_BROWSER is set but no Chromium is installed (apt-get install chromium)")
        pytest.skip("needs Chromium for the browser spec (Debian: apt-get install chromium)")
    return found


@pytest.fixture
def report(tmp_path) -> Path:
    given = os.environ.get("RNNLAB_REPORT_HTML")
    if given:
        path = Path(given)
        assert path.is_file(), f"RNNLAB_REPORT_HTML={given}: no report there; run `tox -e acceptance` first"
        return path
    rec = Recorder()
    rec.criterion("lab01.ok", "lab01", "a criterion that passed", Bound(1.5, 2.0, "<="))
    rec.criterion("lab01.bad", "lab01", "a criterion that failed", Bound(9.0, 2.0, "<="), detail="why it failed")
    section = rec.section("lab01", "Lab 01 — browser check")
    section.figures.append(Figure("A plot", "caption", plots.series({"a": [1.0, 2.0, 1.5]}, "x", "y", "t")))
    section.samples.append(("sample", "<b>not bold</b>"))
    rec.claims.append(Claim("lab01", "a figure", "somebody", "1", "2", "because", key="lab01.figure"))
    rec.talking_points.append(TalkingPoint("lab01", "Why?", "Because 2.", ["2 here."], "lab01.ok"))
    meta = REPORT_META
    return write_report(rec, meta, tmp_path / "report")[1]


def _run(browser: str, tmp_path: Path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [browser, *FLAGS, f"--user-data-dir={tmp_path / 'profile'}", "--enable-logging=stderr", "--v=0", *args],
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_the_report_loads_cleanly_in_chromium(report, tmp_path):
    browser = chromium()
    html = report.read_text(encoding="utf-8")
    probe = tmp_path / "probe.html"
    probe.write_text(html.replace("<head>", "<head>" + PROBE, 1), encoding="utf-8")
    done = _run(browser, tmp_path, "--dump-dom", probe.as_uri())
    found = re.search(r'<pre id="__probe">(.*?)</pre>', done.stdout, re.S)
    assert found, f"Chromium did not finish loading the page (exit {done.returncode}): {done.stderr[-500:]}"
    result = json.loads(
        found.group(1).replace("&quot;", '"').replace("&amp;", "&").replace("&lt;", "<").replace("&gt;", ">")
    )

    images = result["images"]
    assert images, "the report has no images; every lab section should carry its plots"
    broken = [i for i in images if not (i["complete"] and i["width"] > 0 and i["height"] > 0)]
    assert not broken, f"{len(broken)} of {len(images)} images did not decode: {broken[:3]}"
    outside = [r for r in result["resources"] if not r.startswith(("data:", "file:"))]
    assert not outside, f"the page fetched from outside the file: {outside[:5]}; inline everything"
    assert not result["errors"], f"the page raised errors: {result['errors'][:5]}"
    console = [line for line in done.stderr.splitlines() if ":CONSOLE" in line]
    assert not console, f"the page logged to the console: {console[:5]}"


def test_a_screenshot_is_kept_beside_the_report(report, tmp_path):
    browser = chromium()
    out_dir = Path(os.environ.get("RNNLAB_REPORTS", report.parent))
    out_dir.mkdir(parents=True, exist_ok=True)
    shot = out_dir / "acceptance-screenshot.png"
    tmp = out_dir / ".acceptance-screenshot.png.tmp.png"
    done = _run(browser, tmp_path, f"--screenshot={tmp}", "--window-size=1280,2400", report.as_uri())
    assert tmp.is_file() and tmp.stat().st_size > 10_000, (
        f"Chromium wrote no screenshot (exit {done.returncode}): {done.stderr[-500:]}"
    )
    assert tmp.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n", "the screenshot is not a PNG"
    tmp.replace(shot)
