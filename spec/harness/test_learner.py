"""The harness on a learner's code (`RNNLAB_IMPL=DIR tox -e acceptance`): it trains the learner's
functions, never the reference's in disguise, and a lab whose exercises are stubs is shown as
not attempted rather than failed.

Each learner copy is its own `rnnlab` package, so the checks that import one run in a subprocess.
"""

import json
import os
import re
import subprocess
import sys
from html import unescape
from pathlib import Path

import pytest

from acceptance.record import Bound, Recorder
from acceptance.report import write_report
from rnnlab import exercise
from rnnlab.fast.dispatch import KERNEL_MODULES
from spec.helpers import REPORT_META

ROOT = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.skipif(
    not (exercise.PACKAGE_DIR / "fast" / "rnn.py").is_file(),
    reason="copies are made from the reference package (this run is against a learner's copy)",
)

VERIFY = """
import json
import rnnlab_under_test
rnnlab_under_test.activate()
print(json.dumps(rnnlab_under_test.verify_kernels()))
"""


def _verify(copy: Path) -> dict[str, str]:
    env = {**os.environ, "RNNLAB_IMPL": str(copy), "PYTHONPATH": str(ROOT)}
    done = subprocess.run(
        [sys.executable, "-c", VERIFY], env=env, cwd=ROOT, capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr[-2000:]
    return json.loads(done.stdout.strip().splitlines()[-1])


@pytest.fixture(scope="module")
def solved_copy(tmp_path_factory) -> Path:
    """A learner's copy with every exercise written (the reference's own answers)."""
    dest = tmp_path_factory.mktemp("learner") / "solved"
    exercise.init(dest, keep=set(exercise.BY_ID))
    return dest


def test_a_learner_copy_holds_no_fast_kernels(solved_copy):
    """The kernels spell out every cell's equations (forward and backward): a spoiler."""
    left = [m for m in KERNEL_MODULES.values() if (solved_copy / Path(*m.split("."))).with_suffix(".py").exists()]
    assert not left, f"`rnnlab exercise init` must leave the fast kernels out of the copy; found {left}"


def test_the_reference_kernel_runs_only_a_cell_it_was_checked_against(solved_copy, tmp_path):
    """A correct cell gets the fast path (checked equal in the run); a cell with a mistake trains as
    written, through the plain loop; a stubbed cell is said to be a stub."""
    verdicts = _verify(solved_copy)
    assert all(v.startswith("fast path: the reference kernel, checked") for v in verdicts.values()), verdicts

    wrong = tmp_path / "wrong"
    exercise.init(wrong, keep=set(exercise.BY_ID))
    cells = wrong / "rnnlab" / "cells.py"
    text = cells.read_text()
    assert "n = torch.tanh(x_n + r * h_n)" in text
    cells.write_text(text.replace("n = torch.tanh(x_n + r * h_n)", "n = torch.tanh(x_n + h_n)"))  # forgets r
    verdicts = _verify(wrong)
    assert verdicts["gru"].startswith("plain loop: your cell and loop differ"), verdicts
    # the same measure, in the same words, as a cell that gets the kernel: "by up to 75.2 of the largest value" left a
    # learner to guess 75.2 of what
    assert re.search(r"largest relative difference [0-9.e+-]+,", verdicts["gru"]), verdicts
    assert verdicts["lstm"].startswith("fast path"), verdicts

    stubbed = tmp_path / "stubbed"
    exercise.init(stubbed, keep=set(exercise.BY_ID) - {"lab02.lstm_cell"})
    assert _verify(stubbed)["lstm"] == "plain loop: the cell (or the loop) is still a stub"


def test_a_cell_that_differs_only_where_training_goes_trains_as_written(tmp_path):
    """Issue #34: an LSTM that clamps its cell state to +-3 (TensorFlow's cell_clip) agreed with the kernel on small
    random values, so the kernel trained in its place; the check now also runs where training goes (saturated gates,
    states ~100), finds the clamp, and the learner's cell trains as written."""
    clamped = tmp_path / "clamped"
    exercise.init(clamped, keep=set(exercise.BY_ID))
    cells = clamped / "rnnlab" / "cells.py"
    text = cells.read_text()
    line = "c_new = torch.sigmoid(f) * c + torch.sigmoid(i) * torch.tanh(g)"
    assert line in text
    cells.write_text(text.replace(line, f"c_new = ({line.split(' = ', 1)[1]}).clamp(-3, 3)"))
    verdicts = _verify(clamped)
    assert (
        verdicts["lstm"].startswith("plain loop: your cell and loop differ")
        and "where training goes" in verdicts["lstm"]
    ), verdicts
    assert verdicts["gru"].startswith("fast path"), verdicts


TRAIN = """
import json, sys
import torch
import rnnlab_under_test
rnnlab_under_test.activate()
from rnnlab.fast import adopt, set_fast
from rnnlab.models import CharLM
from rnnlab.training import TrainConfig, seed_everything, train_lm
torch.set_num_threads(1)
ids = torch.randint(0, 12, (3000,), generator=torch.Generator().manual_seed(0))
adopted = adopt.decisions()["lstm"]  # the checks made when the kernel is adopted, before any training
seed_everything(0)
model = set_fast(CharLM(12, "lstm", 8, 1, 6))
cfg = TrainConfig(steps=8, batch_size=16, seq_len=10, lr=1e-2, eval_points=2, eval_rows=4, seed=0)
history, _ = train_lm(model, ids[:2400], ids[2400:], cfg, progress=False)
print(json.dumps({"train": history.train_loss, "val": history.val_loss, "adopted": adopted, "lstm": adopt.decisions()["lstm"]}))
"""


def _train(copy: Path, **env: str) -> dict[str, object]:
    """A few steps of a small LSTM language model trained with the copy at ``copy`` (batches of 16 rows)."""
    done = subprocess.run(
        [sys.executable, "-c", TRAIN],
        env={**os.environ, "RNNLAB_IMPL": str(copy), "PYTHONPATH": str(ROOT), **env},
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    return {**json.loads(done.stdout.strip().splitlines()[-1]), "said": done.stderr}


def test_a_cell_that_differs_only_on_the_runs_own_states_trains_as_written(tmp_path):
    """Issue #34: the kernel stands in for a learner's cell only where it was checked equal to it. An LSTM that
    differs from the reference only on batches of more than 8 rows passes both checks made when the kernel is adopted
    (3 rows); checked again on the run's own batches (16 rows), it is found, the run starts again as written, and
    its losses are those of a run that never used the kernel (RNNLAB_AS_WRITTEN=1), to the last bit."""
    odd = tmp_path / "odd"
    exercise.init(odd, keep=set(exercise.BY_ID))
    cells = odd / "rnnlab" / "cells.py"
    text = cells.read_text()
    line = "c_new = torch.sigmoid(f) * c + torch.sigmoid(i) * torch.tanh(g)"
    indent = next(row[: len(row) - len(row.lstrip())] for row in text.splitlines() if row.strip() == line)
    cells.write_text(text.replace(line, f"{line}\n{indent}if c_new.shape[0] > 8:\n{indent}    c_new = c_new * 0.999"))
    trained = _train(odd)
    assert str(trained["adopted"]).startswith("fast path"), "the checks made when the kernel is adopted pass it"
    assert str(trained["lstm"]).startswith("plain loop: your cell and loop differ from the reference kernel on this"), (
        trained["lstm"]
    )
    assert "training again from step 0" in str(trained["said"]), trained["said"]
    as_written = _train(odd, RNNLAB_AS_WRITTEN="1")
    assert (trained["train"], trained["val"]) == (as_written["train"], as_written["val"]), (
        "the run that found the difference must be the learner's code as written, from its first step"
    )


def test_a_cell_equal_on_the_runs_own_states_keeps_the_kernel(solved_copy):
    """The reference's own answers agree with the kernel on the run's batches too: the kernel trains them (fast)."""
    trained = _train(solved_copy)
    assert str(trained["lstm"]).startswith("fast path: the reference kernel"), trained["lstm"]
    assert "training again" not in str(trained["said"]), trained["said"]


def test_the_learners_code_trains_as_written_when_asked(solved_copy, monkeypatch):
    """`RNNLAB_AS_WRITTEN=1` (`rnnlab exercise accept --as-written`): no kernel stands in for any cell."""
    monkeypatch.setenv("RNNLAB_AS_WRITTEN", "1")
    verdicts = _verify(solved_copy)
    assert all(v.startswith("plain loop: your cell and loop as written") for v in verdicts.values()), verdicts


def test_exercise_stubs_are_found_until_replaced(tmp_path):
    copy = tmp_path / "copy"
    exercise.init(copy, keep={"lab01.rnn_cell"})
    assert exercise.stubbed(copy) == [e.id for e in exercise.EXERCISES if e.id != "lab01.rnn_cell"]


def test_a_criterion_not_attempted_is_neither_passed_nor_failed(tmp_path):
    rec = Recorder()
    rec.criterion("lab01.perplexity", "lab01", "perplexity", Bound(5.4, 6.0, "<="))
    rec.not_attempted("lab03.gap", "lab03", "attention beats the baseline", "not attempted: needs Lab 03.2 attention")
    meta = {
        **REPORT_META,
        "command": "RNNLAB_IMPL=/x tox -e acceptance",
        "trained_code": {
            "who": "learner",
            "directory": "/home/me/my-rnnlab",
            "stubbed": ["Lab 03.2 attention"],
            "done": 11,
            "exercises": 12,
            "recurrence": {"rnn": "fast path: the reference kernel, checked"},
        },
    }
    json_path, html_path = write_report(rec, meta, tmp_path)
    summary = json.loads(json_path.read_text())["summary"]
    assert summary == {"criteria": 2, "passed": 1, "failed": 0, "known_failures": 0, "not_attempted": 1}, summary
    html = html_path.read_text()
    assert "Trained code: your copy, /home/me/my-rnnlab" in html, "the report must say whose code was trained"
    assert "The one criterion attempted passed" in html and "1 not attempted" in html
    assert "FAIL" not in html, "a criterion whose exercises are stubs is not a failure"


def test_a_learners_report_shows_the_reference_runs_value_beside_each_criterion(tmp_path, monkeypatch):
    """The learner compares without retraining the reference: its recorded run (measured/claims-PROFILE.json)
    gives a column beside every criterion, named with where and when it was measured."""
    from acceptance import report

    measured = tmp_path / "measured"
    measured.mkdir()
    reference = {**_reference("2-core CPU"), "numbers": {"lab03.bahdanau.seed0.long": {"value": 97.4, "unit": "%"}}}
    monkeypatch.setattr(report, "CHECKOUT_REPORTS", tmp_path / "no-checkout-run")
    (measured / "claims-quick.json").write_text(json.dumps(reference))
    monkeypatch.setattr(report, "MEASURED", measured)
    rec = Recorder()
    rec.criterion("lab01.perplexity", "lab01", "perplexity", Bound(5.61, 6.0, "<="))
    rec.number("lab03.bahdanau.seed0.long", "lab03", "Bahdanau exact match on long dates", 91.0, "%")
    json_path, html_path = write_report(rec, _learner_meta(), tmp_path / "reports")
    html = html_path.read_text()
    assert "the reference run" in html and "git ref123" in html, "the column names the run it comes from"
    assert "5.61" in html and "5.423" in html, "the learner's value and the reference's, side by side"
    assert json.loads(json_path.read_text())["reference"]["words"] == {"lab01.perplexity": "5.423"}
    number_row = re.search(
        r"<tr><td>lab03</td><td>Bahdanau exact match on long dates[^<]*</td><td>(.*?)</td><td>(.*?)</td>", html
    )
    assert number_row and number_row.groups() == ("91.0%", "97.4%"), (
        "a number that is not a criterion (a table's accuracy) stands beside the reference run's: "
        f"{number_row and number_row.groups()}"
    )
    plain, _ = write_report(rec, REPORT_META, tmp_path / "ref")
    assert "reference" not in json.loads(plain.read_text()), "a reference run shows no reference column"


def test_the_recorded_reference_run_holds_every_labs_numbers():
    """The learner's report reads the reference's numbers from the recorded run
    (acceptance/measured/claims-quick.json, copied from a reference `tox` run's reports/claims-quick.json):
    it must hold numbers of every lab the quick profile trains, or the learner sees dashes."""
    from acceptance.report import MEASURED

    recorded = json.loads((MEASURED / "claims-quick.json").read_text())
    labs = {key.split(".")[0] for key in recorded.get("numbers", {})}
    missing = {"lab01", "lab02", "lab03", "bridge"} - labs
    assert not missing, (
        f"measured/claims-quick.json has no numbers for {sorted(missing)}: copy reports/claims-quick.json from a "
        "reference `tox` run (git clean, every lab trained) over it"
    )


def test_a_run_that_trains_nothing_never_replaces_a_report(tmp_path):
    """`RNNLAB_IMPL=DIR tox -e acceptance -- -m lab02` (no acceptance test carries the marker) selects nothing: the report already in
    place (a reference run's, an hour of training) stays as it was, and zero criteria is no pass."""
    copy = tmp_path / "fresh"
    exercise.init(copy)
    reports = tmp_path / "reports"
    reports.mkdir()
    (reports / "acceptance.html").write_text("the earlier report")
    env = {**os.environ, "RNNLAB_IMPL": str(copy), "RNNLAB_REPORTS": str(reports), "PYTHONPATH": str(ROOT)}
    cmd = [sys.executable, "-m", "pytest", "acceptance", "--ignore=acceptance/benchmarks", "-m", "lab02"]
    done = subprocess.run(
        cmd + ["-p", "no:cacheprovider"], env=env, cwd=ROOT, capture_output=True, text=True, timeout=300
    )
    assert done.returncode == 5, f"a run that selects nothing exits 5 (pytest's 'no tests'): {done.stdout[-1500:]}"
    assert (reports / "acceptance.html").read_text() == "the earlier report", "an empty run replaced the report"
    assert "no report written" in done.stdout, done.stdout[-1500:]


def _learner_meta():
    return {
        **REPORT_META,
        "trained_code": {
            "who": "learner",
            "directory": "/me",
            "stubbed": [],
            "done": 12,
            "exercises": 12,
            "recurrence": {},
        },
    }


def _reference(machine, torch_build="2.13.0", git="ref123"):
    return {
        "profile": "quick",
        "started": "2026-11-30T12:00:00+00:00",
        "git": git,
        "machine": machine,
        "device": "cpu",
        "torch": torch_build,
        "wall_seconds": 600,
        "who": "reference",
        "claims": {},
        "criteria": {"lab01.perplexity": [Bound(5.423, 6.5, "<=").as_json()]},
        "numbers": {},
    }


def _reference_folders(tmp_path, monkeypatch):
    """The recorded reference run (made on a 2-core AMD EPYC) and an empty checkout reports folder, in place of the
    real ones; returns both folders."""
    from acceptance import report

    measured, checkout = tmp_path / "measured", tmp_path / "checkout"
    measured.mkdir()
    checkout.mkdir()
    (measured / "claims-quick.json").write_text(json.dumps(_reference("2-core AMD EPYC")))
    monkeypatch.setattr(report, "MEASURED", measured)
    monkeypatch.setattr(report, "CHECKOUT_REPORTS", checkout)
    return measured, checkout


def test_a_reference_recorded_on_another_cpu_is_named_and_claims_no_equality(tmp_path, monkeypatch):
    """Issue #33: float kernels differ between CPUs, so the recorded reference's numbers are not what the same code
    gives here; the report says where it ran, how large such differences were measured, and claims nothing equal."""
    from acceptance import report

    measured, checkout = _reference_folders(tmp_path, monkeypatch)
    rec = Recorder()
    rec.criterion("lab01.perplexity", "lab01", "perplexity", Bound(5.61, 6.5, "<="))
    json_path, html_path = write_report(rec, _learner_meta(), tmp_path / "reports")
    html = " ".join(unescape(html_path.read_text()).split())
    assert "another machine or torch build" in html and report.CROSS_CPU in html, "say the reference ran elsewhere"
    assert "by construction" not in html and "the cause is in your code" not in html, "claim no equality not computed"
    assert json.loads(json_path.read_text())["reference"]["same_machine"] is False


def test_a_reference_run_made_on_this_machine_is_preferred_and_named(tmp_path, monkeypatch):
    """Issue #33: where the checkout's own latest reference run (reports/claims-PROFILE.json, from `tox`) was made on
    this machine and torch build, the learner's report stands beside it, and says so."""

    measured, checkout = _reference_folders(tmp_path, monkeypatch)
    (checkout / "claims-quick.json").write_text(json.dumps(_reference("2-core cpu", git="here456")))
    rec = Recorder()
    rec.criterion("lab01.perplexity", "lab01", "perplexity", Bound(5.61, 6.5, "<="))
    json_path, html_path = write_report(rec, _learner_meta(), tmp_path / "reports")
    html = " ".join(unescape(html_path.read_text()).split())
    assert "this checkout's latest reference run" in html and "git here456" in html, (
        "the run made here is the one compared"
    )
    assert "ran on this machine and torch build" in html, html[html.index("Beside every criterion") :][:400]
    assert json.loads(json_path.read_text())["reference"]["same_machine"] is True
    (checkout / "claims-quick.json").write_text(json.dumps(_reference("2-core cpu", torch_build="2.14.1+cu130")))
    json_path, _ = write_report(rec, _learner_meta(), tmp_path / "reports")
    assert json.loads(json_path.read_text())["reference"]["source"] == "the recorded reference run", (
        "a checkout run on another torch build is no better than the recorded one"
    )


def test_a_criterion_a_run_could_not_attempt_is_named_in_words():
    """A learner's `accept --lab 02 --model lstm` listed the GRU's rows it could not attempt as 'gated cell beats
    the rnn at equal compute[gru]': a not-attempted row names its criterion in words, the model kind's name
    in place of {kind} in the test's docstring."""
    import inspect

    from acceptance import test_lab02
    from acceptance.criteria import criterion_words

    test = test_lab02.test_gated_cell_beats_the_rnn_at_equal_compute
    words = criterion_words(test, test.__name__ + "[gru]", {"kind": "gru"})
    assert words.startswith("GRU ") and not set("[]{}_") & set(words), words
    for name, function in inspect.getmembers(test_lab02, inspect.isfunction):
        if name.startswith("test_"):
            params = {"kind": "lstm"} if "kind" in inspect.signature(function).parameters else {}
            words = criterion_words(function, name, params)
            assert function.__doc__ and not set("[]{}_") & set(words), f"{name}: give it a docstring ({words!r})"
