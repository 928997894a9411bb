"""Checkpoints: one file with everything needed to use or continue a model.

Contents: format tag and version, the model kind and config, the training config, the
vocabulary, the weights, the optimiser state, the step, RNG states and the training history.
Writes are atomic (``rnnlab.files.atomic_write``); loading uses
``torch.load(weights_only=True)``, so a checkpoint cannot run code when opened. A checkpoint
that changed on disk is refused: every record of the file carries a CRC-32, checked on load,
so a flipped byte, a truncation or a foreign file never loads as a model.
"""

from __future__ import annotations

import dataclasses
import io
import os
import zipfile
from dataclasses import asdict
from pathlib import Path
from typing import Any, Literal, TypeVar, overload

import torch

from rnnlab.data.text import Vocab
from rnnlab.device import rng_state
from rnnlab.errors import ConfigError, RnnlabError
from rnnlab.files import FileGuardError, atomic_write
from rnnlab.models.charlm import CharLM, CharLMConfig
from rnnlab.models.seq2seq import Seq2Seq, Seq2SeqConfig

FORMAT = "rnnlab-checkpoint"
VERSION = 1
KINDS = ("charlm", "seq2seq")
REQUIRED_KEYS = ("kind", "config", "vocab", "model")


class CheckpointError(RnnlabError, RuntimeError):
    """A checkpoint is missing, unreadable, damaged, or of the wrong kind; the message says which."""


def save(
    path: str | os.PathLike[str],
    model: CharLM | Seq2Seq,
    vocab: Vocab | None = None,
    *,
    optimizer: torch.optim.Optimizer | dict[str, Any] | None = None,
    step: int = 0,
    train_config: dict[str, Any] | None = None,
    history: dict[str, Any] | None = None,
    loop: dict[str, Any] | None = None,
    data: dict[str, Any] | None = None,
) -> Path:
    """Write a checkpoint of a CharLM (give its ``vocab``) or a Seq2Seq (which carries its own).

    ``loop`` is the training loop's own position (the carried hidden state, the batch order)
    and ``data`` identifies the training data (a checksum), both for ``--resume``. The RNG
    states of torch, numpy and Python are read now, so save at a step boundary. The file is
    serialised in memory and written atomically: a full disk is a ``CheckpointError`` and
    leaves the previous checkpoint at ``path`` intact."""
    if isinstance(model, CharLM):
        if vocab is None:
            raise ConfigError("saving a CharLM needs its vocabulary")
        kind, chars = "charlm", list(vocab.chars)
    elif isinstance(model, Seq2Seq):
        kind, chars = "seq2seq", list(model.source_vocab.chars)
    else:
        raise TypeError(f"cannot checkpoint a {type(model).__name__}")
    payload = {
        "format": FORMAT,
        "version": VERSION,
        "kind": kind,
        "config": asdict(model.config),
        "train_config": train_config or {},
        "vocab": chars,
        "model": model.state_dict(),
        "optimizer": optimizer.state_dict() if isinstance(optimizer, torch.optim.Optimizer) else optimizer,
        "step": step,
        "rng": rng_state(),
        "history": history or {},
        "loop": _plain(loop or {}),
        "data": data or {},
    }
    buffer = io.BytesIO()
    torch.save(payload, buffer)
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        return atomic_write(path, buffer.getvalue())
    except FileGuardError as exc:
        raise CheckpointError(str(exc)) from None


def _plain(value: Any) -> Any:
    """``value`` with every named tuple (an ``LSTMState`` in the carried state) made a plain
    tuple: ``torch.load(weights_only=True)`` refuses classes it does not know, and a plain
    ``(h, c)`` works wherever an ``LSTMState`` is read."""
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        parts = [_plain(v) for v in value]
        return parts if isinstance(value, list) else tuple(parts)
    return value


def _damage(data: bytes) -> str | None:
    """What is wrong with the zip archive ``data`` (torch's file format), or None if every
    record is present and matches its CRC-32."""
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            bad = archive.testzip()
    except zipfile.BadZipFile:
        return "not a complete zip archive"
    except Exception as exc:  # a damaged header can break zipfile in many ways
        return f"its archive structure is broken: {type(exc).__name__}"
    return f"record {bad} fails its CRC check" if bad else None


def read_checkpoint(path: str | os.PathLike[str], map_location: str | torch.device = "cpu") -> dict[str, Any]:
    """The checkpoint's contents, checked: readable, undamaged, an rnnlab checkpoint of this
    format version holding a model. Every failure is one ``CheckpointError`` line."""
    path = Path(path)
    if path.is_dir():
        raise CheckpointError(f"checkpoint {path} is a folder, not a file; give the path of a .pt file.")
    if not path.exists():
        raise CheckpointError(f"checkpoint {path} does not exist; check the path (train one with `rnnlab train`).")
    if not path.is_file():
        raise CheckpointError(f"checkpoint {path} is not a regular file (a FIFO, socket or device); give a .pt file.")
    try:
        data = path.read_bytes()
    except PermissionError:
        raise CheckpointError(
            f"cannot read checkpoint {path}: permission denied. Check the file's permissions; its contents "
            "were not examined, so nothing says it is damaged."
        ) from None
    except OSError as exc:
        raise CheckpointError(f"cannot read checkpoint {path}: {exc.strerror or exc}.") from None
    damage = _damage(data)
    if damage is None:
        try:
            payload = torch.load(io.BytesIO(data), map_location=map_location, weights_only=True)
        except Exception as exc:  # the unpickler refuses in many ways; each means a file we will not use
            damage = f"it could not be unpickled: {type(exc).__name__}"
    if damage is not None:
        raise CheckpointError(
            f"checkpoint {path} is damaged ({damage}): it is truncated, corrupted or not an rnnlab checkpoint. "
            "Restore it from a copy or retrain."
        )
    if not isinstance(payload, dict) or payload.get("format") != FORMAT:
        raise CheckpointError(f"{path} is not an rnnlab checkpoint (no '{FORMAT}' tag).")
    if payload.get("version") != VERSION:
        raise CheckpointError(
            f"{path} has checkpoint format version {payload.get('version')}; this rnnlab reads version {VERSION}."
        )
    missing = [key for key in REQUIRED_KEYS if key not in payload]
    if missing:
        raise CheckpointError(
            f"{path} lacks {', '.join(map(repr, missing))}; it was edited by hand or written by "
            "another program. Restore it from a copy or retrain."
        )
    if payload["kind"] not in KINDS:
        raise CheckpointError(
            f"{path} holds an unknown model kind {payload['kind']!r}; this rnnlab knows {', '.join(KINDS)}."
        )
    return payload


ConfigT = TypeVar("ConfigT", CharLMConfig, Seq2SeqConfig)


def _config(cls: type[ConfigT], values: Any, path: Path) -> ConfigT:
    if not isinstance(values, dict):
        raise CheckpointError(f"{path}: its 'config' is a {type(values).__name__}, not a table of settings.")
    known = {f.name for f in dataclasses.fields(cls)}
    unknown = sorted(set(values) - known)
    if unknown:
        raise CheckpointError(
            f"{path}: its model config has settings this rnnlab does not know ({', '.join(unknown)}); "
            "it was written by another version of rnnlab or edited by hand."
        )
    try:
        return cls(**values)
    except TypeError:
        needed = sorted(
            f.name for f in dataclasses.fields(cls) if f.name not in values and f.default is dataclasses.MISSING
        )
        raise CheckpointError(
            f"{path}: its model config lacks {', '.join(needed)}; it was edited by hand or written by another program."
        ) from None
    except ValueError as exc:
        raise CheckpointError(f"{path}: its model config is invalid ({exc}).") from None


def _check_weights(model: torch.nn.Module, weights: Any, path: Path) -> None:
    """Refuse ``weights`` unless they are exactly the tensors ``model`` holds, shape for shape
    (``model`` may be a skeleton on torch's meta device: the check allocates nothing)."""
    if not isinstance(weights, dict):
        raise CheckpointError(f"{path}: its 'model' entry is a {type(weights).__name__}, not a table of weights.")
    expected = model.state_dict()
    missing = sorted(set(expected) - set(weights))
    unexpected = sorted(set(weights) - set(expected))
    wrong = [
        f"{k} is not a tensor"
        if not isinstance(weights[k], torch.Tensor)
        else f"{k} is {tuple(weights[k].shape)} in the file, {tuple(v.shape)} in the model"
        for k, v in expected.items()
        if k in weights and (not isinstance(weights[k], torch.Tensor) or weights[k].shape != v.shape)
    ]
    problems = (
        ([f"missing {', '.join(missing[:3])}"] if missing else [])
        + ([f"unexpected {', '.join(unexpected[:3])}"] if unexpected else [])
        + wrong[:2]
    )
    if problems:
        raise CheckpointError(f"{path}: its weights do not fit the model its config describes ({'; '.join(problems)}).")


def _vocab(payload: dict[str, Any], path: str | os.PathLike[str]) -> Vocab:
    try:
        return Vocab(tuple(payload["vocab"]))
    except (TypeError, ValueError) as exc:
        raise CheckpointError(f"{path}: its vocabulary is invalid ({exc}).") from None


def build_model(payload: dict[str, Any], path: str | os.PathLike[str]) -> CharLM | Seq2Seq:
    """The model a checkpoint's config describes, holding its weights (training mode)."""
    path = Path(path)

    def build() -> CharLM | Seq2Seq:
        if payload["kind"] == "charlm":
            return CharLM.from_config(_config(CharLMConfig, payload["config"], path))
        return Seq2Seq.from_config(_config(Seq2SeqConfig, payload["config"], path))

    # first a skeleton without storage: a hand-made config claiming a huge model is refused
    # by the shapes of the weights it carries, before that model's memory is spent
    with torch.device("meta"):
        _check_weights(build(), payload["model"], path)
    model = build()
    model.load_state_dict(payload["model"])
    return model


# What the training loop of each kind carries across a checkpoint (``Task.loop_state``).
LOOP_KEYS = {"charlm": ("carry",), "seq2seq": ("batches", "batch_rng", "generator")}
RNG_KEYS = ("torch", "python", "numpy")


@dataclasses.dataclass(frozen=True)
class Resumable:
    """A checkpoint's run, ready to continue: pass ``snapshot`` as ``resume=`` to ``train_lm``
    or ``train_seq2seq`` with ``train_config``'s settings, and it goes on bit-identically."""

    model: CharLM | Seq2Seq  # weights loaded, in training mode
    vocab: Vocab  # a CharLM's vocabulary; a Seq2Seq's source characters
    train_config: dict[str, Any]  # the training settings it was started with
    data: dict[str, Any]  # what identifies its data (the corpus's sha256, the date seed)
    snapshot: dict[str, Any]  # step, optimizer, history, loop, rng


def _history_fields(kind: str) -> set[str]:
    from rnnlab.training.lm import History
    from rnnlab.training.seq2seq import Seq2SeqHistory

    return {f.name for f in dataclasses.fields(History if kind == "charlm" else Seq2SeqHistory)}


def resume(path: str | os.PathLike[str], kind: str) -> Resumable:
    """Read a checkpoint to continue its training, checking every part a run needs: the model
    (as ``load`` does), the optimiser state, the step, the history, the loop position and the
    RNG states. Whatever is missing or malformed is one ``CheckpointError`` line."""
    payload = read_checkpoint(path)
    path = Path(path)
    if payload["kind"] != kind:
        raise CheckpointError(f"{path} holds a {payload['kind']} model; this needs a {kind} checkpoint.")
    if not payload.get("optimizer") or not payload.get("loop") or not payload.get("rng"):
        raise CheckpointError(
            f"{path} has no training state to continue from (it was saved without the optimiser, "
            "loop position or RNG states); start a new run instead."
        )
    optimizer, step = payload["optimizer"], payload["step"]
    if not isinstance(optimizer, dict) or not {"state", "param_groups"} <= set(optimizer):
        raise CheckpointError(
            f"{path}: its optimiser state is malformed (no 'state' and 'param_groups'); "
            "it was edited by hand or written by another program."
        )
    if not isinstance(step, int) or isinstance(step, bool) or step < 0:
        raise CheckpointError(f"{path}: its step is {step!r}, not a count of steps; it was edited by hand.")
    for name, value in (
        ("training settings", payload.get("train_config")),
        ("history", payload.get("history")),
        ("loop position", payload["loop"]),
        ("RNG states", payload["rng"]),
        ("data record", payload.get("data", {})),
    ):
        if not isinstance(value, dict):
            verb = "are" if name.endswith("s") else "is"
            raise CheckpointError(
                f"{path}: its {name} {verb} a {type(value).__name__}, not a table; "
                "it was edited by hand or written by another program."
            )
    unknown = sorted(set(payload["history"]) - _history_fields(kind))
    if unknown:
        raise CheckpointError(
            f"{path}: its history has fields this rnnlab does not know ({', '.join(unknown)}); "
            "it was written by another version of rnnlab or edited by hand."
        )
    for name, keys, table in (
        ("loop position", LOOP_KEYS[kind], payload["loop"]),
        ("RNG states", RNG_KEYS, payload["rng"]),
    ):
        missing = [key for key in keys if key not in table]
        if missing:
            verb = "lack" if name.endswith("s") else "lacks"
            raise CheckpointError(
                f"{path}: its {name} {verb} {', '.join(missing)}; it was edited by hand or "
                "written by another program. Start a new run instead."
            )
    model = build_model(payload, path)
    model.train()
    vocab = _vocab(payload, path)
    snapshot = {key: payload[key] for key in ("step", "optimizer", "history", "loop", "rng")}
    return Resumable(model, vocab, payload["train_config"], payload.get("data") or {}, snapshot)


@overload
def load(
    path: str | os.PathLike[str], map_location: str | torch.device = ..., *, expect: Literal["charlm"]
) -> CharLM: ...
@overload
def load(
    path: str | os.PathLike[str], map_location: str | torch.device = ..., *, expect: Literal["seq2seq"]
) -> Seq2Seq: ...
@overload
def load(
    path: str | os.PathLike[str], map_location: str | torch.device = ..., expect: str | None = ...
) -> CharLM | Seq2Seq: ...


def load(
    path: str | os.PathLike[str], map_location: str | torch.device = "cpu", expect: str | None = None
) -> CharLM | Seq2Seq:
    """Return a ready model (eval mode). A CharLM gets its vocabulary as ``model.vocab``;
    a Seq2Seq is ready to ``translate``. ``expect`` ("charlm" or "seq2seq") refuses the other kind."""
    payload = read_checkpoint(path, map_location)
    kind = payload["kind"]
    if expect is not None and kind != expect:
        raise CheckpointError(f"{path} holds a {kind} model, but this command needs a {expect} checkpoint.")
    model = build_model(payload, path)
    vocab = _vocab(payload, path)
    if isinstance(model, CharLM):
        model.vocab = vocab
    if isinstance(model, CharLM) and len(vocab) != model.config.vocab_size:
        raise CheckpointError(
            f"{path}: its vocabulary has {len(vocab)} characters but its model predicts "
            f"{model.config.vocab_size}; the file was edited or assembled by hand."
        )
    model.checkpoint_step = payload.get("step", 0)
    model.eval()
    return model
