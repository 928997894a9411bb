"""The vanilla RNN layer with hand-written BPTT."""

from __future__ import annotations

from typing import Any

import torch
from torch import Tensor
from torch.autograd.function import once_differentiable

from rnnlab.fast.ops import (
    constants,
    d_tanh,
    input_grads,
    project,
    recurrent_weight_grad,
    tanh_,
    time_major,
)
from rnnlab.fast.workspace import empty


class _RNNFunction(torch.autograd.Function):
    """h_t = tanh(W_ih x_t + b_ih + W_hh h_{t-1} + b_hh); x (B, T, I) -> every h_t (B, T, H)."""

    @staticmethod
    def forward(ctx: Any, x: Tensor, w_ih: Tensor, b_ih: Tensor, w_hh: Tensor, b_hh: Tensor, h0: Tensor) -> Tensor:
        x_tm = time_major(x)
        T, B, _ = x_tm.shape
        hs = empty(T + 1, B, w_hh.shape[1], like=x)  # h_0, then pre-activations -> h_1..h_T in place
        hs[0] = h0
        project(x_tm, w_ih, b_ih + b_hh, out=hs[1:])
        wt = w_hh.t()
        h_t = hs.unbind(0)
        one, two = constants(x)
        for t in range(T):
            tanh_(h_t[t + 1].addmm_(h_t[t], wt), one, two)
        ctx.save_for_backward(x_tm, w_ih, w_hh, hs)
        return hs[1:].transpose(0, 1)

    @staticmethod
    @once_differentiable
    def backward(ctx: Any, d_out: Tensor) -> tuple[Tensor | None, ...]:
        """Worked backward. Write a_t = W_ih x_t + b_ih + W_hh h_{t-1} + b_hh, h_t = tanh(a_t), and
        dh_t for everything that reaches h_t: its own output's gradient d_out_t plus what flows
        back from step t+1. Then

            dL/da_t     = dh_t * (1 - h_t^2)                     (d_pre[t])
            dh_{t-1}    = d_out_{t-1} + dL/da_t W_hh              (the recurrence, one addmm)
            dL/dW_hh    = sum_t dL/da_t^T h_{t-1},  dL/dW_ih = sum_t dL/da_t^T x_t
            dL/db_ih    = dL/db_hh = sum_t dL/da_t,  dL/dh_0 = dh_0

        Buffers: ``d_pre`` (T, B, H) holds 1 - h_t^2 for every step before the loop (it does not
        depend on the gradient); at step t of the reverse loop row t is multiplied by dh_t and
        from then on holds dL/da_t. After the loop it holds dL/da for every step, and the weight
        and input gradients are single matmuls over its T*B rows. ``dh`` holds dh_t, then is
        overwritten in place with dh_{t-1}; after step 0 it is dL/dh_0.
        """
        x_tm, w_ih, w_hh, hs = ctx.saved_tensors
        d_out = time_major(d_out)
        T, B, H = d_out.shape
        h = hs[1:]
        d_pre = d_tanh(h.new_ones(()).expand_as(h), h, out=empty(T, B, H, like=h))  # tanh', then d(pre) in place
        dh = d_out[T - 1].clone()
        for t in range(T - 1, -1, -1):
            d_pre[t].mul_(dh)
            if t:
                torch.addmm(d_out[t - 1], d_pre[t], w_hh, out=dh)
            else:
                torch.mm(d_pre[t], w_hh, out=dh)
        d_x, d_w_ih, d_b = input_grads(ctx, d_pre, x_tm, w_ih)
        d_w_hh = recurrent_weight_grad(d_pre, hs)
        return d_x, d_w_ih, d_b, d_w_hh, d_b, dh


FUNCTION = _RNNFunction  # what rnnlab.fast.dispatch registers for the rnn cell
