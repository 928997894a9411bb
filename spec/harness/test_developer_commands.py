"""The developer commands (python -m acceptance.grid | spread | results) answer a bad argument or a damaged record
with one line naming it, never a traceback (#35)."""

import json

import pytest

from acceptance import grid, records, results, spread


@pytest.mark.parametrize(
    "argv, said",
    [
        (["--rates", "abc"], "--rates 'abc'"),
        (["--rates=-1e-3"], "--rates '-1e-3'"),
        (["--rates", ""], "--rates ''"),
        (["--rates", "1e-3", "--steps", "0"], "--steps 0"),
        (["--rates", "1e-3", "--seeds", "0,0"], "--seeds 0,0"),
    ],
)
def test_grid_refuses_bad_arguments_in_one_line(argv, said, capsys):
    with pytest.raises(SystemExit) as stopped:
        grid.main(["--profile", "quick", "--model", "lab02.rnn", *argv])
    assert stopped.value.code == 2
    err = capsys.readouterr().err
    assert said in err and "Traceback" not in err, err


def _report(folder, seed):
    folder.mkdir()
    (folder / "acceptance.json").write_text(
        json.dumps({"meta": {"seed": seed, "profile": "quick", "git": "abc", "machine": {}}, "criteria": []})
    )
    return str(folder)


def test_spread_refuses_missing_damaged_and_repeated_reports(tmp_path, capsys):
    truncated = tmp_path / "truncated"
    truncated.mkdir()
    (truncated / "acceptance.json").write_text('{"meta": {')
    cases = [
        ([str(tmp_path / "nowhere")], "is missing"),
        ([str(truncated)], "is not valid JSON"),
        ([_report(tmp_path / "a", 0), _report(tmp_path / "b", 0)], "give each seed once"),
    ]
    for argv, said in cases:
        with pytest.raises(SystemExit) as stopped:
            spread.main(argv)
        assert stopped.value.code == 2
        err = capsys.readouterr().err
        assert said in err and "Traceback" not in err, err


def test_a_damaged_record_is_named_by_its_file(tmp_path, monkeypatch, capsys):
    (tmp_path / "runs.json").write_text('{"tox": [')
    monkeypatch.setattr(records, "MEASURED", tmp_path)
    assert results.main(["--check"]) == 2
    err = capsys.readouterr().err
    assert "runs.json is not valid JSON" in err and err.count("\n") == 1, err
    (tmp_path / "runs.json").write_text("[1, 2]")
    with pytest.raises(records.RecordError, match="runs.json holds a list, not a record"):
        records.read_json(tmp_path / "runs.json")
