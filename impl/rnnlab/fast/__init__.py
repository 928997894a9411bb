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

The package: ``workspace`` (the kept buffers), ``ops`` (the pieces every Function shares),
one module per cell's ``autograd.Function`` (``rnn``, ``lstm``, ``gru``, each with a worked
account of its backward pass), and ``dispatch`` (``fast_unroll``, ``set_fast``). A cell this
package does not know, a subclass of a built-in cell included, runs the plain loop.
"""

from rnnlab.fast.dispatch import fast_unroll, has_fast_path, set_fast
from rnnlab.fast.workspace import fast_workspace_bytes, release_workspace

__all__ = ["fast_unroll", "fast_workspace_bytes", "has_fast_path", "release_workspace", "set_fast"]
