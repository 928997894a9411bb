"""Command line: ``rnnlab train | sample | eval | translate``.

Every expected failure (bad path, bad checkpoint, bad argument) ends with one line,
``rnnlab: error: ...``, and exit status 2 — never a traceback.
"""
from __future__ import annotations

import argparse
import hashlib
import json
import sys
from dataclasses import asdict


from rnnlab.checkpoint import CheckpointError, load, read_checkpoint, save
from rnnlab.device import DEVICES, resolve_device
from rnnlab.fast import set_fast
from rnnlab.data.text import CorpusError, Vocab, load_tiny_shakespeare, read_text, split_text
from rnnlab.metrics import evaluate_lm, perplexity
from rnnlab.models import CharLM
from rnnlab.models.charlm import CharLMConfig
from rnnlab.sampling import sample
from rnnlab.training import TrainConfig, seed_everything, train_lm


def _corpus(path: str | None) -> str:
    return read_text(path) if path else load_tiny_shakespeare()


class _Checkpointer:
    """Writes the periodic checkpoints of a run (atomically, to one path) and remembers the
    last one, so a diverged run can say where its last good state is."""

    def __init__(self, path: str, model, vocab, train_config: dict, data: dict) -> None:
        self.path, self.model, self.vocab, self.train_config, self.data = path, model, vocab, train_config, data
        self.last_step: int | None = None

    def __call__(self, snapshot: dict) -> None:
        save(self.path, self.model, self.vocab, optimizer=snapshot["optimizer"], step=snapshot["step"],
             train_config=self.train_config, history=snapshot["history"], loop=snapshot["loop"], data=self.data)
        self.last_step = snapshot["step"]

    def diverged(self, exc: FloatingPointError) -> FloatingPointError:
        where = (f"the last good checkpoint (step {self.last_step}) is {self.path}; resume from it with a lower --lr"
                 if self.last_step is not None else
                 "no checkpoint was written before it (use --checkpoint-every N to keep one)")
        return FloatingPointError(f"{exc} Stopped; {where}.")


def _resume_payload(path: str, kind: str) -> tuple[dict, dict]:
    payload = read_checkpoint(path)
    if payload.get("kind") != kind:
        raise CheckpointError(f"--resume {path}: it holds a {payload.get('kind')} model; this command trains a {kind}.")
    if not payload.get("optimizer") or "rng" not in payload or not payload.get("loop"):
        raise CheckpointError(f"--resume {path}: this checkpoint has no training state to continue from "
                              "(it was saved without the optimiser and loop position); start a new run instead.")
    return payload, {k: payload[k] for k in ("step", "optimizer", "history", "loop", "rng")}


def _train_charlm_setup(args: argparse.Namespace):
    text = _corpus(args.corpus)
    digest = hashlib.sha256(text.encode("utf-8")).hexdigest()
    train_text, val_text = split_text(text)
    if args.resume:
        payload, resume = _resume_payload(args.resume, "charlm")
        if payload["data"].get("sha256") != digest:
            raise CorpusError(f"--resume {args.resume}: this corpus (sha256 {digest[:12]}...) is not the one the run "
                              "started on; pass the same --corpus to continue it.")
        vocab = Vocab(tuple(payload["vocab"]))
        cfg = TrainConfig(**payload["train_config"])
        model = CharLM.from_config(CharLMConfig(**payload["config"]))
        model.load_state_dict(payload["model"])
        return model, vocab, cfg, train_text, val_text, resume, digest
    vocab = Vocab.from_text(text)
    cfg = TrainConfig(
        steps=args.steps, batch_size=args.batch_size, seq_len=args.seq_len, lr=args.lr,
        clip=args.clip, eval_points=args.eval_points, seed=args.seed,
    )
    seed_everything(args.seed)
    model = CharLM(len(vocab), args.cell, args.hidden_size, args.num_layers, args.embedding_dim, args.dropout)
    return model, vocab, cfg, train_text, val_text, None, digest


def cmd_train_charlm(args: argparse.Namespace) -> int:
    device = resolve_device(args.device)
    out = _output_path(args)
    model, vocab, cfg, train_text, val_text, resume, digest = _train_charlm_setup(args)
    set_fast(model.to(device))
    checkpoint = _Checkpointer(out, model, vocab, asdict(cfg), {"sha256": digest})
    try:
        history, _ = train_lm(model, vocab.encode(train_text), vocab.encode(val_text), cfg, desc=model.config.cell,
                              resume=resume, checkpoint_every=args.checkpoint_every, on_checkpoint=checkpoint)
    except FloatingPointError as exc:
        raise checkpoint.diverged(exc) from None
    val = history.val_loss[-1]
    print(f"saved {out}: {model.num_parameters():,} parameters, {cfg.steps} steps in "
          f"{history.train_seconds:.1f} s on {device}, validation loss {val:.4f}, perplexity {perplexity(val):.3f}")
    return 0


def cmd_train_seq2seq(args: argparse.Namespace) -> int:
    from rnnlab.data.dates import INPUT_ALPHABET, make_examples, split_dates
    from rnnlab.models.seq2seq import Seq2Seq, Seq2SeqConfig
    from rnnlab.training.seq2seq import Seq2SeqTrainConfig, train_seq2seq

    device = resolve_device(args.device)
    out = _output_path(args)
    resume = None
    if args.resume:
        payload, resume = _resume_payload(args.resume, "seq2seq")
        data = payload["data"]
        cfg = Seq2SeqTrainConfig(**payload["train_config"])
        model = Seq2Seq(Seq2SeqConfig(**payload["config"]))
        model.load_state_dict(payload["model"])
    else:
        data = {"seed": args.seed, "train_examples": args.train_examples, "val_examples": args.val_examples}
        cfg = Seq2SeqTrainConfig(steps=args.steps, batch_size=args.batch_size, lr=args.lr, clip=args.clip,
                                 tf_end=args.teacher_forcing_end, seed=args.seed)
        seed_everything(args.seed)
        model = Seq2Seq(Seq2SeqConfig(INPUT_ALPHABET, attention=args.attention, hidden_size=args.hidden_size,
                                      embedding_dim=args.embedding_dim))
    splits = split_dates(data["seed"])
    train = make_examples(splits["train"], data["train_examples"], seed=data["seed"] + 1)
    val = make_examples(splits["validation"], data["val_examples"], seed=data["seed"] + 2)
    set_fast(model.to(device))
    checkpoint = _Checkpointer(out, model, None, asdict(cfg), data)
    try:
        history, _ = train_seq2seq(model, train, val, cfg, desc=model.config.attention, resume=resume,
                                   checkpoint_every=args.checkpoint_every, on_checkpoint=checkpoint)
    except FloatingPointError as exc:
        raise checkpoint.diverged(exc) from None
    acc = history.val_accuracy[-1]
    print(f"saved {out}: {model.num_parameters():,} parameters, {cfg.steps} steps in "
          f"{history.train_seconds:.1f} s on {device}, validation exact match " +
          ", ".join(f"{k} {100 * v:.1f}%" for k, v in acc.items()))
    return 0


def _output_path(args: argparse.Namespace) -> str:
    out = args.out or args.resume
    if not out:
        raise ValueError("say where to write the checkpoint: --out PATH (or --resume PATH to continue a run)")
    return out


def cmd_translate(args: argparse.Namespace) -> int:
    model = load(args.checkpoint, expect="seq2seq").to(resolve_device(args.device))
    for line in model.translate(args.text):
        print(line)
    return 0


def cmd_sample(args: argparse.Namespace) -> int:
    model = load(args.checkpoint, expect="charlm").to(resolve_device(args.device))
    text = sample(model, model.vocab, args.length, args.temperature, args.prime, args.seed)
    sys.stdout.write(args.prime + text + "\n")
    return 0


def cmd_eval(args: argparse.Namespace) -> int:
    model = set_fast(load(args.checkpoint, expect="charlm").to(resolve_device(args.device)))
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


def _device_argument(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--device", choices=DEVICES, default="auto",
                        help="auto = CUDA if present, else Apple MPS, else CPU")


def _training_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--out", help="where to write the checkpoint (.pt); defaults to --resume's path")
    parser.add_argument("--checkpoint-every", type=int, default=0, metavar="N",
                        help="also write the checkpoint every N steps, so an interrupted run can --resume")
    parser.add_argument("--resume", metavar="CHECKPOINT",
                        help="continue the run saved in CHECKPOINT (its model and training settings; "
                             "the other model and training flags are ignored), bit-identical to an uninterrupted run")
    _device_argument(parser)


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
    _training_arguments(lm)
    lm.set_defaults(func=cmd_train_charlm)

    s2s = train_sub.add_parser("seq2seq", help="date normalisation encoder-decoder (Lab 03)")
    s2s.add_argument("--attention", choices=["none", "bahdanau", "luong", "luong_dot"], default="bahdanau")
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
    _training_arguments(s2s)
    s2s.set_defaults(func=cmd_train_seq2seq)

    tr = sub.add_parser("translate", help="normalise dates with a seq2seq checkpoint: prints YYYY-MM-DD per input")
    tr.add_argument("checkpoint")
    tr.add_argument("text", nargs="+", help='one or more date strings, e.g. "March 14, 2024"')
    _device_argument(tr)
    tr.set_defaults(func=cmd_translate)

    smp = sub.add_parser("sample", help="generate text from a character LM checkpoint")
    smp.add_argument("checkpoint")
    smp.add_argument("--temperature", type=float, default=0.8, help="0 = greedy; higher = more diverse")
    smp.add_argument("--length", type=int, default=500)
    smp.add_argument("--seed", type=int, default=0)
    smp.add_argument("--prime", default="\n", help="text to start from (default: a newline)")
    _device_argument(smp)
    smp.set_defaults(func=cmd_sample)

    ev = sub.add_parser("eval", help="validation loss and perplexity of a character LM checkpoint")
    ev.add_argument("checkpoint")
    ev.add_argument("--corpus", help="a UTF-8 text file instead of Tiny Shakespeare (its last 10%% is used)")
    _device_argument(ev)
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
