"""The LSTM layer with hand-written BPTT."""

from __future__ import annotations

from typing import Any

import torch
from torch import Tensor
from torch.autograd.function import once_differentiable

from rnnlab.fast.ops import (
    constants,
    d_sigmoid,
    d_tanh,
    input_grads,
    project,
    recurrent_weight_grad,
    time_major,
)
from rnnlab.fast.workspace import empty


class _LSTMFunction(torch.autograd.Function):
    """Gates i, f, g, o; x (B, T, I) -> every h_t and every c_t, each (B, T, H)."""

    @staticmethod
    def forward(
        ctx: Any, x: Tensor, w_ih: Tensor, b_ih: Tensor, w_hh: Tensor, b_hh: Tensor, h0: Tensor, c0: Tensor
    ) -> tuple[Tensor, Tensor]:
        x_tm = time_major(x)
        T, B, _ = x_tm.shape
        H = w_hh.shape[1]
        # g's rows doubled, so one sigmoid over the whole gate row gives sigmoid(2 a_g)
        # and tanh(a_g) = 2 sigmoid(2 a_g) - 1 costs two cheap ops.
        scale = torch.ones(4 * H, 1, dtype=x.dtype, device=x.device)
        scale[2 * H : 3 * H] = 2
        gates = project(x_tm, w_ih * scale, (b_ih + b_hh) * scale.squeeze(1))  # (T, B, 4H)
        w2t = (w_hh * scale).t()
        hs, cs = empty(T + 1, B, H, like=x), empty(T + 1, B, H, like=x)
        tc = empty(T, B, H, like=x)  # tanh(c_t)
        hs[0] = h0
        cs[0] = c0
        # Per-step views made once, not T times inside the loop (each view costs a dispatch).
        rows, h_t, c_t, tc_t = gates.unbind(0), hs.unbind(0), cs.unbind(0), tc.unbind(0)
        i_t, f_t, g_t, o_t = (part.unbind(0) for part in gates.view(T, B, 4, H).unbind(2))
        one, two = constants(x)
        for t in range(T):
            rows[t].addmm_(h_t[t], w2t).sigmoid_()
            g_t[t].mul_(two).sub_(one)
            torch.mul(f_t[t], c_t[t], out=c_t[t + 1]).addcmul_(i_t[t], g_t[t])
            torch.tanh(c_t[t + 1], out=tc_t[t])
            torch.mul(o_t[t], tc_t[t], out=h_t[t + 1])
        ctx.save_for_backward(x_tm, w_ih, w_hh, gates, hs, cs, tc)
        return hs[1:].transpose(0, 1), cs[1:].transpose(0, 1)

    @staticmethod
    @once_differentiable
    def backward(ctx: Any, d_h: Tensor, d_c: Tensor) -> tuple[Tensor | None, ...]:
        """Worked backward. With i, f, g, o the gate activations of step t (saved in ``gates``),
        c_t = f c_{t-1} + i g and h_t = o tanh(c_t). Let dh be everything reaching h_t and dc
        everything reaching c_t, then

            dc         += dh * o (1 - tanh(c_t)^2)               (through h_t = o tanh(c_t))
            dL/da_i     = dc * g i(1 - i)          dL/da_f = dc * c_{t-1} f(1 - f)
            dL/da_g     = dc * i (1 - g^2)         dL/da_o = dh * tanh(c_t) o(1 - o)
            dc_{t-1}    = dc * f  (+ the gradient of c_{t-1}'s own output, if any)
            dh_{t-1}    = d_h_{t-1} + dL/da W_hh                  (one addmm over all four gates)

        Buffers: ``factors`` (T, B, 4H) first holds, for every step at once, each gate's factor
        that does not depend on the running gradient (g i(1-i), c_{t-1} f(1-f), i(1-g^2),
        tanh(c_t) o(1-o)); at step t of the reverse loop its row t is multiplied in place by dc
        (i, f, g columns) or dh (o columns) and from then on holds dL/da_t for all four gates.
        After the loop it is dL/da for every step, and the weight, bias and input gradients are
        single matmuls over it. ``h_to_c`` holds o(1 - tanh(c_t)^2) for every step. ``dh`` and
        ``dc`` hold the running gradients of h_t and c_t, updated in place down to h_0, c_0.
        """
        x_tm, w_ih, w_hh, gates, hs, cs, tc = ctx.saved_tensors
        T, B, G = gates.shape
        H = G // 4
        d_h = tc.new_zeros(()).expand(T, B, H) if d_h is None else time_major(d_h)
        d_c = None if d_c is None else time_major(d_c)
        i, f, g, o = gates.view(T, B, 4, H).unbind(2)
        # Everything that does not depend on the running gradient, for all steps at once,
        # written into one buffer without temporaries.
        factors = empty(T, B, G, like=gates)
        fi, ff, fg, fo = factors.view(T, B, 4, H).unbind(2)
        d_sigmoid(g, i, out=fi)  # dL/da_i = dc * g i(1-i)
        d_sigmoid(cs[:-1], f, out=ff)  # dL/da_f = dc * c_prev f(1-f)
        d_tanh(i, g, out=fg)  # dL/da_g = dc * i(1-g^2)
        d_sigmoid(tc, o, out=fo)  # dL/da_o = dh * tanh(c) o(1-o)
        h_to_c = d_tanh(o, tc, out=empty(T, B, H, like=tc))  # dc += dh * o(1 - tanh(c)^2)
        # factors becomes dL/d(gates) in place, step by step
        ifg_t = factors.view(T, B, 4, H)[:, :, :3].unbind(0)
        rows, fo_t, f_t = factors.unbind(0), fo.unbind(0), f.unbind(0)
        dh_in, h_to_c_t = d_h.unbind(0), h_to_c.unbind(0)
        dc_in = None if d_c is None else d_c.unbind(0)
        dh = d_h[T - 1].clone()  # the gradient reaching h_T, and c_T
        dc = tc.new_zeros(B, H) if d_c is None else d_c[T - 1].clone()
        dc_row = dc.unsqueeze(1)
        for t in range(T - 1, -1, -1):
            dc.addcmul_(dh, h_to_c_t[t])  # everything reaching c_t
            ifg_t[t].mul_(dc_row)
            fo_t[t].mul_(dh)
            dc.mul_(f_t[t])  # on to c_{t-1}
            if t:  # on to h_{t-1}, plus what its output receives
                torch.addmm(dh_in[t - 1], rows[t], w_hh, out=dh)
                if dc_in is not None:
                    dc.add_(dc_in[t - 1])
            else:
                torch.mm(rows[t], w_hh, out=dh)
        d_x, d_w_ih, d_b = input_grads(ctx, factors, x_tm, w_ih)
        return d_x, d_w_ih, d_b, recurrent_weight_grad(factors, hs), d_b, dh, dc


FUNCTION = _LSTMFunction  # what rnnlab.fast.dispatch registers for the lstm cell
