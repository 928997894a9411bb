"""The speed goals of issue #6, judged by ``tox -e bench`` where recorded runs clear them.

Issue #6 set a goal for one training step (forward + backward + Adam, B=64, T=100, CPU) of the fast path
(``rnnlab.fast``) against torch's fused layer: ``GOALS[kind]``, fast / fused at most, at every size in ``SIZES``.
The bench measures every ratio each run (medians of interleaved rounds, ``reports/bench/ratios.json``).

Over runs on one machine a ratio moves by several percent, and some goals sit inside that spread: a bench that
judged them all failed every run (each of 8 runs on a 2-core AMD EPYC missed 1 to 4 of the 9). So a goal is judged as every
criterion is (issue #25): the bench fails a run that misses it only where every recorded run met it with a mean
margin of at least 3 standard deviations over the runs (``acceptance/measured/bench.json``). The others are
``FINDINGS``: measured each run and shown beside their goal and the recorded spread, never pass/fail. A spec holds
``FINDINGS`` to the record.

    RNNLAB_REPORTS=/tmp/b1 tox -e bench -- -k speed_goal     # and /tmp/b2, ... (several runs)
    python -m acceptance.speed /tmp/b1 /tmp/b2 ...           # prints a record for acceptance/measured/bench.json
"""

from __future__ import annotations

import argparse
import json
import shlex
import statistics
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from acceptance.spread import ROBUST_SDS, clear_of_noise

# Issue #6's goals: the fast path's step time over torch's fused layer's, at most. The GRU's is below 1 because
# torch's GRU on a CPU runs a step's ops one by one (its LSTM is one oneDNN kernel); the prototypes reached 0.73-0.86x.
GOALS = {"rnn": 1.0, "lstm": 1.0, "gru": 0.8}
SIZES = (128, 256, 512)  # hidden sizes (issue #6)
ROUNDS = 9  # interleaved rounds of each run's medians (after 2 warm-up calls each)

# The goals that are findings: in acceptance/measured/bench.json (8 runs on a 2-core AMD EPYC, git 3c8c50e) only the
# RNN's clear theirs by 3 sd (0.63 / 0.75 / 0.82x against 1.0, 9.5 / 4.7 / 7.0 sd at H = 128 / 256 / 512). The LSTM's
# 1.10 / 0.96 / 0.93x (-0.4 / 0.7 / 2.8 sd) and the GRU's 0.70 / 0.81 / 0.86x against 0.8 (2.4 / -0.3 / -1.6 sd) each
# sit inside their spread or miss: torch's fused LSTM is one oneDNN kernel whose own time moves by a third at H = 128.
FINDINGS = ("lstm H=128", "lstm H=256", "lstm H=512", "gru H=128", "gru H=256", "gru H=512")

RECORD = Path(__file__).resolve().parent / "measured" / "bench.json"


def goal_key(kind: str, hidden: int) -> str:
    return f"{kind} H={hidden}"


def judged(key: str) -> bool:
    """Whether the bench fails a run that misses this goal (a criterion), or only reports it (a finding)."""
    return key not in FINDINGS


@dataclass(frozen=True)
class Spread:
    """One goal's ratio over the recorded runs of one machine."""

    key: str
    machine: str
    goal: float
    ratios: tuple[float, ...]
    floors: tuple[float, ...]  # the matrix products alone over the fused step, each run

    @property
    def mean(self) -> float:
        return statistics.fmean(self.ratios)

    @property
    def sd(self) -> float:
        return statistics.stdev(self.ratios) if len(self.ratios) > 1 else 0.0

    @property
    def clears(self) -> tuple[str, bool]:
        """(mean margin / sd in words, whether every run met the goal with a mean margin of ROBUST_SDS sd)."""
        return clear_of_noise([self.goal - r for r in self.ratios])


def spreads(record: dict[str, Any] | None = None) -> list[Spread]:
    """Every goal's spread over the runs of each machine recorded (``bench.json``), in record and key order."""
    from acceptance.records import read_json

    data = record if record is not None else read_json(RECORD)
    out = []
    for r in data["records"]:
        keys = list(dict.fromkeys(k for run in r["runs"] for k in run))
        for key in keys:
            runs = [run[key] for run in r["runs"] if key in run]
            out.append(
                Spread(
                    key,
                    r["machine"],
                    GOALS[key.split()[0]],
                    tuple(x["ratio"] for x in runs),
                    tuple(x["floor_ratio"] for x in runs),
                )
            )
    return out


def robust_keys(record: dict[str, Any] | None = None) -> set[str]:
    """The goals every machine's recorded runs clear by ROBUST_SDS standard deviations: the ones to judge."""
    found: dict[str, bool] = {}
    for s in spreads(record):
        found[s.key] = found.get(s.key, True) and s.clears[1]
    return {k for k, ok in found.items() if ok}


TABLE_COLUMNS = [
    "step",
    "goal",
    "machine",
    "runs",
    "fast / fused, each run",
    "mean +- sd",
    "matmuls alone / fused",
    "mean margin / sd",
    "judged as",
]


def table_rows(record: dict[str, Any] | None = None) -> list[list[Any]]:
    """RESULTS.md's rows: each goal's ratio at every recorded run, and how the bench judges it."""
    rows = []
    for s in spreads(record):
        words, ok = s.clears
        rows.append(
            [
                s.key,
                f"<= {s.goal:g}x",
                s.machine,
                len(s.ratios),
                " / ".join(f"{r:.2f}" for r in s.ratios),
                f"{s.mean:.3f} +- {s.sd:.3f}",
                f"{statistics.fmean(s.floors):.2f}",
                words,
                "criterion" if judged(s.key) else "finding",
            ]
        )
    return rows


def summary(measured: dict[str, dict[str, Any]], record: dict[str, Any] | None = None) -> list[str]:
    """The bench's closing lines: each goal measured this run against its bound, judged or a finding, with the
    recorded spread (``record``, else bench.json) beside a finding."""
    recorded = {s.key: s for s in spreads(record)} if record is not None or RECORD.is_file() else {}
    lines = ["speed goals (issue #6): fast path / torch fused, one training step, B=64, T=100 (acceptance/speed.py)"]
    for key, m in measured.items():
        verdict = ("met" if m["met"] else "MISSED") + (" (judged)" if m["judged"] else " (a finding, not judged)")
        line = f"  {key}: {m['ratio']:.2f}x, goal <= {m['goal']:g}x, matmuls alone {m['floor_ratio']:.2f}x: {verdict}"
        if not m["judged"] and key in recorded:
            s = recorded[key]
            line += f"; recorded {s.mean:.2f} +- {s.sd:.2f} over {len(s.ratios)} runs ({s.machine})"
        lines.append(line)
    return lines


def speed_goals_words() -> str:
    """The goals and how the bench judges them, for the report's timing table (from GOALS and FINDINGS)."""
    from acceptance.measures import NAMES

    goals = ", ".join(f"<= {g:g} for the {NAMES[k]}" for k, g in GOALS.items())
    judged_sizes = {kind: [h for h in SIZES if judged(goal_key(kind, h))] for kind in GOALS}
    criteria = "; ".join(f"the {NAMES[k]} at H = {', '.join(map(str, hs))}" for k, hs in judged_sizes.items() if hs)
    return (
        f"Goals (issue #6): fast / fused {goals}, at H = {', '.join(map(str, SIZES))}. `tox -e bench` judges only those "
        f"every recorded run met by {ROBUST_SDS} standard deviations ({criteria or 'none'}); the others are findings, "
        "reported with their ratios (RESULTS.md)."
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m acceptance.speed", description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "reports", nargs="+", help="the RNNLAB_REPORTS folders of bench runs (each has bench/ratios.json)"
    )
    args = parser.parse_args(argv)
    from acceptance.records import RecordError, read_json

    runs = []
    for folder in args.reports:
        path = Path(folder) / "bench" / "ratios.json"
        try:
            data = read_json(path)
            meta, ratios = data["meta"], data["ratios"]
        except RecordError as exc:
            parser.error(f"{exc}: give the RNNLAB_REPORTS folder of a `tox -e bench -- -k speed_goal` run")
        except KeyError as exc:
            parser.error(f"{path} lacks {exc}: it was written by an older bench; run the bench again")
        if set(ratios) != {goal_key(k, h) for k in GOALS for h in SIZES}:
            parser.error(f"{path} holds {sorted(ratios)}: run every speed goal (`-k speed_goal`), not some")
        runs.append((meta, ratios))
    machines = {f"{m['cores']}-core {m['cpu']}, torch {m['torch']}" for m, _ in runs}
    if len(machines) != 1:
        parser.error(f"the runs are of {sorted(machines)}: record one machine's runs at a time")
    keep = ("fast_ms", "fused_ms", "floor_ms", "ratio", "floor_ratio")
    record = {
        "machine": machines.pop(),
        "threads": sorted({m["torch_threads"] for m, _ in runs}),
        "git": ", ".join(dict.fromkeys(str(m["git"])[:7] for m, _ in runs)),
        "command": "RNNLAB_REPORTS=DIR tox -e bench -- -k speed_goal for each run, then python -m acceptance.speed "
        + shlex.join(sys.argv[1:] if argv is None else argv),
        "runs": [{k: {f: round(v[f], 4) for f in keep} for k, v in ratios.items()} for _, ratios in runs],
    }
    print(json.dumps(record, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
