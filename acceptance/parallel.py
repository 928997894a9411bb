"""Independent training runs side by side: each in its own forked process, one torch thread each.

On a 2-core CPU one training step of the labs' small models gains only 1.2-1.4x from a second
intra-op thread (Lab 03, measured: baseline 83 -> 67 ms, Bahdanau 121 -> 88 ms), while two runs
side by side, one thread each, finish about 1.5x sooner. With one thread or two these models
train to bit-identical numbers (measured: Lab 02's three models and Lab 03's Bahdanau model, losses
equal to the last bit), so a run's numbers do not depend on whether it ran alone.

Where ``fork`` is unavailable (macOS, Windows), with one core, or with ``RNNLAB_WORKERS=1``, the
jobs run one after another in this process. However the parent ends (an error, Ctrl-C, SIGTERM),
every child is killed and reaped; a child whose parent died exits by itself.
"""

from __future__ import annotations

import os
import pickle
import sys
import threading
import time
import traceback
from collections.abc import Callable, Mapping
from multiprocessing import connection, get_context
from typing import Any, TypeVar

import torch

from rnnlab.training import loop

T = TypeVar("T")
WORKERS = 2  # the labs' budgets are sized for 2 cores; more workers would only add memory on such a machine


def workers() -> int:
    """How many jobs run at once here: WORKERS where fork and two cores are available, else 1."""
    wanted = int(os.environ.get("RNNLAB_WORKERS", WORKERS))
    if sys.platform != "linux" or (os.cpu_count() or 1) < 2:
        return 1
    return max(1, min(wanted, os.cpu_count() or 1))


Followers = Mapping[Any, Callable[[Any], dict[Any, Callable[[], Any]]]]


def run_all(
    jobs: dict[Any, Callable[[], T]], side_by_side: bool = True, after: Followers | None = None
) -> dict[Any, T]:
    """Run each job (a function of no arguments returning a picklable result) and return their
    results by name: the jobs in the order given, then their follow-ups. ``after[name]``, given job
    ``name``'s result as soon as it is in, returns more jobs (a follow-up: Lab 03's baseline trained
    on past its budget), queued behind those not yet started, so a worker that frees early takes them.
    A job that raises stops the rest: its traceback is raised here as a ``RuntimeError``.
    ``side_by_side=False`` (a GPU run: CUDA does not survive a fork) runs them one after another here."""
    after = after or {}
    unknown = [name for name in after if name not in jobs]
    if unknown:
        raise ValueError(f"follow-ups of jobs not asked for: {', '.join(map(repr, unknown))}")
    if not side_by_side or workers() == 1 or (len(jobs) == 1 and not after):
        done: dict[Any, Any] = {}
        queue = list(jobs.items())
        while queue:
            name, job = queue.pop(0)
            done[name] = job()
            if name in after:
                queue.extend(after[name](done[name]).items())
        return done
    ctx = get_context("fork")
    pending = list(jobs.items())
    order = list(jobs)
    running: dict[Any, tuple[Any, Any, int]] = {}  # name -> (process, reader, progress-bar slot)
    results: dict[Any, T] = {}
    try:
        while pending or running:
            while pending and len(running) < workers():
                name, job = pending.pop(0)
                slot = min(set(range(workers())) - {s for _, _, s in running.values()})
                reader, writer = ctx.Pipe(duplex=False)
                process = ctx.Process(target=_child, args=(job, writer, slot), name=f"rnnlab {name}")
                process.start()
                writer.close()
                running[name] = (process, reader, slot)
            ready = connection.wait([reader for _, reader, _ in running.values()])
            for name, (process, reader, _) in list(running.items()):
                if reader not in ready:
                    continue
                try:
                    ok, payload = pickle.loads(reader.recv_bytes())
                except EOFError:
                    process.join()
                    ok, payload = False, f"its process ended without a result (exit status {process.exitcode})"
                process.join()
                reader.close()
                del running[name]
                if not ok:
                    raise RuntimeError(f"the training run {name!r} failed:\n{payload}")
                results[name] = payload
                if name in after:
                    followers = after[name](payload)
                    pending.extend(followers.items())
                    order.extend(followers)
    finally:
        for process, reader, _ in running.values():
            if process.is_alive():
                process.kill()
            process.join()
            reader.close()
    return {name: results[name] for name in order}


def _child(job: Callable[[], Any], writer: Any, slot: int) -> None:
    parent = os.getppid()
    threading.Thread(target=_exit_with_parent, args=(parent,), daemon=True).start()
    torch.set_num_threads(1)
    loop.BAR_POSITION = slot  # each worker's progress bar on its own line
    try:
        result = (True, job())
    except KeyboardInterrupt:  # Ctrl-C reaches the whole foreground group; the parent reports it
        os._exit(130)
    except BaseException:
        result = (False, traceback.format_exc())
    writer.send_bytes(pickle.dumps(result))
    writer.close()
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(0)  # not the parent's exit handlers (pytest's, inherited by fork)


def _exit_with_parent(parent: int) -> None:
    while os.getppid() == parent:
        time.sleep(1.0)
    os._exit(1)
