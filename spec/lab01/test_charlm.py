"""Lab 01 — the character LM end to end: train, checkpoint, load, sample, evaluate, CLI."""

import json
import math
from itertools import pairwise

import pytest
import torch

import rnnlab
from rnnlab.checkpoint import CheckpointError, save
from rnnlab.cli import main
from rnnlab.data import Vocab, split_text
from rnnlab.errors import ConfigError
from rnnlab.models import CharLM
from rnnlab.training import TrainConfig, lr_at, seed_everything, train_lm

pytestmark = [pytest.mark.lab01, pytest.mark.lab01_charlm]

SMALL = TrainConfig(steps=40, batch_size=4, seq_len=16, lr=1e-2, eval_points=4, eval_rows=2, warmup_steps=2)


def train_small(text, seed=0):
    vocab = Vocab.from_text(text)
    train, val = split_text(text)
    seed_everything(seed)
    model = CharLM(len(vocab), hidden_size=32, embedding_dim=16)
    history, opt = train_lm(model, vocab.encode(train), vocab.encode(val), SMALL, progress=False)
    return model, vocab, history, opt


def test_logits_and_state_shapes():
    model = CharLM(vocab_size=13, cell="rnn", hidden_size=10, num_layers=2, embedding_dim=6)
    logits, state = model(torch.zeros(4, 9, dtype=torch.long))
    assert logits.shape == (4, 9, 13), f"logits should be (batch, time, vocab) = (4, 9, 13), got {tuple(logits.shape)}"
    assert len(state) == 2 and state[0].shape == (4, 10), "one (batch, hidden) state per layer"


def test_dropout_acts_on_every_non_recurrent_connection_in_training_only():
    """Dropout as Zaremba et al. (2014) apply it: on the embedding's output, between layers and
    on the recurrent output before the head, never on the recurrent connection h_{t-1} -> h_t.
    So a one-layer model is regularised too, and evaluation is deterministic."""
    torch.manual_seed(0)
    model = CharLM(vocab_size=13, cell="rnn", hidden_size=10, num_layers=1, embedding_dim=6, dropout=0.5)
    x = torch.randint(0, 13, (4, 9))
    model.train()
    a, b = model(x)[0], model(x)[0]
    assert not torch.equal(a, b), (
        "in training, dropout=0.5 should make two passes of a ONE-layer CharLM differ: apply it to the "
        "embedding's output and to the recurrent output before the head, not only between layers"
    )
    model.eval()
    assert torch.equal(model(x)[0], model(x)[0]), "in eval mode dropout is off: the model is deterministic"


def test_no_dropout_draws_no_random_numbers():
    """dropout=0 (the default) must leave training bit-identical to a model without dropout: it
    may not consume the random generator, or every seeded run would change."""
    model = CharLM(vocab_size=13, cell="lstm", hidden_size=10, num_layers=2, embedding_dim=6).train()
    x = torch.randint(0, 13, (4, 9))
    torch.manual_seed(123)
    model(x)
    after_forward = torch.rand(1)
    torch.manual_seed(123)
    assert torch.equal(after_forward, torch.rand(1)), "a forward pass with dropout=0 drew random numbers"


def test_training_lowers_loss_and_logs_what_it_should(tiny_text):
    _, _, history, _ = train_small(tiny_text)
    assert len(history.train_loss) == SMALL.steps and len(history.grad_norm) == SMALL.steps
    assert history.eval_step == [10, 20, 30, 40], "evaluations evenly spaced, the last one at the end"
    assert history.train_loss[-1] < history.train_loss[0] - 1.0, (
        f"40 steps on a tiny text should lower the loss by > 1 nat; {history.train_loss[0]:.3f} -> {history.train_loss[-1]:.3f}"
    )
    assert all(n > 0 for n in history.grad_norm), "the pre-clip gradient norm is logged every step"


def test_the_same_seed_gives_the_same_run(tiny_text):
    _, _, a, _ = train_small(tiny_text, seed=5)
    _, _, b, _ = train_small(tiny_text, seed=5)
    assert a.train_loss == b.train_loss and a.val_loss == b.val_loss, "on CPU the same seed must give identical numbers"


def test_plain_sgd_moves_each_weight_by_the_rate_times_its_clipped_gradient(tiny_text):
    """``train_lm(..., optimizer="sgd")`` trains with plain SGD (the clipping study's contrast to Adam): after one
    step, each weight moved by exactly -lr x its gradient, as clipping left it (clipping scales ``.grad`` in place)."""
    vocab = Vocab.from_text(tiny_text)
    train, val = split_text(tiny_text)
    seed_everything(0)
    model = CharLM(len(vocab), hidden_size=32, embedding_dim=16)
    before = {name: p.detach().clone() for name, p in model.named_parameters()}
    one = TrainConfig(steps=1, batch_size=4, seq_len=16, lr=0.5, clip=0.1, eval_points=1, eval_rows=2, warmup_steps=1)
    history, opt = train_lm(model, vocab.encode(train), vocab.encode(val), one, progress=False, optimizer="sgd")
    assert isinstance(opt, torch.optim.SGD), f"optimizer='sgd' should train with torch.optim.SGD, got {type(opt)}"
    assert history.grad_norm[0] > one.clip, "the spec needs a step that clipping scales down"
    for name, p in model.named_parameters():
        torch.testing.assert_close(
            before[name] - p.detach(),
            one.lr * p.grad,
            msg=lambda m, name=name: f"{name}: plain SGD moves a weight by lr x its clipped gradient. {m}",
        )


def test_an_unknown_optimizer_is_refused_before_training(tiny_text):
    vocab = Vocab.from_text(tiny_text)
    train, val = split_text(tiny_text)
    model = CharLM(len(vocab), hidden_size=8, embedding_dim=4)
    with pytest.raises(ConfigError, match="optimizer 'rmsprop': choose one of adam, sgd"):
        train_lm(model, vocab.encode(train), vocab.encode(val), SMALL, progress=False, optimizer="rmsprop")


def test_learning_rate_schedule_warms_up_then_decays():
    cfg = TrainConfig(steps=100, lr=1.0, warmup_steps=10, min_lr_ratio=0.1)
    lrs = [lr_at(s, cfg) for s in range(100)]
    assert lrs[9] == pytest.approx(1.0) and lrs[0] == pytest.approx(0.1)
    assert all(a >= b for a, b in pairwise(lrs[10:])), "after warm-up the rate never rises"
    assert lrs[-1] == pytest.approx(0.1, abs=0.01)


def test_checkpoint_round_trip_gives_the_same_model(tiny_text, tmp_path):
    model, vocab, history, opt = train_small(tiny_text)
    path = save(tmp_path / "lm.pt", model, vocab, optimizer=opt, step=SMALL.steps)
    loaded = rnnlab.load(path)
    idx = vocab.encode("FIRST WATCHMAN").unsqueeze(0)
    model.eval()
    assert torch.equal(loaded(idx)[0], model(idx)[0]), "a loaded model must give exactly the saved model's logits"
    assert loaded.vocab == vocab and loaded.checkpoint_step == SMALL.steps
    assert [p.name for p in tmp_path.iterdir()] == ["lm.pt"], "the atomic write leaves no temporary file behind"


@pytest.mark.parametrize("content", [b"", b"garbage, not a zip", None], ids=["empty", "garbage", "missing"])
def test_bad_checkpoints_are_clear_errors(tmp_path, content):
    path = tmp_path / "bad.pt"
    if content is not None:
        path.write_bytes(content)
    with pytest.raises(CheckpointError, match="does not exist|is damaged"):
        rnnlab.load(path)


def test_truncated_checkpoint_is_a_clear_error(tiny_text, tmp_path):
    model, vocab, _, _ = train_small(tiny_text)
    path = save(tmp_path / "lm.pt", model, vocab)
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    with pytest.raises(CheckpointError, match="truncated, corrupted"):
        rnnlab.load(path)


def test_cli_train_sample_eval(tmp_path, fixtures_dir, capsys):
    corpus = str(fixtures_dir / "tiny_corpus.txt")
    ckpt = str(tmp_path / "lm.pt")
    code = main(
        [
            "train",
            "charlm",
            "--corpus",
            corpus,
            "--hidden-size",
            "16",
            "--embedding-dim",
            "8",
            "--steps",
            "12",
            "--batch-size",
            "2",
            "--seq-len",
            "16",
            "--eval-points",
            "2",
            "--out",
            ckpt,
        ]
    )
    assert code == 0
    assert "perplexity" in capsys.readouterr().out
    assert main(["sample", ckpt, "--length", "30", "--prime", "FIRST", "--temperature", "0.5"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("FIRST") and len(out) == len("FIRST") + 30 + 1
    assert main(["eval", ckpt, "--corpus", corpus]) == 0
    result = json.loads(capsys.readouterr().out)
    assert math.isclose(result["perplexity"], math.exp(result["val_loss"]), rel_tol=1e-4)


def test_cli_errors_are_one_line(tmp_path, capsys):
    assert main(["sample", str(tmp_path / "nope.pt")]) == 2
    err = capsys.readouterr().err
    assert err.startswith("rnnlab: error:") and err.count("\n") == 1 and "does not exist" in err
