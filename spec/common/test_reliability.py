"""Reliability: runs repeat bit for bit, survive being killed, and fail with one clear line.

A learner's run must be repeatable (same seed, same numbers), resumable (kill it, resume it,
get exactly the run that was never interrupted) and must never leave a half-written file or
a traceback wall behind.
"""

import math
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch
from hypothesis import given
from hypothesis import strategies as st

import rnnlab
from rnnlab.cells import CELLS
from rnnlab.checkpoint import read_checkpoint, save
from rnnlab.checkpoint import resume as resume_run
from rnnlab.cli import main
from rnnlab.data.dates import INPUT_ALPHABET, make_examples, split_dates
from rnnlab.device import resolve_device, rng_state, set_rng_state
from rnnlab.models.seq2seq import Seq2Seq, Seq2SeqConfig
from rnnlab.training import seed_everything
from rnnlab.training.seq2seq import Seq2SeqTrainConfig, train_seq2seq

pytestmark = pytest.mark.reliability

LM_ARGS = [
    "--hidden-size",
    "16",
    "--embedding-dim",
    "8",
    "--batch-size",
    "2",
    "--seq-len",
    "16",
    "--eval-points",
    "2",
    "--lr",
    "1e-2",
]


def _tensors(payload, prefix=""):
    """Every tensor inside a checkpoint payload, by path (timing fields are not tensors)."""
    if isinstance(payload, torch.Tensor):
        yield prefix, payload
    elif isinstance(payload, dict):
        for k, v in payload.items():
            yield from _tensors(v, f"{prefix}/{k}")
    elif isinstance(payload, (list, tuple)):
        for i, v in enumerate(payload):
            yield from _tensors(v, f"{prefix}/{i}")


def assert_same_run(a: Path, b: Path, what: str) -> None:
    pa, pb = read_checkpoint(a), read_checkpoint(b)
    ta, tb = dict(_tensors(pa)), dict(_tensors(pb))
    assert ta.keys() == tb.keys(), f"{what}: the checkpoints hold different things"
    for key in ta:
        assert torch.equal(ta[key], tb[key]), f"{what}: {key} differs; the runs must be bit-identical"
    for field in ("train_loss", "val_loss", "grad_norm", "val_accuracy"):
        assert pa["history"].get(field) == pb["history"].get(field), f"{what}: the {field} curves differ"
    assert pa["step"] == pb["step"]


# --- determinism and resuming ---------------------------------------------------------------


def test_killed_training_resumes_to_the_uninterrupted_run(tmp_path, fixtures_dir):
    """A real process, killed with SIGKILL mid-run, then `--resume`d: bit-identical to a run
    that was never interrupted (weights, optimiser state, loss curves)."""
    corpus = str(fixtures_dir / "tiny_corpus.txt")
    steps = ["--steps", "400", "--checkpoint-every", "10", "--seed", "3"]
    full, killed = tmp_path / "full.pt", tmp_path / "killed.pt"
    assert main(["train", "charlm", "--corpus", corpus, *LM_ARGS, *steps, "--out", str(full)]) == 0

    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    proc = subprocess.Popen(
        [sys.executable, "-m", "rnnlab", "train", "charlm", "--corpus", corpus, *LM_ARGS, *steps, "--out", str(killed)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    deadline = time.monotonic() + 60
    while not killed.exists() and proc.poll() is None and time.monotonic() < deadline:
        time.sleep(0.005)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    assert proc.returncode == -signal.SIGKILL, (
        "the training process ended before it could be killed; the spec needs a longer run "
        f"(stderr: {proc.stderr.read().decode()[-300:]})"
    )
    stopped_at = read_checkpoint(killed)["step"]
    assert 0 < stopped_at < 400, f"the killed run left a checkpoint at step {stopped_at}"

    assert main(["train", "charlm", "--corpus", corpus, "--resume", str(killed)]) == 0
    assert_same_run(killed, full, f"killed at step {stopped_at} and resumed")


def test_charlm_runs_are_bit_identical(tmp_path, fixtures_dir):
    corpus = str(fixtures_dir / "tiny_corpus.txt")
    for name in ("a.pt", "b.pt"):
        assert (
            main(
                [
                    "train",
                    "charlm",
                    "--corpus",
                    corpus,
                    *LM_ARGS,
                    "--steps",
                    "20",
                    "--seed",
                    "2",
                    "--out",
                    str(tmp_path / name),
                ]
            )
            == 0
        )
    assert_same_run(tmp_path / "a.pt", tmp_path / "b.pt", "two char-LM runs with the same seed and config")


@pytest.mark.parametrize("cell", list(CELLS))
def test_every_cell_resumes_to_the_uninterrupted_run(tmp_path, fixtures_dir, monkeypatch, cell):
    """Interrupted at step 4 (Ctrl-C during the checkpoint write), then `--resume`d: the same
    run as one never interrupted, for every cell. The carried state differs by cell (an
    LSTM's is an (h, c) pair), and the checkpoint must hold it in a form that
    ``torch.load(weights_only=True)`` accepts."""
    import rnnlab.cli as cli

    corpus = str(fixtures_dir / "tiny_corpus.txt")
    args = ["train", "charlm", "--corpus", corpus, *LM_ARGS, "--cell", cell, "--steps", "8"]
    assert main([*args, "--out", str(tmp_path / "full.pt")]) == 0
    real_save = cli.save

    def save_then_interrupt(path, *a, step, **k):
        real_save(path, *a, step=step, **k)
        if step == 4:
            os.kill(os.getpid(), signal.SIGINT)

    monkeypatch.setattr(cli, "save", save_then_interrupt)
    cut = tmp_path / "cut.pt"
    assert main([*args, "--checkpoint-every", "2", "--out", str(cut)]) == 130
    monkeypatch.setattr(cli, "save", real_save)
    assert read_checkpoint(cut)["step"] == 4
    assert main(["train", "charlm", "--corpus", corpus, "--resume", str(cut)]) == 0
    assert_same_run(cut, tmp_path / "full.pt", f"a {cell} run interrupted at step 4 and resumed")


def _small_seq2seq(seed: int):
    seed_everything(seed)
    return Seq2Seq.from_config(
        Seq2SeqConfig(INPUT_ALPHABET, attention="bahdanau", hidden_size=12, embedding_dim=6, attention_dim=6)
    )


@pytest.fixture(scope="module")
def date_data():
    splits = split_dates(0)
    return make_examples(splits["train"], 96, seed=1), make_examples(splits["validation"], 16, seed=2)


SEQ_CFG = Seq2SeqTrainConfig(steps=6, batch_size=16, lr=3e-3, tf_end=0.5, eval_points=2, seed=4)


def _train_to(path, data, resume=None, stop_at=None):
    class Interrupted(Exception):
        pass

    if resume is None:
        model = _small_seq2seq(SEQ_CFG.seed)
    else:
        run = resume_run(resume, "seq2seq")
        model, resume = run.model, run.snapshot

    def on_checkpoint(snapshot):
        save(
            path,
            model,
            optimizer=snapshot["optimizer"],
            step=snapshot["step"],
            history=snapshot["history"],
            loop=snapshot["loop"],
            train_config={},
        )
        if snapshot["step"] == stop_at:
            raise Interrupted

    try:
        train_seq2seq(
            model, *data, SEQ_CFG, progress=False, resume=resume, checkpoint_every=1, on_checkpoint=on_checkpoint
        )
    except Interrupted:
        pass
    return path


def test_seq2seq_runs_are_bit_identical_and_resumable(tmp_path, date_data):
    a = _train_to(tmp_path / "a.pt", date_data)
    b = _train_to(tmp_path / "b.pt", date_data)
    assert_same_run(a, b, "two seq2seq runs with the same seed")
    cut = _train_to(tmp_path / "cut.pt", date_data, stop_at=3)
    assert read_checkpoint(cut)["step"] == 3
    _train_to(cut, date_data, resume=cut)
    assert_same_run(cut, a, "a seq2seq run interrupted at step 3 and resumed (scheduled sampling, batch order)")


def test_rng_state_round_trips_every_generator():
    import random

    import numpy as np

    seed_everything(7)
    np.random.seed(7)
    saved = rng_state()
    first = (torch.rand(3), random.random(), np.random.rand())
    set_rng_state(saved)
    again = (torch.rand(3), random.random(), np.random.rand())
    assert torch.equal(first[0], again[0]) and first[1:] == again[1:], (
        "restoring the saved RNG state must replay torch, Python and numpy draws exactly"
    )


def test_divergence_stops_with_the_last_good_checkpoint_kept(tmp_path, fixtures_dir, capsys):
    """A learning rate of 1e30 throws the weights to about 1e28 on the first Adam step, so the
    second step's loss is far above 10 x ln V on every CPU (it may be finite, inf or NaN
    depending on the float kernels: each of those is a divergence)."""
    ckpt = tmp_path / "lm.pt"
    code = main(
        [
            "train",
            "charlm",
            "--corpus",
            str(fixtures_dir / "tiny_corpus.txt"),
            "--hidden-size",
            "8",
            "--embedding-dim",
            "4",
            "--steps",
            "30",
            "--batch-size",
            "2",
            "--seq-len",
            "8",
            "--eval-points",
            "1",
            "--lr",
            "1e30",
            "--clip",
            "1e9",
            "--checkpoint-every",
            "1",
            "--out",
            str(ckpt),
        ]
    )
    out, err = capsys.readouterr()
    assert code == 2 and err.count("\n") == 1, f"divergence is one clear line, got: {err!r}"
    assert "diverged at step" in err and "last good checkpoint" in err and str(ckpt) in err
    assert "saved" not in out, f"a diverged run must not report itself saved: {out!r}"
    payload = read_checkpoint(ckpt)
    assert 0 < payload["step"] < 30
    assert all(torch.isfinite(v).all() for v in payload["model"].values()), "the kept checkpoint holds finite weights"


@pytest.mark.parametrize("loss", [float("nan"), float("inf"), 7.06e30, 10 * math.log(65) + 0.01])
def test_a_loss_far_above_chance_is_a_divergence(loss):
    """Not only NaN and inf: a character LM that learned nothing scores ln V nats, so a loss of
    more than 10 x ln V means the run has blown up, even while the floats are still finite."""
    from rnnlab.training.loop import check_diverged, divergence_ceiling

    with pytest.raises(FloatingPointError, match="diverged at step 5"):
        check_diverged(loss, 4, divergence_ceiling(65))
    check_diverged(math.log(65), 4, divergence_ceiling(65))  # an untrained model's loss is no divergence


def test_a_validation_loss_far_above_chance_stops_the_run(tmp_path, fixtures_dir, monkeypatch, capsys):
    """The validation loss is checked too: a run is never reported saved with perplexity inf."""
    import rnnlab.training.lm as lm

    monkeypatch.setattr(lm, "evaluate_lm", lambda *a, **k: 7.06e30)
    code = main(
        [
            "train",
            "charlm",
            "--corpus",
            str(fixtures_dir / "tiny_corpus.txt"),
            *LM_ARGS,
            "--steps",
            "4",
            "--out",
            str(tmp_path / "lm.pt"),
        ]
    )
    out, err = capsys.readouterr()
    assert code == 2 and "validation loss" in err and "diverged at step 2" in err, err
    assert "saved" not in out and "inf" not in out, out


# --- devices --------------------------------------------------------------------------------


def test_auto_device_falls_back_to_the_cpu_here():
    expected = "cuda" if torch.cuda.is_available() else None
    device = resolve_device("auto")
    if expected:
        assert device.type == expected
    else:
        assert device.type in ("cpu", "mps")
    with pytest.raises(ValueError, match="choose one of"):
        resolve_device("tpu")


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU (torch.cuda.is_available() is False)")
def test_a_gpu_checkpoint_loads_on_the_cpu(tmp_path, fixtures_dir):  # pragma: no cover - no GPU on CI
    ckpt = tmp_path / "gpu.pt"
    assert (
        main(
            [
                "train",
                "charlm",
                "--corpus",
                str(fixtures_dir / "tiny_corpus.txt"),
                *LM_ARGS,
                "--steps",
                "5",
                "--device",
                "cuda",
                "--out",
                str(ckpt),
            ]
        )
        == 0
    )
    model = rnnlab.load(ckpt)
    assert next(model.parameters()).device.type == "cpu"


# --- every bad input: one line, naming the problem and the fix -------------------------------


def _write(tmp_path, name, data: bytes) -> str:
    path = tmp_path / name
    path.write_bytes(data)
    return str(path)


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    """One char-LM and one seq2seq checkpoint, trained once for every case below that needs one."""
    folder = tmp_path_factory.mktemp("trained")
    lm, s2s = folder / "lm.pt", folder / "s2s.pt"
    corpus = Path(__file__).resolve().parents[2] / "fixtures" / "tiny_corpus.txt"
    assert main(["train", "charlm", "--corpus", str(corpus), *LM_ARGS, "--steps", "2", "--out", str(lm)]) == 0
    assert (
        main(
            [
                "train",
                "seq2seq",
                "--hidden-size",
                "8",
                "--embedding-dim",
                "4",
                "--steps",
                "2",
                "--batch-size",
                "4",
                "--train-examples",
                "16",
                "--val-examples",
                "4",
                "--out",
                str(s2s),
            ]
        )
        == 0
    )
    return {"lm": str(lm), "s2s": str(s2s)}


def _bare_checkpoint(tmp_path) -> str:
    from rnnlab.data import Vocab
    from rnnlab.models import CharLM

    return str(save(tmp_path / "bare.pt", CharLM(5, hidden_size=4, embedding_dim=2), Vocab(tuple("abcde"))))


# each case: argv built from (tmp_path, fixtures_dir, trained checkpoints), and what the message must say
BAD_INPUTS = [
    pytest.param(
        lambda t, f, c: ["train", "charlm", "--corpus", _write(t, "e.txt", b""), "--out", str(t / "x.pt")],
        "is empty",
        id="empty corpus",
    ),
    pytest.param(
        lambda t, f, c: ["train", "charlm", "--corpus", _write(t, "s.txt", b"abc"), "--out", str(t / "x.pt")],
        "too short",
        id="corpus shorter than one window",
    ),
    pytest.param(
        lambda t, f, c: [
            "train",
            "charlm",
            "--corpus",
            _write(t, "b.bin", bytes(range(256))),
            "--out",
            str(t / "x.pt"),
        ],
        "not UTF-8|NUL",
        id="binary corpus",
    ),
    pytest.param(
        lambda t, f, c: [
            "train",
            "charlm",
            "--corpus",
            _write(t, "l.txt", "café".encode("latin-1") * 50),
            "--out",
            str(t / "x.pt"),
        ],
        "not UTF-8",
        id="non-UTF-8 corpus",
    ),
    pytest.param(
        lambda t, f, c: ["eval", c["lm"], "--corpus", _write(t, "u.txt", "Ωmega ∆elta ".encode() * 40)],
        "never saw",
        id="eval corpus with unseen characters",
    ),
    pytest.param(lambda t, f, c: ["sample", c["lm"], "--temperature", "-1"], "temperature", id="negative temperature"),
    pytest.param(lambda t, f, c: ["sample", c["lm"], "--temperature", "nan"], "temperature", id="NaN temperature"),
    pytest.param(lambda t, f, c: ["sample", c["lm"], "--length", "0"], "length", id="sample length 0"),
    pytest.param(lambda t, f, c: ["sample", c["lm"], "--prime", "Ωmega"], "Ω", id="prime with unknown characters"),
    pytest.param(lambda t, f, c: ["sample", str(t / "nope.pt")], "does not exist", id="missing checkpoint"),
    pytest.param(
        lambda t, f, c: ["sample", _write(t, "cut.pt", Path(c["lm"]).read_bytes()[:500])],
        "truncated, corrupted",
        id="truncated checkpoint",
    ),
    pytest.param(
        lambda t, f, c: ["sample", _write(t, "junk.pt", b"PK\x03\x04 not really a zip")],
        "truncated, corrupted",
        id="corrupted checkpoint",
    ),
    pytest.param(lambda t, f, c: ["sample", c["s2s"]], "needs a charlm", id="seq2seq checkpoint given to sample"),
    pytest.param(
        lambda t, f, c: [
            "train",
            "charlm",
            "--corpus",
            str(f / "tiny_corpus.txt"),
            "--hidden-size",
            "0",
            "--out",
            str(t / "x.pt"),
        ],
        "--hidden-size: must be a positive integer",
        id="hidden size 0",
    ),
    pytest.param(
        lambda t, f, c: [
            "train",
            "charlm",
            "--corpus",
            str(f / "tiny_corpus.txt"),
            "--seq-len",
            "5000",
            "--out",
            str(t / "x.pt"),
        ],
        "too short",
        id="sequence longer than the corpus",
    ),
    pytest.param(
        lambda t, f, c: ["translate", c["s2s"], "14 März 2024"],
        "outside the date model's vocabulary",
        id="date with characters outside the vocabulary",
    ),
    pytest.param(
        lambda t, f, c: [
            "train",
            "charlm",
            "--corpus",
            str(f / "tiny_corpus.txt"),
            "--device",
            "mps" if torch.cuda.is_available() else "cuda",
            "--out",
            str(t / "x.pt"),
        ],
        "sees no",
        id="device that is not there",
    ),
    pytest.param(
        lambda t, f, c: [
            "train",
            "charlm",
            "--corpus",
            _write(t, "other.txt", (f / "tiny_corpus.txt").read_bytes()[::-1]),
            "--resume",
            c["lm"],
            "--out",
            str(t / "x.pt"),
        ],
        "not the one the run started on",
        id="resume on a different corpus",
    ),
    pytest.param(
        lambda t, f, c: [
            "train",
            "charlm",
            "--corpus",
            str(f / "tiny_corpus.txt"),
            "--resume",
            _bare_checkpoint(t),
            "--out",
            str(t / "x.pt"),
        ],
        "no training state",
        id="resume from a checkpoint with no training state",
    ),
]


@pytest.mark.parametrize("make_argv, expected", BAD_INPUTS)
def test_bad_input_is_one_clear_line(make_argv, expected, trained, tmp_path, fixtures_dir, capsys):
    argv = make_argv(tmp_path, fixtures_dir, trained)
    capsys.readouterr()
    before = {p.name for p in tmp_path.iterdir()}
    code = main(argv)
    err = capsys.readouterr().err
    assert code == 2, f"expected exit status 2, got {code}"
    assert err.startswith("rnnlab: error:") and err.count("\n") == 1, f"expected one error line, got {err!r}"
    assert re.search(expected, err), f"the message should say {expected!r}; it says {err.strip()!r}"
    after = {p.name for p in tmp_path.iterdir()}
    assert not {n for n in after - before if n.endswith(".tmp") or n == "x.pt"}, (
        f"a failed command must not leave a file behind ({sorted(after - before)})"
    )


# --- robustness over arbitrary input ----------------------------------------------------------

any_text = st.text(alphabet=st.characters(codec="utf-8", exclude_categories=("Cs",)), max_size=80)


@given(any_text)
def test_vocab_round_trips_or_names_the_unknown_characters(text):
    from rnnlab.data import Vocab

    vocab = Vocab.from_text("abcdefghijklmnopqrstuvwxyz ,.")
    try:
        ids = vocab.encode(text)
    except ValueError as exc:
        unknown = [ch for ch in text if ch not in "abcdefghijklmnopqrstuvwxyz ,."]
        assert unknown and repr(unknown[0]) in str(exc), f"the error must name the first unknown character: {exc}"
    else:
        assert vocab.decode(ids.tolist()) == text


@pytest.fixture(scope="module")
def tiny_models(tmp_path_factory):
    from rnnlab.data import Vocab
    from rnnlab.models import CharLM

    torch.manual_seed(0)
    vocab = Vocab.from_text("abcdefghij \n")
    return CharLM(len(vocab), hidden_size=8, embedding_dim=4), vocab, _small_seq2seq(0)


@given(prime=any_text, temperature=st.floats(allow_nan=True, allow_infinity=True), length=st.integers(-3, 20))
def test_sampler_answers_or_refuses_clearly(tiny_models, prime, temperature, length):
    from rnnlab.sampling import sample

    model, vocab, _ = tiny_models
    try:
        text = sample(model, vocab, length, temperature, prime, seed=0)
    except ValueError as exc:
        assert str(exc) and "\n" not in str(exc)
    else:
        assert len(text) == length and all(ch in vocab for ch in text)
        assert 0 <= temperature < math.inf and length > 0 and prime


@given(text=st.lists(any_text, min_size=1, max_size=3))
def test_translate_answers_or_names_the_bad_characters(tiny_models, text):
    _, _, model = tiny_models
    try:
        out = model.translate(text)
    except ValueError as exc:
        assert "outside the date model's vocabulary" in str(exc)
        assert any(ch not in INPUT_ALPHABET for s in text for ch in s)
    else:
        assert len(out) == len(text) and all(isinstance(o, str) and len(o) <= 12 for o in out)
