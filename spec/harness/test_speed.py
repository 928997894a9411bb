"""The speed goals of issue #6 (acceptance/speed.py): `tox -e bench` judges a goal only where recorded runs clear it
by 3 standard deviations, and reports the rest as findings with their numbers."""

import json

import pytest

from acceptance import speed
from acceptance.measures import NAMES
from acceptance.speed import FINDINGS, GOALS, SIZES, goal_key, robust_keys, spreads, summary


def _run(ratios: dict[str, float]) -> dict[str, dict[str, float]]:
    return {
        k: {"fast_ms": 10 * r, "fused_ms": 10.0, "floor_ms": 5.0, "ratio": r, "floor_ratio": 0.5}
        for k, r in ratios.items()
    }


def test_a_goal_is_judged_only_where_every_recorded_run_clears_it_by_3_standard_deviations():
    record = {
        "records": [
            {
                "machine": "2-core test CPU",
                "runs": [
                    _run({"rnn H=128": r, "gru H=256": g, "lstm H=512": s})
                    for r, g, s in [(0.70, 0.76, 0.90), (0.72, 0.84, 0.92), (0.71, 0.79, 1.01)]
                ],
            }
        ]
    }
    found = {s.key: s for s in spreads(record)}
    assert found["gru H=256"].goal == GOALS["gru"] and found["gru H=256"].ratios == (0.76, 0.84, 0.79)
    assert robust_keys(record) == {"rnn H=128"}, (
        "the GRU's runs straddle its goal (a run missed it), the LSTM's missed it once: only the RNN's is judged"
    )
    record["records"].append(
        {"machine": "2-core other CPU", "runs": [_run({"rnn H=128": r}) for r in (0.9, 1.05, 0.8)]}
    )
    assert robust_keys(record) == set(), "a goal is judged only where it clears on every machine recorded"


def test_the_bench_judges_exactly_the_goals_its_record_clears():
    """acceptance/measured/bench.json holds every goal at every size on each machine recorded, from the bench's own
    command; FINDINGS are exactly the goals it does not clear by 3 standard deviations."""
    data = json.loads(speed.RECORD.read_text())
    every = {goal_key(k, h) for k in GOALS for h in SIZES}
    for r in data["records"]:
        assert len(r["runs"]) >= 5, f"{r['machine']}: a spread needs several runs, not {len(r['runs'])}"
        assert all(set(run) == every for run in r["runs"]), f"{r['machine']}: every goal in every run"
        assert "tox -e bench -- -k speed_goal" in r["command"] and "python -m acceptance.speed" in r["command"]
    judged = every - set(FINDINGS)
    assert set(FINDINGS) <= every, f"FINDINGS names goals the bench does not measure: {set(FINDINGS) - every}"
    assert judged == robust_keys(data), (
        f"the bench judges {sorted(judged)}, but the record clears {sorted(robust_keys(data))} by 3 standard "
        "deviations: make acceptance.speed.FINDINGS exactly the goals it does not clear"
    )


def test_the_closing_summary_gives_every_goal_its_numbers_and_how_it_is_judged():
    measured = {
        "rnn H=128": {"ratio": 0.71, "goal": 1.0, "floor_ratio": 0.44, "met": True, "judged": True},
        FINDINGS[0]: {"ratio": 1.27, "goal": 1.0, "floor_ratio": 0.6, "met": False, "judged": False},
    }
    record = {"records": [{"machine": "2-core test CPU", "runs": [_run({FINDINGS[0]: r}) for r in (0.9, 1.3)]}]}
    lines = summary(measured, record)
    assert "rnn H=128: 0.71x, goal <= 1x, matmuls alone 0.44x: met (judged)" in lines[1], lines
    assert f"{FINDINGS[0]}: 1.27x, goal <= 1x" in lines[2] and "MISSED (a finding, not judged); recorded " in lines[2]
    assert "recorded 1.10 +- 0.28 over 2 runs (2-core test CPU)" in lines[2], (
        "a finding shows the spread it sits inside"
    )


def _ratios(folder, machine="AMD EPYC", keys=None):
    keys = keys or [goal_key(k, h) for k in GOALS for h in SIZES]
    meta = {"cpu": machine, "cores": 2, "torch": "2.13.0+cpu", "torch_threads": 2, "git": "abc1234def"}
    path = folder / "bench" / "ratios.json"
    path.parent.mkdir(parents=True)
    ratios = {k: {**_run({k: 0.7})[k], "kind": k.split()[0], "extra": 1} for k in keys}
    path.write_text(json.dumps({"meta": meta, "ratios": ratios}))
    return folder


def test_the_record_command_keeps_each_runs_ratios_and_refuses_what_is_not_a_whole_bench(tmp_path, capsys):
    a, b = _ratios(tmp_path / "a"), _ratios(tmp_path / "b")
    assert speed.main([str(a), str(b)]) == 0
    record = json.loads(capsys.readouterr().out)
    assert record["machine"] == "2-core AMD EPYC, torch 2.13.0+cpu" and record["git"] == "abc1234"
    assert len(record["runs"]) == 2 and record["runs"][0]["rnn H=128"]["ratio"] == 0.7
    assert "extra" not in record["runs"][0]["rnn H=128"], "the record keeps the times and ratios"
    assert {s.key for s in spreads({"records": [record]})} == set(record["runs"][0])
    (tmp_path / "cut" / "bench").mkdir(parents=True)
    (tmp_path / "cut" / "bench" / "ratios.json").write_text('{"meta": {')
    (tmp_path / "old" / "bench").mkdir(parents=True)
    (tmp_path / "old" / "bench" / "ratios.json").write_text('{"rnn H=128": {"ratio": 0.7}}')
    for args, words in [
        ([str(tmp_path / "cut")], "is not valid JSON"),
        ([str(tmp_path / "old")], "lacks 'meta': it was written by an older bench; run the bench again"),
        ([str(tmp_path / "none")], "give the RNNLAB_REPORTS folder of a `tox -e bench -- -k speed_goal` run"),
        ([str(a), str(_ratios(tmp_path / "c", machine="Intel Xeon"))], "record one machine's runs at a time"),
        ([str(_ratios(tmp_path / "d", keys=["rnn H=128"]))], "run every speed goal (`-k speed_goal`), not some"),
    ]:
        with pytest.raises(SystemExit) as exit_:
            speed.main(args)
        err = capsys.readouterr().err
        assert exit_.value.code == 2 and words in err and "Traceback" not in err, err


def test_the_reports_timing_table_states_the_goals_and_which_are_judged_from_the_one_definition():
    words = speed.speed_goals_words()
    for kind, goal in GOALS.items():
        assert f"<= {goal:g} for the {NAMES[kind]}" in words, words
    judged = [k for k in GOALS if all(goal_key(k, h) not in FINDINGS for h in SIZES)]
    assert all(f"the {NAMES[k]} at H = {', '.join(map(str, SIZES))}" in words for k in judged), words
    assert "the others are findings" in words
