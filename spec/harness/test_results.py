"""RESULTS.md is generated from the records under acceptance/measured/ and never goes stale."""

import json

from acceptance import results


def test_results_md_is_what_the_records_say():
    assert results.RESULTS.is_file(), "RESULTS.md is missing: run `python -m acceptance.results`"
    assert results.RESULTS.read_text(encoding="utf-8") == results.render(), (
        "RESULTS.md is stale (a record under acceptance/measured/ changed since it was written): "
        "run `python -m acceptance.results`"
    )


def test_a_full_profile_criterion_within_the_quick_spread_is_told_to_get_its_own_seeds(tmp_path):
    """Issue #25: the full profile's criteria run once; one whose margin is under 3 of the quick profile's
    standard deviations (of the same criterion's margin) must be measured over seeds of its own. Computed from
    the recorded numbers (issue #33)."""
    from acceptance.record import Bound

    def bounds(value, bound):
        return [Bound(value, bound, "<=").as_json()]

    full = {"lab01.perplexity": bounds(5.0, 6.5), "lab02.best_ppl": bounds(5.1, 5.2)}
    (tmp_path / "claims-full.json").write_text(json.dumps({"git": "abc1234", "criteria": full}))
    quick = {
        "lab01.perplexity": [bounds(v, 6.5) for v in (5.4, 5.5, 5.6)],  # margin sd 0.1; full 1.5
        "lab02.best_ppl": [bounds(v, 5.2) for v in (4.7, 4.9, 5.1)],  # margin sd 0.2; full 0.1
    }
    (tmp_path / "seeds-quick.json").write_text(json.dumps({"criteria": quick}))
    table = "\n".join(results._full_against_quick_spread(tmp_path))
    assert "| `lab01.perplexity` | 5 | +1.5 | 0.1 | 15.0 | clear of the quick spread |" in table, table
    assert "| `lab02.best_ppl` | 5.1 | +0.1 | 0.2 | 0.5 | WITHIN the quick spread: needs its own seeds |" in table, (
        table
    )


def test_a_full_run_recorded_in_words_is_not_parsed(tmp_path):
    """A record from before criteria were numbers is named as such, never read back out of its words."""
    (tmp_path / "claims-full.json").write_text(json.dumps({"git": "abc1234", "criteria": {"lab01.perplexity": "5.0"}}))
    (tmp_path / "seeds-quick.json").write_text(json.dumps({"criteria": {}}))
    table = "\n".join(results._full_against_quick_spread(tmp_path))
    assert "as words" in table and "tox -e full" in table, table


def test_the_full_profiles_equal_compute_criteria_are_judged_by_the_gating_studys_seeds():
    """Issue #32: at the full budget the equal-compute comparisons are decided by the gating study's three seeds
    (gating.json), Lab 02's protocol; RESULTS.md says so beside the one-seed run, not 'its own seeds decide'."""
    table = "\n".join(results._full_against_quick_spread(results.records.MEASURED))
    row = next(line for line in table.splitlines() if line.startswith("| `lab02.lstm_beats_rnn` |"))
    assert "measured over seeds (gating.json)" in row and "sd" in row, row


def test_wall_times_are_one_table_the_whole_commands_seconds_first():
    """Each recorded run is a row (newest first) and each part a column, the whole command's seconds leading, so two
    runs compare at a glance; a part a run did not time reads "—", never 0; its command is the note of its number."""
    runs = [
        {"machine": "EPYC", "git": "bbb", "command": "tox (new)", "seconds": {"Lab 02": 246, "tox": 1637}},
        {"machine": "Xeon", "git": "aaa", "command": "tox (old)", "seconds": {"curriculum": 62, "tox": 999}},
    ]
    lines = results._wall_times(runs)
    assert lines[0] == "| run | git | machine | tox (s) | Lab 02 (s) | curriculum (s) |", lines[0]
    assert lines[2] == "| [1] | bbb | EPYC | 1,637 | 246 | — |", lines[2]
    assert lines[3] == "| [2] | aaa | Xeon | 999 | — | 62 |", lines[3]
    assert lines[-2:] == ["1. `tox (new)`", "2. `tox (old)`"], lines[-2:]


def test_a_part_only_older_runs_timed_keeps_its_place_among_the_others():
    """A part the newest run did not time (lint before the specs, in runs from before mypy ran beside them)
    stands where those runs put it, not after every part of the newest run."""
    runs = [
        {"machine": "m", "git": "new", "command": "c", "seconds": {"specs": 166, "acceptance": 495, "tox": 699}},
        {"machine": "m", "git": "old", "command": "c", "seconds": {"lint": 18, "specs": 166, "acceptance": 459}},
    ]
    assert results._wall_times(runs)[0] == "| run | git | machine | tox (s) | lint (s) | specs (s) | acceptance (s) |"
