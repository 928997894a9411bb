"""Buffers the fast path keeps from one call to the next (see ``_Workspace``)."""

from __future__ import annotations

import math
import threading
from collections.abc import Callable

import torch
from torch import Tensor


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
        self._kept: list[Tensor] = []  # flat buffers
        self._bytes = 0
        self._lock = threading.Lock()
        self._use_count: Callable[[int], int] | None = getattr(
            torch._C, "_storage_Use_Count", None
        )  # None: keep nothing
        self._unused_count = self._users(torch.empty(1)) if self._use_count else None

    def _users(self, buf: Tensor) -> int:
        assert self._use_count is not None  # only called when the private call exists
        users: int = self._use_count(buf.untyped_storage()._cdata)
        return users

    def _idle(self, buf: Tensor) -> bool:
        return self._users(buf) == self._unused_count

    def _make_room(self, size: int) -> None:
        for buf in sorted((b for b in self._kept if self._idle(b)), key=Tensor.numel, reverse=True):
            if self._bytes + size <= self.max_bytes:
                return
            self._kept = [b for b in self._kept if b is not buf]  # by identity: == compares values
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
empty = _WORKSPACE.empty


def release_workspace() -> None:
    """Drop the buffers the fast path keeps between calls (see ``_Workspace``), returning
    their memory. Tensors still in use stay valid; only the kept references go."""
    _WORKSPACE.clear()


def fast_workspace_bytes() -> int:
    """How many bytes of buffers the fast path keeps between calls right now."""
    return _WORKSPACE.kept_bytes()
