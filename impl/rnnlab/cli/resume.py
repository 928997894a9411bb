"""Where a run writes and how it continues: ``--out`` claimed before any work, the periodic
checkpoints written atomically (and never over a file another program put there), ``--resume``
checked against what the checkpoint records, and the one line that says where a stopped run is."""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import torch

from rnnlab.checkpoint import CheckpointError, Resumable, read_checkpoint, resume, save
from rnnlab.checks import MAX_PARAMETERS, count_parameters
from rnnlab.cli.flags import CONFIGS, TrainT, _flag, config_fields
from rnnlab.data.text import CorpusError, Vocab
from rnnlab.errors import DivergedError
from rnnlab.files import FileGuardError, os_reason, signals_deferred, writer_lock
from rnnlab.models import CharLM
from rnnlab.models.seq2seq import Seq2Seq
from rnnlab.usage import UsageError, quote_path


def _corpus_flag(args: argparse.Namespace) -> str:
    return f" --corpus {quote_path(args.corpus)}" if getattr(args, "corpus", None) else ""


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
            f"continue with `{self.resume_cmd} --resume {quote_path(self.path)}`"
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
            f"`{self.resume_cmd} --resume {quote_path(self.path)}`"
        )

    def diverged(self, exc: FloatingPointError) -> DivergedError:
        if self.last_step is None:
            return DivergedError(
                f"{exc} Stopped; no checkpoint was written before it (use --checkpoint-every N to keep one)."
            )
        return DivergedError(
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
                f"{held.get('step', 0):,}); pass --overwrite to replace it, or --resume {quote_path(out)} "
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
