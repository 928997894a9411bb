"""Checkpoints: one file with everything needed to use or continue a model.

Contents: format tag and version, the model kind and config, the training config, the
vocabulary, the weights, the optimiser state, the step, RNG states and the training history.
Writes are atomic (temporary file in the same folder, then ``os.replace``); loading uses
``torch.load(weights_only=True)``, so a checkpoint cannot run code when opened.
"""
from __future__ import annotations

import os
import pickle
import tempfile
import zipfile
from dataclasses import asdict
from pathlib import Path
from typing import Any

import torch

from rnnlab.data.text import Vocab
from rnnlab.device import rng_state
from rnnlab.models.charlm import CharLM, CharLMConfig
from rnnlab.models.seq2seq import Seq2Seq, Seq2SeqConfig

FORMAT = "rnnlab-checkpoint"
VERSION = 1


class CheckpointError(RuntimeError):
    """A checkpoint is missing, unreadable, or of the wrong kind; the message says which."""


def atomic_write_bytes(path: str | os.PathLike, write) -> Path:
    """Call ``write(file_object)`` on a temporary file beside ``path`` and move it into place."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as handle:
            write(handle)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path


def save(
    path: str | os.PathLike,
    model: CharLM | Seq2Seq,
    vocab: Vocab | None = None,
    *,
    optimizer: torch.optim.Optimizer | dict | None = None,
    step: int = 0,
    train_config: dict[str, Any] | None = None,
    history: dict[str, Any] | None = None,
    loop: dict[str, Any] | None = None,
    data: dict[str, Any] | None = None,
) -> Path:
    """Write a checkpoint of a CharLM (give its ``vocab``) or a Seq2Seq (which carries its own).

    ``loop`` is the training loop's own position (the carried hidden state, the batch order)
    and ``data`` identifies the training data (a checksum), both for ``--resume``. The RNG
    states of torch, numpy and Python are read now, so save at a step boundary."""
    if isinstance(model, CharLM):
        if vocab is None:
            raise ValueError("saving a CharLM needs its vocabulary")
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
        "loop": loop or {},
        "data": data or {},
    }
    return atomic_write_bytes(path, lambda handle: torch.save(payload, handle))


def read_checkpoint(path: str | os.PathLike, map_location: str | torch.device = "cpu") -> dict[str, Any]:
    path = Path(path)
    if not path.is_file():
        raise CheckpointError(f"checkpoint {path} does not exist; check the path (train one with `rnnlab train`).")
    try:
        payload = torch.load(path, map_location=map_location, weights_only=True)
    except (pickle.UnpicklingError, RuntimeError, EOFError, zipfile.BadZipFile, ValueError, OSError) as exc:
        raise CheckpointError(
            f"checkpoint {path} could not be read ({type(exc).__name__}); it is truncated, "
            "corrupted or not an rnnlab checkpoint. Retrain or restore it from a copy."
        ) from None
    if not isinstance(payload, dict) or payload.get("format") != FORMAT:
        raise CheckpointError(f"{path} is not an rnnlab checkpoint (no '{FORMAT}' tag).")
    if payload.get("version") != VERSION:
        raise CheckpointError(
            f"{path} has checkpoint format version {payload.get('version')}; this rnnlab reads version {VERSION}."
        )
    return payload


def load(path: str | os.PathLike, map_location: str | torch.device = "cpu", expect: str | None = None):
    """Return a ready model (eval mode). A CharLM gets its vocabulary as ``model.vocab``;
    a Seq2Seq is ready to ``translate``. ``expect`` ("charlm" or "seq2seq") refuses the other kind."""
    payload = read_checkpoint(path, map_location)
    kind = payload.get("kind")
    if expect is not None and kind != expect:
        raise CheckpointError(f"{path} holds a {kind} model, but this command needs a {expect} checkpoint.")
    if kind == "charlm":
        model = CharLM.from_config(CharLMConfig(**payload["config"]))
    elif kind == "seq2seq":
        model = Seq2Seq(Seq2SeqConfig(**payload["config"]))
    else:
        raise CheckpointError(f"{path} holds an unknown model kind {kind!r}.")
    model.load_state_dict(payload["model"])
    model.vocab = Vocab(tuple(payload["vocab"]))
    model.checkpoint_step = payload.get("step", 0)
    model.eval()
    return model
