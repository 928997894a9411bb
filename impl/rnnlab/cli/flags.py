"""The command line's flags: every field of a model or training config becomes a flag (name,
default, type, help and choices read from the dataclass and the registries), each argument type
names its flag when it refuses, and a default is wrapped so that a typed flag can be told apart."""

from __future__ import annotations

import argparse
import dataclasses
import inspect
import math
import re
import typing
from collections.abc import Callable
from typing import Any, TypeVar

from rnnlab.cells import CELLS
from rnnlab.checks import MAX_LAYERS, MAX_WIDTH
from rnnlab.device import DEVICES
from rnnlab.models.charlm import CharLMConfig
from rnnlab.models.seq2seq import ATTENTION_KINDS, DATE_LENGTH, MAX_OUTPUT_LEN, Seq2SeqConfig
from rnnlab.training import TrainConfig
from rnnlab.training.seq2seq import Seq2SeqTrainConfig

MAX_SEED = 2**32 - 1  # numpy's generator takes seeds up to this
MAX_TRAIN_EXAMPLES = 1_000_000  # about 11 s to generate on one core; the date space has 73,049 days
MAX_VAL_EXAMPLES = 100_000
MAX_STEPS = 100_000_000  # weeks of training at the labs' sizes; more is a typo, not a plan


T = TypeVar("T")
TrainT = TypeVar("TrainT", TrainConfig, Seq2SeqTrainConfig)


class _Default:
    """A flag's default, wrapped so that a flag the user typed can be told from one left alone
    (``--resume`` refuses typed flags that contradict the checkpoint)."""

    def __init__(self, value: Any) -> None:
        self.value = value

    def __str__(self) -> str:
        return str(self.value)


def _unwrap_defaults(args: argparse.Namespace) -> set[str]:
    """Replace wrapped defaults by their values; return the names of the flags that were typed."""
    typed = set()
    for name, value in vars(args).items():
        if isinstance(value, _Default):
            setattr(args, name, value.value)
        else:
            typed.add(name)
    return typed


# --- argument types: each names its flag through argparse ("argument --seed: ...") ----------


def _int_in(low: int, high: int | None = None, what: str = "an integer") -> Callable[[str], int]:
    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected {what}, got {text!r}") from None
        if value < low or (high is not None and value > high):
            bound = f" from {low:,} to {high:,}" if high is not None else "" if low == 1 else f" >= {low:,}"
            raise argparse.ArgumentTypeError(f"must be {what}{bound}, got {text}")
        return value

    parse.__name__ = "int"
    return parse


def _float_in(
    low: float, high: float = math.inf, *, low_open: bool = False, high_open: bool = True
) -> Callable[[str], float]:
    def parse(text: str) -> float:
        try:
            value = float(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected a number, got {text!r}") from None
        too_low = value <= low if low_open else value < low
        too_high = value >= high if high_open else value > high
        if not math.isfinite(value) or too_low or too_high:
            left, right = "(" if low_open else "[", ")" if high_open else "]"
            raise argparse.ArgumentTypeError(f"must be a finite number in {left}{low:g}, {high:g}{right}, got {text}")
        return value

    parse.__name__ = "float"
    return parse


def _or_none(parse: Callable[[str], Any]) -> Callable[[str], Any]:
    """``parse``, or None for "none" (an optional setting left to its default behaviour)."""

    def parse_optional(text: str) -> Any:
        return None if text.strip().lower() == "none" else parse(text)

    parse_optional.__name__ = parse.__name__
    return parse_optional


POSITIVE = _int_in(1, what="a positive integer")
SEED = _int_in(0, MAX_SEED, "a seed")
POSITIVE_FLOAT = _float_in(0.0, low_open=True)
FINITE_FLOAT = _float_in(-math.inf)
UNIT = _float_in(0.0, 1.0, high_open=False)

# --- flags generated from the config dataclasses -------------------------------------------
# Every field of a model or training config is a flag: its name, default, type and help (the
# field's comment) come from the dataclass, choices from the registries. Only what a type
# annotation cannot say is written here: a tighter range for some fields, and old flag names.
ARG_TYPES = {
    "steps": _int_in(1, MAX_STEPS, "a number of steps"),
    "seed": SEED,
    "lr": POSITIVE_FLOAT,
    "clip": POSITIVE_FLOAT,
    "dropout": _float_in(0.0, 1.0),
    "min_lr_ratio": UNIT,
    "warmup_steps": _int_in(0, what="a number of steps"),
    "num_layers": _int_in(1, MAX_LAYERS, "a number of layers"),
    "hidden_size": _int_in(1, MAX_WIDTH, "a width"),
    "embedding_dim": _int_in(1, MAX_WIDTH, "a width"),
    "attention_dim": _int_in(1, MAX_WIDTH, "a width"),
    "max_output_len": _int_in(DATE_LENGTH, MAX_OUTPUT_LEN, "a number of characters"),
    "tf_start": UNIT,
    "tf_end": UNIT,
    "forget_bias": FINITE_FLOAT,
}
CHOICES = {"cell": list(CELLS), "attention": list(ATTENTION_KINDS)}
ALIASES = {"tf_end": ["--teacher-forcing-end"]}
# (model config, fields it takes from elsewhere), training config, per model kind
CONFIGS = {
    "charlm": ((CharLMConfig, ("vocab_size",)), TrainConfig),
    "seq2seq": ((Seq2SeqConfig, ("source_chars",)), Seq2SeqTrainConfig),
}


def field_docs(cls: type) -> dict[str, str]:
    """Each field's comment in the source of dataclass ``cls`` (``name: type = default  # doc``):
    the one line that documents it, read here so that it is written once."""
    docs = {}
    for line in inspect.getsource(cls).splitlines():
        found = re.match(r"\s+(\w+)\s*:[^#]*#\s*(.+)$", line)
        if found:
            docs[found.group(1)] = found.group(2).strip()
    return docs


def config_fields(cls: type, exclude: tuple[str, ...] = ()) -> list[dataclasses.Field[Any]]:
    return [f for f in dataclasses.fields(cls) if f.name not in exclude]


def _config_flags(parser: argparse.ArgumentParser, cls: type, exclude: tuple[str, ...] = ()) -> None:
    hints, docs = typing.get_type_hints(cls), field_docs(cls)
    group = parser.add_argument_group(f"{cls.__name__} (see rnnlab.{cls.__module__.split('.', 1)[1]})")
    for f in config_fields(cls, exclude):
        kinds = [k for k in typing.get_args(hints[f.name]) if k is not type(None)] or [hints[f.name]]
        base = kinds[0]
        by_type: dict[Any, Callable[[str], Any]] = {int: POSITIVE, float: FINITE_FLOAT}
        parse = ARG_TYPES.get(f.name) or by_type.get(base, str)
        if type(None) in typing.get_args(hints[f.name]):
            parse = _or_none(parse)
        _option(
            group,
            _flag(f.name),
            f.default,
            *ALIASES.get(f.name, []),
            type=parse,
            choices=CHOICES.get(f.name),
            help=docs.get(f.name, ""),
        )


def _config_from_args(args: argparse.Namespace, cls: type[T], exclude: tuple[str, ...] = (), **given: Any) -> T:
    return cls(**given, **{f.name: getattr(args, f.name) for f in config_fields(cls, exclude)})


def _flag(name: str) -> str:
    return "--" + name.replace("_", "-")


def _device_argument(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--device", choices=DEVICES, default="auto", help="auto = CUDA if present, else Apple MPS, else CPU"
    )


def _option(parser: argparse._ActionsContainer, flag: str, default: Any, *aliases: str, **kwargs: Any) -> None:
    """A model or training flag whose default is wrapped, so --resume can tell typed flags apart."""
    help_text = kwargs.pop("help", "")
    parser.add_argument(
        flag, *aliases, default=_Default(default), help=f"{help_text} (default: %(default)s)".lstrip(), **kwargs
    )


def _training_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--out",
        help="where to write the checkpoint (.pt); defaults to --resume's path. An existing "
        "file is never replaced unless it is a checkpoint and --overwrite is given",
    )
    parser.add_argument("--overwrite", action="store_true", help="replace the checkpoint of another run at --out")
    parser.add_argument(
        "--checkpoint-every",
        type=_int_in(0, what="a number of steps"),
        default=0,
        metavar="N",
        help="also write the checkpoint every N steps, so an interrupted run can --resume (0: only at the end)",
    )
    parser.add_argument(
        "--resume",
        metavar="CHECKPOINT",
        help="continue the run saved in CHECKPOINT with its own model and training settings, "
        "bit-identical to an uninterrupted run; a model or training flag that contradicts "
        "them is refused",
    )
    parser.add_argument(
        "--extend",
        action="store_true",
        help="with --resume and --steps N: train the run on to N steps in all; the learning rate, "
        "having finished its cosine decay at the recorded step count, stays at its final value "
        "(lr x min_lr_ratio) for the added steps, and seq2seq's teacher forcing at its final ratio",
    )
    _device_argument(parser)
