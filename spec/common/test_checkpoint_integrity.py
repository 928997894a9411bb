"""Checkpoints that changed on disk, were made by hand or cannot be written are refused in one line.

A checkpoint is hours of training. Loading a damaged one silently (a flipped bit can turn a
weight into 3e38) is worse than refusing it; calling a good file that merely cannot be read
"corrupted" gets it deleted; and a full disk must never cost the previous checkpoint.
"""

import dataclasses
import io
import os
import shutil
import signal
import subprocess
import zipfile
from pathlib import Path

import pytest
import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import rnnlab
from rnnlab.checkpoint import CheckpointError, save
from rnnlab.data import Vocab
from rnnlab.models import CharLM
from spec.helpers import keyboard_signals_here

pytestmark = pytest.mark.reliability


@pytest.fixture(scope="module")
def good_checkpoint(tmp_path_factory) -> bytes:
    torch.manual_seed(0)
    vocab = Vocab(tuple("abcdefgh \n"))
    path = save(
        tmp_path_factory.mktemp("ckpt") / "lm.pt",
        CharLM(len(vocab), hidden_size=8, embedding_dim=4),
        vocab,
        step=3,
        train_config={"steps": 3},
    )
    return path.read_bytes()


def _record_span(data: bytes, suffix: str) -> tuple[int, int]:
    """Where the bytes of the zip record whose name ends with ``suffix`` lie in ``data``."""
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        info = next(i for i in archive.infolist() if i.filename.endswith(suffix))
    local_header = data[info.header_offset : info.header_offset + 30]
    name_len, extra_len = int.from_bytes(local_header[26:28], "little"), int.from_bytes(local_header[28:30], "little")
    start = info.header_offset + 30 + name_len + extra_len
    return start, start + info.compress_size


def _one_line(exc: BaseException) -> str:
    message = str(exc)
    assert message and "\n" not in message, f"the error must be one line, got {message!r}"
    return message


def test_a_flipped_byte_in_the_weights_is_refused(good_checkpoint, tmp_path):
    start, end = _record_span(good_checkpoint, "data/0")
    damaged = bytearray(good_checkpoint)
    damaged[(start + end) // 2] ^= 0x40  # one bit of one float: the unpickler alone would never notice
    path = tmp_path / "flipped.pt"
    path.write_bytes(bytes(damaged))
    with pytest.raises(CheckpointError, match="damaged.*CRC") as caught:
        rnnlab.load(path)
    _one_line(caught.value)


def test_an_unreadable_checkpoint_is_not_called_corrupted(good_checkpoint, tmp_path, monkeypatch):
    """Root reads any file whatever its mode, so the permission error is raised by hand here."""
    path = tmp_path / "locked.pt"
    path.write_bytes(good_checkpoint)
    real = Path.read_bytes

    def denied(self):
        if self == path:
            raise PermissionError(13, "Permission denied", str(self))
        return real(self)

    monkeypatch.setattr(Path, "read_bytes", denied)
    with pytest.raises(CheckpointError, match="permission denied") as caught:
        rnnlab.load(path)
    message = _one_line(caught.value)
    assert "corrupt" not in message and "retrain" not in message.lower(), (
        f"a file that cannot be read is not known to be damaged; saying so gets a good checkpoint deleted: {message}"
    )


def _resaved(good: bytes, tmp_path: Path, edit) -> Path:
    payload = torch.load(io.BytesIO(good), weights_only=True)
    edit(payload)
    path = tmp_path / "edited.pt"
    torch.save(payload, path)
    return path


@pytest.mark.parametrize(
    "edit, expected",
    [
        pytest.param(lambda p: p.pop("config"), "lacks 'config'", id="missing config"),
        pytest.param(lambda p: p.pop("model"), "lacks 'model'", id="missing weights"),
        pytest.param(
            lambda p: p["config"].update(attention_heads=4),
            "does not know \\(attention_heads\\)",
            id="future config key",
        ),
        pytest.param(lambda p: p["config"].pop("vocab_size"), "lacks vocab_size", id="config key missing"),
        pytest.param(
            lambda p: p["model"].update({"head.weight": torch.zeros(3, 3)}),
            "head.weight is \\(3, 3\\) in the file",
            id="shape mismatch",
        ),
        pytest.param(lambda p: p["model"].pop("head.bias"), "missing head.bias", id="weight missing"),
        pytest.param(lambda p: p.update(kind="transformer"), "unknown model kind", id="unknown kind"),
        pytest.param(lambda p: p.update(version=2), "format version 2", id="future version"),
        pytest.param(lambda p: p.update(vocab=["a", "b"]), "vocabulary has 2 characters", id="vocabulary mismatch"),
        pytest.param(lambda p: p["config"].update(dropout="x"), "dropout must be a number", id="dropout not a number"),
        pytest.param(
            lambda p: p["config"].update(dropout=5.0), "dropout must be a number in \\[0, 1\\)", id="dropout 5"
        ),
        pytest.param(
            lambda p: p["config"].update(num_layers=1_000_000), "num_layers must be.* to 64", id="a million layers"
        ),
        pytest.param(
            lambda p: p["config"].update(hidden_size=True), "hidden_size must be a positive integer", id="hidden True"
        ),
    ],
)
def test_a_hand_made_checkpoint_is_refused_in_one_line(good_checkpoint, tmp_path, edit, expected):
    path = _resaved(good_checkpoint, tmp_path, edit)
    with pytest.raises(CheckpointError, match=expected) as caught:
        rnnlab.load(path)
    _one_line(caught.value)


@pytest.fixture(scope="module")
def good_seq2seq(tmp_path_factory) -> bytes:
    from rnnlab.models.seq2seq import Seq2Seq

    model = Seq2Seq("0123456789/ ", hidden_size=4, embedding_dim=2, attention_dim=4)
    return save(tmp_path_factory.mktemp("s2s") / "s2s.pt", model).read_bytes()


@pytest.mark.parametrize(
    "edit, expected",
    [
        pytest.param(
            lambda p: p["config"].update(source_chars=5), "source_chars must be a string", id="chars not text"
        ),
        pytest.param(
            lambda p: p["config"].update(max_output_len=1), "max_output_len must be .*from 10", id="output too short"
        ),
    ],
)
def test_a_hand_made_seq2seq_checkpoint_is_refused_in_one_line(good_seq2seq, tmp_path, edit, expected):
    path = _resaved(good_seq2seq, tmp_path, edit)
    with pytest.raises(CheckpointError, match=expected) as caught:
        rnnlab.load(path)
    assert str(path) in _one_line(caught.value), "the message names the file"


def test_a_checkpoint_claiming_a_huge_model_is_refused_before_the_model_is_built(
    good_checkpoint, tmp_path, monkeypatch
):
    """A 34 KB file whose config says hidden_size = 12,000 must not make rnnlab allocate the
    model that config describes (hundreds of MB, growing with the square of the size) before
    finding that the weights in the file do not fit it: shapes are checked on a model without
    storage (torch's meta device) first."""
    from rnnlab.models import charlm

    built = []
    real_init = charlm.CharLM.__init__

    def recording_init(self, *args, **kwargs):
        real_init(self, *args, **kwargs)
        if self.head.weight.device.type != "meta":
            built.append(self.config.hidden_size)

    monkeypatch.setattr(charlm.CharLM, "__init__", recording_init)
    path = _resaved(good_checkpoint, tmp_path, lambda p: p["config"].update(hidden_size=12_000))
    with pytest.raises(CheckpointError, match="do not fit the model its config describes"):
        rnnlab.load(path)
    assert 12_000 not in built, "the model the config describes was allocated before its weights were checked"


def _mutations():
    flip = st.tuples(st.just("flip"), st.floats(0, 1, exclude_max=True), st.integers(0, 7))
    cut = st.tuples(st.just("cut"), st.floats(0, 1, exclude_max=True), st.just(0))
    return st.one_of(flip, cut)


@settings(max_examples=60, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(mutation=_mutations())
def test_a_mutated_checkpoint_loads_exactly_or_is_refused(good_checkpoint, tmp_path, mutation):
    """Any truncation, any single flipped bit: the file is refused in one line, or (a bit of
    zip padding or of a name's case that nothing reads) the model loads bit-identical."""
    kind, where, bit = mutation
    data = bytearray(good_checkpoint)
    at = int(where * len(data))
    if kind == "flip":
        data[at] ^= 1 << bit
    else:
        data = data[:at]
    path = tmp_path / "mutated.pt"
    path.write_bytes(bytes(data))
    before = sorted(p.name for p in tmp_path.iterdir())
    try:
        model = rnnlab.load(path)
    except CheckpointError as exc:
        _one_line(exc)
    else:
        original = torch.load(io.BytesIO(good_checkpoint), weights_only=True)["model"]
        for key, value in model.state_dict().items():
            assert torch.equal(value, original[key]), f"{kind} at byte {at} loaded, but changed {key}"
    assert sorted(p.name for p in tmp_path.iterdir()) == before, "loading must not write anything"


@pytest.fixture
def tiny_disk(tmp_path):
    """A 256 KiB tmpfs (root only); skipped where mounting is not allowed."""
    mount_point = tmp_path / "disk"
    mount_point.mkdir()
    if os.geteuid() != 0 or not shutil.which("mount"):
        pytest.skip("needs root to mount a small tmpfs (a real full disk)")
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=256k", "tmpfs", str(mount_point)], capture_output=True)
    if done.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {done.stderr.decode().strip()}")
    try:
        yield mount_point
    finally:
        subprocess.run(["umount", str(mount_point)], check=False)


def _fill(disk: Path, leave: int) -> None:
    """Fill ``disk`` until at most ``leave`` bytes are free."""
    free = shutil.disk_usage(disk).free
    (disk / "filler").write_bytes(b"\0" * max(0, free - leave))


def test_a_full_disk_keeps_the_previous_checkpoint(good_checkpoint, tiny_disk):
    path = tiny_disk / "lm.pt"
    path.write_bytes(good_checkpoint)
    _fill(tiny_disk, leave=4096)
    torch.manual_seed(1)
    bigger = CharLM(10, hidden_size=64, embedding_dim=16)
    with pytest.raises(CheckpointError, match="no space left on device") as caught:
        save(path, bigger, Vocab(tuple("abcdefgh \n")))
    message = _one_line(caught.value)
    assert str(path) in message and "intact" in message
    assert path.read_bytes() == good_checkpoint, "the checkpoint that was there must be untouched"
    assert sorted(p.name for p in tiny_disk.iterdir()) == ["filler", "lm.pt"], "no temporary file may remain"


def test_an_atomic_write_gets_ordinary_permissions(tmp_path):
    """A temporary file is private (0600); the file it becomes gets the umask's permissions, or
    keeps those of the file it replaces, so a report can be served and a checkpoint shared."""
    from rnnlab.files import atomic_write

    umask = os.umask(0o022)
    try:
        fresh = atomic_write(tmp_path / "report.html", b"<html></html>")
        assert fresh.stat().st_mode & 0o777 == 0o644
        fresh.chmod(0o640)
        assert atomic_write(fresh, b"<html>again</html>").stat().st_mode & 0o777 == 0o640
    finally:
        os.umask(umask)


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM], ids=["ctrl-c", "sigterm"])
def test_a_signal_during_a_checkpoint_write_waits_for_the_write(tmp_path, sig):
    """Ctrl-C or SIGTERM that lands while a checkpoint is being written must not split the
    write from its bookkeeping: the run would then name an older step as "the last checkpoint"
    while the file on disk already holds the newer one (a race CI once hit). The signal is held
    until the write is complete and recorded, then delivered."""
    from rnnlab.files import signals_deferred

    recorded = []

    def on_term(signum, frame):
        raise KeyboardInterrupt

    previous = signal.signal(signal.SIGTERM, on_term)
    try:
        with pytest.raises(KeyboardInterrupt), keyboard_signals_here():
            with signals_deferred():
                os.kill(os.getpid(), sig)  # lands in the middle of the "write"
                recorded.append("written")
                recorded.append("bookkeeping")
            recorded.append("after the block: must not run")
    finally:
        signal.signal(signal.SIGTERM, previous)
    assert recorded == ["written", "bookkeeping"], (
        f"the signal should be delivered after the block and not before; the block ran: {recorded}"
    )


@pytest.fixture(scope="module")
def resumable_checkpoint(tmp_path_factory) -> bytes:
    """A checkpoint written by the training loop at step 2 of 4: what `--resume` continues."""
    from rnnlab.training import TrainConfig, seed_everything, train_lm

    seed_everything(0)
    vocab = Vocab(tuple("abcdefgh \n"))
    model = CharLM(len(vocab), hidden_size=8, embedding_dim=4)
    ids = vocab.encode("abcdefgh \n" * 40)
    path = tmp_path_factory.mktemp("resume") / "lm.pt"
    cfg = TrainConfig(steps=4, batch_size=2, seq_len=8, eval_points=1, eval_rows=2)

    def on_checkpoint(snapshot):
        if snapshot["step"] == 2:
            save(path, model, vocab, train_config=dataclasses.asdict(cfg), data={"sha256": "0" * 64}, **snapshot)

    train_lm(model, ids, ids, cfg, progress=False, checkpoint_every=2, on_checkpoint=on_checkpoint)
    return path.read_bytes()


def test_resume_gives_back_everything_a_run_needs_to_continue(resumable_checkpoint, tmp_path):
    from rnnlab.checkpoint import resume

    path = tmp_path / "lm.pt"
    path.write_bytes(resumable_checkpoint)
    run = resume(path, "charlm")
    assert run.snapshot["step"] == 2 and set(run.snapshot) == {"step", "optimizer", "history", "loop", "rng"}
    assert run.model.training, "a model to continue training comes back in training mode"
    assert run.vocab.chars == tuple("abcdefgh \n") and run.train_config["steps"] == 4
    assert run.data == {"sha256": "0" * 64}


@pytest.mark.parametrize(
    "edit, expected",
    [
        pytest.param(lambda p: p.update(optimizer=None), "no training state", id="saved without the optimiser"),
        pytest.param(lambda p: p.update(optimizer={"state": {}}), "optimiser state is malformed", id="optimiser cut"),
        pytest.param(lambda p: p.update(step="2"), "step is '2'", id="step not a number"),
        pytest.param(lambda p: p.update(step=-1), "step is -1", id="negative step"),
        pytest.param(
            lambda p: p["history"].update(val_perplexity=[1.0]),
            "history has fields this rnnlab does not know \\(val_perplexity\\)",
            id="unknown history field",
        ),
        pytest.param(
            lambda p: p.update(loop={"hidden": None}), "loop position lacks carry", id="loop position missing"
        ),
        pytest.param(lambda p: p["rng"].pop("torch"), "RNG states lack torch", id="rng state missing"),
        pytest.param(
            lambda p: p.update(train_config=[4]), "training settings are a list", id="train config not a table"
        ),
    ],
)
def test_resume_refuses_a_checkpoint_it_cannot_continue_in_one_line(resumable_checkpoint, tmp_path, edit, expected):
    from rnnlab.checkpoint import resume

    path = _resaved(resumable_checkpoint, tmp_path, edit)
    with pytest.raises(CheckpointError, match=expected) as caught:
        resume(path, "charlm")
    _one_line(caught.value)


def test_resume_refuses_the_other_kind(resumable_checkpoint, tmp_path):
    from rnnlab.checkpoint import resume

    path = tmp_path / "lm.pt"
    path.write_bytes(resumable_checkpoint)
    with pytest.raises(CheckpointError, match="holds a charlm model; this needs a seq2seq"):
        resume(path, "seq2seq")
