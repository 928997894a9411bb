"""Lab 03.3 — the encoder-decoder: padding-proof encoding, teacher forcing, scheduled sampling, decoding."""

from itertools import pairwise

import pytest
import torch

from rnnlab.data.dates import INPUT_ALPHABET, Example
from rnnlab.models.seq2seq import EOS, SOS, Seq2Seq, Seq2SeqConfig
from rnnlab.recurrent import Recurrent
from rnnlab.training.seq2seq import Seq2SeqTrainConfig, teacher_forced_predictions, teacher_forcing_ratio

pytestmark = [pytest.mark.lab03, pytest.mark.lab03_seq2seq]


@pytest.fixture
def model():
    torch.manual_seed(0)
    return Seq2Seq.from_config(
        Seq2SeqConfig(INPUT_ALPHABET, attention="bahdanau", hidden_size=16, embedding_dim=8, attention_dim=8)
    )


def test_padding_does_not_change_the_encoding():
    """A bidirectional encoder over right-padded rows equals running each row alone."""
    torch.manual_seed(0)
    enc = Recurrent("gru", 3, 4, bidirectional=True).double()
    x = torch.randn(2, 7, 3, dtype=torch.double)
    lengths = torch.tensor([7, 4])
    out, state = enc(x, lengths=lengths)
    alone, alone_state = enc(x[1:, :4])
    torch.testing.assert_close(
        out[1, :4],
        alone[0],
        msg=(
            "with lengths, row 1 (4 real steps) must encode as if the padding were not there: the backward "
            "direction starts at the last real character, not at the padding"
        ),
    )
    assert (out[1, 4:] == 0).all(), "outputs at padded positions are zero"
    torch.testing.assert_close(state[1][1], alone_state[1][0], msg="the backward final state must ignore padding")


def test_translate_answers_each_source_as_if_it_were_alone(model):
    """translate batches sources by length (less padding, less work): each answer is the one the
    source gets alone, in the order the sources were given."""
    model.double()
    for p in model.parameters():  # a sharper model than the untrained one, so answers differ by source
        p.data.mul_(4)
    sources = ["14 March 2024", "the twelfth of June, nineteen ninety-nine", "1/2/1999", "2001-07-04", "May 5 1955"]
    batched = model.translate(sources, batch_size=2)
    assert batched == [model.translate([s])[0] for s in sources], "a source's answer must not depend on its batch"
    examples = [Example(s, "2000-01-01", "any", {}) for s in sources]
    forced = teacher_forced_predictions(model, examples, batch_size=2)
    assert forced == [teacher_forced_predictions(model, [e])[0] for e in examples]


def test_teacher_forcing_feeds_the_gold_previous_token(model):
    src, lengths = model.encode_sources(["14 March 2024", "1/2/1999"])
    targets = model.encode_targets(["2024-03-14", "1999-02-01"])
    fed = []
    original = model.decode_step

    def spy(y_prev, *args):
        fed.append(y_prev.clone())
        return original(y_prev, *args)

    model.decode_step = spy
    model(src, lengths, targets, teacher_forcing=1.0)
    assert torch.equal(fed[0], torch.full((2,), SOS)), "the first decoder input is the start token"
    for t in range(1, targets.shape[1]):
        assert torch.equal(fed[t], targets[:, t - 1]), (
            f"with teacher forcing, step {t} must read the gold token y_{t - 1}"
        )
    fed.clear()
    logits = model(src, lengths, targets, teacher_forcing=0.0)
    for t in range(1, targets.shape[1]):
        assert torch.equal(fed[t], logits[:, t - 1].argmax(-1)), (
            f"free running: step {t} reads the model's own previous output"
        )


def test_scheduled_sampling_ratio_follows_its_schedule():
    cfg = Seq2SeqTrainConfig(steps=101, tf_start=1.0, tf_end=0.5)
    ratios = [teacher_forcing_ratio(s, cfg) for s in range(101)]
    assert ratios[0] == 1.0 and ratios[-1] == pytest.approx(0.5) and ratios[50] == pytest.approx(0.75)
    assert all(a >= b for a, b in pairwise(ratios)), "the teacher-forcing ratio only decays"
    held = Seq2SeqTrainConfig(steps=200, tf_start=1.0, tf_end=0.5, tf_steps=101)
    assert teacher_forcing_ratio(50, held) == pytest.approx(0.75), "tf_steps sets the decay's length"
    assert teacher_forcing_ratio(150, held) == pytest.approx(0.5), "after tf_steps the ratio stays at tf_end"


def test_decoding_stops_at_end_of_sequence_and_respects_max_length(model):
    ids = torch.tensor([[3, 4, EOS, 5, 6], [3, 3, 3, 3, 3]])
    assert model.decode_targets(ids) == ["01", "00000"], "text ends at the first end-of-sequence token"
    src, lengths = model.encode_sources(["hello"])
    logits, attention = model.decode(src, lengths, max_len=4)
    assert logits.shape[1] == 4, "greedy decoding runs at most max_len steps"
    assert attention.shape == (1, 4, 5), "decode returns the attention weights (steps x source) for plots"


def test_translate_gives_strings_and_clear_errors(model):
    out = model.translate(["March 14, 2024", "", "x" * 300])
    assert len(out) == 3 and all(isinstance(o, str) for o in out), (
        "any in-vocabulary input gets an answer, never a crash"
    )
    with pytest.raises(ValueError, match="'€'"):
        model.translate(["14 € 2024"])
    with pytest.raises(TypeError, match="list of strings"):
        model.translate("March 14, 2024")


@pytest.mark.parametrize("attention", ["none", "bahdanau", "luong", "luong_dot"])
def test_every_variant_learns_a_tiny_task(attention):
    torch.manual_seed(0)
    model = Seq2Seq.from_config(Seq2SeqConfig(INPUT_ALPHABET, attention=attention, hidden_size=32, embedding_dim=16))
    sources, targets = ["1/2/2000", "3/4/2001"], ["2000-02-01", "2001-04-03"]
    opt = torch.optim.Adam(model.parameters(), lr=1e-2)
    src, lengths = model.encode_sources(sources)
    tgt = model.encode_targets(targets)
    for _ in range(60):
        loss = model.loss(model(src, lengths, tgt), tgt)
        opt.zero_grad()
        loss.backward()
        opt.step()
    assert model.translate(sources) == targets, (
        f"{attention}: 60 steps should memorise two examples, loss {loss.item():.3f}"
    )


def test_checkpoint_round_trip_and_cli_translate(model, tmp_path, capsys):
    import rnnlab
    from rnnlab.checkpoint import save
    from rnnlab.cli import main

    path = save(tmp_path / "dates.pt", model, step=0)
    loaded = rnnlab.load(path)
    sources = ["March 14, 2024", "14/03/2024"]
    assert loaded.translate(sources) == model.translate(sources), "a loaded seq2seq model translates as the saved one"
    assert main(["translate", str(path), *sources]) == 0
    assert capsys.readouterr().out.splitlines() == model.translate(sources)
    assert main(["translate", str(path), *sources, "--beam", "3"]) == 0
    assert capsys.readouterr().out.splitlines() == model.translate(sources, beam=3), "--beam K searches K prefixes"
    assert main(["sample", str(path)]) == 2, "a seq2seq checkpoint given to `sample` is refused"
    assert "needs a charlm checkpoint" in capsys.readouterr().err


def test_the_same_seed_gives_the_same_training_run():
    from rnnlab.data.dates import make_examples, split_dates
    from rnnlab.training import seed_everything
    from rnnlab.training.seq2seq import train_seq2seq

    dates = split_dates(0)["train"][:300]
    train, val = make_examples(dates, 64, seed=1), make_examples(dates, 16, seed=2)
    cfg = Seq2SeqTrainConfig(steps=6, batch_size=16, eval_points=2, tf_end=0.5, seed=3)

    def run():
        seed_everything(3)
        model = Seq2Seq.from_config(
            Seq2SeqConfig(INPUT_ALPHABET, attention="bahdanau", hidden_size=16, embedding_dim=8, attention_dim=8)
        )
        history, _ = train_seq2seq(model, train, val, cfg, progress=False)
        return history.train_loss, model.state_dict()

    (loss_a, weights_a), (loss_b, weights_b) = run(), run()
    assert loss_a == loss_b, "on CPU the same seed must give the same losses (batches, scheduled sampling draws, init)"
    assert all(torch.equal(weights_a[k], weights_b[k]) for k in weights_a), "...and bit-identical weights"


def test_luong_dot_scores_with_the_two_directions_summed():
    """With a bidirectional encoder the keys are 2H wide and the decoder state H: Luong's dot
    score s^T h_j needs one width, so the luong_dot variant scores s^T (h_fwd_j + h_bwd_j) and
    still reads the full [h_fwd_j; h_bwd_j] as the context."""
    torch.manual_seed(0)
    model = Seq2Seq.from_config(Seq2SeqConfig(INPUT_ALPHABET, attention="luong_dot", hidden_size=3, embedding_dim=4))
    states = torch.randn(2, 5, 6)
    s = torch.randn(2, 3)
    mask = torch.ones(2, 5, dtype=torch.bool)
    mask[1, 3:] = False
    context, weights = model.attention(s, states, mask, model.attention.precompute(states))
    scores = torch.einsum("bh,bsh->bs", s, states[..., :3] + states[..., 3:])
    expected = torch.softmax(scores.masked_fill(~mask, float("-inf")), dim=1)
    torch.testing.assert_close(
        weights, expected, msg="luong_dot weights: softmax of s . (h_fwd + h_bwd) over real positions"
    )
    torch.testing.assert_close(
        context,
        torch.einsum("bs,bsd->bd", expected, states),
        msg="the context is the weighted sum of the full 2H encoder states",
    )
