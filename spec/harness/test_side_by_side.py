"""tox runs the spec tier beside the curriculum, and `tox -e spec` its two halves side by side (spec/side_by_side.py): each command's output
whole, never interleaved, and a failure in either fails the run."""

import sys

from spec.side_by_side import main


def test_each_command_is_reported_whole_and_a_failure_fails_the_run(capfd):
    py = sys.executable
    code = main([f"{py} -c \"print('one'); print('one again')\"", f"{py} -c \"import sys; print('two'); sys.exit(3)\""])
    out = capfd.readouterr().out
    assert code == 3, "the first non-zero exit status is the runner's"
    assert "one\none again" in out, "a command's output is printed whole"
    assert out.index("exit 0") < out.index("\none\n") < out.index("exit 3") < out.index("\ntwo\n"), out


def test_no_command_is_a_usage_error(capsys):
    assert main([]) == 2


def test_a_half_that_selects_nothing_is_no_failure(capfd):
    """`tox -e spec -- -m lab01_rnn_cell` runs the spec tier's two halves; one of them may select no spec (pytest's
    exit 5). That counts only when every command selected nothing."""
    py = sys.executable
    ran, empty = f'{py} -c "pass"', f'{py} -c "import sys; sys.exit(5)"'
    assert main([empty, ran]) == 0, "one half selected specs, and they passed"
    assert main([empty, empty]) == 5, "no spec selected anywhere: pytest's own answer"
    assert main([empty, f'{py} -c "import sys; sys.exit(1)"']) == 1, "a failure still fails the run"
    capfd.readouterr()


def test_the_two_halves_split_the_spec_tier_between_them():
    """`--half 1` and `--half 2` (tox's two spec processes) split the spec files between them: every file, a new one
    too, runs in exactly one half, spec/common's in the first but the files moved to the second for balance."""
    import subprocess
    from pathlib import Path

    from spec.side_by_side import SECOND_HALF, half

    root = Path(__file__).resolve().parents[2]
    files = sorted(p.relative_to(root).as_posix() for p in (root / "spec").rglob("test_*.py"))
    first = {f for f in files if half(f) == 1}
    assert first and first == {f for f in files if f.startswith("spec/common/") and f not in SECOND_HALF}, first
    assert set(SECOND_HALF) <= set(files), f"a file moved to the second half is gone: {SECOND_HALF}"
    picked = ["spec/common/test_cli_help.py", SECOND_HALF[0], "spec/lab01/test_vocab.py"]
    done = subprocess.run(
        [sys.executable, "-m", "pytest", *picked, "--half", "2", "--collect-only", "-q", "-p", "no:cacheprovider"],
        cwd=root,
        capture_output=True,
        text=True,
        timeout=120,
    )
    collected = {line.split("::")[0] for line in done.stdout.splitlines() if "::" in line}
    assert collected == {SECOND_HALF[0], "spec/lab01/test_vocab.py"}, f"--half 2 should select the rest: {done.stdout}"
