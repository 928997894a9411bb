"""Temperature sampling from a character language model.

At temperature T the next character is drawn from softmax(logits / T): T < 1 sharpens the
distribution (safer, more repetitive text), T > 1 flattens it (more diverse, more errors),
and T = 0 is the limit — always the most likely character (greedy decoding).
"""
from __future__ import annotations

import math

import torch
from torch import Tensor, nn

from rnnlab.data.text import Vocab


def check_temperature(temperature: float) -> float:
    try:
        value = float(temperature)
    except (TypeError, ValueError):
        raise ValueError(f"temperature must be a number >= 0, got {temperature!r}") from None
    if math.isnan(value) or value < 0 or math.isinf(value):
        raise ValueError(
            f"temperature must be a finite number >= 0 (0 = greedy), got {temperature!r}"
        )
    return value


def sample_from_logits(
    logits: Tensor, temperature: float, generator: torch.Generator | None = None
) -> Tensor:
    """Draw one id per row of ``logits`` (B, V) at ``temperature``; returns (B,) int64."""
    temperature = check_temperature(temperature)
    # region exercise lab01.sampling
    if temperature == 0.0:
        return logits.argmax(dim=-1)
    probs = torch.softmax(logits.double() / temperature, dim=-1)  # (B, V)
    return torch.multinomial(probs, 1, generator=generator).squeeze(-1)
    # endregion


@torch.no_grad()
def sample(
    model: nn.Module,
    vocab: Vocab,
    length: int,
    temperature: float = 0.8,
    prime: str = "\n",
    seed: int = 0,
) -> str:
    """Generate ``length`` characters after ``prime``; returns the continuation only.

    The prime is read in one call; after that each step feeds one character and the
    carried state, so the cost per character is constant (no re-reading of the prefix).
    """
    check_temperature(temperature)
    if not isinstance(length, int) or length <= 0:
        raise ValueError(f"length must be a positive number of characters, got {length!r}")
    if not prime:
        raise ValueError("prime must hold at least one character (the default is a newline)")
    prime_ids = vocab.encode(prime)  # raises, naming unknown characters
    generator = torch.Generator().manual_seed(seed)
    was_training = model.training
    model.eval()
    device = next(model.parameters()).device
    logits, state = model(prime_ids.to(device).unsqueeze(0), None)  # (1, P, V)
    last = logits[:, -1]
    out = []
    for _ in range(length):
        next_id = sample_from_logits(last.cpu(), temperature, generator)  # (1,)
        out.append(int(next_id))
        logits, state = model(next_id.view(1, 1).to(device), state)
        last = logits[:, -1]
    model.train(was_training)
    return vocab.decode(out)
