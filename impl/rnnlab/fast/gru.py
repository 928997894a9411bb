"""The GRU layer with hand-written BPTT."""

from __future__ import annotations

from typing import Any

import torch
from torch import Tensor
from torch.autograd.function import once_differentiable

from rnnlab.fast.ops import (
    d_sigmoid,
    d_tanh,
    input_grads,
    project,
    recurrent_weight_grad,
    time_major,
)
from rnnlab.fast.workspace import empty


class _GRUFunction(torch.autograd.Function):
    """Gates r, z, n in torch's convention; x (B, T, I) -> every h_t (B, T, H)."""

    @staticmethod
    def forward(ctx: Any, x: Tensor, w_ih: Tensor, b_ih: Tensor, w_hh: Tensor, b_hh: Tensor, h0: Tensor) -> Tensor:
        x_tm = time_major(x)
        T, B, _ = x_tm.shape
        H = w_hh.shape[1]
        # r and z need only W_ih x + W_hh h + both biases, so their recurrent matmul adds
        # straight into the projection (b_hh's r, z part folded into it); n needs W_hn h + b_hn
        # on its own, because r multiplies it.
        bias = b_ih.clone()
        bias[: 2 * H] += b_hh[: 2 * H]
        xp = project(x_tm, w_ih, bias)  # (T, B, 3H); r, z columns become the gates
        w_rz, w_n = w_hh[: 2 * H].t().contiguous(), w_hh[2 * H :].t().contiguous()
        hn = empty(T, B, H, like=x).copy_(b_hh[2 * H :].expand(T, B, H))  # b_hn, then += W_hn h_{t-1}
        n = empty(T, B, H, like=x)
        hs = empty(T + 1, B, H, like=x)
        hs[0] = h0
        h_t, hn_t, n_t = hs.unbind(0), hn.unbind(0), n.unbind(0)
        rz_t, x_n_t = xp[..., : 2 * H].unbind(0), xp[..., 2 * H :].unbind(0)
        r_t, z_t = xp[..., :H].unbind(0), xp[..., H : 2 * H].unbind(0)
        for t in range(T):
            rz_t[t].addmm_(h_t[t], w_rz).sigmoid_()
            hn_t[t].addmm_(h_t[t], w_n)
            torch.addcmul(x_n_t[t], r_t[t], hn_t[t], out=n_t[t]).tanh_()
            torch.lerp(n_t[t], h_t[t], z_t[t], out=h_t[t + 1])  # (1 - z) n + z h
        ctx.save_for_backward(x_tm, w_ih, w_hh, hs, xp, hn, n)
        return hs[1:].transpose(0, 1)

    @staticmethod
    @once_differentiable
    def backward(ctx: Any, d_out: Tensor) -> tuple[Tensor | None, ...]:
        """Worked backward. In torch's convention, with hn_t = W_hn h_{t-1} + b_hn (saved in ``hn``),
        r, z the gates (saved in the r, z columns of ``xp``) and n_t = tanh(x_n + r hn_t),
        h_t = (1 - z) n_t + z h_{t-1}. With dh everything reaching h_t:

            dL/da_n     = dh * (1 - z)(1 - n^2)                   (a_n = x_n + r hn, the n pre-activation)
            dL/da_r     = dL/da_n * hn r(1 - r)    dL/da_z = dh * (h_{t-1} - n) z(1 - z)
            dL/dhn      = dL/da_n * r                             (the recurrent side of n)
            dh_{t-1}    = d_out_{t-1} + dh * z + [dL/da_r, dL/da_z, dL/dhn] W_hh

        Buffers: ``a_n`` (T, B, H) holds (1 - z)(1 - n^2), the factor of dL/da_n, for every step.
        ``factors`` (T, B, 3H) holds three different things in turn, column block by block:
          1. before the loop: the gradient-free factors a_n hn r(1-r) | (h_{t-1} - n) z(1-z) | a_n r;
          2. after reverse step t, row t times dh_t: dL/da_r | dL/da_z | dL/dhn, the gradient
             of W_hh h_{t-1} + b_hh, which gives dL/dW_hh and dL/db_hh after the loop;
          3. then the n block is overwritten with dh_t * a_n = dL/da_n, the gradient of the
             input side W_in x + b_in (r and z's input-side gradients equal their recurrent ones),
             so the same buffer gives dL/dx, dL/dW_ih and dL/db_ih.
        Reading dL/dW_hh before step 3 is the invariant that lets one buffer hold all three.
        ``dhs`` holds dh_t for every step (needed again in step 3); ``dh`` is dL/dh_0.
        """
        x_tm, w_ih, w_hh, hs, xp, hn, n = ctx.saved_tensors
        d_out = time_major(d_out)
        T, B, H = d_out.shape
        r, z = xp[..., :H], xp[..., H : 2 * H]
        # With dh the gradient reaching h_t, every gate gradient is dh times a factor fixed
        # by the forward pass; compute the factors for all steps before the reverse loop.
        a_n = d_tanh(n.new_ones(()).expand_as(n), n, out=empty(T, B, H, like=n))
        a_n.addcmul_(a_n, z, value=-1)  # dL/da_n = dh * (1-z)(1-n^2)
        factors = empty(T, B, 3 * H, like=xp)
        fr, fz, fn = factors.view(T, B, 3, H).unbind(2)
        d_sigmoid(torch.mul(a_n, hn, out=fr), r, out=fr)  # dL/da_r = dh * a_n hn r(1-r)
        d_sigmoid(torch.sub(hs[:-1], n, out=fz), z, out=fz)  # dL/da_z = dh * (h_prev - n) z(1-z)
        torch.mul(a_n, r, out=fn)  # dL/d(W_hn h + b_hn) = dh * a_n r
        dhs = empty(T, B, H, like=d_out)
        # factors becomes dL/d(W_hh h + b_hh) in place, step by step
        rows, rows3, dh_t, d_in, z_t = (
            factors.unbind(0),
            factors.view(T, B, 3, H).unbind(0),
            dhs.unbind(0),
            d_out.unbind(0),
            z.unbind(0),
        )
        dh_t[T - 1].copy_(d_in[T - 1])
        for t in range(T - 1, -1, -1):
            rows3[t].mul_(dh_t[t].unsqueeze(1))
            if t:  # dh_{t-1} = its output's gradient + dh_t z_t + rows_t W_hh
                torch.addcmul(d_in[t - 1], dh_t[t], z_t[t], out=dh_t[t - 1]).addmm_(rows[t], w_hh)
            else:
                dh = torch.mul(dh_t[0], z_t[0]).addmm_(rows[0], w_hh)
        d_w_hh = recurrent_weight_grad(factors, hs)
        d_b_hh = factors.sum((0, 1))
        torch.mul(dhs, a_n, out=fn)  # the input side's n gradient is dL/da_n itself
        d_x, d_w_ih, d_b_ih = input_grads(ctx, factors, x_tm, w_ih)
        return d_x, d_w_ih, d_b_ih, d_w_hh, d_b_hh, dh


FUNCTION = _GRUFunction  # what rnnlab.fast.dispatch registers for the gru cell
