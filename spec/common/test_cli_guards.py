"""The command line guards the user's files and time: nothing overwritten that is not this run's,
every refusal decided before the first training step, `--resume` never ignoring what it was
told, interruptions reported in one line, and no traceback for any input.
"""

import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from rnnlab.checkpoint import read_checkpoint, save
from rnnlab.cli import main
from spec.helpers import keyboard_signals_here, rnnlab_process, wait_until

pytestmark = pytest.mark.reliability

TINY = ["--hidden-size", "8", "--embedding-dim", "4", "--batch-size", "2", "--seq-len", "8", "--eval-points", "1"]


@pytest.fixture
def corpus(fixtures_dir) -> str:
    return str(fixtures_dir / "tiny_corpus.txt")


@pytest.fixture
def no_training(monkeypatch):
    """Fail the spec if a single training step runs: the refusal must come first."""
    import rnnlab.training.loop as loop

    def step(*args, **kwargs):
        raise AssertionError("a training step ran before the command refused; check arguments before any work")

    monkeypatch.setattr(loop, "optimise", step)  # every task's step goes through the one loop


def run(argv, capsys) -> tuple[int, str, str]:
    capsys.readouterr()
    code = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return code, out, err


PROGRESS_LINE = re.compile(r"^\S[^:]*: step \d+/\d+ \(\d+%\)")  # a run's progress where no bar is drawn


def assert_refused(code: int, err: str, pattern: str) -> None:
    assert code == 2, f"expected exit status 2, got {code} (stderr {err!r})"
    err = "".join(line for line in err.splitlines(keepends=True) if not PROGRESS_LINE.match(line))
    assert err.startswith("rnnlab: error:") and err.count("\n") == 1, f"expected one error line, got {err!r}"
    assert not err.startswith("rnnlab: error: rnnlab:"), f"the line names the program twice: {err.strip()!r}"
    assert re.search(pattern, err), f"the message should say {pattern!r}; it says {err.strip()!r}"


def _snapshot(folder: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in folder.iterdir() if p.is_file()}


# --- 2. nothing is overwritten that is not this run's own checkpoint -----------------------------


@pytest.mark.parametrize("name", ["victim.txt", "notes.md"])
def test_out_never_replaces_a_file_that_is_not_a_checkpoint(tmp_path, corpus, capsys, no_training, name):
    victim = tmp_path / name
    victim.write_bytes(Path(corpus).read_bytes())
    code, _, err = run(["train", "charlm", "--corpus", victim, *TINY, "--steps", "5", "--out", victim], capsys)
    assert_refused(code, err, "is not an rnnlab checkpoint; refusing to write over it")
    assert victim.read_bytes() == Path(corpus).read_bytes(), f"{name} must be left exactly as it was"


def test_another_runs_checkpoint_is_replaced_only_with_overwrite(tmp_path, corpus, capsys):
    out = tmp_path / "lm.pt"
    assert run(["train", "charlm", "--corpus", corpus, *TINY, "--steps", "2", "--out", out], capsys)[0] == 0
    first = out.read_bytes()
    code, _, err = run(["train", "charlm", "--corpus", corpus, *TINY, "--steps", "3", "--out", out], capsys)
    assert_refused(code, err, "holds the checkpoint of another run.*--overwrite")
    assert out.read_bytes() == first
    code, stdout, _ = run(
        ["train", "charlm", "--corpus", corpus, *TINY, "--steps", "3", "--out", out, "--overwrite"], capsys
    )
    assert code == 0 and read_checkpoint(out)["step"] == 3 and stdout.startswith(f"saved {out}")


def _lock(path: Path, pid: int) -> Path:
    lock = path.with_name(f".{path.name}.lock")
    import socket

    lock.write_text(f"{pid} {socket.gethostname()}\n")
    return lock


def test_a_second_writer_is_refused_while_the_first_runs(tmp_path, corpus, capsys, no_training):
    out = tmp_path / "lm.pt"
    other = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        _lock(out, other.pid)
        code, _, err = run(["train", "charlm", "--corpus", corpus, *TINY, "--steps", "2", "--out", out], capsys)
        assert_refused(code, err, f"another rnnlab run \\(pid {other.pid}.*is writing {re.escape(str(out))}")
    finally:
        other.kill()
        other.wait()
    assert not out.exists()


def test_a_stale_lock_and_stale_temporary_files_are_cleared(tmp_path, corpus, capsys):
    out = tmp_path / "lm.pt"
    gone = subprocess.Popen([sys.executable, "-c", "pass"])
    gone.wait()
    lock = _lock(out, gone.pid)
    leftover = tmp_path / f".{out.name}.abc123.tmp"
    leftover.write_bytes(b"half a checkpoint from a killed run")
    code, _, err = run(["train", "charlm", "--corpus", corpus, *TINY, "--steps", "2", "--out", out], capsys)
    assert code == 0, err
    assert not lock.exists(), "the lock is released when the run ends"
    assert not leftover.exists(), "a temporary file a killed run left beside the checkpoint is removed"


# --- 3. fail before the work, not after it ---------------------------------------------------------


def test_bad_output_paths_fail_before_the_first_step(tmp_path, corpus, capsys, no_training):
    folder = tmp_path / "runs"
    folder.mkdir()
    blocker = tmp_path / "some_file"
    blocker.write_text("a file")
    cases = {folder: "is a folder", blocker / "x.pt": "some_file is a file, not a folder"}
    for out, expected in cases.items():
        code, _, err = run(["train", "charlm", "--corpus", corpus, *TINY, "--steps", "3000", "--out", out], capsys)
        assert_refused(code, err, expected)


def test_an_unwritable_folder_fails_before_the_first_step(tmp_path, corpus, capsys, no_training, monkeypatch):
    folder = tmp_path / "read-only"
    folder.mkdir()
    folder.chmod(0o555)
    if os.geteuid() == 0:  # root writes anywhere: make the lock's creation fail as a read-only folder would
        import rnnlab.files as files

        real_open = os.open

        def read_only(path, flags, *args):
            if str(path).startswith(str(folder)):
                raise PermissionError(13, "Permission denied", str(path))
            return real_open(path, flags, *args)

        monkeypatch.setattr(files.os, "open", read_only)
    try:
        code, _, err = run(
            ["train", "charlm", "--corpus", corpus, *TINY, "--steps", "3000", "--out", folder / "x.pt"], capsys
        )
    finally:
        folder.chmod(0o755)
    assert_refused(code, err, "permission denied")


def test_a_full_disk_when_taking_the_lock_names_the_path(tmp_path, corpus, capsys, no_training, monkeypatch):
    import errno

    import rnnlab.files as files

    real_open = os.open

    def full(path, flags, *args):
        if str(path).endswith(".lock"):
            raise OSError(errno.ENOSPC, "No space left on device", str(path))
        return real_open(path, flags, *args)

    monkeypatch.setattr(files.os, "open", full)
    out = tmp_path / "x.pt"
    code, _, err = run(["train", "charlm", "--corpus", corpus, *TINY, "--out", out], capsys)
    assert_refused(code, err, f"cannot take the lock .*\\.x\\.pt\\.lock to write {re.escape(str(out))}: no space left")


def test_a_corpus_too_short_to_validate_fails_before_the_first_step(tmp_path, capsys, no_training):
    text = tmp_path / "short.txt"
    text.write_text("the quick brown fox jumps over the lazy dog. " * 5)  # 225 characters: 23 validate
    code, _, err = run(
        ["train", "charlm", "--corpus", text, *TINY, "--steps", "3000", "--out", tmp_path / "x.pt"], capsys
    )
    assert_refused(code, err, "validation text \\(23 characters\\) is too short.*Use more text")
    assert "fewer rows" not in err, "the message must name a fix the user can apply"


# --- 4. --resume never ignores what it was told --------------------------------------------------


@pytest.fixture
def finished(tmp_path, corpus, capsys) -> Path:
    out = tmp_path / "done.pt"
    assert (
        run(["train", "charlm", "--corpus", corpus, *TINY, "--steps", "4", "--lr", "1e-2", "--out", out], capsys)[0]
        == 0
    )
    return out


def test_resume_refuses_flags_that_contradict_the_checkpoint(finished, tmp_path, corpus, capsys, no_training):
    before = finished.read_bytes()
    code, _, err = run(
        [
            "train",
            "charlm",
            "--corpus",
            corpus,
            "--resume",
            finished,
            "--cell",
            "lstm",
            "--hidden-size",
            "64",
            "--out",
            tmp_path / "new.pt",
        ],
        capsys,
    )
    assert_refused(code, err, "--cell lstm contradicts the checkpoint being resumed, which has cell = rnn")
    code, _, err = run(["train", "charlm", "--corpus", corpus, "--resume", finished, "--steps", "40"], capsys)
    assert_refused(code, err, "--steps 40 contradicts .* steps = 4; to train it for longer, add --extend")
    assert finished.read_bytes() == before and not (tmp_path / "new.pt").exists()


def test_resume_refuses_a_contradicting_flag_before_reading_any_corpus(finished, tmp_path, capsys, monkeypatch):
    import rnnlab.cli.commands as cli

    def no_corpus(*args, **kwargs):
        raise AssertionError(
            "the corpus was read (Tiny Shakespeare downloaded) before a flag that needs none was checked"
        )

    monkeypatch.setattr(cli, "load_tiny_shakespeare", no_corpus)
    monkeypatch.setattr(cli, "read_text", no_corpus)
    code, _, err = run(["train", "charlm", "--resume", finished, "--cell", "gru", "--out", tmp_path / "n.pt"], capsys)
    assert_refused(code, err, "--cell gru contradicts the checkpoint being resumed, which has cell = rnn")


def test_resume_accepts_flags_that_agree_with_the_checkpoint(tmp_path, corpus, capsys, monkeypatch):
    import rnnlab.cli.resume as cli

    out = tmp_path / "lm.pt"
    real = cli._Checkpointer.__call__

    def stop_at_3(self, snapshot):
        real(self, snapshot)
        if snapshot["step"] == 3:
            raise KeyboardInterrupt

    monkeypatch.setattr(cli._Checkpointer, "__call__", stop_at_3)
    code, _, err = run(
        [
            "train",
            "charlm",
            "--corpus",
            corpus,
            *TINY,
            "--steps",
            "6",
            "--checkpoint-every",
            "3",
            "--lr",
            "1e-2",
            "--out",
            out,
        ],
        capsys,
    )
    assert code == 130 and "interrupted after step 3; the last checkpoint is" in err and "(step 3)" in err, err
    monkeypatch.setattr(cli._Checkpointer, "__call__", real)
    code, stdout, err = run(
        ["train", "charlm", "--corpus", corpus, "--resume", out, "--hidden-size", "8", "--lr", "0.01", "--steps", "6"],
        capsys,
    )
    assert code == 0, err
    assert read_checkpoint(out)["step"] == 6 and stdout.startswith(f"saved {out}")


def test_a_finished_run_is_extended_only_by_extend_into_a_new_file(finished, tmp_path, corpus, capsys):
    from rnnlab.training import TrainConfig, lr_at

    before = finished.read_bytes()
    code, _, err = run(["train", "charlm", "--corpus", corpus, "--resume", finished], capsys)
    assert_refused(code, err, "already finished its 4 steps")
    longer = tmp_path / "longer.pt"
    code, out, err = run(
        ["train", "charlm", "--corpus", corpus, "--resume", finished, "--steps", "10", "--extend", "--out", longer],
        capsys,
    )
    assert code == 0, err
    assert out.startswith(f"saved {longer}:") and longer.is_file(), "'saved PATH' means PATH exists"
    assert finished.read_bytes() == before, "--out with --resume leaves the source checkpoint untouched"
    extended = read_checkpoint(longer)
    assert extended["step"] == 10 and extended["train_config"]["steps"] == 10
    cfg = TrainConfig(**extended["train_config"])
    assert cfg.decay_steps == 4, "the cosine decay keeps its recorded length"
    assert lr_at(7, cfg) == pytest.approx(cfg.lr * cfg.min_lr_ratio), "added steps train at the final learning rate"
    assert len(extended["history"]["train_loss"]) == 10


def test_a_checkpoint_of_the_acceptance_harness_is_refused_in_one_line(tmp_path, capsys):
    """The harness saves finished models with their optimiser but no record of the data."""
    from rnnlab.data.dates import INPUT_ALPHABET
    from rnnlab.models.seq2seq import Seq2Seq, Seq2SeqConfig

    model = Seq2Seq.from_config(Seq2SeqConfig(INPUT_ALPHABET, hidden_size=8, embedding_dim=4, attention_dim=4))
    optimizer = torch.optim.Adam(model.parameters())
    path = save(
        tmp_path / "bahdanau.pt",
        model,
        optimizer=optimizer,
        step=600,
        train_config={"steps": 600},
        loop={"batches": [], "batch_rng": None, "generator": torch.Generator().get_state()},
    )
    code, _, err = run(["train", "seq2seq", "--resume", path], capsys)
    assert_refused(code, err, "does not record the data it was trained on.*not resumed")


# --- 5. interrupted cleanly ------------------------------------------------------------------------


# Ctrl-C; `kill`; the terminal closed (SIGHUP); Ctrl-\ (SIGQUIT): each stops a run cleanly, exit 128 + signal
STOPS = [(signal.SIGINT, 130), (signal.SIGTERM, 143), (signal.SIGHUP, 129), (signal.SIGQUIT, 131)]
STOP_IDS = ["ctrl-c", "sigterm", "sighup", "sigquit"]


@pytest.mark.parametrize("sig, code", STOPS, ids=STOP_IDS)
def test_interrupted_training_says_where_it_stopped_in_one_line(tmp_path, corpus, sig, code):
    out = tmp_path / "lm.pt"
    args = ["train", "charlm", "--corpus", corpus, *TINY, "--steps", "100000", "--checkpoint-every", "5", "--out", out]
    with rnnlab_process(args) as proc:
        wait_until(out.exists, proc)
        time.sleep(0.2)
        proc.send_signal(sig)
        _, err = proc.communicate(timeout=60)
    err = err.decode()
    assert proc.returncode == code, f"expected exit status {code}, got {proc.returncode}: {err[-500:]}"
    assert err.count("\n") == 1 and err.startswith("rnnlab: training interrupted after step"), err
    assert f"the last checkpoint is {out}" in err and f"--resume {out}" in err and f"--corpus {corpus}" in err, err
    step = read_checkpoint(out)["step"]
    assert f"(step {step:,})" in err, err
    assert "--checkpoint-every 5" in err, f"the advice must keep the run's checkpoints coming: {err}"
    leftovers = [p.name for p in tmp_path.iterdir() if p.name != out.name]
    assert not leftovers, f"no temporary file or lock may outlive the process: {leftovers}"


def test_a_run_started_with_ctrl_c_ignored_keeps_ignoring_it(tmp_path, corpus):
    """A job a non-interactive shell starts in the background (`rnnlab train ... &` in a script)
    inherits Ctrl-C ignored, so that the terminal's Ctrl-C stops only the foreground job; rnnlab
    keeps that contract. SIGTERM still stops it cleanly, naming its checkpoint."""
    out = tmp_path / "lm.pt"
    args = ["train", "charlm", "--corpus", corpus, *TINY, "--steps", "100000", "--checkpoint-every", "5", "--out", out]
    with rnnlab_process(args, ctrl_c=False) as proc:
        wait_until(out.exists, proc)
        proc.send_signal(signal.SIGINT)
        time.sleep(1.0)
        assert proc.poll() is None, "a run started with SIGINT ignored must keep running after a Ctrl-C"
        proc.send_signal(signal.SIGTERM)
        _, err = proc.communicate(timeout=60)
    assert proc.returncode == 143, err.decode()
    assert "the last checkpoint is" in err.decode(), err.decode()


def test_ctrl_c_while_rnnlab_starts_is_one_line(tmp_path, corpus):
    """Ctrl-C in the first second (while torch is imported) ends with one line, no traceback."""
    args = ["train", "charlm", "--corpus", corpus, *TINY, "--steps", "100000", "--out", tmp_path / "lm.pt"]
    with rnnlab_process(args) as proc:
        time.sleep(0.3)  # Python is up and importing torch (which takes about a second or more)
        assert proc.poll() is None, "rnnlab ended before it could be interrupted"
        proc.send_signal(signal.SIGINT)
        _, err = proc.communicate(timeout=60)
    assert proc.returncode == 130 and err.decode() == "rnnlab: interrupted\n", (
        f"expected exit status 130 and the one line `rnnlab: interrupted`, got {proc.returncode}: {err.decode()}"
    )
    assert not (tmp_path / "lm.pt").exists()


@pytest.mark.parametrize("sig, code", STOPS, ids=STOP_IDS)
def test_a_signal_during_a_checkpoint_write_names_the_checkpoint_on_disk(
    tmp_path, corpus, capsys, monkeypatch, sig, code
):
    """The race the spec above can only hit by chance, made certain: the signal lands inside
    the write of the step-4 checkpoint. The file then holds step 4, and the message must say 4."""
    import rnnlab.cli.resume as cli

    real_save = cli.save

    def save_then_signal(path, *args, step, **kwargs):
        real_save(path, *args, step=step, **kwargs)
        if step == 4:
            os.kill(os.getpid(), sig)  # after the file is in place, before the run has noted it

    monkeypatch.setattr(cli, "save", save_then_signal)
    out = tmp_path / "lm.pt"
    with keyboard_signals_here():
        code_, _, err = run(
            ["train", "charlm", "--corpus", corpus, *TINY, "--steps", "8", "--checkpoint-every", "2", "--out", out],
            capsys,
        )
    assert code_ == code, f"expected exit status {code}, got {code_}: {err}"
    assert read_checkpoint(out)["step"] == 4
    assert "(step 4)" in err, f"the message must name the checkpoint that is on disk (step 4): {err}"


def test_interrupted_sampling_is_one_line_and_the_text_streams(tmp_path, corpus, capsys):
    ckpt = tmp_path / "lm.pt"
    assert run(["train", "charlm", "--corpus", corpus, *TINY, "--steps", "2", "--out", ckpt], capsys)[0] == 0
    with rnnlab_process(["sample", ckpt, "--length", "1000000000", "--prime", "T"]) as proc:
        first = proc.stdout.read(600)  # arrives while sampling goes on: the text is streamed
        assert len(first) == 600 and proc.poll() is None, "a long sample must show its text as it is generated"
        proc.send_signal(signal.SIGINT)
        _, err = proc.communicate(timeout=60)
    assert proc.returncode == 130, err
    assert re.fullmatch(r"rnnlab: sampling interrupted after [\d,]+ of 1,000,000,000 characters\n", err.decode()), err


# --- 7. every bad input: one line that names the flag or the fix ----------------------------------


def _fifo(tmp_path):
    path = tmp_path / "fifo"
    os.mkfifo(path)
    return path


BAD = [
    pytest.param(
        lambda t, c: ["train", "seq2seq", "--train-examples", "0", "--out", t / "x.pt"],
        "--train-examples: must be a number of examples from 1 to",
        id="no training examples",
    ),
    pytest.param(
        lambda t, c: ["train", "seq2seq", "--val-examples", "0", "--out", t / "x.pt"],
        "--val-examples: must be a number of examples from 1",
        id="no validation examples",
    ),
    pytest.param(
        lambda t, c: ["train", "seq2seq", "--train-examples", "100000000", "--out", t / "x.pt"],
        "--train-examples: must be a number of examples from 1 to 1,000,000",
        id="too many examples",
    ),
    pytest.param(
        lambda t, c: ["train", "charlm", "--corpus", c, "--eval-points", "1000000000", "--out", t / "x.pt"],
        "--eval-points 1,000,000,000 is more than --steps 1,000",
        id="more evaluations than steps",
    ),
    pytest.param(
        lambda t, c: ["train", "charlm", "--corpus", t, "--out", t / "x.pt"],
        "is a folder, not a file",
        id="folder as corpus",
    ),
    pytest.param(
        lambda t, c: ["train", "charlm", "--corpus", _fifo(t), "--out", t / "x.pt"],
        "is not a regular file",
        id="FIFO as corpus",
    ),
    pytest.param(
        lambda t, c: ["train", "charlm", "--corpus", c, "--seed", str(2**64), "--out", t / "x.pt"],
        "--seed: must be a seed from 0 to 4,294,967,295",
        id="seed too large",
    ),
    pytest.param(
        lambda t, c: ["train", "charlm", "--corpus", c, "--seed", "-1", "--out", t / "x.pt"],
        "--seed: must be a seed",
        id="negative seed",
    ),
    pytest.param(
        lambda t, c: ["train", "charlm", "--corpus", c, "--checkpoint-every", "-1", "--out", t / "x.pt"],
        "--checkpoint-every: must be a number of steps >= 0",
        id="negative checkpoint interval",
    ),
    pytest.param(
        lambda t, c: ["train", "charlm", "--corpus", c, "--lr", "inf", "--out", t / "x.pt"],
        "--lr: must be a finite number",
        id="infinite learning rate",
    ),
    pytest.param(
        lambda t, c: ["train", "charlm", "--corpus", c, "--hidden-sise", "8", "--out", t / "x.pt"],
        "rnnlab train charlm: unrecognized arguments: --hidden-sise 8 \\(see `rnnlab train charlm --help`\\)",
        id="misspelt flag",
    ),
    pytest.param(lambda t, c: ["train"], "the following arguments are required: MODEL", id="missing subcommand"),
    pytest.param(lambda t, c: ["trian"], "invalid choice: 'trian' \\(choose from 'train',", id="misspelt command"),
    pytest.param(
        lambda t, c: ["train", "charlm", "--corpus", c, "--extend", "--out", t / "x.pt"],
        "--extend lengthens a run being resumed",
        id="extend without resume",
    ),
    pytest.param(
        lambda t, c: ["train", "charlm", "--corpus", c], "say where to write the checkpoint: --out", id="no output"
    ),
    pytest.param(
        lambda t, c: ["train", "charlm", "--corpus", c, "--num-layers", "1000000", "--out", t / "x.pt"],
        "--num-layers: must be a number of layers from 1 to 64",
        id="a million layers",
    ),
    pytest.param(
        lambda t, c: ["train", "charlm", "--corpus", c, "--hidden-size", "1000000000", "--out", t / "x.pt"],
        "--hidden-size: must be a width from 1 to 65,536",
        id="a billion units",
    ),
    pytest.param(
        lambda t, c: ["train", "charlm", "--corpus", c, *TINY, "--hidden-size", "40000", "--out", t / "x.pt"],
        "--hidden-size 40,000, --num-layers 1 gives 1,60[\\d,]+ parameters; rnnlab builds at most 1,000,000,000",
        id="a model too large for memory",
    ),
    pytest.param(
        lambda t, c: [
            "train",
            "charlm",
            "--corpus",
            c,
            *TINY,
            "--steps",
            "2",
            "--warmup-steps",
            "10" * 10,
            "--out",
            t / "x.pt",
        ],
        "--warmup-steps 10,101,010,101,010,101,010 is more than --steps 2",
        id="warm-up longer than the run",
    ),
    pytest.param(
        lambda t, c: ["train", "seq2seq", "--max-output-len", "1", "--out", t / "x.pt"],
        "--max-output-len: must be a number of characters from 10",
        id="output too short for a date",
    ),
    pytest.param(
        lambda t, c: ["exercise", "status", t / "nowhere"],
        "nowhere does not exist; create a learner copy with `rnnlab exercise init",
        id="status of no copy",
    ),
]


@pytest.mark.parametrize("make_argv, expected", BAD)
def test_bad_input_is_refused_in_one_line_before_any_work(make_argv, expected, tmp_path, corpus, capsys, no_training):
    before = _snapshot(tmp_path)
    code, _, err = run(make_argv(tmp_path, corpus), capsys)
    assert_refused(code, err, expected)
    assert _snapshot(tmp_path) == before, "a refused command must leave no file behind and change none"


def test_corpus_env_var_naming_a_folder_says_so(tmp_path, monkeypatch):
    from rnnlab.data.text import CorpusError, tiny_shakespeare_path

    monkeypatch.setenv("RNNLAB_TINY_SHAKESPEARE", str(tmp_path))
    with pytest.raises(CorpusError, match="is a folder, not a file"):
        tiny_shakespeare_path()


def test_a_corpus_of_one_character_is_refused(tmp_path, capsys, no_training):
    text = tmp_path / "newlines.txt"
    text.write_text("\n" * 5000)
    code, _, err = run(["train", "charlm", "--corpus", text, *TINY, "--out", tmp_path / "x.pt"], capsys)
    assert_refused(code, err, "only one distinct character \\('\\\\n'\\)")


def test_a_byte_order_mark_is_not_a_character(tmp_path, corpus, capsys):
    text = tmp_path / "bom.txt"
    text.write_bytes(b"\xef\xbb\xbf" + Path(corpus).read_bytes())
    out = tmp_path / "lm.pt"
    assert run(["train", "charlm", "--corpus", text, *TINY, "--steps", "1", "--out", out], capsys)[0] == 0
    assert "\ufeff" not in read_checkpoint(out)["vocab"]


def test_sampling_edge_cases(tmp_path, capsys):
    corpus = tmp_path / "oneline.txt"
    corpus.write_text("to be or not to be that is the question " * 30)  # no newline anywhere
    ckpt = tmp_path / "lm.pt"
    assert run(["train", "charlm", "--corpus", corpus, *TINY, "--steps", "2", "--out", ckpt], capsys)[0] == 0
    code, _, err = run(["sample", ckpt, "--length", "5"], capsys)
    assert_refused(code, err, "the default --prime is a newline, which this model's vocabulary lacks; pass --prime")
    code, tiny_t, err = run(["sample", ckpt, "--length", "40", "--prime", "to", "--temperature", "1e-310"], capsys)
    code0, greedy, _ = run(["sample", ckpt, "--length", "40", "--prime", "to", "--temperature", "0"], capsys)
    assert code == 0 and code0 == 0, err
    assert tiny_t == greedy, "a temperature of 1e-310 is greedy decoding in all but name"


# --- the properties over any command line and any checkpoint --------------------------------------

GOOD = {
    "--hidden-size": "8",
    "--embedding-dim": "4",
    "--batch-size": "2",
    "--seq-len": "8",
    "--steps": "3",
    "--eval-points": "1",
    "--lr": "0.01",
    "--clip": "1",
    "--seed": "0",
    "--dropout": "0",
    "--checkpoint-every": "0",
}
BAD_VALUES = st.sampled_from(
    ["0", "-1", "nan", "inf", "-inf", "1e400", "x", "", "1.5", str(2**64), "--", "-0.0", "1e-320", "\x00", "ü"]
)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    flag=st.sampled_from(sorted(GOOD)),
    value=BAD_VALUES,
    into_victim=st.booleans(),
    extra=st.sampled_from([[], ["--overwrite"]]),
)
def test_any_flag_value_runs_or_is_one_line_and_touches_no_file(
    tmp_path, corpus, capsys, flag, value, into_victim, extra
):
    """Whatever value a flag gets, the command runs (when the value is valid after all) or is
    refused with one line; a refusal creates no file and changes none, and a file that is
    not a checkpoint is never written over."""
    victim = tmp_path / "victim.txt"
    victim.write_bytes(b"a user's file that must survive")
    fresh = tmp_path / "fresh.pt"
    fresh.unlink(missing_ok=True)
    argv = ["train", "charlm", "--corpus", corpus, "--out", victim if into_victim else fresh, *extra]
    for name, good in GOOD.items():
        argv += [name, value if name == flag else good]
    before = _snapshot(tmp_path)
    code, _, err = run(argv, capsys)
    if code == 0:
        assert not into_victim and read_checkpoint(fresh)["step"] == 3, (flag, value)
    else:
        assert code == 2 and err.startswith("rnnlab: error:") and err.count("\n") == 1, (flag, value, err)
        assert _snapshot(tmp_path) == before, f"{flag} {value!r}: files changed"
    assert victim.read_bytes() == b"a user's file that must survive"


def test_a_refused_run_creates_no_folder_for_its_output(tmp_path, capsys, no_training):
    empty = tmp_path / "empty.txt"
    empty.write_bytes(b"")
    code, _, err = run(["train", "charlm", "--corpus", empty, "--out", tmp_path / "new" / "runs" / "x.pt"], capsys)
    assert_refused(code, err, "is empty")
    assert not (tmp_path / "new").exists(), "the output's folder is created only once every check has passed"


# --- 8. nothing lost, no false success, no leftovers (round 3) -----------------------------------


def test_a_file_that_appears_at_out_during_the_run_is_not_replaced(tmp_path, corpus, capsys, monkeypatch):
    """`--out` is checked at the start; a file another program writes there later is checked
    again at every write: left as it is, with the run's checkpoint written beside it."""
    import rnnlab.training.loop as loop

    out = tmp_path / "lm.pt"
    real_optimise, steps = loop.optimise, []

    def optimise_then_user_writes(*args, **kwargs):
        steps.append(1)
        if len(steps) == 3:  # after the step-2 checkpoint, before the step-4 one
            out.write_text("my notes")  # the user's file, written while the run goes on
        return real_optimise(*args, **kwargs)

    monkeypatch.setattr(loop, "optimise", optimise_then_user_writes)
    code, out_text, err = run(
        ["train", "charlm", "--corpus", corpus, *TINY, "--steps", "6", "--checkpoint-every", "2", "--out", out], capsys
    )
    assert_refused(code, err, f"{re.escape(str(out))} changed on disk during the run")
    assert out.read_text() == "my notes", "a file that appeared at --out during the run must never be replaced"
    recovered = tmp_path / "lm.recovered.pt"
    assert recovered.is_file() and str(recovered) in err, f"the run's checkpoint must be kept, and named: {err}"
    assert read_checkpoint(recovered)["step"] == 4
    assert "saved" not in out_text


def test_eval_and_sample_refuse_weights_that_are_not_finite(tmp_path, corpus, capsys):
    ckpt = tmp_path / "lm.pt"
    assert run(["train", "charlm", "--corpus", corpus, *TINY, "--steps", "2", "--out", ckpt], capsys)[0] == 0
    import rnnlab

    model = rnnlab.load(ckpt)
    with torch.no_grad():
        model.head.weight[0, 0] = float("nan")
    save(ckpt, model, model.vocab)
    for argv in (["eval", ckpt, "--corpus", corpus], ["sample", ckpt, "--length", "20"]):
        code, out_text, err = run(argv, capsys)
        assert_refused(code, err, f"{re.escape(str(ckpt))} holds weights that are not finite \\(NaN or inf\\)")
        assert out_text == "", f"{argv[0]} must print nothing on weights it cannot use: {out_text!r}"


def test_eval_and_sample_on_finite_weights_that_overflow_are_one_line(tmp_path, corpus, capsys):
    """Issue #35: finite weights whose products overflow float32 (a head of 3e38 on saturated units) made eval and sample say
    "unexpected ... This is a bug in rnnlab"; they now say what is wrong and what to use instead."""
    ckpt = tmp_path / "lm.pt"
    assert run(["train", "charlm", "--corpus", corpus, *TINY, "--steps", "2", "--out", ckpt], capsys)[0] == 0
    import rnnlab

    model = rnnlab.load(ckpt)
    with torch.no_grad():  # every unit saturated at h = 1, and a head that multiplies by 3e38: finite, but H x 3e38
        for name, p in model.named_parameters():
            if name.endswith("ih.bias"):
                p.fill_(1e30)
        model.head.weight.fill_(3e38)
    assert all(bool(torch.isfinite(p).all()) for p in model.parameters()), "the weights themselves stay finite"
    save(ckpt, model, model.vocab)
    code, out_text, err = run(["eval", ckpt, "--corpus", corpus], capsys)
    assert_refused(code, err, f"{re.escape(str(ckpt))}: its weights are finite, but what they compute overflows")
    assert out_text == "", out_text
    code, _, err = run(["sample", ckpt, "--length", "20"], capsys)
    assert_refused(code, err, "the model's logits are not finite .* it cannot generate anything")


def test_eval_on_a_short_corpus_names_what_to_do(tmp_path, corpus, capsys):
    ckpt = tmp_path / "lm.pt"
    assert run(["train", "charlm", "--corpus", corpus, *TINY, "--steps", "2", "--out", ckpt], capsys)[0] == 0
    short = tmp_path / "short.txt"
    short.write_text(Path(corpus).read_text()[:60])
    code, _, err = run(["eval", ckpt, "--corpus", short], capsys)
    assert_refused(code, err, "too short to evaluate")
    assert "rows" not in err, f"eval has no rows flag, so the message must not ask for fewer rows: {err}"


def test_a_sample_into_a_closed_pipe_ends_quietly(tmp_path, corpus, capsys):
    """`rnnlab sample ... | head -c 100`: the reader closing the pipe is a normal end for a stream."""
    ckpt = tmp_path / "lm.pt"
    assert run(["train", "charlm", "--corpus", corpus, *TINY, "--steps", "2", "--out", ckpt], capsys)[0] == 0
    with rnnlab_process(["sample", ckpt, "--length", "1000000000", "--prime", "T"]) as proc:
        assert len(proc.stdout.read(100)) == 100
        proc.stdout.close()  # as `head -c 100` does once it has its 100 bytes
        err = proc.stderr.read().decode()
        proc.wait(timeout=60)
    assert proc.returncode == 0 and err == "", f"expected a quiet end, got exit {proc.returncode}: {err!r}"


@pytest.mark.skipif(not Path("/dev/full").exists(), reason="needs Linux's /dev/full (a device that is always full)")
def test_sample_to_a_full_disk_or_a_closed_stdout_is_one_line_naming_it(tmp_path, corpus, capsys):
    """Issue #35: `sample > /dev/full` said "cannot use: no space left..." without saying what it could not use, and
    `sample >&-` (stdout closed) was "unexpected AttributeError ... a bug in rnnlab"."""
    ckpt = tmp_path / "lm.pt"
    assert run(["train", "charlm", "--corpus", corpus, *TINY, "--steps", "2", "--out", ckpt], capsys)[0] == 0
    with open("/dev/full", "w") as full:
        with rnnlab_process(["sample", ckpt, "--length", "100000", "--prime", "T"], stdout=full) as proc:
            err = proc.stderr.read().decode()
            proc.wait(timeout=60)
    assert proc.returncode == 2 and err.count("\n") == 1, err
    assert "cannot use standard output: no space left on device" in err, err
    done = subprocess.run(  # `rnnlab sample ... >&-`
        [sys.executable, "-m", "rnnlab", "sample", str(ckpt), "--length", "10"],
        stderr=subprocess.PIPE,
        text=True,
        timeout=60,
        env={**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)},
        preexec_fn=lambda: os.close(1),
    )
    assert done.returncode == 2 and "standard output is closed" in done.stderr, done.stderr


def test_a_run_that_stops_early_leaves_no_folder_it_created(tmp_path, corpus, capsys):
    """Divergence before any checkpoint: the folders --out needed were created for nothing."""
    out = tmp_path / "new" / "deeper" / "lm.pt"
    argv = [
        "train",
        "charlm",
        "--corpus",
        corpus,
        *TINY,
        "--steps",
        "30",
        "--lr",
        "1e30",
        "--clip",
        "1e9",
        "--out",
        out,
    ]
    code, _, err = run(argv, capsys)
    assert code == 2 and "diverged" in err, err
    assert not (tmp_path / "new").exists(), "the folders created for --out must go when nothing was written there"
