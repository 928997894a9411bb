"""The fast path: whole-sequence recurrences with backpropagation through time written by hand.

``rnnlab.cells`` is what a learner reads: one step, plain autograd. Training the labs with it
is slow, because autograd records a dozen small ops per step and replays them one at a time
on the way back. This module computes *exactly the same function* (the specs in
``spec/lab02/test_fast_path.py`` prove values and gradients equal, float64 gradcheck and
float32 parity) as one ``torch.autograd.Function`` per layer:

* forward: the input projection of every step is one matmul before the time loop; each
  step is then an ``addmm`` of the recurrent weights into preallocated gate buffers (two
  for the GRU, whose n gate needs W_hn h apart) plus in-place pointwise ops; everything
  backward needs is kept in those buffers;
* backward: every factor that does not depend on the running gradient (sigmoid'(a) = s(1-s),
  tanh' = 1 - t^2, ...) is computed for all steps at once *before* the reverse loop, so each
  reverse step is a handful of multiplies and one ``addmm``; the weight gradients are then
  single matmuls over all T*B rows instead of T small ones;
* tanh(x) is computed as 2*sigmoid(2x) - 1 for the RNN and the LSTM's g gate: on x86 CPUs ATen's
  sigmoid is about 3x faster than its tanh (measured: 83 vs 275 us on a 64 x 2048 tensor,
  2 threads);
* the large buffers are kept from one call to the next (``_Workspace``) instead of being
  allocated afresh, which page-faults on every 4 KiB of first touch.

Where the time goes (one training step, B=64, T=100, 2 threads; ``acceptance.timing``): the
matrix products alone, the same ones torch's fused layers do, take 0.6-0.8x of the fused
step at H=256-512; the rest of our step is the elementwise gate math (each op one pass over
memory, sigmoid about 1 ns and tanh about 3 ns per element), the optimiser and Python. That
rest is what a fused C++ kernel would shrink; this module stays with tensor ops.

Shapes inside are time-major: x_proj (T, B, G*H) already holds ``W_ih x_t + b_ih``.
Use it through ``fast_unroll`` (or ``Recurrent(..., fast=True)``), never for double backward.
"""
from __future__ import annotations

import math
import threading

import torch
from torch import Tensor, nn
from torch.autograd.function import once_differentiable

from rnnlab.cells import GRUCell, LSTMCell, RNNCell


def _constants(like: Tensor) -> tuple[Tensor, Tensor]:
    """1 and 2 as 0-dim tensors of ``like``'s dtype. In a per-step loop ``x.mul_(two)`` costs
    half of ``x.mul_(2)``: a Python number is wrapped and converted on every call (measured
    1.8 vs 3.9 us on a 64 x 128 tensor)."""
    return like.new_tensor(1.0), like.new_tensor(2.0)


def _tanh_(x: Tensor, one: Tensor, two: Tensor) -> Tensor:
    """In place: tanh(x) = 2*sigmoid(2x) - 1."""
    return x.mul_(two).sigmoid_().mul_(two).sub_(one)


class _Workspace:
    """Buffers kept from one call to the next, handed out again only when nothing uses them.

    Every training step allocates the same large buffers (gates, factors, the time-major
    input). Left to glibc, memory freed at the end of a step goes back to the OS and comes
    back page by page, one page fault per 4 KiB on first touch: the GRU step at H=256 took
    about 11,000 minor faults (44 MiB) per step, against 1,800 for torch's fused GRU. So the
    fast path keeps its buffers, and hands one out again only when its storage has no user
    left: no saved tensor, no returned view, nothing in a retained graph. Buffers always
    leave as views, so while anything holds one its storage's use count stays above the
    count of the workspace's own reference.

    A request for n elements takes the smallest idle kept buffer of n to 2n elements, so
    batches whose length varies (seq2seq) reuse buffers too. CPU only (CUDA's caching
    allocator already does this). At most ``max_bytes`` are kept: idle buffers are dropped,
    largest first, to make room, and past that a buffer is an ordinary allocation.
    ``release_workspace()`` empties it.
    """

    def __init__(self, max_bytes: int = 1 << 30):
        self.max_bytes = max_bytes
        self._kept: list[Tensor] = []             # flat buffers
        self._bytes = 0
        self._lock = threading.Lock()
        self._use_count = getattr(torch._C, "_storage_Use_Count", None)   # None: keep nothing
        self._unused_count = self._users(torch.empty(1)) if self._use_count else None

    def _users(self, buf: Tensor) -> int:
        return self._use_count(buf.untyped_storage()._cdata)

    def _idle(self, buf: Tensor) -> bool:
        return self._users(buf) == self._unused_count

    def _make_room(self, size: int) -> None:
        for buf in sorted((b for b in self._kept if self._idle(b)), key=Tensor.numel, reverse=True):
            if self._bytes + size <= self.max_bytes:
                return
            self._kept = [b for b in self._kept if b is not buf]   # by identity: == compares values
            self._bytes -= buf.numel() * buf.element_size()

    def empty(self, *shape: int, like: Tensor) -> Tensor:
        """An uninitialised tensor of ``shape`` with ``like``'s dtype and device."""
        if self._use_count is None or like.device.type != "cpu":
            return like.new_empty(shape)
        n = math.prod(shape)
        with self._lock:
            fits = [b for b in self._kept if b.dtype == like.dtype and n <= b.numel() <= 2 * n and self._idle(b)]
            if fits:
                return min(fits, key=Tensor.numel)[:n].view(shape)
            buf = like.new_empty(n)
            size = n * buf.element_size()
            self._make_room(size)
            if self._bytes + size > self.max_bytes:
                return buf.view(shape)
            self._kept.append(buf)
            self._bytes += size
            return buf[:n].view(shape)

    def kept_bytes(self) -> int:
        return self._bytes

    def clear(self) -> None:
        with self._lock:
            self._kept.clear()
            self._bytes = 0


_WORKSPACE = _Workspace()
_empty = _WORKSPACE.empty


def release_workspace() -> None:
    """Drop the buffers the fast path keeps between calls (see ``_Workspace``), returning
    their memory. Tensors still in use stay valid; only the kept references go."""
    _WORKSPACE.clear()


def fast_workspace_bytes() -> int:
    """How many bytes of buffers the fast path keeps between calls right now."""
    return _WORKSPACE.kept_bytes()


def _d_sigmoid(grad: Tensor, s: Tensor, out: Tensor) -> Tensor:
    """out = grad * s(1 - s), sigmoid's derivative written through its output s, in one pass."""
    return torch.ops.aten.sigmoid_backward.grad_input(grad, s, grad_input=out)


def _d_tanh(grad: Tensor, t: Tensor, out: Tensor) -> Tensor:
    """out = grad * (1 - t^2), tanh's derivative written through its output t, in one pass."""
    return torch.ops.aten.tanh_backward.grad_input(grad, t, grad_input=out)


def _time_major(x: Tensor) -> Tensor:
    """(B, T, ...) -> contiguous (T, B, ...). Per-step slices of a batch-first buffer are
    rows T*G elements apart, which thrashes the cache; time-major keeps each step together."""
    x_tm = x.transpose(0, 1)
    if x_tm.is_contiguous():                  # already laid out time-major (a gradient often is)
        return x_tm
    return _empty(*x_tm.shape, like=x).copy_(x_tm)


def _project(x_tm: Tensor, w_ih: Tensor, bias: Tensor, out: Tensor | None = None) -> Tensor:
    """Every step's input projection in one matmul: (T, B, I) -> (T, B, G*H)."""
    T, B, I = x_tm.shape
    if out is None:
        out = _empty(T, B, w_ih.shape[0], like=x_tm)
    torch.addmm(bias, x_tm.view(T * B, I), w_ih.t(), out=out.view(T * B, -1))
    return out


def _input_grads(ctx, d_pre: Tensor, x_tm: Tensor, w_ih: Tensor):
    """Gradients of x (returned batch-first), W_ih and b_ih from d(pre-activation)
    (T, B, G*H), as single matmuls over all T*B rows."""
    T, B, I = x_tm.shape
    flat = d_pre.view(T * B, -1)
    d_x = flat.mm(w_ih).view(T, B, I).transpose(0, 1) if ctx.needs_input_grad[0] else None
    return d_x, flat.t().mm(x_tm.view(T * B, I)), flat.sum(0)


def _recurrent_weight_grad(d_pre: Tensor, hs: Tensor) -> Tensor:
    """dL/dW_hh = sum_t d_pre_t^T h_{t-1}: one matmul over all T*B rows."""
    T, B, G = d_pre.shape
    return d_pre.view(T * B, G).t().mm(hs[:-1].reshape(T * B, -1))


class _RNNFunction(torch.autograd.Function):
    """h_t = tanh(W_ih x_t + b_ih + W_hh h_{t-1} + b_hh); x (B, T, I) -> every h_t (B, T, H)."""

    @staticmethod
    def forward(ctx, x, w_ih, b_ih, w_hh, b_hh, h0):
        x_tm = _time_major(x)
        T, B, _ = x_tm.shape
        hs = _empty(T + 1, B, w_hh.shape[1], like=x)  # h_0, then pre-activations -> h_1..h_T in place
        hs[0] = h0
        _project(x_tm, w_ih, b_ih + b_hh, out=hs[1:])
        wt = w_hh.t()
        h_t = hs.unbind(0)
        one, two = _constants(x)
        for t in range(T):
            _tanh_(h_t[t + 1].addmm_(h_t[t], wt), one, two)
        ctx.save_for_backward(x_tm, w_ih, w_hh, hs)
        return hs[1:].transpose(0, 1)

    @staticmethod
    @once_differentiable
    def backward(ctx, d_out):
        x_tm, w_ih, w_hh, hs = ctx.saved_tensors
        d_out = _time_major(d_out)
        T, B, H = d_out.shape
        h = hs[1:]
        d_pre = _d_tanh(h.new_ones(()).expand_as(h), h, out=_empty(T, B, H, like=h))  # tanh', then d(pre) in place
        dh = d_out[T - 1].clone()
        for t in range(T - 1, -1, -1):
            d_pre[t].mul_(dh)
            if t:
                torch.addmm(d_out[t - 1], d_pre[t], w_hh, out=dh)
            else:
                torch.mm(d_pre[t], w_hh, out=dh)
        d_x, d_w_ih, d_b = _input_grads(ctx, d_pre, x_tm, w_ih)
        d_w_hh = _recurrent_weight_grad(d_pre, hs)
        return d_x, d_w_ih, d_b, d_w_hh, d_b, dh


class _LSTMFunction(torch.autograd.Function):
    """Gates i, f, g, o; x (B, T, I) -> every h_t and every c_t, each (B, T, H)."""

    @staticmethod
    def forward(ctx, x, w_ih, b_ih, w_hh, b_hh, h0, c0):
        x_tm = _time_major(x)
        T, B, _ = x_tm.shape
        H = w_hh.shape[1]
        # g's rows doubled, so one sigmoid over the whole gate row gives sigmoid(2 a_g)
        # and tanh(a_g) = 2 sigmoid(2 a_g) - 1 costs two cheap ops.
        scale = torch.ones(4 * H, 1, dtype=x.dtype, device=x.device)
        scale[2 * H : 3 * H] = 2
        gates = _project(x_tm, w_ih * scale, (b_ih + b_hh) * scale.squeeze(1))  # (T, B, 4H)
        w2t = (w_hh * scale).t()
        hs, cs = _empty(T + 1, B, H, like=x), _empty(T + 1, B, H, like=x)
        tc = _empty(T, B, H, like=x)              # tanh(c_t)
        hs[0] = h0
        cs[0] = c0
        # Per-step views made once, not T times inside the loop (each view costs a dispatch).
        rows, h_t, c_t, tc_t = gates.unbind(0), hs.unbind(0), cs.unbind(0), tc.unbind(0)
        i_t, f_t, g_t, o_t = (part.unbind(0) for part in gates.view(T, B, 4, H).unbind(2))
        one, two = _constants(x)
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
    def backward(ctx, d_h, d_c):
        x_tm, w_ih, w_hh, gates, hs, cs, tc = ctx.saved_tensors
        T, B, G = gates.shape
        H = G // 4
        d_h = tc.new_zeros(()).expand(T, B, H) if d_h is None else _time_major(d_h)
        d_c = None if d_c is None else _time_major(d_c)
        i, f, g, o = gates.view(T, B, 4, H).unbind(2)
        # Everything that does not depend on the running gradient, for all steps at once,
        # written into one buffer without temporaries.
        factors = _empty(T, B, G, like=gates)
        fi, ff, fg, fo = factors.view(T, B, 4, H).unbind(2)
        _d_sigmoid(g, i, out=fi)                  # dL/da_i = dc * g i(1-i)
        _d_sigmoid(cs[:-1], f, out=ff)            # dL/da_f = dc * c_prev f(1-f)
        _d_tanh(i, g, out=fg)                     # dL/da_g = dc * i(1-g^2)
        _d_sigmoid(tc, o, out=fo)                 # dL/da_o = dh * tanh(c) o(1-o)
        h_to_c = _d_tanh(o, tc, out=_empty(T, B, H, like=tc))  # dc += dh * o(1 - tanh(c)^2)
        # factors becomes dL/d(gates) in place, step by step
        ifg_t = factors.view(T, B, 4, H)[:, :, :3].unbind(0)
        rows, fo_t, f_t = factors.unbind(0), fo.unbind(0), f.unbind(0)
        dh_in, h_to_c_t = d_h.unbind(0), h_to_c.unbind(0)
        dc_in = None if d_c is None else d_c.unbind(0)
        dh = d_h[T - 1].clone()                   # the gradient reaching h_T, and c_T
        dc = tc.new_zeros(B, H) if d_c is None else d_c[T - 1].clone()
        dc_row = dc.unsqueeze(1)
        for t in range(T - 1, -1, -1):
            dc.addcmul_(dh, h_to_c_t[t])          # everything reaching c_t
            ifg_t[t].mul_(dc_row)
            fo_t[t].mul_(dh)
            dc.mul_(f_t[t])                       # on to c_{t-1}
            if t:                                 # on to h_{t-1}, plus what its output receives
                torch.addmm(dh_in[t - 1], rows[t], w_hh, out=dh)
                if dc_in is not None:
                    dc.add_(dc_in[t - 1])
            else:
                torch.mm(rows[t], w_hh, out=dh)
        d_x, d_w_ih, d_b = _input_grads(ctx, factors, x_tm, w_ih)
        return d_x, d_w_ih, d_b, _recurrent_weight_grad(factors, hs), d_b, dh, dc


class _GRUFunction(torch.autograd.Function):
    """Gates r, z, n in torch's convention; x (B, T, I) -> every h_t (B, T, H)."""

    @staticmethod
    def forward(ctx, x, w_ih, b_ih, w_hh, b_hh, h0):
        x_tm = _time_major(x)
        T, B, _ = x_tm.shape
        H = w_hh.shape[1]
        # r and z need only W_ih x + W_hh h + both biases, so their recurrent matmul adds
        # straight into the projection (b_hh's r, z part folded into it); n needs W_hn h + b_hn
        # on its own, because r multiplies it.
        bias = b_ih.clone()
        bias[: 2 * H] += b_hh[: 2 * H]
        xp = _project(x_tm, w_ih, bias)           # (T, B, 3H); r, z columns become the gates
        w_rz, w_n = w_hh[: 2 * H].t().contiguous(), w_hh[2 * H :].t().contiguous()
        hn = _empty(T, B, H, like=x).copy_(b_hh[2 * H :].expand(T, B, H))  # b_hn, then += W_hn h_{t-1}
        n = _empty(T, B, H, like=x)
        hs = _empty(T + 1, B, H, like=x)
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
    def backward(ctx, d_out):
        x_tm, w_ih, w_hh, hs, xp, hn, n = ctx.saved_tensors
        d_out = _time_major(d_out)
        T, B, H = d_out.shape
        r, z = xp[..., :H], xp[..., H : 2 * H]
        # With dh the gradient reaching h_t, every gate gradient is dh times a factor fixed
        # by the forward pass; compute the factors for all steps before the reverse loop.
        a_n = _d_tanh(n.new_ones(()).expand_as(n), n, out=_empty(T, B, H, like=n))
        a_n.addcmul_(a_n, z, value=-1)                              # dL/da_n = dh * (1-z)(1-n^2)
        factors = _empty(T, B, 3 * H, like=xp)
        fr, fz, fn = factors.view(T, B, 3, H).unbind(2)
        _d_sigmoid(torch.mul(a_n, hn, out=fr), r, out=fr)           # dL/da_r = dh * a_n hn r(1-r)
        _d_sigmoid(torch.sub(hs[:-1], n, out=fz), z, out=fz)        # dL/da_z = dh * (h_prev - n) z(1-z)
        torch.mul(a_n, r, out=fn)                                   # dL/d(W_hn h + b_hn) = dh * a_n r
        dhs = _empty(T, B, H, like=d_out)
        # factors becomes dL/d(W_hh h + b_hh) in place, step by step
        rows, rows3, dh_t, d_in, z_t = (factors.unbind(0), factors.view(T, B, 3, H).unbind(0), dhs.unbind(0),
                                        d_out.unbind(0), z.unbind(0))
        dh_t[T - 1].copy_(d_in[T - 1])
        for t in range(T - 1, -1, -1):
            rows3[t].mul_(dh_t[t].unsqueeze(1))
            if t:                                 # dh_{t-1} = its output's gradient + dh_t z_t + rows_t W_hh
                torch.addcmul(d_in[t - 1], dh_t[t], z_t[t], out=dh_t[t - 1]).addmm_(rows[t], w_hh)
            else:
                dh = torch.mul(dh_t[0], z_t[0]).addmm_(rows[0], w_hh)
        d_w_hh = _recurrent_weight_grad(factors, hs)
        d_b_hh = factors.sum((0, 1))
        torch.mul(dhs, a_n, out=fn)               # the input side's n gradient is dL/da_n itself
        d_x, d_w_ih, d_b_ih = _input_grads(ctx, factors, x_tm, w_ih)
        return d_x, d_w_ih, d_b_ih, d_w_hh, d_b_hh, dh


_FUNCTIONS = ((LSTMCell, _LSTMFunction), (GRUCell, _GRUFunction), (RNNCell, _RNNFunction))


def set_fast(model: nn.Module, enabled: bool = True) -> nn.Module:
    """Turn the fast path on (or off) in every ``Recurrent`` stack inside ``model``; returns
    ``model``. A speed switch only: the weights and the function computed stay the same."""
    for module in model.modules():
        if hasattr(module, "fast") and hasattr(module, "cells"):
            module.fast = enabled
    return model


def _last(steps: Tensor, lengths: Tensor | None) -> Tensor:
    """The state after each row's last real step: steps (B, T, H) -> (B, H)."""
    if lengths is None:
        return steps[:, -1]
    index = (lengths.to(steps.device) - 1).view(-1, 1, 1).expand(-1, 1, steps.shape[2])
    return steps.gather(1, index).squeeze(1)


def fast_unroll(cell: nn.Module, x: Tensor, state=None, lengths: Tensor | None = None):
    """``rnnlab.recurrent.unroll`` for the built-in cells, with hand-written BPTT.

    ``x`` (B, T, I) -> outputs (B, T, H) and the last state, as ``unroll``. ``lengths`` (B,)
    marks right-padded rows (``unroll``'s mask for a prefix): outputs after a row's end are
    zero and its state is the one after its last real step. Padding comes after every real
    step, so it never changes a real step's value and the full run can be cut afterwards.
    """
    if x.dim() != 3:
        raise ValueError(f"fast_unroll: expected input of shape (batch, time, features), got {tuple(x.shape)}")
    B, T, _ = x.shape
    if T == 0:
        raise ValueError("fast_unroll: the sequence is empty (time dimension 0)")
    function = next((f for kind, f in _FUNCTIONS if type(cell) is kind), None)
    if function is None:
        raise TypeError(f"fast_unroll: no fast path for {type(cell).__name__}; use rnnlab.recurrent.unroll")
    if state is None:
        state = cell.init_state(B, x)
    weights = (cell.ih.weight, cell.ih.bias, cell.hh.weight, cell.hh.bias)
    if function is _LSTMFunction:
        hs, cs = function.apply(x, *weights, *state)
        new_state = (_last(hs, lengths), _last(cs, lengths))
    else:
        hs = function.apply(x, *weights, state)
        new_state = _last(hs, lengths)
    if lengths is not None:
        keep = torch.arange(T, device=x.device).unsqueeze(0) < lengths.to(x.device).unsqueeze(1)
        hs = hs * keep.unsqueeze(2)
    return hs, new_state
