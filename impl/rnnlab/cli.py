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
import contextlib
import dataclasses
import inspect
import json
import math
import os
import re
import signal
import sys
import typing
from collections.abc import Callable, Iterator
from dataclasses import asdict
from pathlib import Path
from typing import Any, TypeVar

import torch

from rnnlab.cells import CELLS
from rnnlab.checkpoint import CheckpointError, Resumable, load, read_checkpoint, resume, save
from rnnlab.checks import MAX_LAYERS, MAX_PARAMETERS, MAX_WIDTH, count_parameters
from rnnlab.data.text import CorpusError, Vocab, load_tiny_shakespeare, read_text, sha256_of, split_text
from rnnlab.device import DEVICES, resolve_device
from rnnlab.exercise_cli import add_exercise_parsers
from rnnlab.fast import set_fast
from rnnlab.files import STOP_SIGNALS, FileGuardError, os_reason, signals_deferred, writer_lock
from rnnlab.metrics import evaluate_lm, perplexity
from rnnlab.models import CharLM
from rnnlab.models.charlm import CharLMConfig
from rnnlab.models.seq2seq import ATTENTION_KINDS, DATE_LENGTH, MAX_OUTPUT_LEN, Seq2Seq, Seq2SeqConfig
from rnnlab.sampling import iter_sample
from rnnlab.training import TrainConfig, seed_everything, train_lm
from rnnlab.training.seq2seq import Seq2SeqTrainConfig
from rnnlab.usage import Parser as _Parser
from rnnlab.usage import UsageError

MAX_SEED = 2**32 - 1  # numpy's generator takes seeds up to this
MAX_TRAIN_EXAMPLES = 1_000_000  # about 11 s to generate on one core; the date space has 73,049 days
MAX_VAL_EXAMPLES = 100_000
MAX_STEPS = 100_000_000  # weeks of training at the labs' sizes; more is a typo, not a plan


T = TypeVar("T")
TrainT = TypeVar("TrainT", TrainConfig, Seq2SeqTrainConfig)


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


# --- corpora, runs and their output ---------------------------------------------------------


def _corpus(path: str | None) -> str:
    return read_text(path) if path else load_tiny_shakespeare()


def _corpus_flag(args: argparse.Namespace) -> str:
    return f" --corpus {args.corpus}" if getattr(args, "corpus", None) else ""


class _Checkpointer:
    """Writes the periodic checkpoints of a run (atomically, to one path) and remembers the
    last one, so a diverged or interrupted run can say where its last good state is."""

    def __init__(
        self,
        path: Path,
        model: CharLM | Seq2Seq,
        vocab: Vocab | None,
        train_config: dict[str, Any],
        data: dict[str, Any],
        resume_cmd: str,
    ) -> None:
        self.path, self.model, self.vocab, self.train_config, self.data = path, model, vocab, train_config, data
        self.resume_cmd = resume_cmd
        self.last_step: int | None = None
        self.expected = _identity(path)  # what may be replaced: what was there when the run claimed it

    def __call__(self, snapshot: dict[str, Any]) -> None:
        with signals_deferred():  # the file and last_step change together, or not at all
            now = _identity(self.path)
            if now is not None and now != self.expected:  # a file this run did not write; gone is fine
                self._keep_beside(snapshot)
            self._write(snapshot)
            self.expected = _identity(self.path)

    def _keep_beside(self, snapshot: dict[str, Any]) -> None:
        """Another program wrote ``--out`` during the run: leave its file alone, write this
        checkpoint to a new path beside it, and stop."""
        taken = self.path
        self.path = _free_path(taken.with_name(f"{taken.stem}.recovered{taken.suffix}"))
        self._write(snapshot)
        raise FileGuardError(
            f"{taken} changed on disk during the run (another program wrote it); it was left as it is. "
            f"This run's checkpoint (step {self.last_step:,}) was written to {self.path} instead; "
            f"continue with `{self.resume_cmd} --resume {self.path}`"
        )

    def _write(self, snapshot: dict[str, Any]) -> None:
        save(
            self.path,
            self.model,
            self.vocab,
            optimizer=snapshot["optimizer"],
            step=snapshot["step"],
            train_config=self.train_config,
            history=snapshot["history"],
            loop=snapshot["loop"],
            data=self.data,
        )
        self.last_step = snapshot["step"]

    def where(self) -> str:
        if self.last_step is None:
            return "no checkpoint of this run was written (pass --checkpoint-every N to keep one)"
        return (
            f"the last checkpoint is {self.path} (step {self.last_step:,}); continue with "
            f"`{self.resume_cmd} --resume {self.path}`"
        )

    def diverged(self, exc: FloatingPointError) -> FloatingPointError:
        if self.last_step is None:
            return FloatingPointError(
                f"{exc} Stopped; no checkpoint was written before it (use --checkpoint-every N to keep one)."
            )
        return FloatingPointError(
            f"{exc} Stopped; the last good checkpoint (step {self.last_step:,}) is "
            f"{self.path}; resume from it with a lower --lr."
        )


def _identity(path: Path) -> tuple[int, ...] | None:
    """What tells one file at ``path`` from another written there later (None: no file)."""
    try:
        st = path.stat()
    except FileNotFoundError:
        return None
    return (st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns)


def _free_path(path: Path) -> Path:
    """``path``, or ``NAME.2.pt``, ``NAME.3.pt``, ... : the first that does not exist."""
    candidate, n = path, 1
    while candidate.exists():
        n += 1
        candidate = path.with_name(f"{path.stem}.{n}{path.suffix}")
    return candidate


def _resume_command(kind: str, args: argparse.Namespace) -> str:
    """The command that continues this run as it was going (its corpus, its checkpoint interval)."""
    every = f" --checkpoint-every {args.checkpoint_every}" if args.checkpoint_every else ""
    return f"rnnlab train {kind}{_corpus_flag(args)}{every}"


def _refuse_too_large(model_cls: type[CharLM] | type[Seq2Seq], config: Any) -> None:
    """Count the model's parameters on a skeleton without storage (torch's meta device), and
    refuse one larger than rnnlab trains before its memory is spent."""
    count = count_parameters(model_cls, config)
    if count > MAX_PARAMETERS:
        sizes = ", ".join(
            f"{_flag(k)} {getattr(config, k):,}" for k in ("hidden_size", "num_layers") if hasattr(config, k)
        )
        raise UsageError(
            f"{sizes} gives {count:,} parameters; rnnlab builds at most {MAX_PARAMETERS:,} (16 GB with "
            "their gradients and Adam's state): choose a smaller --hidden-size or fewer layers"
        )


def _finite(model: CharLM | Seq2Seq, path: str) -> None:
    """Refuse a checkpoint whose weights hold NaN or inf: nothing it computes would mean anything."""
    bad = [name for name, p in model.named_parameters() if not torch.isfinite(p).all()]
    if bad:
        raise CheckpointError(
            f"{path} holds weights that are not finite (NaN or inf) in {', '.join(bad[:3])}; it cannot "
            "evaluate or generate anything. Use a checkpoint of a run that did not diverge."
        )


def _claim_output(args: argparse.Namespace) -> Path:
    """Check, before any work, that the run may write its checkpoint where it was told to.

    ``--out`` defaults to ``--resume``'s path (the run continues in place). Any other existing
    file is refused unless it is an rnnlab checkpoint and ``--overwrite`` is given; a folder,
    a path under a file, or a folder that cannot be written is refused now, not after training."""
    target = args.out or args.resume
    if not target:
        raise UsageError("say where to write the checkpoint: --out PATH (or --resume PATH to continue a run)")
    out = Path(target)
    if out.is_dir():
        raise UsageError(f"--out {out} is a folder; give a file path such as {out / 'model.pt'}")
    for parent in out.parents:
        if parent.exists():
            if not parent.is_dir():
                raise UsageError(f"--out {out}: {parent} is a file, not a folder; choose another path")
            break
    continuing = args.resume and out.resolve() == Path(args.resume).resolve()
    if out.exists() and not continuing:
        if not out.is_file():
            raise UsageError(f"--out {out} is not a regular file (a FIFO, socket or device); choose another path")
        try:
            held = read_checkpoint(out)
        except CheckpointError:
            raise UsageError(
                f"--out {out} exists and is not an rnnlab checkpoint; refusing to write over it. "
                "Choose another path (or move that file away)"
            ) from None
        if not args.overwrite:
            raise UsageError(
                f"--out {out} holds the checkpoint of another run ({held['kind']}, step "
                f"{held.get('step', 0):,}); pass --overwrite to replace it, or --resume {out} "
                "to continue it"
            )
    return out


@contextlib.contextmanager
def _output_lock(out: Path) -> Iterator[Path]:
    """Create ``out``'s folder (only now, once every check has passed) and lock ``out``. A run
    that ends without writing ``out`` (refused, diverged or interrupted before its first
    checkpoint) removes the folders it created."""
    created = [folder for folder in out.parents if not folder.exists()]  # deepest first
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise UsageError(f"--out {out}: cannot create the folder {out.parent} ({os_reason(exc)})") from None
    try:
        with writer_lock(out) as lock:
            yield lock
    finally:
        if not out.exists():
            for folder in created:
                with contextlib.suppress(OSError):  # not empty: something else was put there
                    folder.rmdir()


def recorded_flags(kind: str) -> dict[str, tuple[str, str]]:
    """Each model and training flag of ``kind`` -> where a checkpoint records it (section, key)."""
    (model_cls, exclude), train_cls = CONFIGS[kind]
    where = {f.name: ("config", f.name) for f in config_fields(model_cls, exclude)}
    where.update({f.name: ("train_config", f.name) for f in config_fields(train_cls)})
    if kind == "seq2seq":
        where.update(train_examples=("data", "train_examples"), val_examples=("data", "val_examples"))
    return where


SCHEDULE_LENGTH = {"charlm": "decay_steps", "seq2seq": "tf_steps"}  # the field that fixes a schedule's length
RESUME_DATA = {"charlm": ("sha256",), "seq2seq": ("seed", "train_examples", "val_examples")}


def _flag(name: str) -> str:
    return "--" + name.replace("_", "-")


def _resume_run(args: argparse.Namespace, kind: str) -> Resumable:
    """Read ``--resume``'s checkpoint (``rnnlab.checkpoint.resume`` checks every part of it) and
    refuse a flag that contradicts it. Needs no corpus, so a wrong flag is refused before any is
    read or downloaded; ``_resume_plan`` then checks the corpus and the steps."""
    run = resume(args.resume, kind)
    data = run.data
    if any(key not in data for key in RESUME_DATA[kind]):
        raise CheckpointError(
            f"--resume {args.resume}: this checkpoint does not record the data it was trained on "
            "(the acceptance harness writes such checkpoints to use, not to continue); it can be "
            "loaded, but not resumed. Start a new run instead."
        )
    sections = {"config": dataclasses.asdict(run.model.config), "train_config": run.train_config, "data": data}
    for name, (section, key) in recorded_flags(kind).items():
        if name in args.typed and name != "steps":
            recorded = sections[section].get(key)
            if getattr(args, name) != recorded:
                raise UsageError(
                    f"{_flag(name)} {getattr(args, name)} contradicts the checkpoint being resumed, "
                    f"which has {key} = {recorded}; drop the flag to continue the run as it was, or "
                    "start a new run with --out"
                )
    return run


def _resume_plan(
    args: argparse.Namespace, run: Resumable, kind: str, config_cls: type[TrainT], digest: str | None = None
) -> TrainT:
    """Decide what continuing ``run`` means: refuse other data (``digest``: the corpus's sha256),
    and let ``--steps N --extend`` lengthen it. Returns the training config to continue with."""
    if digest is not None and run.data["sha256"] != digest:
        raise CorpusError(
            f"--resume {args.resume}: this corpus (sha256 {digest[:12]}...) is not the one the run "
            "started on; pass the same --corpus to continue it."
        )
    try:
        cfg = config_cls(**run.train_config)
    except (TypeError, ValueError) as exc:
        raise CheckpointError(f"--resume {args.resume}: its training settings are invalid ({exc}).") from None
    step = run.snapshot["step"]
    if args.extend:
        if "steps" not in args.typed or args.steps <= step:
            raise UsageError(f"--extend needs --steps N beyond the {step:,} steps this run has done")
        horizon = SCHEDULE_LENGTH[kind]  # the schedule keeps its recorded length; added steps run at its end
        cfg = dataclasses.replace(cfg, steps=args.steps, **{horizon: getattr(cfg, horizon) or cfg.steps})
    elif "steps" in args.typed and args.steps != cfg.steps:
        raise UsageError(
            f"--steps {args.steps} contradicts the checkpoint being resumed, which has steps = "
            f"{cfg.steps}; to train it for longer, add --extend"
        )
    if step >= cfg.steps:
        raise UsageError(
            f"--resume {args.resume}: this run already finished its {cfg.steps:,} steps; to train it "
            "further, pass --steps N --extend (and --out NEW.pt to keep this checkpoint as it is)"
        )
    return cfg


def _check_new_run(args: argparse.Namespace) -> None:
    if args.extend:
        raise UsageError("--extend lengthens a run being resumed; use it with --resume CHECKPOINT --steps N")
    if "eval_points" in args.typed and args.eval_points > args.steps:  # a default above --steps is capped
        raise UsageError(
            f"--eval-points {args.eval_points:,} is more than --steps {args.steps:,}; an evaluation "
            "follows a training step, so there can be at most one per step"
        )
    if "warmup_steps" in args.typed and args.warmup_steps > args.steps:
        raise UsageError(
            f"--warmup-steps {args.warmup_steps:,} is more than --steps {args.steps:,}: the learning rate "
            f"would still be rising when training ends; use at most {args.steps:,}"
        )


@contextlib.contextmanager
def _training(checkpoint: _Checkpointer) -> Iterator[None]:
    """Turn the ways a run stops early into one line each: divergence and interruption."""
    try:
        yield
    except FloatingPointError as exc:
        raise checkpoint.diverged(exc) from None
    except KeyboardInterrupt as exc:
        done = getattr(exc, "rnnlab_steps_done", None)
        at = f" after step {done:,}" if done is not None else ""
        exc.rnnlab_message = f"training interrupted{at}; {checkpoint.where()}"  # type: ignore[attr-defined]
        raise


def _report_saved(out: Path, model: CharLM | Seq2Seq, cfg: Any, history: Any, device: Any, result: str) -> None:
    if not out.is_file():  # pragma: no cover - the loop always checkpoints after its last step
        raise CheckpointError(f"training ended but {out} was not written; this is a bug in rnnlab, please report it")
    print(
        f"saved {out}: {model.num_parameters():,} parameters, {cfg.steps:,} steps in "
        f"{history.train_seconds:.1f} s on {device}, {result}"
    )


def cmd_train_charlm(args: argparse.Namespace) -> int:
    device = resolve_device(args.device)
    out = _claim_output(args)
    resumed = _resume_run(args, "charlm") if args.resume else None
    text = _corpus(args.corpus)
    digest = sha256_of(text.encode("utf-8"))
    train_text, val_text = split_text(text)
    if resumed:
        run, cfg = resumed, _resume_plan(args, resumed, "charlm", TrainConfig, digest)
        assert isinstance(run.model, CharLM)  # resume() checked the kind
        model, vocab, resume = run.model, run.vocab, run.snapshot
    else:
        _check_new_run(args)
        resume = None
        vocab = Vocab.from_text(text)
        if len(vocab) < 2:
            raise CorpusError(
                f"the corpus has only one distinct character ({vocab.chars[0]!r}); a language model "
                "needs at least two to have anything to predict. Use real text."
            )
        cfg = _config_from_args(args, TrainConfig)
        config = _config_from_args(args, CharLMConfig, ("vocab_size",), vocab_size=len(vocab))
        _refuse_too_large(CharLM, config)
        seed_everything(args.seed)
        model = CharLM.from_config(config)
    with _output_lock(out):
        set_fast(model.to(device))
        checkpoint = _Checkpointer(out, model, vocab, asdict(cfg), {"sha256": digest}, _resume_command("charlm", args))
        with _training(checkpoint):
            history, _ = train_lm(
                model,
                vocab.encode(train_text),
                vocab.encode(val_text),
                cfg,
                desc=model.config.cell,
                resume=resume,
                checkpoint_every=args.checkpoint_every,
                on_checkpoint=checkpoint,
            )
    val = history.val_loss[-1]
    _report_saved(out, model, cfg, history, device, f"validation loss {val:.4f}, perplexity {perplexity(val):.3f}")
    return 0


def cmd_train_seq2seq(args: argparse.Namespace) -> int:
    from rnnlab.data.dates import INPUT_ALPHABET, make_examples, split_dates
    from rnnlab.models.seq2seq import Seq2Seq
    from rnnlab.training.seq2seq import train_seq2seq

    device = resolve_device(args.device)
    out = _claim_output(args)
    if args.resume:
        run = _resume_run(args, "seq2seq")
        cfg = _resume_plan(args, run, "seq2seq", Seq2SeqTrainConfig)
        assert isinstance(run.model, Seq2Seq)  # resume() checked the kind
        model, data, resume = run.model, run.data, run.snapshot
    else:
        _check_new_run(args)
        resume = None
        data = {"seed": args.seed, "train_examples": args.train_examples, "val_examples": args.val_examples}
        cfg = _config_from_args(args, Seq2SeqTrainConfig)
        config = _config_from_args(args, Seq2SeqConfig, ("source_chars",), source_chars=INPUT_ALPHABET)
        _refuse_too_large(Seq2Seq, config)
        seed_everything(args.seed)
        model = Seq2Seq.from_config(config)
    with _output_lock(out):
        splits = split_dates(data["seed"])
        train = make_examples(splits["train"], data["train_examples"], seed=data["seed"] + 1, progress=None)
        val = make_examples(splits["validation"], data["val_examples"], seed=data["seed"] + 2, progress=None)
        set_fast(model.to(device))
        checkpoint = _Checkpointer(out, model, None, asdict(cfg), data, _resume_command("seq2seq", args))
        with _training(checkpoint):
            history, _ = train_seq2seq(
                model,
                train,
                val,
                cfg,
                desc=model.config.attention,
                resume=resume,
                checkpoint_every=args.checkpoint_every,
                on_checkpoint=checkpoint,
            )
    acc = history.val_accuracy[-1]
    _report_saved(
        out,
        model,
        cfg,
        history,
        device,
        "validation exact match " + ", ".join(f"{k} {100 * v:.1f}%" for k, v in acc.items()),
    )
    return 0


def cmd_translate(args: argparse.Namespace) -> int:
    model = load(args.checkpoint, expect="seq2seq").to(resolve_device(args.device))
    _finite(model, args.checkpoint)
    for line in model.translate(args.text):
        print(line)
    return 0


def cmd_sample(args: argparse.Namespace) -> int:
    model = load(args.checkpoint, expect="charlm").to(resolve_device(args.device))
    _finite(model, args.checkpoint)
    vocab = model.vocab
    assert vocab is not None  # load() attaches it
    unknown = vocab.unknown(args.prime)
    if unknown:
        which = (
            "the default --prime is a newline, which"
            if "prime" not in args.typed
            else f"--prime {args.prime!r} holds {', '.join(map(repr, unknown[:5]))}, which"
        )
        raise UsageError(
            f"{which} this model's vocabulary lacks; pass --prime with characters it knows, "
            f"e.g. --prime {vocab.chars[-1]!r}"
        )
    characters = iter_sample(model, vocab, args.length, args.temperature, args.prime, args.seed)
    written = 0
    try:
        sys.stdout.write(args.prime)
        for ch in characters:  # streamed: a long sample shows as it is drawn
            sys.stdout.write(ch)
            written += 1
            if ch == "\n" or written % 256 == 0:
                sys.stdout.flush()
        sys.stdout.write("\n")
        sys.stdout.flush()
    except BrokenPipeError:  # the reader stopped (`| head`): a normal end for a stream
        # Python would report the pipe again when it flushes stdout on exit: point it at nothing
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
    except KeyboardInterrupt as exc:
        with contextlib.suppress(BrokenPipeError):
            sys.stdout.write("\n")
            sys.stdout.flush()
        exc.rnnlab_message = f"sampling interrupted after {written:,} of {args.length:,} characters"  # type: ignore[attr-defined]
        raise
    return 0


def cmd_eval(args: argparse.Namespace) -> int:
    model = load(args.checkpoint, expect="charlm").to(resolve_device(args.device))
    _finite(model, args.checkpoint)
    set_fast(model)
    vocab = model.vocab
    assert vocab is not None  # load() attaches it
    _, val_text = split_text(_corpus(args.corpus))
    rows = TrainConfig.eval_rows  # evaluated as training evaluated it
    if len(val_text) < 2 * rows:
        raise CorpusError(
            f"the corpus is too short to evaluate: its last 10% ({len(val_text):,} characters) must hold at "
            f"least {2 * rows} ({rows} streams of 2 characters); use a longer --corpus"
        )
    missing = vocab.unknown(val_text)
    if missing:
        raise CorpusError(
            f"the corpus has {len(missing)} character(s) the checkpoint never saw "
            f"({', '.join(map(repr, missing[:10]))}); evaluate on text in the model's vocabulary."
        )
    loss = evaluate_lm(model, vocab.encode(val_text), rows=rows)
    print(json.dumps({"val_loss": round(loss, 6), "perplexity": round(perplexity(loss), 6)}, allow_nan=False))
    return 0


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


def _describe(exc: BaseException) -> str:
    if isinstance(exc, OSError) and not isinstance(exc, FileGuardError) and exc.errno is not None:
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
        return args.func(args)
    except KeyboardInterrupt as exc:
        what = getattr(exc, "rnnlab_message", "interrupted")
        print(f"rnnlab: {what}", file=sys.stderr)
        return 128 + exc.signum if isinstance(exc, Terminated) else 130
    except (
        UsageError,
        CorpusError,
        CheckpointError,
        FileGuardError,
        ValueError,
        FloatingPointError,
        OSError,
        RuntimeError,
    ) as exc:
        print(f"rnnlab: error: {_one_line(_describe(exc))}", file=sys.stderr)
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


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
