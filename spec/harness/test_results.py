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
    standard deviations (of the same criterion's margin) must be measured over seeds of its own."""
    (tmp_path / "claims-full.json").write_text(
        json.dumps({"git": "abc1234", "criteria": {"lab01.perplexity": "5.0", "lab02.best_ppl": "5.1"}})
    )
    quick = {
        "lab01.perplexity": {"threshold": "<= 6.5", "values": ["5.4", "5.5", "5.6"]},  # margin sd 0.1; full 1.5
        "lab02.best_ppl": {"threshold": "<= 5.2", "values": ["4.7", "4.9", "5.1"]},  # margin sd 0.2; full 0.1
    }
    (tmp_path / "seeds-quick.json").write_text(json.dumps({"criteria": quick}))
    table = "\n".join(results._full_against_quick_spread(tmp_path))
    assert "| `lab01.perplexity` | 5.0 | 1.5 | 0.1 | 15.0 | clear of the quick spread |" in table, table
    assert "| `lab02.best_ppl` | 5.1 | 0.1 | 0.2 | 0.5 | WITHIN the quick spread: needs its own seeds |" in table, table
