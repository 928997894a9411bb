"""The acceptance report's writer: one self-contained page, failures impossible to miss."""

import json
import re

import pytest

from acceptance import plots, report
from acceptance.record import Bound, Claim, Figure, Recorder
from acceptance.report import write_report
from spec.helpers import REPORT_META


def make_recorder():
    rec = Recorder()
    rec.criterion("lab01.ok", "lab01", "a criterion that passed", Bound(1.5, 2.0, "<="))
    failed = rec.criterion(
        "lab01.bad", "lab01", "a criterion that failed", Bound(9.0, 2.0, "<="), detail="why it failed"
    )
    failed.known_failure = "measured reasons"
    section = rec.section("lab01", "Lab 01 — test")
    section.figures.append(Figure("A plot", "caption", plots.series({"a": [1.0, 2.0]}, "x", "y", "t")))
    section.samples.append(("sample", "<script>alert(1)</script>"))
    return rec


def test_failures_are_unmissable_and_the_page_is_self_contained(tmp_path):
    json_path, html_path = write_report(make_recorder(), REPORT_META, tmp_path)
    html = html_path.read_text()
    assert "1 of 2 criteria FAILED" in html and 'href="#lab01.bad"' in html, "the banner names every failing criterion"
    assert "none unexpectedly" in html and 'class="verdict known"' in html, (
        "when every failure is a known one of the profile, the banner says so (amber, not red)"
    )
    assert re.search(r'<tr id="lab01.bad" class="fail">', html), "a failing row is marked (red)"
    assert "known at this budget: measured reasons" in html, "a known failure says why"
    assert "data:image/png;base64," in html, "figures are embedded, not linked"
    assert not re.search(r'(src|href)="(https?:)?//', html), "nothing may load from outside the file"
    assert "<script>alert(1)</script>" not in html, "sample text is escaped, never executed"
    data = json.loads(json_path.read_text())
    assert data["summary"] == {"criteria": 2, "passed": 1, "failed": 1, "known_failures": 1, "not_attempted": 0}
    assert {c["id"] for c in data["criteria"]} == {"lab01.ok", "lab01.bad"}
    assert sorted(p.name for p in tmp_path.iterdir()) == ["acceptance.html", "acceptance.json"], (
        "no temporary files left"
    )


def test_an_unexpected_failure_is_red_and_named_apart_from_the_known_ones(tmp_path):
    rec = make_recorder()
    rec.criterion("lab02.new", "lab02", "a criterion that failed unexpectedly", Bound(3.0, 2.0, "<="))
    _, html_path = write_report(rec, REPORT_META, tmp_path)
    html = html_path.read_text()
    banner = html[html.index('<div class="verdict') :]
    banner = banner[: banner.index("</div>")]
    assert 'class="verdict bad"' in banner, "an unexpected failure turns the banner red"
    assert "2 of 3 criteria FAILED" in banner and "1 unexpectedly" in banner, banner
    assert banner.index("lab02.new") < banner.index("lab01.bad"), "the unexpected failure comes first"


def _claim(ours):
    return Claim("lab01", "perplexity", "a prototype", "6.3", ours, "because", key="lab01.perplexity")


def test_claims_stand_beside_the_other_profiles_recorded_numbers(tmp_path, monkeypatch):
    """Each run records its claims' numbers (reports/claims-PROFILE.json); a report shows the other
    profile's beside its own: that profile's latest run in the same folder, else the record kept in
    acceptance/measured/ - always with where and when it was measured."""
    committed = tmp_path / "measured"
    committed.mkdir()
    monkeypatch.setattr(report, "MEASURED", committed)
    full = {**REPORT_META, "profile": "full", "started": "2026-02-02T00:00:00+00:00", "wall_seconds": 2400.0}
    rec = Recorder()
    rec.claims.append(_claim("4.61"))
    write_report(rec, full, committed)
    (committed / "acceptance.json").unlink(), (committed / "acceptance.html").unlink()
    assert json.loads((committed / "claims-full.json").read_text())["claims"] == {"lab01.perplexity": "4.61"}

    rec = Recorder()
    rec.claims.append(_claim("5.42"))
    out = tmp_path / "reports"
    json_path, html_path = write_report(rec, REPORT_META, out)
    claim = json.loads(json_path.read_text())["claims"][0]
    assert claim["ours"] == "5.42" and claim["others"] == {"full": "4.61"}, claim
    html = html_path.read_text()
    assert "4.61" in html and "full profile" in html and "2026-02-02" in html, "the full run's number, with its date"

    rec = Recorder()
    rec.claims.append(_claim("4.58"))
    write_report(rec, full, out)  # a newer full run in the same folder wins over the committed record
    rec = Recorder()
    rec.claims.append(_claim("5.42"))
    claim = json.loads(write_report(rec, REPORT_META, out)[0].read_text())["claims"][0]
    assert claim["others"] == {"full": "4.58"}, claim


def test_unwritable_reports_directory_is_a_clear_error(tmp_path):
    import pytest

    blocker = tmp_path / "reports"
    blocker.write_text("a file where the reports folder should be")
    with pytest.raises(OSError, match="cannot be created.*RNNLAB_REPORTS"):
        write_report(Recorder(), {"profile": "quick"}, blocker / "sub")
    assert blocker.read_text().startswith("a file"), "nothing may be written over the blocking file"


def test_a_talking_point_says_the_answer_first_then_lists_this_runs_evidence(tmp_path):
    """Read as interview preparation (issue #25): the answer a candidate says aloud comes first, in at most
    three sentences with its source; this run's numbers follow as a list, each item one piece of evidence."""
    from acceptance.record import MAX_ANSWER_SENTENCES, TalkingPoint, sentences

    assert len(sentences("Gradients vanish (Bengio et al. 1994). So do e.g. small ones. Yes!")) == 3, (
        "'et al. 1994' and 'e.g. small' do not end a sentence; '. S' and '. Y' do"
    )
    answer = "It is the product of Jacobians (Pascanu et al., 2013). Clipping bounds it."
    rec = Recorder()
    rec.talking_points.append(TalkingPoint("lab01", "Why clip?", answer, ["Clipped 3 of 800 steps."], "lab01.ok"))
    _, html_path = write_report(rec, REPORT_META, tmp_path)
    html = html_path.read_text()
    said, listed = html.index("Clipping bounds it."), html.index("<li>Clipped 3 of 800 steps.</li>")
    assert said < listed, "the answer comes before the run's evidence, which is a list"
    too_long = " ".join(f"Sentence {i}." for i in range(MAX_ANSWER_SENTENCES + 1))
    with pytest.raises(ValueError, match="move this run's numbers to `measured`"):
        TalkingPoint("lab01", "Why?", too_long, ["1."], "lab01.ok")
    with pytest.raises(ValueError, match="give this run's evidence"):
        TalkingPoint("lab01", "Why?", answer, [], "lab01.ok")


def test_a_run_of_the_lstm_alone_keeps_its_own_talking_point():
    """Issue #34: a learner's Lab 02 run of one model (`rnnlab exercise accept DIR --lab 02 --model lstm`) had no
    talking point at all; the one about its own gates needs no other model, and comes with this run's numbers."""
    from acceptance import sections
    from acceptance.profiles import PROFILES
    from acceptance.trained import GateStudy, Lab02Result, StudiedRun
    from rnnlab.gates import Tracking
    from rnnlab.training.lm import History

    history = History(train_loss=[2.0, 1.9], val_loss=[1.8], eval_step=[2], eval_seconds=[0.1], train_seconds=0.2)
    gates = GateStudy(
        state="c",
        found=Tracking(unit=1, chosen_on=0.8, held_out=0.73),
        saturation={g: ([0.9, 0.1, 0.6], [0.05, 0.8, 0.2]) for g in ("f", "i", "o")},
        units=3,
        snippet="",
        unit_values=[],
        feature=[],
    )
    run = StudiedRun("lstm", 3, 1e-2, 100, history, None, 6.05, gates=gates)
    rec = Recorder()
    sections.lab02.write(rec, Lab02Result(PROFILES["quick"].lab02, "quick", {"lstm": run}, {}, {}, {}))
    (point,) = rec.talking_points
    assert point.question == "Walk through the LSTM gates", point.question
    assert any("r = 0.73" in item for item in point.measured), point.measured


def test_the_quick_profiles_single_bahdanau_run_still_answers_what_teacher_forcing_is():
    """The runs that differ only in teacher forcing (always on, never) are the full profile's; the quick profile's
    report still answers the question with its own run's exposure bias, and says where the comparison is."""
    from pathlib import Path

    from acceptance import sections
    from acceptance.profiles import PROFILES
    from acceptance.trained import Lab03Result, Seq2SeqRun
    from rnnlab.training.seq2seq import Seq2SeqHistory

    cfg = PROFILES["quick"].lab03
    assert not cfg.always_forced and not cfg.never_forced, "this spec is about a profile with the lab's run alone"
    exposure = {"forced": {"all": 0.98}, "free": {"all": 0.95}}
    history = Seq2SeqHistory(
        eval_step=[300, 600], val_accuracy=[{"all": 0.5}, {"all": 0.9}], val_exposure=[exposure, exposure]
    )
    run = Seq2SeqRun(None, history, Path(), 0, {"all": 0.97}, {}, ([], []))  # no model: the talking point reads none
    result = Lab03Result(cfg, {("bahdanau", cfg.seeds[0]): run}, None, None, [], [], 0)
    point = sections.lab03._teacher_forcing_point(result)
    assert point.question == "What is teacher forcing, and what does scheduled sampling fix?"
    assert any("exposure bias" in item and "3.00 points" in item and "97.0%" in item for item in point.measured), (
        point.measured
    )
    assert any("tox -e full" in item for item in point.measured), "it names where the comparison runs"


def test_a_profile_that_does_not_train_the_attention_lm_shows_its_recorded_findings(tmp_path):
    """The quick profile leaves the bridge's attention LM to the full profile (`tox` within 12 minutes): its report
    records no number of that model, and quotes the findings recorded at its budget, with machine and commit."""
    from acceptance import sections
    from acceptance.measures import ATTENTION, TIMED
    from acceptance.profiles import PROFILES
    from acceptance.runs import bridge_train_config
    from acceptance.trained import BridgeResult, Lab02Result, StudiedRun
    from rnnlab.cells import MODEL_KINDS
    from rnnlab.training.lm import History

    profile = PROFILES["quick"]
    assert not profile.bridge.train_lm, "this spec is about a profile that does not train the attention LM"
    history = History(train_loss=[2.0, 1.9], val_loss=[1.6], eval_step=[2], eval_seconds=[0.1], train_seconds=0.2)
    runs = {k: StudiedRun(k, 8, 1e-2, 216_000, history, None, 4.8, reach=16) for k in MODEL_KINDS}
    lengths = profile.bridge.timing_lengths
    result = BridgeResult(
        growth={TIMED: 30.0, ATTENTION: 60.0},
        depth={(k, T): (T if k != ATTENTION else 40) for k in (*MODEL_KINDS, ATTENTION) for T in lengths},
        cfg=profile.bridge,
        train=bridge_train_config(profile),
        run=None,
        window=profile.lab02.train.seq_len,
        lab02=Lab02Result(profile.lab02, "quick", runs, {}, {}, {}),
        timing={(k, T): 0.001 * T for k in (TIMED, ATTENTION) for T in lengths},
        device="cpu",
        dropout=0.0,
        profile="quick",
    )
    rec = Recorder()
    sections.bridge.write(rec, result)
    assert not [n for n in rec.numbers if n.startswith("bridge.attention.")], "no number of a model not trained"
    assert rec.numbers["bridge.step_growth.attention"].value == 60.0, "what it measures untrained is recorded"
    assert "tox -e full" in rec.sections["bridge"].summary
    (point,) = rec.talking_points
    (quality,) = point.recorded
    assert not [m for m in point.measured if "perplexity" in m], "what this run did not measure is not `measured`"
    assert "recorded by earlier runs" in quality and "git " in quality and "perplexity 5." in quality, quality
    _, html_path = write_report(rec, REPORT_META, tmp_path)
    html = " ".join(html_path.read_text().split())
    assert "Recorded by earlier runs, not measured in this one" in html, (
        "the page says which numbers are not this run's"
    )
    assert "except those marked as recorded by earlier runs" in html, "and its footer does not claim every number"


def test_a_report_of_findings_only_has_no_empty_criteria_table_and_names_each_study_apart(tmp_path):
    """The studies report (`tox -e studies`) judges nothing: no criteria heading over an empty table, and its
    contents line names each study by what it studies, not "Study" four times."""
    rec = Recorder()
    rec.section("study-copying", "Study — what an exact earlier copy is worth (in-context copying)")
    rec.section("study-window", "Study — is the gated models' lead capped by the training window?")
    rec.section("lab02", "Lab 02 — LSTM and GRU, and why they help")
    _, html_path = write_report(rec, {**REPORT_META, "command": "tox -e studies"}, tmp_path, "studies")
    html = html_path.read_text()
    assert "No criterion was judged in this run" in html, "the banner says nothing was judged"
    assert 'id="criteria"' not in html and 'href="#criteria"' not in html, (
        "a report without criteria has no criteria table (nor a link to one)"
    )
    toc = html[html.index('<nav class="toc">') :]
    toc = toc[: toc.index("</nav>")]
    labels = re.findall(r'<a href="#section-[^"]+">([^<]+)</a>', toc)
    assert labels == ["Lab 02", "copying study", "window study"], labels


def test_a_section_the_order_does_not_name_is_still_in_the_report(tmp_path):
    """A lab or study whose section id is missing from report.LAB_ORDER still gets its section (after the named
    ones, in the order recorded): what a run measured is never dropped for want of a place in a list."""
    rec = Recorder()
    rec.section("study-unlisted", "Study — a study nobody listed")
    rec.section("lab01", "Lab 01 — test")
    _, html_path = write_report(rec, {**REPORT_META, "command": "tox -e studies"}, tmp_path, "studies")
    html = html_path.read_text()
    assert "a study nobody listed" in html, "a section missing from LAB_ORDER was dropped from the report"
    assert html.index("Lab 01 — test") < html.index("a study nobody listed"), "the named sections come first"


def test_the_studies_report_names_the_command_that_made_it():
    """A report's header says how to run it again: the studies tier is `tox -e studies`, not the acceptance run."""
    from acceptance import harness

    assert harness.rerun_command("quick", "studies", None) == "RNNLAB_PROFILE=quick tox -e studies"
    assert harness.rerun_command("full", "acceptance", None) == "RNNLAB_PROFILE=full tox -e acceptance"
    assert harness.rerun_command("quick", "acceptance", "/home/me/mine") == (
        "RNNLAB_IMPL=/home/me/mine RNNLAB_PROFILE=quick tox -e acceptance"
    )


def test_the_studies_report_times_each_study_apart():
    """The header's seconds are per lab in the acceptance run, and per study in the studies report (not one
    "studies" figure for four studies), so a user sees which study takes how long."""
    from types import SimpleNamespace

    from acceptance import harness

    def item(path, name):
        return SimpleNamespace(fspath=str(harness.ROOT / path), name=name)

    study = item("acceptance/studies/test_studies.py", "test_a_longer_training_window")
    assert harness._part(study) == "a longer training window"
    assert harness._part(item("acceptance/test_lab02.py", "test_gru_beats_rnn")) == "lab02"


def test_the_lstm_talking_point_quotes_the_recorded_run_without_a_forget_gate():
    """'Explain LSTM gating' with a number: the LSTM's lead over an RNN of its width, trained with its forget gate
    left out (a learner's copy, `rnnlab exercise accept`), recorded in acceptance/measured/findings.json and quoted in
    the talking point on the cell-state update, with its machine and commit, in the profile whose budget it was
    measured at; a profile with no such record says nothing of it."""
    from acceptance.records import recorded_finding
    from acceptance.sections import lab02

    found = recorded_finding("quick", lab02.FORGET_GATE_FINDING)
    assert found is not None, f"findings.json records {lab02.FORGET_GATE_FINDING} for the quick profile"
    measured, where = found
    (line,) = lab02._forget_gate_recorded("quick")
    assert measured in line and where in line, line
    assert "forget gate" in line and "Gers" in line, line
    assert lab02._forget_gate_recorded("smoke") == []


def test_the_clipping_talking_point_quotes_the_recorded_clipping_study():
    """'Why do we clip gradients?' can say more than 'rarely needed in this run': the clipping study (`tox -e studies`)
    trains Lab 01's RNN clipped and not, under Adam and plain SGD; its line, recorded in findings.json, is quoted with
    its machine and commit in the profile whose budget it was measured at, and a profile with no record says nothing."""
    from acceptance.records import recorded_finding
    from acceptance.sections import lab01
    from spec.harness.lab01_results import lab01_result

    found = recorded_finding("quick", lab01.CLIPPING_FINDING)
    assert found is not None, f"findings.json records {lab01.CLIPPING_FINDING} for the quick profile"
    measured, where = found
    (line,) = lab01._clipping_recorded("quick")
    assert measured in line and where in line and "SGD" in line and "Adam" in line, line
    assert "diverged" in measured, "the record is the study's own line (acceptance.studies.clipping.finding)"
    assert lab01._clipping_recorded("smoke") == []
    rec = Recorder()
    lab01.write(rec, lab01_result({}))
    (point,) = [p for p in rec.talking_points if p.question == "Why do we clip gradients?"]
    assert point.recorded == [line], point.recorded


def test_a_run_of_some_models_names_each_models_own_rate_and_every_run_it_trained():
    """`rnnlab exercise accept DIR --lab 02 --model lstm` trains the LSTM at its own rate (2e-2) and an RNN as wide as
    it: the section said 'lr 0.01' (the shared rate no model of that run trained at) and left the RNN out."""
    from acceptance import sections
    from acceptance.profiles import PROFILES
    from acceptance.trained import Lab02Result, LMRun, StudiedRun
    from rnnlab.training.lm import History

    cfg = PROFILES["quick"].lab02
    history = History(train_loss=[2.0, 1.9], val_loss=[1.8], eval_step=[2], eval_seconds=[0.1], train_seconds=0.2)
    lstm = StudiedRun("lstm", 192, cfg.lr("lstm"), 214_849, history, None, 4.73)
    narrow = LMRun("rnn", 192, cfg.lr("rnn"), 66_241, history, None, 5.31)
    rec = Recorder()
    sections.lab02.write(rec, Lab02Result(cfg, "quick", {"lstm": lstm}, {"lstm": narrow}, {}, {}))
    sec = rec.sections["lab02"]
    assert f"lr {cfg.train.lr}," not in sec.summary, sec.summary
    assert "2e-2" in sec.summary and "6e-3" in sec.summary, sec.summary
    assert "as wide as the LSTM" in sec.summary, sec.summary
    (table,) = [t for t in sec.tables if t.title == "Perplexity"]
    assert [row[0] for row in table.rows] == ["LSTM", "RNN as wide as the LSTM"], table.rows
    assert "learning rate" in table.columns and ["2e-2", "6e-3"] == [
        row[table.columns.index("learning rate")] for row in table.rows
    ]


def test_a_command_quoted_in_backticks_reads_as_code_in_every_kind_of_prose(tmp_path):
    """The sections, captions, notes, table cells, criteria, claims and talking points are written once, for the
    HTML report and RESULTS.md (Markdown) alike, with a command quoted as `tox -e bench`. The page shows it as code,
    never as literal backticks, and what is inside the quotes is escaped like all the rest of the text."""
    from acceptance.record import Table, TalkingPoint

    rec = Recorder()
    rec.criterion("lab01.ok", "lab01", "judged by `tox`", Bound(1.5, 2.0, "<="), detail="see `tox -e full`")
    rec.claims.append(Claim("lab01", "speed", "a prototype", "6.3", "5.0", "run `tox -e bench`", key="lab01.speed"))
    section = rec.section("lab01", "Lab 01 — test")
    section.summary = "Summary: `tox -e studies`."
    section.tables.append(Table("A table", ["what", "value"], [["`tox -e bench` asserts it", 1.0]], "cap `a`"))
    section.figures.append(Figure("A plot", "fig `b`", plots.series({"a": [1.0, 2.0]}, "x", "y", "t")))
    section.notes.append("A note: `<script>alert(1)</script>` and a lone ` stays.")
    rec.talking_points.append(TalkingPoint("lab01", "Why?", "Run `c` (a source, 2024).", ["Measured `d`."], "lab01.ok"))
    _, html_path = write_report(rec, REPORT_META, tmp_path)
    html = html_path.read_text()
    for quoted in ("tox", "tox -e full", "tox -e bench", "tox -e studies", "a", "b", "c", "d"):
        assert f"<code>{quoted}</code>" in html, f"`{quoted}` was not rendered as <code>{quoted}</code>"
    assert "<script>alert(1)</script>" not in html, "text inside backticks is escaped like the rest"
    assert "<code>&lt;script&gt;alert(1)&lt;/script&gt;</code>" in html
    assert "a lone ` stays" in html, "an unpaired backtick is text, not the start of code"
    text = re.sub(r"<style>.*?</style>|<[^>]+>", "", html, flags=re.S)
    assert text.count("`") == 1, "only the unpaired backtick remains as text"


def test_a_signed_change_written_as_text_lines_up_with_the_numbers_of_its_column(tmp_path):
    """A table cell a section formats itself ("+0.95", "-3.2%", "1,234") is still a number to read down a column:
    it is right-aligned like the float above it, while words and "—" stay text."""
    from acceptance.record import Table

    rec = Recorder()
    rows = [["greedy", 59.5], ["change (points)", "+0.95"], ["loss", "-3.2%"], ["steps", "1,234"], ["n/a", "—"]]
    rec.section("lab03", "Lab 03 — test").tables.append(Table("T", ["what", "value"], rows))
    html = write_report(rec, REPORT_META, tmp_path)[1].read_text()
    cells = dict(re.findall(r'<td class="[^"]*">([^<]+)</td><td class="([^"]*)">', html))
    assert cells == {"greedy": "num", "change (points)": "num", "loss": "num", "steps": "num", "n/a": ""}, cells
