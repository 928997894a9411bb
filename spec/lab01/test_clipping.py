"""Lab 01.4 — clipping by global norm: bound the step, report what the gradient was."""

import math

import pytest
import torch
from hypothesis import given
from hypothesis import strategies as st

from rnnlab.training import clip_grad_norm

pytestmark = [pytest.mark.lab01, pytest.mark.lab01_clipping]


def params_with_grads(seed, scale):
    g = torch.Generator().manual_seed(seed)
    params = [torch.nn.Parameter(torch.zeros(s)) for s in [(3, 4), (4,), (2, 2, 2)]]
    for p in params:
        p.grad = torch.randn(p.shape, generator=g, dtype=torch.float32) * scale
    return params


@given(st.integers(0, 1000), st.floats(0.01, 100.0), st.floats(0.1, 10.0))
def test_clipped_norm_is_bounded_and_pre_clip_norm_reported(seed, scale, max_norm):
    params = params_with_grads(seed, scale)
    reference = params_with_grads(seed, scale)
    expected_pre = float(torch.nn.utils.clip_grad_norm_(reference, max_norm))
    pre = clip_grad_norm(params, max_norm)
    assert math.isclose(pre, expected_pre, rel_tol=1e-5), (
        f"clip_grad_norm should return the norm before clipping, sqrt(sum ||g||^2) = {expected_pre:.6g}; got {pre:.6g}"
    )
    after = math.sqrt(sum(float(p.grad.double().pow(2).sum()) for p in params))  # the global norm, by hand
    assert after <= max_norm * (1 + 1e-5), f"after clipping the global norm {after:.6g} exceeds max_norm {max_norm}"
    for mine, ref in zip(params, reference, strict=True):
        torch.testing.assert_close(
            mine.grad, ref.grad, msg=lambda found: "clipping should scale every gradient by the same factor: " + found
        )


def test_small_gradients_are_left_alone():
    params = params_with_grads(0, 0.01)
    before = [p.grad.clone() for p in params]
    clip_grad_norm(params, max_norm=100.0)
    assert all(torch.equal(b, p.grad) for b, p in zip(before, params, strict=True)), (
        "a gradient already inside the bound must not change: clipping is min(1, max_norm / norm)"
    )


def test_direction_is_preserved():
    params = params_with_grads(3, 50.0)
    flat_before = torch.cat([p.grad.flatten() for p in params])
    clip_grad_norm(params, 1.0)
    flat_after = torch.cat([p.grad.flatten() for p in params])
    cos = torch.nn.functional.cosine_similarity(flat_before, flat_after, dim=0)
    assert cos > 0.99999, f"clipping by global norm rescales, it never turns the gradient (cosine {cos:.6f})"


def test_bad_threshold_is_refused():
    with pytest.raises(ValueError, match="max_norm"):
        clip_grad_norm(params_with_grads(0, 1.0), 0.0)
