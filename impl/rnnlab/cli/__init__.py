"""Command line: ``rnnlab train | sample | eval | translate | exercise``.

Every expected failure (a bad flag, path, corpus or checkpoint) ends with one line,
``rnnlab: error: ...``, exit status 2, decided before any training starts; an interrupted
command (Ctrl-C, SIGTERM) ends with one line too, exit status 130 (143 for SIGTERM), saying
where it stopped and how to continue. Never a traceback (``RNNLAB_DEBUG=1`` shows one for
an unexpected error). ``train`` never writes over a file that is not a checkpoint of the run
it continues, unless ``--overwrite`` says to replace another run's checkpoint.
"""

from __future__ import annotations

import argparse
import os
import re
import signal
import sys

import torch

from rnnlab.cli.commands import cmd_eval, cmd_sample, cmd_train_charlm, cmd_train_seq2seq, cmd_translate
from rnnlab.cli.flags import (
    CONFIGS,
    MAX_TRAIN_EXAMPLES,
    MAX_VAL_EXAMPLES,
    POSITIVE,
    SEED,
    _config_flags,
    _Default,
    _device_argument,
    _float_in,
    _int_in,
    _option,
    _training_arguments,
    _unwrap_defaults,
    field_docs,
)
from rnnlab.errors import RnnlabError
from rnnlab.exercise_cli import add_exercise_parsers
from rnnlab.files import os_reason
from rnnlab.models.seq2seq import MAX_BEAM
from rnnlab.signals import Terminated, _stop_handlers
from rnnlab.usage import Parser as _Parser
from rnnlab.usage import UsageError


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="rnnlab", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    train = sub.add_parser("train", help="train a model and save a checkpoint")
    train_sub = train.add_subparsers(dest="model", required=True, metavar="MODEL")
    lm = train_sub.add_parser("charlm", help="character language model on Tiny Shakespeare (or --corpus)")
    (model_cls, exclude), train_cls = CONFIGS["charlm"]
    _config_flags(lm, model_cls, exclude)
    _config_flags(lm, train_cls)
    lm.add_argument("--corpus", help="a UTF-8 text file instead of Tiny Shakespeare")
    _training_arguments(lm)
    lm.set_defaults(func=cmd_train_charlm)

    s2s = train_sub.add_parser("seq2seq", help="date normalisation encoder-decoder (Lab 03)")
    (model_cls, exclude), train_cls = CONFIGS["seq2seq"]
    _config_flags(s2s, model_cls, exclude)
    _config_flags(s2s, train_cls)
    data = s2s.add_argument_group("the generated date corpus (rnnlab.data.dates)")
    _option(
        data,
        "--train-examples",
        20000,
        type=_int_in(1, MAX_TRAIN_EXAMPLES, "a number of examples"),
        help="training examples drawn from the training dates",
    )
    _option(
        data,
        "--val-examples",
        500,
        type=_int_in(1, MAX_VAL_EXAMPLES, "a number of examples"),
        help="validation examples drawn from the validation dates",
    )
    _training_arguments(s2s)
    s2s.set_defaults(func=cmd_train_seq2seq)

    tr = sub.add_parser("translate", help="normalise dates with a seq2seq checkpoint: prints YYYY-MM-DD per input")
    tr.add_argument("checkpoint")
    tr.add_argument("text", nargs="+", help='one or more date strings, e.g. "March 14, 2024"')
    tr.add_argument(
        "--beam",
        type=_int_in(1, MAX_BEAM, "a number of prefixes"),
        default=1,
        help="beam search keeping this many prefixes at every step; 1 = greedy decoding",
    )
    _device_argument(tr)
    tr.set_defaults(func=cmd_translate)

    smp = sub.add_parser("sample", help="generate text from a character LM checkpoint (streamed as it is drawn)")
    smp.add_argument("checkpoint")
    smp.add_argument("--temperature", type=_float_in(0.0), default=0.8, help="0 = greedy; higher = more diverse")
    smp.add_argument("--length", type=POSITIVE, default=500, help="characters to generate")
    smp.add_argument("--seed", type=SEED, default=0)
    smp.add_argument("--prime", default=_Default("\n"), help="text to start from (default: a newline)")
    _device_argument(smp)
    smp.set_defaults(func=cmd_sample)

    ev = sub.add_parser("eval", help="validation loss and perplexity of a character LM checkpoint")
    ev.add_argument("checkpoint")
    ev.add_argument("--corpus", help="a UTF-8 text file instead of Tiny Shakespeare (its last 10%% is used)")
    _device_argument(ev)
    ev.set_defaults(func=cmd_eval)
    add_exercise_parsers(sub)
    return parser


def _describe(exc: OSError) -> str:
    if exc.errno is not None:
        where = f" {exc.filename}" if exc.filename else ""
        return f"cannot use{where}: {os_reason(exc)}"
    return str(exc)


def _one_line(text: str) -> str:
    return re.sub(r"\s*\n\s*", " ", text.strip())


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    previous = _stop_handlers()
    try:
        try:
            args = parser.parse_args(argv)
        except SystemExit as exc:  # --help, or argparse giving up without calling error()
            return 0 if exc.code is None else exc.code if isinstance(exc.code, int) else 2
        args.typed = _unwrap_defaults(args)
        if sys.stdout is None and args.func in (cmd_sample, cmd_eval, cmd_translate):  # `>&-`: nowhere to print
            raise UsageError(
                f"standard output is closed, and `rnnlab {args.command}` prints its answer there; give it somewhere "
                "to go (e.g. > out.txt)"
            )
        return args.func(args)
    except KeyboardInterrupt as exc:
        what = getattr(exc, "rnnlab_message", "interrupted")
        print(f"rnnlab: {what}", file=sys.stderr)
        return 128 + exc.signum if isinstance(exc, Terminated) else 130
    except RnnlabError as exc:  # a refusal rnnlab means: its message names the problem and the fix
        print(f"rnnlab: error: {_one_line(str(exc))}", file=sys.stderr)
        return 2
    except OSError as exc:  # the machine's answer (a full disk, a permission), not rnnlab's mistake
        print(f"rnnlab: error: {_one_line(_describe(exc))}", file=sys.stderr)
        return 2
    except (MemoryError, torch.OutOfMemoryError) as exc:
        print(
            f"rnnlab: error: out of memory ({_one_line(str(exc)) or 'the allocator gave up'}); choose a smaller "
            "--hidden-size, --batch-size or --num-layers",
            file=sys.stderr,
        )
        return 2
    except Exception as exc:
        if os.environ.get("RNNLAB_DEBUG"):
            raise
        print(
            f"rnnlab: error: unexpected {type(exc).__name__}: {_one_line(str(exc))}. This is a bug in rnnlab: "
            "please report it (RNNLAB_DEBUG=1 shows the traceback).",
            file=sys.stderr,
        )
        return 2
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


__all__ = ["CONFIGS", "Terminated", "build_parser", "field_docs", "main"]
