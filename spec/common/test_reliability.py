"""Reliability: runs repeat bit for bit, survive being killed, and fail with one clear line.

A learner's run must be repeatable (same seed, same numbers), resumable (kill it, resume it,
get exactly the run that was never interrupted) and must never leave a half-written file or
a traceback wall behind.
"""

import math
import os
import signal
import subprocess
from pathlib import Path

import pytest
import torch

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
from spec.helpers import LM_ARGS, keyboard_signals_here, rnnlab_process, wait_until

pytestmark = pytest.mark.reliability


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

    args = ["train", "charlm", "--corpus", corpus, *LM_ARGS, *steps, "--out", killed]
    with rnnlab_process(args, stdout=subprocess.DEVNULL) as proc:
        wait_until(killed.exists, proc)  # fails, with its stderr, if the run ended before it could be killed
        proc.send_signal(signal.SIGKILL)
        proc.wait()
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
    import rnnlab.cli.resume as cli

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
    with keyboard_signals_here():
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

    with pytest.raises(FloatingPointError, match="diverged at step 5") as stopped:
        check_diverged(loss, 4, divergence_ceiling(65))
    # and as numbers, for whoever reports it (the clipping study's "diverged at step N"), never parsed from the words
    assert stopped.value.step == 5 and (stopped.value.loss == loss or math.isnan(loss)), vars(stopped.value)
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
