"""The ``rnnlab`` command's entry point: ``rnnlab exercise ...`` without importing torch, the rest via ``rnnlab.cli``."""

from __future__ import annotations

import sys

from rnnlab.files import signals_deferred


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else list(argv)
    # Ctrl-C while the modules load (torch: a second or more) is held until they have, then ends
    # the command in one line: a KeyboardInterrupt inside an extension's import would leave it
    # half-loaded and surface later as an ImportError traceback.
    try:
        with signals_deferred():
            if args[:1] == ["exercise"]:
                from rnnlab.exercise_cli import main as run
            else:
                from rnnlab.cli import main as run
    except KeyboardInterrupt:
        print("rnnlab: interrupted", file=sys.stderr)
        return 130
    return run(args)
