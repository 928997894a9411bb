"""The signals that stop a command: SIGTERM, SIGHUP and SIGQUIT become ``Terminated`` where the
program is, so ``finally`` blocks and atomic writes clean up; Ctrl-C stays Python's."""

from __future__ import annotations

import contextlib
import signal
from typing import Any

from rnnlab.files import STOP_SIGNALS


class Terminated(KeyboardInterrupt):
    """SIGTERM, SIGHUP or SIGQUIT, raised where the program is so that ``finally`` blocks and
    atomic writes clean up; the exit status is 128 + the signal's number, as the shell reports it."""

    def __init__(self, signum: int) -> None:
        super().__init__(signum)
        self.signum = signum


def _stop_handlers() -> dict[int, Any]:
    """Make SIGTERM, SIGHUP and SIGQUIT raise ``Terminated``; return the handlers they had.

    Ctrl-C keeps Python's own handler (KeyboardInterrupt) or, where the process was started
    with it ignored (a background job of a non-interactive shell), stays ignored: the shell's
    contract, under which only the foreground job hears the terminal's Ctrl-C. A signal
    started ignored (SIGHUP under nohup) stays ignored too."""

    def on_stop(signum: int, frame: Any) -> None:
        raise Terminated(signum)

    previous: dict[int, Any] = {}
    for sig in STOP_SIGNALS:
        if sig == signal.SIGINT or signal.getsignal(sig) == signal.SIG_IGN:
            continue
        with contextlib.suppress(ValueError):  # only the main thread may set handlers
            previous[sig] = signal.signal(sig, on_stop)
    return previous
