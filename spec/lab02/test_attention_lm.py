"""Lab 02 — the bridge to transformers: a causal self-attention character LM from tensor ops, checked
against closed forms as the cells are: masked scaled dot-product attention, layer norm, GELU,
and that no position ever sees the future."""

import math

import pytest
import torch
import torch.nn.functional as F

from rnnlab.data.recall import BLANK, IGNORE, RecallVocab, recall_batch
from rnnlab.errors import ConfigError
from rnnlab.fast import set_fast
from rnnlab.metrics import evaluate_lm, loss_by_context, sequential_depth
from rnnlab.models import CharLM
from rnnlab.models.attention_lm import AttentionLM, AttentionLMConfig, LayerNorm, causal_attention, gelu
from rnnlab.training.recall import RecallTrainConfig, answered, train_recall

pytestmark = [pytest.mark.lab02, pytest.mark.lab02_attention_lm]


def _model(**kw):
    torch.manual_seed(0)
    return AttentionLM(**{"vocab_size": 11, "d_model": 16, "num_heads": 2, "d_ff": 32, "context": 12, **kw}).double()


def test_attention_is_the_closed_form_softmax_of_scaled_scores():
    torch.manual_seed(1)
    q, k, v = (torch.randn(2, 5, 4, dtype=torch.float64) for _ in range(3))
    out, weights = causal_attention(q, k, v)
    for t in range(5):
        scores = q[:, t : t + 1] @ k[:, : t + 1].transpose(1, 2) / math.sqrt(4)  # only positions 0..t
        w = torch.softmax(scores, dim=-1)
        assert torch.allclose(weights[:, t : t + 1, : t + 1], w, atol=1e-12), f"row {t}: softmax(q k^T / sqrt(d))"
        assert torch.allclose(out[:, t : t + 1], w @ v[:, : t + 1], atol=1e-12), f"row {t}: the weighted sum of values"
    assert torch.equal(weights.triu(1), torch.zeros_like(weights)), "no weight on any future position"
    assert torch.allclose(weights.sum(-1), torch.ones(2, 5, dtype=torch.float64)), "each row is a distribution"


def test_attention_matches_torchs_fused_kernel():
    torch.manual_seed(2)
    q, k, v = (torch.randn(3, 2, 7, 8, dtype=torch.float64) for _ in range(3))
    reference = F.scaled_dot_product_attention(q, k, v, is_causal=True)
    assert torch.allclose(causal_attention(q, k, v)[0], reference, atol=1e-12)


def test_layer_norm_and_gelu_follow_their_formulas():
    torch.manual_seed(3)
    x = torch.randn(4, 6, dtype=torch.float64)
    norm = LayerNorm(6).double()
    with torch.no_grad():
        norm.weight.copy_(torch.randn(6))
        norm.bias.copy_(torch.randn(6))
    mean, var = x.mean(-1, keepdim=True), x.var(-1, unbiased=False, keepdim=True)
    expected = (x - mean) / torch.sqrt(var + 1e-5) * norm.weight + norm.bias
    assert torch.allclose(norm(x), expected, atol=1e-12), "(x - mean) / sqrt(var + eps) * weight + bias"
    assert torch.allclose(gelu(x), 0.5 * x * (1 + torch.erf(x / math.sqrt(2))), atol=1e-12), "x Phi(x)"


def test_no_position_sees_the_future():
    """Changing character t changes no prediction before t (and does change one at t)."""
    model = _model()
    idx = torch.randint(0, 11, (2, 12), generator=torch.Generator().manual_seed(4))
    logits, _ = model(idx)
    for t in (0, 5, 11):
        changed = idx.clone()
        changed[:, t] = (changed[:, t] + 1) % 11
        other, _ = model(changed)
        assert torch.allclose(other[:, :t], logits[:, :t], atol=1e-12), f"positions before {t} must not see it"
        assert not torch.allclose(other[:, t], logits[:, t]), f"position {t} reads its own character"


def test_every_layer_returns_causal_weights():
    model = _model(num_layers=3)
    _, weights = model.run(torch.randint(0, 11, (2, 9)))
    assert len(weights) == 3 and all(w.shape == (2, 2, 9, 9) for w in weights)
    assert all(torch.equal(w.triu(1), torch.zeros_like(w)) for w in weights)


def test_the_window_is_bounded_and_there_is_no_state():
    model = _model()
    with pytest.raises(ValueError, match="at most 12 characters"):
        model(torch.zeros(1, 13, dtype=torch.long))
    with pytest.raises(ValueError, match="carries no state"):
        model(torch.zeros(1, 3, dtype=torch.long), torch.zeros(1))
    assert model(torch.zeros(1, 3, dtype=torch.long))[1] is None


def test_dropout_acts_in_training_only_and_keeps_causality():
    """GPT-2's dropout (on the summed embeddings and on each residual branch before it is added):
    two training passes differ, evaluation is deterministic, and dropping activations never lets
    a position see the future."""
    model = _model(dropout=0.5).train()
    x = torch.randint(0, 11, (3, 10))
    assert not torch.equal(model(x)[0], model(x)[0]), "in training, dropout=0.5 should make two passes differ"
    changed = x.clone()
    changed[:, 6] = (changed[:, 6] + 1) % 11
    torch.manual_seed(1)
    a = model(x)[0]
    torch.manual_seed(1)
    b = model(changed)[0]
    assert torch.equal(a[:, :6], b[:, :6]), "with dropout on, a change at position 6 altered outputs before it"
    model.eval()
    assert torch.equal(model(x)[0], model(x)[0]), "in eval mode dropout is off: the model is deterministic"


def test_no_dropout_draws_no_random_numbers():
    model = _model().train()
    torch.manual_seed(5)
    model(torch.randint(0, 11, (2, 7)))
    after = torch.rand(1)
    torch.manual_seed(5)
    torch.randint(0, 11, (2, 7))
    assert torch.equal(after, torch.rand(1)), "a forward pass with dropout=0 drew random numbers"


@pytest.mark.parametrize(
    ("kw", "match"),
    [
        ({"d_model": 10, "num_heads": 4}, "multiple of num_heads"),
        ({"context": 0}, "context must be a positive"),
        ({"dropout": 1.0}, "dropout must lie in"),
    ],
)
def test_bad_sizes_are_named(kw, match):
    with pytest.raises(ValueError, match=match):
        AttentionLMConfig(vocab_size=5, **kw)


def test_evaluation_reads_a_text_that_fits_the_window_in_one_pass():
    model = _model()
    ids = torch.randint(0, 11, (2 * 12,), generator=torch.Generator().manual_seed(5))
    rows = ids.view(2, 12)
    logits, _ = model(rows[:, :-1])
    expected = F.cross_entropy(logits.reshape(-1, 11), rows[:, 1:].reshape(-1)).item()
    assert math.isclose(evaluate_lm(model, ids, rows=2), expected, rel_tol=1e-9)


def test_evaluation_with_the_state_reset_is_refused_for_a_model_that_carries_none():
    with pytest.raises(ConfigError, match="carries none"):
        evaluate_lm(_model(), torch.randint(0, 11, (24,)), rows=2, carry=False)


def test_evaluation_scores_every_target_once_in_sliding_windows():
    """A model that ignores its input scores ln V per target, whatever the windows: a target
    scored twice or skipped would not change that, so count them with a model that gives
    target-dependent losses: each target's loss is its own id, predicted by a fixed table."""
    model = _model()
    with torch.no_grad():  # the output ignores the input: every position predicts the same distribution
        for p in model.parameters():
            p.zero_()
        model.head.bias.copy_(torch.arange(11, dtype=torch.float64))
    ids = torch.randint(0, 11, (3 * 40,), generator=torch.Generator().manual_seed(6))
    rows = ids.view(3, 40)
    per_id = -torch.log_softmax(model.head.bias, 0)
    expected = per_id[rows[:, 1:]].mean().item()  # every target but each row's first, once
    assert math.isclose(evaluate_lm(model, ids, rows=3), expected, rel_tol=1e-9)


def test_the_context_curve_reads_at_most_the_window():
    """Given more than its window, the model reads the last `context` characters, as in use:
    the same targets at L = 12 (its window) and L = 48 give the same loss."""
    model = _model()
    ids = torch.randint(0, 11, (200,), generator=torch.Generator().manual_seed(7))
    curve = loss_by_context(model, ids, lengths=(1, 4, 12, 48), positions=20)
    assert math.isclose(curve[12], curve[48], rel_tol=1e-12)
    assert curve[1] != curve[12]


# --- sequential operations (Vaswani et al. 2017, Table 1): O(n) for recurrence, O(1) for attention ---


@pytest.mark.parametrize("cell", ["rnn", "lstm", "gru"])
def test_a_recurrent_models_sequential_depth_grows_with_the_length(cell):
    """Each step of a recurrence reads the state the step before wrote: the longest chain of
    dependent operations grows by the same amount for every character added."""
    torch.manual_seed(0)
    model = set_fast(CharLM(vocab_size=7, cell=cell, hidden_size=4, embedding_dim=3))
    d8, d16, d32 = (sequential_depth(model, T) for T in (8, 16, 32))
    assert d32 - d16 == 2 * (d16 - d8) > 0, (
        f"a {cell}'s dependent chain must grow linearly with the length (O(n)): depths {d8}, {d16}, {d32} at 8, 16, 32"
    )
    assert model.rnn.fast, "counting leaves the model's fast path as it was"


def test_attentions_sequential_depth_does_not_grow_with_the_length():
    """Every position of a self-attention layer is computed at once from the layer below: the
    chain of dependent operations is as long at 8 characters as at 64."""
    torch.manual_seed(0)
    model = AttentionLM(vocab_size=7, d_model=8, num_heads=2, num_layers=2, d_ff=16, context=64)
    depths = [sequential_depth(model, T) for T in (8, 16, 64)]
    assert len(set(depths)) == 1, f"attention's dependent chain must not depend on the length (O(1)): {depths}"
    deeper = AttentionLM(vocab_size=7, d_model=8, num_heads=2, num_layers=4, d_ff=16, context=64)
    assert sequential_depth(deeper, 8) > depths[0], "it grows with the number of layers instead"


# --- multi-query associative recall (Arora et al. 2023): the long-range half, on a CPU -----------


def test_a_recall_sequence_lists_pairs_then_asks_every_key_once():
    vocab = RecallVocab(keys=10, values=7)
    batch = recall_batch(6, 50, vocab, torch.Generator().manual_seed(0))
    assert batch.inputs.shape == batch.targets.shape == batch.distance.shape == (50, 24), "4N positions per sequence"
    keys, values = batch.inputs[:, 0:12:2], batch.inputs[:, 1:12:2]
    assert ((keys >= 1) & (keys <= 10)).all() and ((values > 10) & (values <= 17)).all(), (
        "keys and values come from disjoint halves of the vocabulary (id 0 is never drawn)"
    )
    for row in range(50):
        pairs = dict(zip(keys[row].tolist(), values[row].tolist(), strict=True))
        assert len(pairs) == 6, "the keys of one sequence are distinct"
        asked = batch.inputs[row, 12::2].tolist()
        assert sorted(asked) == sorted(pairs), "every key is asked once"
        for j, key in enumerate(asked):
            at = 12 + 2 * j
            assert batch.targets[row, at] == pairs[key], "the answer is the key's value"
            assert batch.inputs[row, at + 1] == BLANK, (
                "no answer is ever shown in the input: the position after a query holds the blank id. Were "
                "answers shown, the j-th of N queries could be answered by elimination (a value of the "
                "sequence not yet given) right 1 / (N - j) of the time, with no recall at all"
            )
            assert batch.inputs[row, at - batch.distance[row, at]] == key, "distance points back at the queried key"
    answered = batch.targets != IGNORE
    assert answered.sum() == 50 * 6 and (batch.distance[~answered] == 0).all(), "only the queries are scored"


def test_recall_batches_are_seeded_and_refuse_more_pairs_than_keys():
    vocab = RecallVocab(keys=8, values=8)
    a, b = (recall_batch(4, 3, vocab, torch.Generator().manual_seed(5)) for _ in range(2))
    assert torch.equal(a.inputs, b.inputs), "the same generator seed gives the same sequences"
    with pytest.raises(ValueError, match="9 pairs need 9 distinct keys"):
        recall_batch(9, 1, vocab, torch.Generator())


def test_recall_training_scores_the_answers_only_and_records_accuracy_by_pairs():
    vocab = RecallVocab(keys=6, values=6)
    cfg = RecallTrainConfig(steps=4, batch_size=8, pairs=(2, 4), eval_points=2, eval_sequences=16)
    torch.manual_seed(0)
    model = CharLM(vocab.size, "gru", 8, 1, 4)
    history = train_recall(model, cfg, vocab, progress=False)
    assert history.eval_step == [2, 4] and len(history.train_loss) == 4
    assert all(set(a) == {2, 4} and all(0 <= v <= 1 for v in a.values()) for a in history.val_accuracy), (
        "each evaluation gives the share of held-out answers right, for each number of pairs"
    )
    batch = recall_batch(4, 3, vocab, torch.Generator().manual_seed(1))
    correct, distance = answered(model, batch)
    assert correct.shape == distance.shape == (12,) and (distance > 0).all(), "one verdict per query, with its distance"
    with pytest.raises(ValueError, match="pairs need as many keys"):
        train_recall(model, RecallTrainConfig(steps=1, pairs=(7,)), vocab, progress=False)
