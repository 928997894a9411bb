"""Lab 01.6 — temperature sampling: softmax(logits / T), T = 0 greedy, seeded."""

import math

import pytest
import torch

from rnnlab.data import Vocab
from rnnlab.models import CharLM
from rnnlab.sampling import sample, sample_from_logits

pytestmark = [pytest.mark.lab01, pytest.mark.lab01_sampling]

LOGITS = torch.tensor([[2.0, 1.0, 0.5, 0.0, -1.0, -3.0]])


def draws(temperature, n=20_000, seed=0):
    g = torch.Generator().manual_seed(seed)
    return sample_from_logits(LOGITS.expand(n, -1), temperature, g)


def empirical_entropy(ids, V):
    p = torch.bincount(ids, minlength=V).double() / ids.numel()
    p = p[p > 0]
    return float(-(p * p.log()).sum())


def chi_square_critical(df, z=3.09):
    """Wilson–Hilferty approximation of the chi-square quantile (z = 3.09: p = 0.001)."""
    return df * (1 - 2 / (9 * df) + z * math.sqrt(2 / (9 * df))) ** 3


def test_temperature_zero_is_argmax():
    logits = torch.randn(50, 10)
    got = sample_from_logits(logits, 0.0)
    assert torch.equal(got, logits.argmax(-1)), "T = 0 must pick the most likely id (greedy decoding)"


def test_a_tiny_temperature_approaches_argmax():
    ids = draws(1e-3, n=2000)
    assert (ids == 0).all(), "as T -> 0 softmax(logits / T) puts all its mass on the argmax"


def test_frequencies_at_t1_match_softmax():
    n, V = 20_000, LOGITS.shape[1]
    counts = torch.bincount(draws(1.0, n), minlength=V).double()
    expected = torch.softmax(LOGITS[0].double(), -1) * n
    chi2 = float(((counts - expected) ** 2 / expected).sum())
    critical = chi_square_critical(V - 1)
    assert chi2 < critical, (
        f"at T = 1 the draws should follow softmax(logits): chi-square {chi2:.1f} exceeds {critical:.1f} "
        f"(p = 0.001, {V - 1} dof). Observed {counts.tolist()}, expected {[round(e) for e in expected.tolist()]}"
    )


def test_entropy_rises_with_temperature():
    V = LOGITS.shape[1]
    entropies = [empirical_entropy(draws(t), V) for t in (0.5, 0.8, 1.2, 2.0)]
    assert entropies == sorted(entropies) and len(set(entropies)) == 4, (
        f"higher temperature flattens softmax(logits / T), so entropy must rise: got {entropies} at T = 0.5, 0.8, 1.2, 2"
    )
    assert entropies[-1] < math.log(V), "entropy can never exceed log V (the uniform distribution)"


@pytest.mark.parametrize("bad", [-0.1, float("nan"), float("inf")])
def test_bad_temperatures_are_refused(bad):
    with pytest.raises(ValueError, match="temperature"):
        sample_from_logits(LOGITS, bad)


@pytest.fixture
def small_lm():
    vocab = Vocab.from_text("abcdefgh \n")
    return CharLM(len(vocab), hidden_size=16, embedding_dim=8), vocab


def test_sampling_is_seeded(small_lm):
    model, vocab = small_lm
    a = sample(model, vocab, 50, temperature=1.0, prime="ab", seed=3)
    b = sample(model, vocab, 50, temperature=1.0, prime="ab", seed=3)
    c = sample(model, vocab, 50, temperature=1.0, prime="ab", seed=4)
    assert a == b, "the same seed must give the same text"
    assert a != c, "different seeds should give different text at T = 1"
    assert len(a) == 50 and set(a) <= set(vocab.chars)


def test_sampling_carries_state_instead_of_rereading(small_lm):
    """Greedy sampling one character at a time equals greedy decoding by re-reading the prefix."""
    model, vocab = small_lm
    fast = sample(model, vocab, 20, temperature=0.0, prime="ab")
    text = "ab"
    for _ in range(20):
        logits, _ = model(vocab.encode(text).unsqueeze(0))
        text += vocab.chars[int(logits[0, -1].argmax())]
    assert fast == text[2:], "sampling with the carried state must give what re-reading the whole prefix gives"


def test_bad_sampling_arguments_are_clear_errors(small_lm):
    model, vocab = small_lm
    with pytest.raises(ValueError, match="length"):
        sample(model, vocab, 0)
    with pytest.raises(ValueError, match=r"'Z'"):
        sample(model, vocab, 5, prime="aZ")
    with pytest.raises(ValueError, match="prime"):
        sample(model, vocab, 5, prime="")
