"""The ``rnnlab`` command's entry point: ``rnnlab exercise ...`` without importing torch, the rest via ``rnnlab.cli``."""

from __future__ import annotations

import sys


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else list(argv)
    if args[:1] == ["exercise"]:
        from rnnlab.exercise_cli import main as exercise_main

        return exercise_main(args)
    from rnnlab.cli import main as cli_main

    return cli_main(args)
