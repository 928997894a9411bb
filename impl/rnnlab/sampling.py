"""Temperature sampling from a character language model.

At temperature T the next character is drawn from softmax(logits / T): T < 1 sharpens the
distribution (safer, more repetitive text), T > 1 flattens it (more diverse, more errors),
and T = 0 is the limit — always the most likely character (greedy decoding).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator
from typing import Any

import torch
from torch import Tensor, nn

from rnnlab.data.text import Vocab
from rnnlab.device import model_device
from rnnlab.errors import ConfigError, ModelOverflowError


def check_temperature(temperature: float) -> float:
    try:
        value = float(temperature)
    except (TypeError, ValueError):
        raise ConfigError(f"temperature must be a number >= 0, got {temperature!r}") from None
    if math.isnan(value) or value < 0 or math.isinf(value):
        raise ConfigError(f"temperature must be a finite number >= 0 (0 = greedy), got {temperature!r}")
    return value


def sample_from_logits(logits: Tensor, temperature: float, generator: torch.Generator | None = None) -> Tensor:
    """Draw one id per row of ``logits`` (B, V) at ``temperature``; returns (B,) int64.

    Rule: temperature 0 is greedy (``argmax``); above 0, draw from softmax(logits / temperature)
    with ``torch.multinomial(..., generator=generator)``, so a seeded generator repeats its draws.
    """
    temperature = check_temperature(temperature)
    # region exercise lab01.sampling
    if temperature == 0.0:
        return logits.argmax(dim=-1)
    logits = logits.double()
    # shift so the largest logit is 0 before dividing: a tiny temperature then gives -inf, never inf - inf
    probs = torch.softmax((logits - logits.max(dim=-1, keepdim=True).values) / temperature, dim=-1)  # (B, V)
    return torch.multinomial(probs, 1, generator=generator).squeeze(-1)
    # endregion


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
    carried state, so the cost per character is constant (no re-reading of the prefix). For a
    one-direction character LM each step skips the sequence machinery and runs the cells
    directly (``_stepper``); the first layer's input projection of every character is looked
    up in a table (embedding then linear is a table), so a step is one recurrent matmul per
    layer plus the head. ``iter_sample`` yields the same characters one at a time.
    """
    return "".join(iter_sample(model, vocab, length, temperature, prime, seed))


def iter_sample(
    model: nn.Module,
    vocab: Vocab,
    length: int,
    temperature: float = 0.8,
    prime: str = "\n",
    seed: int = 0,
) -> Iterator[str]:
    """``sample``, one character at a time as it is drawn (for streaming long samples).
    The arguments are checked before the first character is drawn."""
    check_temperature(temperature)
    if not isinstance(length, int) or length <= 0:
        raise ConfigError(f"length must be a positive number of characters, got {length!r}")
    if not prime:
        raise ConfigError("prime must hold at least one character (the default is a newline)")
    prime_ids = vocab.encode(prime)  # raises, naming unknown characters
    return _draw(model, vocab, length, temperature, prime_ids, seed)


def _draw(
    model: nn.Module, vocab: Vocab, length: int, temperature: float, prime_ids: Tensor, seed: int
) -> Iterator[str]:
    generator = torch.Generator().manual_seed(seed)
    was_training = model.training
    model.eval()
    device = model_device(model)
    try:
        with torch.no_grad():  # never held across a yield: grad mode is global, the caller's code runs there
            logits, state = model(prime_ids.to(device).unsqueeze(0), None)  # (1, P, V)
            last = logits[:, -1]
            step = _stepper(model)
        for _ in range(length):
            if not bool(torch.isfinite(last).all()):  # finite weights whose products overflow float32
                raise ModelOverflowError(
                    "the model's logits are not finite (its weights are, but what they compute overflows); it cannot "
                    "generate anything. Use a checkpoint of a run that did not diverge."
                )
            with torch.no_grad():
                next_id = int(sample_from_logits(last.cpu(), temperature, generator))
                last, state = step(next_id, state)
            yield vocab.chars[next_id]
    finally:
        model.train(was_training)


Stepper = Callable[[int, Any], tuple[Tensor, Any]]


def _stepper(model: nn.Module) -> Stepper:
    """``step(char_id, state) -> (logits (1, V), state)`` for one character."""
    rnn: Any = getattr(model, "rnn", None)
    cells: Any = getattr(rnn, "cells", None)
    if cells is None or getattr(rnn, "num_directions", 1) != 1 or not hasattr(model, "embedding"):

        def generic(char_id: int, state: Any) -> tuple[Tensor, Any]:
            ids = torch.tensor([[char_id]], device=model_device(model))
            logits, state = model(ids, state)
            return logits[:, -1], state

        return generic
    lm: Any = model  # a CharLM-like model: embedding, rnn, head
    table = cells[0].ih(lm.embedding.weight)  # (V, G*H): every character's first-layer input projection

    def step(char_id: int, state: Any) -> tuple[Tensor, Any]:
        x_proj, new_state, h = table[char_id : char_id + 1], [], None
        for layer, cell in enumerate(cells):
            if layer > 0:
                x_proj = cell.ih(h)
            h, cell_state = cell.step(x_proj, state[layer])  # (1, H)
            new_state.append(cell_state)
        return lm.head(h), tuple(new_state)

    return step
