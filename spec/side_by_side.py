"""Run commands side by side and report each as if it had run alone: ``python -m spec.side_by_side
"CMD 1" "CMD 2"``. tox's ``check`` environment runs the spec tier beside the curriculum (a pool of
spec runs). Each command, and everything it starts, gets one torch/OpenMP thread: side by side with
their default two threads each, the OpenMP pools oversubscribe 2 cores and spin (measured: 196 s for
what takes 130 s one after the other).

Each command's output is kept and printed whole when it ends, under a header with its exit status
and seconds, so the two never interleave. The exit status is the first non-zero one (0 if all pass),
except pytest's 5 ("no tests collected"), which counts only when every command collected nothing: ``tox -e spec``
runs the spec tier as two halves, and a marker (``-- -m lab01_rnn_cell``) may select specs in one half only.
Ctrl-C, SIGTERM or SIGHUP stops every command and waits for it: nothing outlives the runner.
"""

from __future__ import annotations

import os
import shlex
import signal
import subprocess
import sys
import tempfile
import time
from typing import Any

NOTHING_COLLECTED = 5  # pytest's exit status when no test was selected
# The spec tier's two halves, which tox runs side by side (``pytest spec --half 1`` and ``--half 2``, spec/conftest.py):
# spec/common but these files, then everything else. Balanced by measurement (2 cores, under coverage, beside mypy and
# the curriculum, session 21): spec/common whole ended 20 s after the rest (149 s against 129, 156 s in all); with
# these two files in the second half, the two ended 2 s apart (135 and 133 s, 140 s in all).
SECOND_HALF = ("spec/common/test_reliability.py", "spec/common/test_bad_input.py")


def half(nodeid: str) -> int:
    """Which half of the spec tier (1 or 2) the spec ``nodeid`` (a path relative to the checkout) runs in."""
    path = nodeid.split("::")[0]
    return 1 if path.startswith("spec/common/") and path not in SECOND_HALF else 2


ONE_THREAD = {**os.environ, "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}


def main(commands: list[str]) -> int:
    if not commands:
        print("usage: python -m spec.side_by_side 'CMD 1' ['CMD 2' ...]", file=sys.stderr)
        return 2
    running: list[tuple[str, subprocess.Popen[bytes], Any, float]] = []

    def stop(signum: int, frame: Any) -> None:
        raise KeyboardInterrupt

    for sig in (signal.SIGTERM, signal.SIGHUP):
        if signal.getsignal(sig) != signal.SIG_IGN:
            signal.signal(sig, stop)
    status, codes = 0, []
    try:
        for command in commands:
            out = tempfile.TemporaryFile()
            process = subprocess.Popen(shlex.split(command), stdout=out, stderr=subprocess.STDOUT, env=ONE_THREAD)
            running.append((command, process, out, time.perf_counter()))
        for command, process, out, started in running:
            code = process.wait()
            seconds = time.perf_counter() - started
            out.seek(0)
            print(f"\n=== {command}  (exit {code}, {seconds:.0f} s, side by side)", flush=True)
            sys.stdout.buffer.write(out.read())
            sys.stdout.flush()
            codes.append(code)
            status = status or (0 if code == NOTHING_COLLECTED else code)
        return status or (NOTHING_COLLECTED if all(c == NOTHING_COLLECTED for c in codes) else 0)
    except KeyboardInterrupt:
        print("side_by_side: interrupted; stopping every command", file=sys.stderr)
        return 130
    finally:
        for _, process, out, _ in running:
            if process.poll() is None:
                process.terminate()
                try:
                    process.wait(timeout=10)
                except subprocess.TimeoutExpired:
                    process.kill()
                    process.wait()
            out.close()


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
