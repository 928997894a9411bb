"""Each criterion's value over seeds, and its margin against their spread (issue #25).

    RNNLAB_SEED=1 RNNLAB_REPORTS=/tmp/seed1 tox -e acceptance     # and 2, ...; seed 0 is tox's own run
    python -m acceptance.spread reports /tmp/seed1 /tmp/seed2      # prints a record for acceptance/measured/

The record (``acceptance/measured/seeds-PROFILE.json``) keeps every criterion's measured value at
each seed, as its report gave it; RESULTS.md shows them with the margin over the threshold in
standard deviations over the seeds (``margins``; a factor such as ">= 10x" in decades). A criterion
is robust when its worst-seed margin is positive and its mean margin is at least 3 standard
deviations (issue #25).
"""

from __future__ import annotations

import argparse
import json
import math
import re
import shlex
import statistics
import sys
from pathlib import Path
from typing import Any

NUMBER = re.compile(r"[-+]?\d+(?:\.\d+)?(?:e[-+]?\d+)?", re.IGNORECASE)


def margin(measured: str, threshold: str) -> float | None:
    """How far ``measured`` clears ``threshold``, in the measured value's units (negative: it
    does not); None where the two do not read as numbers (a count of decreases, a description)."""
    two_bounds = len(re.findall(r"[<>]=?", threshold)) > 1  # ">= 95% and <= 50%": a bound on each of two values
    if ";" in threshold or two_bounds or re.match(r"\s*\d+/\d+", measured):  # compound, or a count: by hand
        return None
    bound = NUMBER.findall(threshold)
    values = [float(x) for x in NUMBER.findall(measured.replace("|r| =", ""))]
    if not values:
        return None
    at_least = ">" in threshold or "beats" in threshold
    if bound and not threshold.strip().startswith(("all", "3 distinct")):
        value = values[-1] if "->" in measured else values[0]
        b = float(bound[-1])
        if threshold.strip().endswith("x") and value > 0 and b > 0:  # a factor: judged in decades
            value, b = math.log10(value), math.log10(b)
        return value - b if at_least else b - value
    if " vs " in measured and len(values) >= 2:  # "ours vs theirs", judged "> RNN's" or "< RNN's"
        return values[0] - values[1] if at_least else values[1] - values[0]
    return None


ROBUST_SDS = 3  # issue #25: a margin counts when its mean over seeds is at least this many standard deviations


def clear_of_noise(values: list[float]) -> tuple[str, bool]:
    """(mean / sd in words, whether ``values`` — a margin at each seed — is positive at every seed with its mean at
    least ROBUST_SDS standard deviations over the seeds)."""
    sd = statistics.stdev(values)
    ratio = "exact (no spread)" if sd == 0 else f"{statistics.fmean(values) / sd:.1f}"
    return ratio, min(values) > 0 and (sd == 0 or statistics.fmean(values) >= ROBUST_SDS * sd)


def margins(record: dict[str, Any]) -> list[list[Any]]:
    """Rows of RESULTS.md's table: criterion, threshold, the value at each seed, mean margin / sd."""
    rows = []
    for cid, c in record["criteria"].items():
        found = [margin(v, c["threshold"]) for v in c["values"]]
        if len(found) >= 2 and all(m is not None for m in found):
            ratio, clears = clear_of_noise([x for x in found if x is not None])
            verdict = "robust" if clears else "NOT robust"
        else:
            ratio, verdict = "—", "read by hand"
        rows.append([f"`{cid}`", c["threshold"], *c["values"], ratio, verdict])
    return rows


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m acceptance.spread", description=__doc__.split("\n\n")[0])
    parser.add_argument("reports", nargs="+", help="report folders, one per seed, seed 0's first")
    parser.add_argument("--machine", default="", help="where they ran (for the record)")
    args = parser.parse_args(argv)
    runs = [json.loads((Path(r) / "acceptance.json").read_text(encoding="utf-8")) for r in args.reports]
    seeds = [r["meta"]["seed"] for r in runs]
    criteria: dict[str, Any] = {}
    for run in runs:
        for c in run["criteria"]:
            entry = criteria.setdefault(c["id"], {"threshold": c["threshold"], "values": []})
            entry["values"].append(str(c["measured"]))
    record = {
        "profile": runs[0]["meta"]["profile"],
        "seeds": seeds,
        "git": ", ".join(dict.fromkeys(str(r["meta"]["git"])[:7] for r in runs)),
        "machine": args.machine or runs[0]["meta"]["machine"]["cpu"],
        "command": "RNNLAB_SEED=k tox -e acceptance for each seed k, then python -m acceptance.spread "
        + shlex.join(sys.argv[1:] if argv is None else argv),
        "criteria": {k: v for k, v in criteria.items() if len(v["values"]) == len(runs)},
    }
    print(json.dumps(record, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
