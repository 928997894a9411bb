"""What every command's parser shares: a refusal is one line (``UsageError``), exit status 2."""

from __future__ import annotations

import argparse
import contextlib
import os
import sys
from collections.abc import Sequence
from typing import NoReturn

from rnnlab.errors import RnnlabError


class UsageError(RnnlabError):
    """A command line argparse (or a check of ours) refuses; one line, exit status 2."""


class Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:  # argparse prints usage and exits; we want one line
        # The error line already starts "rnnlab: error:"; a subcommand's name ("rnnlab train charlm") says
        # more, the program's alone would only repeat it.
        where = f"{self.prog}: " if " " in self.prog else ""
        raise UsageError(f"{where}{message} (see `{self.prog} --help`)")

    def parse_args(  # type: ignore[override]
        self, args: Sequence[str] | None = None, namespace: argparse.Namespace | None = None
    ) -> argparse.Namespace:
        """As argparse's, but a flag no parser knows is refused by the (sub)command it was given to,
        so the line points at that command's ``--help``."""
        parsed, extras = self.parse_known_args(args, namespace)
        if extras:
            self._chosen(parsed).error(f"unrecognized arguments: {' '.join(extras)}")
        return parsed

    def _chosen(self, parsed: argparse.Namespace) -> Parser:
        """The deepest subcommand's parser that ``parsed`` went through."""
        for action in self._actions:
            if isinstance(action, argparse._SubParsersAction):
                sub = action.choices.get(getattr(parsed, action.dest, None) or "")
                if isinstance(sub, Parser):
                    return sub._chosen(parsed)
        return self


def quote_path(path: object) -> str:
    """``path`` as a shell reads it back in a suggested command: quoted where it must be (a space, a quote), its
    leading ``~/`` left bare so that the shell still expands it."""
    import shlex

    text = str(path)
    if text == "~" or text.startswith("~/"):
        rest = text[2:]
        return "~/" + shlex.quote(rest) if rest else text
    return shlex.quote(text)


def point_stdout_at_nothing() -> None:
    """After the reader of standard output went away (`| head`), or its disk filled: send what is still to be
    written nowhere, so that Python's flush at exit does not report the closed pipe a second time."""
    if sys.stdout is not None:
        with contextlib.suppress(OSError, ValueError):
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
