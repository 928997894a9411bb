"""Each criterion's value over seeds, and its margin against their spread (issues #25, #33).

    RNNLAB_SEED=1 RNNLAB_REPORTS=/tmp/seed1 tox -e acceptance     # and 2, ...; seed 0 is tox's own run
    python -m acceptance.spread reports /tmp/seed1 /tmp/seed2      # prints a record for acceptance/measured/

The record (``acceptance/measured/seeds-PROFILE.json``) keeps every criterion's numbers at each seed, as its
report recorded them: for each ``Bound`` its value, bound, direction and unit (a bound that is itself measured,
such as the baseline's accuracy, is each seed's own). RESULTS.md shows each bound's margin at every seed and
judges it by arithmetic on those numbers, never on words: a bound is robust when it passes at every seed and its
mean margin is at least ROBUST_SDS standard deviations over the seeds (a factor's margin in decades).
"""

from __future__ import annotations

import argparse
import json
import shlex
import statistics
import sys
from pathlib import Path
from typing import Any

from acceptance.record import Bound, margin_words, render_bound, render_number, render_value

ROBUST_SDS = 3  # issue #25: a margin counts when its mean over seeds is at least this many standard deviations


def clear_of_noise(values: list[float]) -> tuple[str, bool]:
    """(mean / sd in words, whether ``values`` — a margin at each seed — is positive at every seed with its mean at
    least ROBUST_SDS standard deviations over the seeds)."""
    sd = statistics.stdev(values)
    ratio = "exact (no spread)" if sd == 0 else f"{statistics.fmean(values) / sd:.1f}"
    return ratio, min(values) > 0 and (sd == 0 or statistics.fmean(values) >= ROBUST_SDS * sd)


def robust(bounds: list[Bound]) -> tuple[str, bool]:
    """One bound of a criterion at each seed: (mean margin / sd in words, whether it passes at every seed with its
    mean margin at least ROBUST_SDS standard deviations over the seeds, or with no spread at all)."""
    margins = [b.margin for b in bounds]
    sd = statistics.stdev(margins)
    mean = statistics.fmean(margins)
    ratio = "exact (no spread)" if sd == 0 else f"{mean / sd:.1f}"
    return ratio, all(b.passed for b in bounds) and (sd == 0 or mean >= ROBUST_SDS * sd)


def by_seed(entries: list[list[dict[str, Any]]]) -> list[list[Bound]]:
    """A criterion's record (its bounds at each seed) as one list of Bounds per bound, across the seeds."""
    seeds = [[Bound.from_json(b) for b in bounds] for bounds in entries]
    if len({len(s) for s in seeds}) != 1:
        raise ValueError(f"the seeds recorded different numbers of bounds: {[len(s) for s in seeds]}")
    return [list(column) for column in zip(*seeds, strict=True)]


def margins(record: dict[str, Any]) -> list[list[Any]]:
    """Rows of RESULTS.md's table, one per bound of each criterion: criterion, threshold, the value at each seed
    (with its margin), mean margin / sd, verdict."""
    rows = []
    for cid, entries in record["criteria"].items():
        for column in by_seed(entries):
            first = column[0]
            same_bound = len({b.bound for b in column}) == 1
            own = first.against or "each seed's own bound"
            threshold = render_bound(first) if same_bound else f"{first.direction} {own} (each seed's own)"
            values = [
                f"{render_value(b)} ({margin_words(b)})"
                + ("" if same_bound else f" vs {render_number(b.bound, b.unit)}")
                for b in column
            ]
            if len(column) >= 2:
                ratio, clears = robust(column)
                verdict = "robust" if clears else "NOT robust"
            else:
                ratio, verdict = "—", "one seed"
            rows.append([f"`{cid}`", threshold, *values, ratio, verdict])
    return rows


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m acceptance.spread", description=__doc__.split("\n\n")[0])
    parser.add_argument("reports", nargs="+", help="report folders, one per seed, seed 0's first")
    parser.add_argument("--machine", default="", help="where they ran (for the record)")
    args = parser.parse_args(argv)
    from acceptance.records import RecordError, read_json

    try:
        runs = [read_json(Path(r) / "acceptance.json") for r in args.reports]
        seeds = [r["meta"]["seed"] for r in runs]
        for r in runs:
            for c in r["criteria"]:
                if c.get("attempted", True):
                    by_seed([c["bounds"]])  # numbers, as the report writes them
    except RecordError as exc:
        parser.error(f"{exc}: give report folders written by the acceptance harness, one per seed")
    except (KeyError, TypeError, ValueError) as exc:
        parser.error(f"a report lacks {exc} or holds it in another form: give reports written by this harness")
    if len(set(seeds)) != len(seeds):
        parser.error(f"the reports are of seeds {seeds}: give each seed once (RNNLAB_SEED=k for each)")
    criteria: dict[str, list[list[dict[str, Any]]]] = {}
    for run in runs:
        for c in run["criteria"]:
            if c.get("attempted", True):
                criteria.setdefault(c["id"], []).append(c["bounds"])
    machine = runs[0]["meta"]["machine"]
    record = {
        "profile": runs[0]["meta"]["profile"],
        "seeds": seeds,
        "git": ", ".join(dict.fromkeys(str(r["meta"]["git"])[:7] for r in runs)),
        "machine": args.machine or f"{machine['cores']}-core {machine['cpu']}, torch {machine['torch']}",
        "command": "RNNLAB_SEED=k tox -e acceptance for each seed k, then python -m acceptance.spread "
        + shlex.join(sys.argv[1:] if argv is None else argv),
        "criteria": {k: v for k, v in criteria.items() if len(v) == len(runs)},
    }
    print(json.dumps(record, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
