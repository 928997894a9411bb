"""RESULTS.md is generated from the records under acceptance/measured/ and never goes stale."""

from acceptance import results


def test_results_md_is_what_the_records_say():
    assert results.RESULTS.is_file(), "RESULTS.md is missing: run `python -m acceptance.results`"
    assert results.RESULTS.read_text(encoding="utf-8") == results.render(), (
        "RESULTS.md is stale (a record under acceptance/measured/ changed since it was written): "
        "run `python -m acceptance.results`"
    )
