"""Run a learning-rate grid as the harness trains, and print its record for acceptance/measured/.

    python -m acceptance.grid --profile quick --model lab02.rnn --rates 3e-3,6e-3,1e-2 [--steps 800]
        [--layers 2] [--seeds 0,1,2] [--budget 880000]

Each rate trains the model on the profile's budget (``--steps`` shortens it; ``--layers`` stacks a
Lab 02 model, sized to the same parameter budget; ``--budget`` sizes it to another parameter count, as the
study of where the LSTM's lead appears does) from each seed (0 unless given), and the
record gives its validation perplexity with the git revision, machine and this command: paste it
into ``acceptance/measured/learning-rates.json`` (with ``purpose``) to make it the profile's record.
"""

from __future__ import annotations

import argparse
import json
import shlex
import sys
from dataclasses import replace
from pathlib import Path
from typing import Any

from acceptance import profiles, runs
from acceptance.measures import ATTENTION
from acceptance.report import cpu_name, git_revision
from rnnlab.cells import MODEL_KINDS
from rnnlab.data import Vocab, load_tiny_shakespeare, split_text
from rnnlab.data.recall import RecallVocab
from rnnlab.device import resolve_device
from rnnlab.metrics import perplexity
from rnnlab.models import CharLM
from rnnlab.models.attention_lm import AttentionLM
from rnnlab.training import seed_everything, train_lm
from rnnlab.training.recall import train_recall

ROOT = Path(__file__).resolve().parent.parent


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m acceptance.grid", description=__doc__.split("\n\n")[0])
    parser.add_argument("--profile", choices=sorted(profiles.PROFILES), required=True)
    parser.add_argument(
        "--model",
        required=True,
        help="lab02.KIND (a registered model kind: lab02.rnn, ...), bridge.attention, recall.KIND or recall.attention",
    )
    parser.add_argument("--rates", required=True, help="comma-separated learning rates, e.g. 3e-3,6e-3,1e-2")
    parser.add_argument("--steps", type=int, default=None, help="the profile's steps unless given")
    parser.add_argument("--layers", type=int, default=1, help="a lab02 model's stacked layers (default 1)")
    parser.add_argument("--seeds", default="0", help="comma-separated training seeds (default 0)")
    parser.add_argument(
        "--budget", type=int, default=None, help="a lab02 model's parameter budget (the profile's unless given)"
    )
    args = parser.parse_args(argv)
    profile = profiles.PROFILES[args.profile]
    try:
        seeds = [int(s) for s in args.seeds.split(",")]
    except ValueError:
        parser.error(f"--seeds {args.seeds}: give whole numbers separated by commas, e.g. 0,1,2")
    if any(s < 0 for s in seeds) or len(set(seeds)) != len(seeds):
        parser.error(f"--seeds {args.seeds}: give each seed once, as whole numbers of at least 0")
    try:
        rates = [float(r) for r in args.rates.split(",")]
    except ValueError:
        rates = []
    if not rates or not all(0 < r < float("inf") for r in rates):
        parser.error(f"--rates {args.rates!r}: give positive learning rates separated by commas, e.g. 3e-3,6e-3,1e-2")
    if args.steps is not None and args.steps < 1:
        parser.error(f"--steps {args.steps}: give a positive number of steps (or leave it out for the profile's)")
    if args.layers < 1 or (args.layers != 1 and not args.model.startswith("lab02.")):
        parser.error(f"--layers {args.layers}: a lab02 model's layers, 1 or more")
    if args.budget is not None and (args.budget < 1 or not args.model.startswith("lab02.")):
        parser.error(f"--budget {args.budget}: a lab02 model's parameter count, a positive whole number")
    lab02 = replace(profile.lab02, layers=args.layers, param_budget=args.budget or profile.lab02.param_budget)
    lab, _, kind = args.model.partition(".")
    if (
        (lab, kind) != ("bridge", "attention")
        and not (lab in ("lab02", "recall") and kind in MODEL_KINDS)
        and (args.model != "recall.attention")
    ):
        choices = ", ".join(f"{lab}.{k}" for lab in ("lab02", "recall") for k in MODEL_KINDS)
        parser.error(f"--model {args.model}: choose one of {choices}, bridge.attention, recall.attention")
    if lab == "recall":
        if seeds != [0]:
            parser.error("--seeds: a recall grid trains from its profile's seed")
        return _recall_grid(args, profile, argv)
    text = load_tiny_shakespeare()
    vocab = Vocab.from_text(text)
    kinds = dict(lab02.hidden(len(vocab)))
    train, val = (vocab.encode(part) for part in split_text(text))
    device = resolve_device("auto")
    grid: list[list[Any]] = []
    model: CharLM | AttentionLM
    for rate in rates:
        ppl = []
        for seed in seeds:
            cfg = replace(lab02.train, lr=rate, steps=args.steps or lab02.train.steps, seed=seed)
            if kind == "attention":
                seed_everything(cfg.seed)
                model = runs.attention_lm(profile.bridge, len(vocab), cfg.seq_len, lab02.dropout).to(device)
            else:
                model = runs.fresh_model(replace(lab02, train=cfg), kind, kinds[kind], len(vocab), device)
            history, _ = train_lm(model, train, val, cfg, desc=f"{args.model} lr {rate:g} seed {seed}")
            ppl.append(round(perplexity(history.val_loss[-1]), 3))
        grid.append([rate, ppl[0]] if seeds == [0] else [rate, ppl])
    extra: dict[str, Any] = {} if seeds == [0] else {"seeds": seeds}
    if args.layers != 1 or args.budget:
        extra["layers"] = args.layers
        extra["hidden"] = kinds[kind]
    if args.budget:
        extra["budget"] = args.budget
    return _print_record(args, argv, args.steps or lab02.train.steps, grid, str(device), extra)


def _print_record(
    args: argparse.Namespace,
    argv: list[str] | None,
    steps: int,
    grid: list[list[Any]],
    device: str,
    extra: dict[str, Any] | None = None,
) -> int:
    """Print the grid's record for acceptance/measured/learning-rates.json, with its provenance."""
    record = {
        "profile": args.profile,
        "model": args.model,
        "steps": steps,
        **(extra or {}),
        "grid": grid,
        "git": git_revision(ROOT),
        "machine": f"{cpu_name()}, {device}",
        "command": "python -m acceptance.grid " + shlex.join(sys.argv[1:] if argv is None else argv),
    }
    print(json.dumps(record, indent=2))
    return 0


def _recall_grid(args: argparse.Namespace, profile: profiles.Profile, argv: list[str] | None) -> int:
    """A recall model's grid: each rate's cross-entropy on the held-out answers (all numbers of pairs
    together; lower is better, as perplexity is, and it still ranks two rates that both answer every
    query right)."""
    cfg = profile.studies.recall
    kind = args.model.partition(".")[2]
    vocab = RecallVocab(keys=cfg.keys, values=cfg.keys)
    budget = runs.recall_model(cfg, vocab, ATTENTION, None).num_parameters()
    grid = []
    for rate in (float(r) for r in args.rates.split(",")):  # checked in main
        seed_everything(cfg.train.seed)
        model = runs.recall_model(cfg, vocab, kind, budget)
        tcfg = replace(cfg.train, lr=rate, steps=args.steps or cfg.train.steps)
        history = train_recall(model, tcfg, vocab, desc=f"{args.model} lr {rate:g}")
        grid.append([rate, round(history.val_loss[-1], 4)])
    return _print_record(args, argv, args.steps or cfg.train.steps, grid, "cpu")


if __name__ == "__main__":
    sys.exit(main())
