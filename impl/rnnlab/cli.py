"""Command line: ``rnnlab train | sample | eval | translate``.

Every expected failure (bad path, bad checkpoint, bad argument) ends with one line,
``rnnlab: error: ...``, and exit status 2 — never a traceback.
"""
from __future__ import annotations

import argparse
import json
import sys
from dataclasses import asdict
from pathlib import Path

import torch

from rnnlab.checkpoint import CheckpointError, load, save
from rnnlab.fast import set_fast
from rnnlab.data.text import CorpusError, Vocab, load_tiny_shakespeare, read_text, split_text
from rnnlab.metrics import evaluate_lm, perplexity
from rnnlab.models import CharLM
from rnnlab.sampling import sample
from rnnlab.training import TrainConfig, seed_everything, train_lm


def _corpus(path: str | None) -> str:
    return read_text(path) if path else load_tiny_shakespeare()


def cmd_train_charlm(args: argparse.Namespace) -> int:
    text = _corpus(args.corpus)
    train_text, val_text = split_text(text)
    vocab = Vocab.from_text(text)
    cfg = TrainConfig(
        steps=args.steps, batch_size=args.batch_size, seq_len=args.seq_len, lr=args.lr,
        clip=args.clip, eval_points=args.eval_points, seed=args.seed,
    )
    seed_everything(args.seed)
    model = set_fast(CharLM(len(vocab), args.cell, args.hidden_size, args.num_layers, args.embedding_dim, args.dropout))
    history, optimizer = train_lm(model, vocab.encode(train_text), vocab.encode(val_text), cfg, desc=args.cell)
    save(args.out, model, vocab, optimizer=optimizer, step=cfg.steps,
                train_config=asdict(cfg), history=asdict(history))
    val = history.val_loss[-1]
    print(f"saved {args.out}: {model.num_parameters():,} parameters, {cfg.steps} steps in "
          f"{history.train_seconds:.1f} s, validation loss {val:.4f}, perplexity {perplexity(val):.3f}")
    return 0


def cmd_train_seq2seq(args: argparse.Namespace) -> int:
    from rnnlab.data.dates import INPUT_ALPHABET, make_examples, split_dates
    from rnnlab.models.seq2seq import Seq2Seq, Seq2SeqConfig
    from rnnlab.training.seq2seq import Seq2SeqTrainConfig, train_seq2seq

    splits = split_dates(args.seed)
    train = make_examples(splits["train"], args.train_examples, seed=args.seed + 1)
    val = make_examples(splits["validation"], args.val_examples, seed=args.seed + 2)
    cfg = Seq2SeqTrainConfig(steps=args.steps, batch_size=args.batch_size, lr=args.lr, clip=args.clip,
                             tf_end=args.teacher_forcing_end, seed=args.seed)
    seed_everything(args.seed)
    model = set_fast(Seq2Seq(Seq2SeqConfig(INPUT_ALPHABET, attention=args.attention, hidden_size=args.hidden_size,
                                           embedding_dim=args.embedding_dim)))
    history, optimizer = train_seq2seq(model, train, val, cfg, desc=args.attention)
    save(args.out, model, optimizer=optimizer, step=cfg.steps, train_config=asdict(cfg), history=asdict(history))
    acc = history.val_accuracy[-1]
    print(f"saved {args.out}: {model.num_parameters():,} parameters, {cfg.steps} steps in "
          f"{history.train_seconds:.1f} s, validation exact match " +
          ", ".join(f"{k} {100 * v:.1f}%" for k, v in acc.items()))
    return 0


def cmd_translate(args: argparse.Namespace) -> int:
    model = load(args.checkpoint, expect="seq2seq")
    for line in model.translate(args.text):
        print(line)
    return 0


def cmd_sample(args: argparse.Namespace) -> int:
    model = load(args.checkpoint, expect="charlm")
    text = sample(model, model.vocab, args.length, args.temperature, args.prime, args.seed)
    sys.stdout.write(args.prime + text + "\n")
    return 0


def cmd_eval(args: argparse.Namespace) -> int:
    model = load(args.checkpoint, expect="charlm")
    _, val_text = split_text(_corpus(args.corpus))
    missing = model.vocab.unknown(val_text)
    if missing:
        raise CorpusError(
            f"the corpus has {len(missing)} character(s) the checkpoint never saw "
            f"({', '.join(map(repr, missing[:10]))}); evaluate on text in the model's vocabulary."
        )
    loss = evaluate_lm(model, model.vocab.encode(val_text))
    print(json.dumps({"val_loss": round(loss, 6), "perplexity": round(perplexity(loss), 6)}))
    return 0


def cmd_exercise_init(args: argparse.Namespace) -> int:
    from rnnlab import exercise

    target = exercise.init(args.dir)
    print(f"wrote {target}: {len(exercise.EXERCISES)} exercises stubbed, in this order:")
    for e in exercise.EXERCISES:
        print(f"  {e.number:<9} {e.title:<45} -m {e.marker}")
    print(f"check one: tox -e spec -- --impl {args.dir} -m {exercise.EXERCISES[0].marker}")
    print(f"progress:  rnnlab exercise status {args.dir}")
    return 0


def cmd_exercise_status(args: argparse.Namespace) -> int:
    from rnnlab import exercise

    rows = exercise.status(args.dir, args.specs)
    print(exercise.format_status(rows))
    done = sum(r["passed"] == r["total"] and r["total"] > 0 for r in rows)
    print(f"\n{done}/{len(rows)} exercises done")
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="rnnlab", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)

    train = sub.add_parser("train", help="train a model and save a checkpoint")
    train_sub = train.add_subparsers(dest="model", required=True)
    lm = train_sub.add_parser("charlm", help="character language model on Tiny Shakespeare (or --corpus)")
    lm.add_argument("--cell", choices=["rnn", "lstm", "gru"], default="rnn")
    lm.add_argument("--hidden-size", type=int, default=256)
    lm.add_argument("--num-layers", type=int, default=1)
    lm.add_argument("--embedding-dim", type=int, default=64)
    lm.add_argument("--dropout", type=float, default=0.0)
    lm.add_argument("--steps", type=int, default=1000)
    lm.add_argument("--batch-size", type=int, default=64)
    lm.add_argument("--seq-len", type=int, default=64)
    lm.add_argument("--lr", type=float, default=3e-3)
    lm.add_argument("--clip", type=float, default=1.0)
    lm.add_argument("--eval-points", type=int, default=10)
    lm.add_argument("--seed", type=int, default=0)
    lm.add_argument("--corpus", help="a UTF-8 text file instead of Tiny Shakespeare")
    lm.add_argument("--out", required=True, help="where to write the checkpoint (.pt)")
    lm.set_defaults(func=cmd_train_charlm)

    s2s = train_sub.add_parser("seq2seq", help="date normalisation encoder-decoder (Lab 03)")
    s2s.add_argument("--attention", choices=["none", "bahdanau", "luong"], default="bahdanau")
    s2s.add_argument("--hidden-size", type=int, default=128)
    s2s.add_argument("--embedding-dim", type=int, default=48)
    s2s.add_argument("--steps", type=int, default=300)
    s2s.add_argument("--batch-size", type=int, default=64)
    s2s.add_argument("--lr", type=float, default=2e-3)
    s2s.add_argument("--clip", type=float, default=1.0)
    s2s.add_argument("--teacher-forcing-end", type=float, default=0.5,
                     help="scheduled sampling: the teacher-forcing ratio decays from 1 to this")
    s2s.add_argument("--train-examples", type=int, default=20000)
    s2s.add_argument("--val-examples", type=int, default=500)
    s2s.add_argument("--seed", type=int, default=0)
    s2s.add_argument("--out", required=True, help="where to write the checkpoint (.pt)")
    s2s.set_defaults(func=cmd_train_seq2seq)

    tr = sub.add_parser("translate", help="normalise dates with a seq2seq checkpoint: prints YYYY-MM-DD per input")
    tr.add_argument("checkpoint")
    tr.add_argument("text", nargs="+", help='one or more date strings, e.g. "March 14, 2024"')
    tr.set_defaults(func=cmd_translate)

    smp = sub.add_parser("sample", help="generate text from a character LM checkpoint")
    smp.add_argument("checkpoint")
    smp.add_argument("--temperature", type=float, default=0.8, help="0 = greedy; higher = more diverse")
    smp.add_argument("--length", type=int, default=500)
    smp.add_argument("--seed", type=int, default=0)
    smp.add_argument("--prime", default="\n", help="text to start from (default: a newline)")
    smp.set_defaults(func=cmd_sample)

    ev = sub.add_parser("eval", help="validation loss and perplexity of a character LM checkpoint")
    ev.add_argument("checkpoint")
    ev.add_argument("--corpus", help="a UTF-8 text file instead of Tiny Shakespeare (its last 10%% is used)")
    ev.set_defaults(func=cmd_eval)
    ex = sub.add_parser("exercise", help="learner exercises: stubbed copies of the package, and progress")
    ex_sub = ex.add_subparsers(dest="action", required=True)
    ex_init = ex_sub.add_parser("init", help="write DIR/rnnlab with every exercise region stubbed")
    ex_init.add_argument("dir")
    ex_init.set_defaults(func=cmd_exercise_init)
    ex_status = ex_sub.add_parser("status", help="run the specs against DIR and print progress per exercise")
    ex_status.add_argument("dir")
    ex_status.add_argument("--specs", default="spec", help="the spec folder of an rnnlab checkout (default: ./spec)")
    ex_status.set_defaults(func=cmd_exercise_status)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return args.func(args)
    except (CorpusError, CheckpointError, ValueError, FloatingPointError, OSError, RuntimeError) as exc:
        print(f"rnnlab: error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
