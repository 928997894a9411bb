"""The acceptance profiles hold budgets; what was measured outside a run is a record under
acceptance/measured/ with its provenance, and every learning rate is the one its recorded grid chose."""

import re
from pathlib import Path

import pytest

from acceptance.profiles import (
    GATING_LR_GRID,
    HIDDEN_MULTIPLE,
    LR_GRID,
    PROFILES,
    RECALL_LR_GRID,
    TOX_MINUTES,
    only_models,
)
from acceptance.records import (
    GridRecord,
    behind_at,
    choice,
    gating,
    gating_verdicts,
    grids,
    known_failures,
    lr_choice,
    rate_check,
)
from rnnlab.cells import MODEL_KINDS
from rnnlab.models import CharLM


def _chosen(name):
    profile = PROFILES[name]
    yield "lab02.rnn", profile.lab02.train.lr
    if profile.bridge.lr is not None:
        yield "bridge.attention", profile.bridge.lr
    for model, lr in profile.studies.recall.rates:
        yield f"recall.{model}", lr


def _grid_profile(name, model):
    """The profile whose grid chose ``model``'s rate: a recall budget shared with the quick profile is the quick
    profile's grid (the same runs)."""
    if model.startswith("recall.") and PROFILES[name].studies.recall == PROFILES["quick"].studies.recall:
        return "quick"
    return name


@pytest.mark.parametrize("name", sorted(PROFILES))
def test_every_learning_rate_is_the_best_of_its_recorded_grid(name):
    for model, lr in _chosen(name):
        record = choice(_grid_profile(name, model), model)
        if name == "smoke":
            assert record is None, "the dry-run profile chose no rate by a grid"
            continue
        assert record is not None, f"{name}: no recorded grid chose {model}'s rate {lr}"
        rates = [rate for rate, _ in record.grid]
        tried = RECALL_LR_GRID if model.startswith("recall.") else LR_GRID
        assert set(tried) <= set(rates), f"{name}: {model}'s grid must try every rate of {tried}: {rates}"
        lr_choice(lr, record, model)


def test_every_record_says_where_it_was_measured_and_how_to_measure_it_again():
    for g in grids():
        assert g.profile in PROFILES, f"a grid of an unknown profile: {g}"
        assert g.purpose in ("choice", "rate_check"), g
        assert [r for r, _ in g.grid] == sorted(r for r, _ in g.grid), f"a grid is recorded in order of rate: {g}"
        assert g.git and g.machine and g.command.startswith("python -m acceptance.grid "), f"no provenance: {g}"
        assert f"--profile {g.profile}" in g.command and f"--model {g.model}" in g.command, g.command
    for name in PROFILES:
        checked = rate_check(name)
        if checked:
            assert checked[0].model == "lab02.rnn", f"{name}: the rate check's baseline (first) is the RNN"
            steps = PROFILES[name].lab02.train.steps
            assert all(g.steps == steps for g in checked), f"{name}: the rate check is of this profile's budget"
            lr = PROFILES[name].lab02.train.lr
            assert all(lr in dict(g.grid) for g in checked), f"{name}: every model was measured at the shared {lr}"
        for key in known_failures(name):
            assert key.split("@")[0].count(".") == 1, f"{name}: a known failure names a criterion id: {key}"


def test_a_rate_the_grid_did_not_choose_is_refused():
    record = GridRecord("quick", "lab02.rnn", "choice", 100, ((3e-3, 5.0), (6e-3, 4.0), (1e-2, 6.0)), "abc", "m", "c")
    with pytest.raises(ValueError, match="not the best of its grid"):
        lr_choice(3e-3, record, "a model")
    assert lr_choice(6e-3, record, "a model").startswith("the best of 3e-3, 6e-3 and 1e-2 for a model")


def test_a_rate_at_which_a_model_trails_the_baseline_is_found():
    base = GridRecord("quick", "lab02.rnn", "rate_check", 1200, ((6e-3, 4.796), (1e-2, 4.8)), "abc", "m", "c")
    lstm = GridRecord("quick", "lab02.lstm", "rate_check", 1200, ((6e-3, 4.849), (1e-2, 4.756)), "abc", "m", "c")
    assert behind_at([base, lstm], "lab02.lstm") == [("6e-3", 4.849, 4.796)]
    assert behind_at([], "lab02.lstm") == []


@pytest.mark.parametrize("name", sorted(PROFILES))
def test_lab02s_hidden_sizes_fill_one_parameter_budget(name):
    lab02 = PROFILES[name].lab02
    counts = {}
    for kind, hidden in lab02.hidden(65):
        model = CharLM(65, kind, hidden, 1, lab02.embedding_dim, forget_bias=lab02.lstm_forget_bias)
        bigger = CharLM(65, kind, hidden + HIDDEN_MULTIPLE, 1, lab02.embedding_dim)
        counts[kind] = model.num_parameters()
        assert counts[kind] <= lab02.param_budget < bigger.num_parameters(), (
            f"{name}: {kind} at H={hidden} is not the largest size (a multiple of {HIDDEN_MULTIPLE}) within the "
            f"budget {lab02.param_budget:,}: {counts[kind]:,} parameters, {bigger.num_parameters():,} at the next size"
        )
    if name != "smoke":
        assert max(counts.values()) <= 1.1 * min(counts.values()), f"{name}: counts differ by more than 10%: {counts}"


@pytest.mark.parametrize("name", ["quick", "full"])
def test_the_bridges_attention_lm_matches_lab02s_parameter_counts(name):
    """Issue #16: the attention LM is sized to Lab 02's models, as Lab 02 matches its own (within 10%). The count
    depends on the profile alone, so it is a spec, not a criterion of the trained run (issue #33)."""
    from acceptance.runs import attention_lm

    profile = PROFILES[name]
    counts = {
        kind: CharLM(65, kind, hidden, 1, profile.lab02.embedding_dim).num_parameters()
        for kind, hidden in profile.lab02.hidden(65)
    }
    counts["attention"] = attention_lm(profile.bridge, 65, profile.lab02.train.seq_len).num_parameters()
    assert max(counts.values()) <= 1.1 * min(counts.values()), (
        f"{name}: the attention LM's parameters are not within 10% of Lab 02's models: {counts}; resize Bridge.d_model"
    )


@pytest.mark.parametrize("name", ["quick", "full"])
def test_no_profile_a_user_runs_has_known_failures(name):
    """Every row of the report is a criterion that passes or a finding (issue #25): none is
    expected to fail."""
    assert not known_failures(name), (
        f"{name} lists known failures {sorted(known_failures(name))}: make each pass, or restate it as a finding"
    )


def test_a_run_can_train_only_some_of_lab02s_models():
    """RNNLAB_MODELS=lstm (`rnnlab exercise accept DIR --lab 02 --model lstm`): a learner's loop on one cell."""
    every = dict(PROFILES["quick"].lab02.hidden(65))
    one = only_models(PROFILES["quick"], " LSTM ").lab02.hidden(65)
    assert [k for k, _ in one] == ["lstm"], "only the model asked for trains"
    assert dict(one)["lstm"] == every["lstm"], "at the size it has in a run of every model (the same budget)"
    assert only_models(PROFILES["quick"], "") == PROFILES["quick"], "unset: every model"
    with pytest.raises(SystemExit, match="transformer is not a model kind; choose from"):
        only_models(PROFILES["quick"], "lstm,transformer")


def test_the_gating_study_gives_every_model_its_own_best_rate_at_each_depth():
    """measured/gating.json (issue #25): every registered kind at one and two layers, each trained at the best
    rate of the same grid (a best at the grid's top taken one rate further), then every seed at that rate."""
    runs = gating("quick")
    assert {(r.layers, r.model) for r in runs} == {(n, f"lab02.{k}") for n in (1, 2) for k in MODEL_KINDS}, runs
    for r in runs:
        rates = [rate for rate, _ in r.grid]
        assert set(GATING_LR_GRID) <= set(rates), f"{r.model} x{r.layers}: the grid must try {GATING_LR_GRID}: {rates}"
        assert r.rate != max(rates) or len(rates) > len(GATING_LR_GRID), (
            f"{r.model} x{r.layers}: its best rate {r.rate} is the grid's top; take the grid one rate further"
        )
        assert r.seeds == (0, 1, 2) and len(r.ppl) == 3, f"{r.model} x{r.layers}: three seeds at its best rate"
        assert all(c.startswith("python -m acceptance.grid ") and f"--layers {r.layers}" in c for c in r.commands)


@pytest.mark.parametrize("name", sorted(PROFILES))
def test_each_lab02_model_trains_at_the_best_rate_of_its_own_grid(name):
    """Issue #32: where a profile gives Lab 02's models their own rates, each is the best of that kind's grid in the
    gating study at this budget (one layer), and the kinds whose lead at equal compute is a criterion are those the
    study found ahead by 3 standard deviations over seeds."""
    lab02 = PROFILES[name].lab02
    if not lab02.rates:
        return
    study = {r.model: r for r in gating(name) if r.layers == 1}
    assert set(dict(lab02.rates)) == set(MODEL_KINDS), f"{name}: give every registered kind its rate: {lab02.rates}"
    for kind, lr in lab02.rates:
        record = study.get(f"lab02.{kind}")
        assert record is not None, f"{name}: no gating record chose lab02.{kind}'s rate {lr}"
        assert lr == record.rate, f"{name}: lab02.{kind} trains at {lr}, but its grid's best is {record.rate}"
    verdicts = {v.kind: v.verdict for v in gating_verdicts(gating(name)) if v.layers == 1}
    for kind, verdict in verdicts.items():
        judged = f"lab02.{kind}_beats_rnn" not in lab02.findings
        assert judged == (verdict == "ahead, clear of noise"), (
            f"{name}: lab02.{kind}_beats_rnn is {'a criterion' if judged else 'a finding'}, but the gating study finds "
            f"the {kind} {verdict!r}: a criterion exactly where it is ahead clear of noise (Lab02.findings)"
        )


@pytest.mark.parametrize("name", ["quick", "full"])
def test_every_criterion_a_profile_judges_clears_its_seeds_by_3_standard_deviations(name):
    """Issue #25: a criterion passes at every seed of its profile's record (measured/seeds-PROFILE.json) with a mean
    margin of at least 3 standard deviations; one that does not is a finding of that profile (Lab02.findings)."""
    from acceptance.records import MEASURED, read_json
    from acceptance.spread import by_seed, robust

    path = MEASURED / f"seeds-{name}.json"
    if not path.is_file():
        return
    findings = set(PROFILES[name].lab02.findings)
    for cid, entries in read_json(path)["criteria"].items():
        if cid in findings:
            continue
        for column in by_seed(entries):
            ratio, clears = robust(column)
            assert clears, (
                f"{name}: {cid} ({column[0].label or 'its value'}) is judged, but over seeds its margin is "
                f"{ratio} standard deviations: make it a finding of the profile, or pose it where it holds"
            )


def test_the_size_study_holds_every_kind_at_every_budget_it_measured():
    """measured/sizes.json (issue #32): every registered kind at each parameter budget measured, its hidden size the
    largest within that budget, each record with the command that reruns it."""
    from acceptance.profiles import largest_hidden
    from acceptance.records import MEASURED, read_json

    path = MEASURED / "sizes.json"
    if not path.is_file():
        return
    records = read_json(path)["records"]
    budgets = {r["budget"] for r in records}
    assert {(r["budget"], r["model"]) for r in records} == {(b, f"lab02.{k}") for b in budgets for k in MODEL_KINDS}
    lab02 = PROFILES["quick"].lab02
    for r in records:
        kind = r["model"].split(".")[-1]
        assert r["hidden"] == largest_hidden(kind, 65, lab02.embedding_dim, r["budget"]), r
        assert r["steps"] == lab02.train.steps, f"every size trains Lab 02's steps: {r}"
        assert r["command"].startswith("python -m acceptance.grid ") and f"--budget {r['budget']}" in r["command"], r


def test_the_attention_lm_trains_where_the_profile_or_a_study_needs_it(monkeypatch):
    """The quick profile leaves the bridge's attention LM to the full profile (`tox` within 12 minutes), but the
    in-context copying study reads the trained model in any profile: a session that collects it trains it."""
    from types import SimpleNamespace

    from acceptance import harness
    from acceptance.profiles import PROFILES

    monkeypatch.setattr(harness, "WANTS", dict(harness.WANTS))
    monkeypatch.setattr(harness, "REPORT", dict(harness.REPORT))

    def item(path: Path, *fixtures: str) -> SimpleNamespace:
        return SimpleNamespace(fspath=path, fixturenames=fixtures, add_marker=lambda marker: None)

    acceptance = Path(harness.__file__).parent
    harness.pytest_collection_modifyitems([item(acceptance / "test_bridge.py", "bridge")])
    assert not harness.trains_attention_lm(PROFILES["quick"]) and harness.trains_attention_lm(PROFILES["full"])
    harness.pytest_collection_modifyitems([item(harness.STUDIES / "test_studies.py", "lab02", "bridge")])
    assert harness.trains_attention_lm(PROFILES["quick"]), "the copying study reads the trained attention LM"


def test_only_the_tests_a_session_selects_decide_what_it_trains(tmp_path):
    """`tox -e studies -- -k window` (or `-m`, `--deselect`) must not train the attention LM for a study it left
    out: what the session trains is decided from the tests left after pytest's own selection."""
    import os
    import subprocess
    import sys

    root = Path(__file__).resolve().parents[2]
    probe = (
        "import pytest, acceptance.harness as h\n"
        "pytest.main(['acceptance/studies', '--collect-only', '-q', '-k', 'window', '-p', 'no:cacheprovider'])\n"
        "print('WANTS', h.WANTS)\n"
    )
    env = {**os.environ, "RNNLAB_REPORTS": str(tmp_path)}  # importing the harness locks its reports folder
    done = subprocess.run([sys.executable, "-c", probe], cwd=root, env=env, capture_output=True, text=True, timeout=120)
    assert re.search(r"\b1/\d+ tests collected", done.stdout), done.stdout + done.stderr  # the window study alone
    wants = done.stdout.strip().splitlines()[-1]
    assert wants == "WANTS {'attention': False, 'studied': False}", (
        f"with the copying study deselected nothing needs the attention LM; the harness decided {wants}"
    )


def test_the_shared_rate_note_never_contradicts_the_rates_lab02_trains_at():
    """The rate-sensitivity note reads a narrower grid than the one Lab 02's rates come from (the LSTM's best
    there is 1e-2, Lab 02 trains it at 2e-2): its verdict is "at the best of these rates", and it says where the
    lab's own rates come from, so the report never names two different bests for one model."""
    from acceptance.records import GridRecord, rate_sensitivity

    def grid(model, points):
        return GridRecord("quick", f"lab02.{model}", "rate_check", 1200, points, "abc1234", "a CPU", "python -m ...")

    text = rate_sensitivity(
        [grid("rnn", [(6e-3, 4.80), (1e-2, 4.81)]), grid("lstm", [(6e-3, 4.85), (1e-2, 4.76)])],
        {"rnn": "RNN", "lstm": "LSTM"},
    )
    assert "At 6e-3 the LSTM (4.850) is behind the RNN (4.800)." in text, text
    assert "best measured rate" not in text and "At the best of these rates" in text, text
    assert "gating.json" in text, "the note names where Lab 02's own rates come from"


def test_every_time_quoted_for_tox_is_the_one_budget():
    """What the report, the harness's skip messages and the README say `tox` must finish within is TOX_MINUTES,
    defined once (acceptance/profiles.py): the code reads it, and a text written when the budget was another number
    (the report's Lab 03 setup said 20 minutes long after the budget became 12) cannot outlive it."""
    root = Path(__file__).resolve().parents[2]
    rendered = [
        root / "README.md",
        *(root / "acceptance").glob("test_*.py"),
        *(root / "acceptance/sections").glob("*.py"),
    ]
    quoted = re.compile(r"`tox`[^.`]{0,40}?\b(\d+)[ -]minute")
    stale = [
        f"{path.relative_to(root)}: {m.group(0)!r}"
        for path in rendered
        for m in quoted.finditer(" ".join(path.read_text(encoding="utf-8").split()))
        if int(m.group(1)) != TOX_MINUTES or path.suffix == ".py"
    ]
    assert not stale, (
        f"these write a time for `tox` as a number; the code reads TOX_MINUTES ({TOX_MINUTES}), the README quotes it: "
        f"{stale}"
    )


def test_a_moved_seed_moves_the_models_and_never_the_held_out_draws():
    """`RNNLAB_SEED=k` (profiles.with_seed) measures how a criterion varies with the models' seeds: the held-out
    draws Lab 02 and its studies score on (the context study's positions, the copying spans, the bidirectional
    study's windows) stay, or the spread over seeds would mix in a second source of noise."""
    from dataclasses import replace

    import torch

    from acceptance.profiles import with_seed
    from acceptance.runs import context_used

    base = replace(PROFILES["quick"].lab02, context_lengths=(1, 2, 4, 8), context_positions=40)
    moved = with_seed(replace(PROFILES["quick"], lab02=base), 1).lab02
    assert moved.train.seed != base.train.seed, "with_seed moves the training seed"
    torch.manual_seed(0)
    model = CharLM(7, "rnn", 8, 1, 4).eval()
    ids = torch.randint(0, 7, (400,), generator=torch.Generator().manual_seed(3))
    assert context_used(model, moved, ids) == context_used(model, base, ids), (
        "the same model scored on Lab 02's context positions gave other numbers under a moved seed: the positions "
        "were drawn with the training seed"
    )
