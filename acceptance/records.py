"""Numbers measured outside a run, read from ``acceptance/measured/``: learning-rate grids and the
criteria a profile's budget is known to fail. Each record names its git revision, machine and
command; the profiles hold only what was fixed before measuring, and the report reads these."""

from __future__ import annotations

import json
import statistics
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

from acceptance.measures import reduction
from acceptance.record import Bound
from acceptance.spread import by_seed, clear_of_noise

MEASURED = Path(__file__).resolve().parent / "measured"
Grid = tuple[tuple[float, float], ...]  # (rate, validation perplexity) pairs, in order of rate


@dataclass(frozen=True)
class GridRecord:
    profile: str
    model: str  # "lab02.rnn", "bridge.attention", ...
    purpose: str  # "choice": it chose the profile's rate; "rate_check": how a ranking depends on the rate
    steps: int
    grid: Grid
    git: str
    machine: str
    command: str


class RecordError(ValueError):
    """A record under acceptance/measured/ (or a report folder) that cannot be read; the message names the file."""


def read_json(path: Path) -> dict[str, Any]:
    """A JSON record as a dict, or one ``RecordError`` naming the file and what is wrong with it (#35): a truncated
    record once let a lab train to the end and then failed every test with a JSONDecodeError naming no file."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise RecordError(f"{path} is missing; restore it (`git checkout -- {path.name}` in its folder)") from None
    except IsADirectoryError:
        raise RecordError(f"{path} is a folder; give the record's file") from None
    except UnicodeDecodeError:
        raise RecordError(f"{path} is not UTF-8 text; restore it from git") from None
    except json.JSONDecodeError as exc:
        raise RecordError(f"{path} is not valid JSON ({exc.msg}, line {exc.lineno}); restore it from git") from None
    if not isinstance(data, dict):
        raise RecordError(f"{path} holds a {type(data).__name__}, not a record (a JSON object); restore it from git")
    return data


@cache
def _load(name: str) -> dict[str, Any]:
    return read_json(MEASURED / name)


def _finding(profile: str, key: str) -> dict[str, str] | None:
    found: dict[str, str] | None = _load("findings.json").get(profile, {}).get(key)
    return found


def recorded_finding(profile: str, key: str) -> tuple[str, str] | None:
    """A finding of findings.json: what was measured, and where (machine and commit); None if there is none."""
    r = _finding(profile, key)
    return None if r is None else (r["measured"], f"{r['machine']}; git {r['git']}")


def finding_said(r: dict[str, str]) -> str:
    """A findings.json entry whole, in one line: what it found, what was measured, and where (RESULTS.md's list, and a
    talking point that quotes it)."""
    return f"{r['finding']} {r['measured']} ({r['machine']}; git {r['git']})"


def recorded_finding_said(profile: str, key: str) -> str | None:
    """``finding_said`` of findings.json's ``key`` at ``profile``; None if there is none."""
    r = _finding(profile, key)
    return None if r is None else finding_said(r)


def grids() -> list[GridRecord]:
    return [
        GridRecord(**{**g, "grid": tuple((float(r), float(p)) for r, p in g["grid"])})
        for g in _load("learning-rates.json")["grids"]
    ]


def choice(profile: str, model: str) -> GridRecord | None:
    """The grid that chose ``model``'s learning rate in ``profile``, or None (a dry-run profile)."""
    return next((g for g in grids() if (g.profile, g.model, g.purpose) == (profile, model, "choice")), None)


def rate_check(profile: str) -> list[GridRecord]:
    """Lab 02's models at several shared rates, the RNN (the baseline) first; empty where not measured."""
    found = [g for g in grids() if g.profile == profile and g.purpose == "rate_check"]
    return sorted(found, key=lambda g: g.model != "lab02.rnn")


@dataclass(frozen=True)
class GatingRun:
    """One model of the gating study (measured/gating.json): its seed-0 grid, and every seed at the grid's best."""

    profile: str  # whose Lab 02 budget it trained on
    steps: int
    layers: int
    model: str  # "lab02.lstm"
    grid: Grid  # seed 0's validation perplexity at each rate
    rate: float  # the best of ``grid``
    seeds: tuple[int, ...]
    ppl: tuple[float, ...]  # at ``rate``, one per seed
    git: str
    machine: str
    commands: tuple[str, ...]
    hidden: int | None = None  # recorded for a stacked model (a one-layer model's is Lab 02's own)


def gating(profile: str = "quick") -> list[GatingRun]:
    """Lab 02's models each at its own best rate of one grid, over seeds, on ``profile``'s budget (issue #25: one and
    two layers on the quick budget; issue #32: one layer on the full): for each (layers, model), its seed-0 grid
    records (a grid whose best was at its edge was taken one rate further) and the record of the other seeds at the
    best rate."""
    if not (MEASURED / "gating.json").is_file():
        return []
    records = [r for r in _load("gating.json")["records"] if r["profile"] == profile]
    groups: dict[tuple[int, str], list[dict[str, Any]]] = {}
    for r in records:
        groups.setdefault((r.get("layers", 1), r["model"]), []).append(r)
    out = []
    for (layers, model), found in groups.items():
        firsts = [r for r in found if r.get("seeds", [0]) == [0]]
        grid = tuple(sorted((float(r), float(p)) for g in firsts for r, p in g["grid"]))
        rate = min(grid, key=lambda pair: pair[1])[0]
        at_best = [r for r in found if r.get("seeds", [0]) != [0] and float(r["grid"][0][0]) == rate]
        if not at_best:
            raise ValueError(f"gating.json: {model} x{layers} has no record of its other seeds at its best rate {rate}")
        more = at_best[0]
        (_, ppls), *_ = more["grid"]
        out.append(
            GatingRun(
                firsts[0]["profile"],
                firsts[0]["steps"],
                layers,
                model,
                grid,
                rate,
                (0, *more["seeds"]),
                (dict(grid)[rate], *map(float, ppls)),
                ", ".join(dict.fromkeys(r["git"] for r in found)),
                firsts[0]["machine"],
                tuple(r["command"] for r in found),
                firsts[0].get("hidden"),
            )
        )
    return out


GATING_COLUMNS = [
    "layers",
    "model",
    "best rate",
    "perplexity by seed",
    "mean",
    "vs RNN (by seed)",
    "mean / sd",
    "verdict",
]


@dataclass(frozen=True)
class GatingVerdict:
    """A gated model of the gating study against the RNN of the same depth, seed by seed."""

    layers: int
    kind: str  # "lstm"
    gaps: tuple[float, ...]  # perplexity reduction against the RNN, % of the RNN's, one per seed
    ratio: str  # mean / sd, in words (spread.clear_of_noise)
    verdict: str  # "ahead, clear of noise", "behind, clear of noise" or "level: inside the noise"

    @property
    def gaps_text(self) -> str:
        return " / ".join(f"{g:+.1f}%" for g in self.gaps)


def gating_verdicts(runs: list[GatingRun]) -> list[GatingVerdict]:
    """Each gated model's reduction against the RNN of its depth, and whether it clears the seeds' noise
    (spread.clear_of_noise, as every criterion must), in order of depth."""
    rnn = {r.layers: r for r in runs if r.model == "lab02.rnn"}
    out = []
    for r in sorted(runs, key=lambda r: r.layers):
        if r.model == "lab02.rnn":
            continue
        base = rnn[r.layers]
        gaps = tuple(reduction(b, p) for b, p in zip(base.ppl, r.ppl, strict=True))
        ratio, ahead = clear_of_noise(list(gaps))
        _, behind = clear_of_noise([-g for g in gaps])
        verdict = (
            "ahead, clear of noise" if ahead else "behind, clear of noise" if behind else "level: inside the noise"
        )
        out.append(GatingVerdict(r.layers, r.model.split(".")[-1], gaps, ratio, verdict))
    return out


def gating_rows(runs: list[GatingRun], names: dict[str, str]) -> list[list[Any]]:
    """The gating study as table rows (GATING_COLUMNS): every model's perplexity by seed at its best rate, and
    each gated model's verdict against the RNN of the same depth (``gating_verdicts``)."""
    verdicts = {(v.layers, v.kind): v for v in gating_verdicts(runs)}
    rows = []
    for r in sorted(runs, key=lambda r: (r.layers, r.model != "lab02.rnn")):
        kind = r.model.split(".")[-1]
        cells = [
            r.layers,
            names[kind],
            rate_text(r.rate),
            " / ".join(f"{p:.3f}" for p in r.ppl),
            f"{statistics.fmean(r.ppl):.3f}",
        ]
        v = verdicts.get((r.layers, kind))
        rows.append([*cells, "—", "—", "the baseline"] if v is None else [*cells, v.gaps_text, v.ratio, v.verdict])
    return rows


def rnn_spread(profile: str, rate: float) -> float | None:
    """How far the one-layer vanilla RNN's validation perplexity moves over seeds at ``rate`` on ``profile``'s Lab 02
    budget (the gating study's record), in % of the lowest: one model's own noise, against which a one-seed gap
    between models is read; None where not measured."""
    found = [r for r in gating(profile) if (r.layers, r.model, r.rate) == (1, "lab02.rnn", rate)]
    return 100 * (max(found[0].ppl) - min(found[0].ppl)) / min(found[0].ppl) if found else None


def over_seeds(profile: str, criterion: str) -> list[list[Bound]]:
    """``criterion``'s numbers at each seed of ``profile``'s record (measured/seeds-PROFILE.json), one list of
    Bounds per bound across the seeds; empty where the record does not hold it."""
    path = MEASURED / f"seeds-{profile}.json"
    if not path.is_file():
        return []
    entries = _load(path.name)["criteria"].get(criterion)
    return by_seed(entries) if isinstance(entries, list) and entries else []  # none, or a record from before #33


def spread_text(column: list[Bound]) -> str:
    """One bound's margin over the seeds in words: mean +- sd in its unit, and the mean in standard deviations."""
    margins = [b.margin for b in column]
    mean, sd = statistics.fmean(margins), statistics.stdev(margins)
    unit = "" if column[0].unit in ("%", "") else f" {column[0].unit}"
    return f"{mean:+.2f} +- {sd:.2f}{unit} ({'no spread' if sd == 0 else f'{mean / sd:.1f} sd'}, {len(margins)} seeds)"


def known_failures(profile: str) -> dict[str, str]:
    """Criterion id (or id@device) -> why it fails at ``profile``'s budget, with the numbers measured
    when it was listed and where."""
    listed: dict[str, dict[str, str]] = _load("known-failures.json").get(profile, {})
    return {
        key: f"{r['why']} Measured when listed: {r['measured']} ({r['machine']}; git {r['git']})."
        for key, r in listed.items()
    }


def lr_choice(lr: float, record: GridRecord | None, model: str) -> str:
    """How a learning rate was chosen, in the report's words; refuses a rate that is not its grid's best."""
    if record is None:
        return f"{rate_text(lr)} for {model} (no grid was run at this budget)"
    best = min(record.grid, key=lambda pair: pair[1])[0]
    if lr != best:
        raise ValueError(f"lr {lr} is not the best of its grid by the perplexities recorded, {record.grid}")
    rates = [rate_text(r) for r, _ in record.grid]
    ppls = " / ".join(f"{p:g}" for _, p in record.grid)
    measure = "held-out answers wrong" if record.model.startswith("recall.") else "validation perplexity"
    return (
        f"the best of {', '.join(rates[:-1])} and {rates[-1]} for {model}: {measure} {ppls} "
        f"after {record.steps} steps each"
    )


def rate_text(r: float) -> str:
    """A learning rate as the tables write it: 6e-3, 1.5e-3."""
    text = f"{r:.0e}" if float(f"{r:.0e}") == r else f"{r:.1e}"
    return text.replace("e-0", "e-")


def behind_at(records: list[GridRecord], model: str) -> list[tuple[str, float, float]]:
    """The rates at which ``model`` ("lab02.lstm") is not ahead of the baseline (the first record):
    (rate as written, its perplexity, the baseline's)."""
    if not records:
        return []
    at = dict(records[0].grid)
    mine = next((g.grid for g in records if g.model == model), ())
    return [(rate_text(r), p, at[r]) for r, p in mine if r in at and p >= at[r]]


def rate_sensitivity(records: list[GridRecord], names: dict[str, str]) -> str:
    """The report's words for how the ranking of models depends on the learning rate they share
    (``records``: the baseline first); empty when nothing was measured."""
    if not records:
        return ""
    base, others = records[0], records[1:]

    def name(g: GridRecord) -> str:
        return names[g.model.split(".")[-1]]

    listed = "; ".join(
        f"{name(g)} {' / '.join(f'{p:.3f}' for _, p in g.grid)} at {' / '.join(rate_text(r) for r, _ in g.grid)}"
        for g in records
    )
    flips = " ".join(
        f"At {r} the {name(g)} ({p:.3f}) is behind the {name(base)} ({b:.3f})."
        for g in others
        for r, p, b in behind_at(records, g.model)
    )
    best = {g.model: min(g.grid, key=lambda pair: pair[1]) for g in records}

    def who(chosen: list[GridRecord]) -> str:
        return " and the ".join(f"{name(g)} ({best[g.model][1]:.3f} at {rate_text(best[g.model][0])})" for g in chosen)

    ahead = [g for g in others if best[g.model][1] < best[base.model][1]]
    behind = [g for g in others if g not in ahead]
    if ahead:
        verdict = f"the {who(ahead)} {'lead' if len(ahead) > 1 else 'leads'} the {who([base])}"
        verdict += f"; the {who(behind)} does not" if behind else ""
    else:
        verdict = f"none leads the {who([base])}"
    return (
        f"Measured outside this run, over all {base.steps} steps (seed 0, {base.machine}, git {base.git}): "
        f"{listed}. "
        + (f"{flips} " if flips else "")
        + "At the best of these rates for each model "
        + verdict
        + ". Lab 02 itself trains each model at the best of a wider grid (acceptance/measured/gating.json)."
    )
