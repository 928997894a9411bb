"""What every command's parser shares: a refusal is one line (``UsageError``), exit status 2."""

from __future__ import annotations

import argparse
from typing import NoReturn


class UsageError(Exception):
    """A command line argparse (or a check of ours) refuses; one line, exit status 2."""


class Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:  # argparse prints usage and exits; we want one line
        # The error line already starts "rnnlab: error:"; a subcommand's name ("rnnlab train charlm") says
        # more, the program's alone would only repeat it.
        where = f"{self.prog}: " if " " in self.prog else ""
        raise UsageError(f"{where}{message} (see `{self.prog} --help`)")
