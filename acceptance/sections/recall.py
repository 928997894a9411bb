"""The recall study's section (``tox -e studies``): multi-query associative recall, accuracy by number
of pairs and by how far back the key stands: the long-range half of "why did transformers replace
RNNs?" (issue #25). The criterion on these numbers is bridge.recall (acceptance/test_bridge.py)."""

from __future__ import annotations

from acceptance import plots
from acceptance.measures import ATTENTION
from acceptance.measures import LM_NAMES as NAMES
from acceptance.record import Figure, Recorder, Table
from acceptance.sections.bridge import QUESTION
from acceptance.trained import RecallResult

LAB = "bridge"
SECTION = "study-recall"


def write(recorder: Recorder, result: RecallResult) -> None:
    cfg, runs = result.cfg, result.runs
    t = cfg.train
    pairs = t.pairs
    for k, r in runs.items():
        for n in pairs:
            recorder.number(
                f"recall.{k}.pairs{n}",
                LAB,
                f"{NAMES[k]} recall of {n} key-value pairs",
                100 * r.by_pairs[n],
                "%",
            )
    sec = recorder.section(SECTION, "Study — multi-query associative recall: what a fixed-size state cannot hold")
    sec.summary = (
        "Each model reads N key-value pairs, then is asked every key again and must answer its value from the "
        "sequence. Attention looks the key up; a recurrent model must have carried every pair in its state. "
        "The criterion bridge.recall judges these numbers in the full profile; elsewhere they are reported."
    )
    sec.tables.append(
        Table(
            "Multi-query associative recall: held-out queries answered right, by number of key-value pairs (%)",
            ["model", "hidden", "parameters", "learning rate", *(f"{n} pairs" for n in pairs), "train seconds"],
            [
                [
                    NAMES[k],
                    r.hidden,
                    r.params,
                    f"{r.lr:g}",
                    *(100 * r.by_pairs[n] for n in pairs),
                    r.history.train_seconds,
                ]
                for k, r in runs.items()
            ],
            caption=f"Arora et al. 2023 ('Zoology'): each sequence lists N key-value pairs, then asks every key again "
            f"in another order, each query followed by a blank (an answer is a target, never an input); keys and values are drawn from disjoint halves of a {result.vocab.size - 1}-token "
            f"vocabulary and paired afresh in every sequence, so the value must be found in the sequence (chance: "
            f"{100 / cfg.keys:.0f}%). {t.steps} steps of {t.batch_size} sequences (N cycling through "
            f"{', '.join(map(str, pairs))}), Adam at each model's rate (the best of its recorded grid), loss on the "
            f"answers only; {t.eval_sequences} held-out sequences per N. Parameters matched to the attention LM's "
            f"({result.budget:,}; {cfg.num_layers} layers, d_model {cfg.d_model}): each recurrent model has one "
            "layer, the largest hidden size within that count.",
        )
    )
    buckets = list(cfg.distances)
    sec.tables.append(
        Table(
            "Recall by how far back the queried key stands (all numbers of pairs together, %)",
            ["model", *(f"<= {d} back" for d in buckets)],
            [[NAMES[k], *(100 * r.by_distance.get(d, float("nan")) for d in buckets)] for k, r in runs.items()],
            caption="Distance in positions from the query to its key, bucketed (each bucket: further than the one "
            "before, up to its bound).",
        )
    )
    sec.figures.append(
        Figure(
            "Recall against the number of pairs",
            "Held-out queries answered right at the end of training, by the number of key-value pairs a sequence "
            "holds: a fixed-size state must hold every pair until it is asked; attention looks the key up.",
            plots.series(
                {NAMES[k]: [100 * r.by_pairs[n] for n in pairs] for k, r in runs.items()},
                "key-value pairs in the sequence",
                "answers right (%)",
                "Multi-query associative recall",
                x=list(pairs),
                logx=True,
            ),
        )
    )
    _extend_talking_point(recorder, result)


def _extend_talking_point(recorder: Recorder, result: RecallResult) -> None:
    runs, pairs = result.runs, result.cfg.train.pairs
    most = max(pairs)
    recurrent = {k: r for k, r in runs.items() if k != ATTENTION}
    best = max(recurrent, key=lambda k: recurrent[k].by_pairs[most])
    evidence = (
        f"Multi-query associative recall, parameters matched ({result.budget:,}): with {most} key-value pairs to "
        f"hold, the attention LM answers {100 * runs[ATTENTION].by_pairs[most]:.1f}% of held-out queries and the "
        f"best recurrent model ({NAMES[best]}) {100 * recurrent[best].by_pairs[most]:.1f}%; with {min(pairs)} "
        f"pairs, {100 * runs[ATTENTION].by_pairs[min(pairs)]:.1f}% against "
        f"{100 * max(r.by_pairs[min(pairs)] for r in recurrent.values()):.1f}% (the recall study)."
    )
    for point in recorder.talking_points:
        if point.lab == LAB and point.question == QUESTION:
            point.measured.insert(1, evidence)
            return
