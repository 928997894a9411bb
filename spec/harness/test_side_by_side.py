"""tox's check runs the spec tier beside the curriculum (spec/side_by_side.py): each command's output
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
