"""The commands: ``train charlm``, ``train seq2seq``, ``translate``, ``sample`` and ``eval``."""

from __future__ import annotations

import argparse
import contextlib
import json
import math
import sys
from dataclasses import asdict

from rnnlab.checkpoint import load
from rnnlab.cli.flags import _config_from_args
from rnnlab.cli.resume import (
    _check_new_run,
    _Checkpointer,
    _claim_output,
    _finite,
    _output_lock,
    _refuse_too_large,
    _report_saved,
    _resume_command,
    _resume_plan,
    _resume_run,
    _training,
)
from rnnlab.data.text import CorpusError, Vocab, load_tiny_shakespeare, read_text, sha256_of, split_text
from rnnlab.device import resolve_device
from rnnlab.errors import ModelOverflowError
from rnnlab.fast import set_fast
from rnnlab.metrics import evaluate_lm, perplexity
from rnnlab.models import CharLM
from rnnlab.models.charlm import CharLMConfig
from rnnlab.models.seq2seq import Seq2Seq, Seq2SeqConfig
from rnnlab.sampling import iter_sample
from rnnlab.training import TrainConfig, seed_everything, train_lm
from rnnlab.training.seq2seq import Seq2SeqTrainConfig
from rnnlab.usage import UsageError, point_stdout_at_nothing


def _corpus(path: str | None) -> str:
    return read_text(path) if path else load_tiny_shakespeare()


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
    for line in model.translate(args.text, beam=args.beam):
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
        point_stdout_at_nothing()
    except OSError as exc:  # a full disk, a quota: name where the sample was going
        if exc.filename is None:
            exc.filename = "standard output"
        point_stdout_at_nothing()  # what is still buffered would fail again at exit: drop it
        raise
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
    if not math.isfinite(loss):
        raise ModelOverflowError(
            f"{args.checkpoint}: its weights are finite, but what they compute overflows (validation loss {loss}); "
            "it cannot be evaluated. Use a checkpoint of a run that did not diverge."
        )
    print(json.dumps({"val_loss": round(loss, 6), "perplexity": round(perplexity(loss), 6)}, allow_nan=False))
    return 0
