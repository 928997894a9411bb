"""Study (issue #32): where does the LSTM's lead appear? Lab 02's models at matched parameters at several sizes.

Each model kind at each parameter budget of ``Studies.size_budgets`` trains on Lab 02's quick protocol (the same
characters, steps, schedule and clipping at every size) at each rate of a small grid, and its best rate's
validation perplexity is compared with the RNN's of the same budget. The runs are measured once, outside any
report (``python -m acceptance.grid --profile quick --model lab02.KIND --budget N --rates ...``; their records
are ``acceptance/measured/sizes.json``); Lab 02's own budget is the gating study's one-layer grids
(``gating.json``), the same protocol. This section renders those records: it trains nothing, and judges nothing.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from acceptance import plots
from acceptance.measures import BASELINE, NAMES, reduction
from acceptance.profiles import PROFILES
from acceptance.record import Figure, Recorder, Table
from acceptance.records import MEASURED, gating, rate_text, rnn_spread
from rnnlab.cells import MODEL_KINDS
from rnnlab.checks import count_parameters
from rnnlab.models.charlm import CharLM, CharLMConfig

SECTION = "study-sizes"
RECORD = MEASURED / "sizes.json"


@dataclass(frozen=True)
class SizeRun:
    """One model kind at one parameter budget: its seed-0 grid and the best rate of it."""

    budget: int
    kind: str
    hidden: int
    params: int
    grid: tuple[tuple[float, float], ...]  # (rate, validation perplexity), in order of rate
    steps: int
    machine: str
    git: str
    command: str

    @property
    def best(self) -> tuple[float, float]:
        return min(self.grid, key=lambda pair: pair[1])


def _params(kind: str, hidden: int) -> int:
    lab02 = PROFILES["quick"].lab02
    return count_parameters(CharLM, CharLMConfig(65, kind, hidden, 1, lab02.embedding_dim))


def _noise_text() -> str:
    """The RNN's own spread over seeds at Lab 02's budget (the gating study), against which one seed's gap is read."""
    noise = rnn_spread("quick", PROFILES["quick"].lab02.lr(BASELINE))
    return (
        "" if noise is None else f"; at Lab 02's budget the RNN alone moves {noise:.1f}% over the gating study's seeds"
    )


def load() -> list[SizeRun]:
    """Every size's runs: the records of sizes.json, and Lab 02's own budget from the gating study (one layer)."""
    import json

    found: list[SizeRun] = []
    grouped: dict[tuple[int, str], list[dict[str, Any]]] = {}  # a grid taken one rate past its edge is a second record
    if RECORD.is_file():
        for r in json.loads(RECORD.read_text(encoding="utf-8"))["records"]:
            grouped.setdefault((r["budget"], r["model"]), []).append(r)
    for (budget, model), rs in grouped.items():
        kind = model.split(".")[-1]
        grid = tuple(sorted((float(rate), float(ppl)) for r in rs for rate, ppl in r["grid"]))
        git = ", ".join(dict.fromkeys(r["git"] for r in rs))
        commands = "; ".join(r["command"] for r in rs)
        found.append(
            SizeRun(budget, kind, rs[0]["hidden"], _params(kind, rs[0]["hidden"]), grid, rs[0]["steps"],
                    rs[0]["machine"], git, commands)
        )  # fmt: skip
    lab02 = PROFILES["quick"].lab02
    for g in gating("quick"):
        if g.layers == 1:
            kind = g.model.split(".")[-1]
            hidden = dict(lab02.hidden(65))[kind]
            commands = "; ".join(g.commands)
            found.append(
                SizeRun(
                    lab02.param_budget, kind, hidden, _params(kind, hidden), g.grid, g.steps, g.machine, g.git, commands
                )
            )
    return sorted(found, key=lambda r: (r.budget, list(MODEL_KINDS).index(r.kind)))


COLUMNS = ["budget", "model", "hidden", "parameters", "grid (rate: perplexity)", "best rate", "perplexity", "vs RNN"]


def table_rows(runs: list[SizeRun]) -> list[list[object]]:
    """The study's table (COLUMNS): each kind at each budget where every kind was measured, at its best rate, and its
    reduction against the RNN of the same budget."""
    by = {(r.budget, r.kind): r for r in runs}
    rows: list[list[object]] = []
    for b in sorted({r.budget for r in runs}):
        if not all((b, k) in by for k in MODEL_KINDS):
            continue
        rnn = by[(b, BASELINE)]
        for kind in MODEL_KINDS:
            r = by[(b, kind)]
            rate, ppl = r.best
            edge = " (edge of its grid)" if len(r.grid) > 1 and rate in (r.grid[0][0], r.grid[-1][0]) else ""
            rows.append(
                [
                    f"{b:,}",
                    NAMES[kind],
                    r.hidden,
                    r.params,
                    " / ".join(f"{rate_text(x)}: {p:.3f}" for x, p in r.grid),
                    rate_text(rate) + edge,
                    f"{ppl:.3f}",
                    "—" if kind == BASELINE else f"{reduction(rnn.best[1], ppl):+.1f}%",
                ]
            )
    return rows


def write(recorder: Recorder) -> None:
    runs = load()
    sec = recorder.section(SECTION, "Study — where does the LSTM's lead appear? Matched parameters at several sizes")
    budgets = sorted({r.budget for r in runs})
    if not runs:
        sec.summary = "No record yet: acceptance/measured/sizes.json holds none."
        return
    by = {(r.budget, r.kind): r for r in runs}
    complete = [b for b in budgets if all((b, k) in by for k in MODEL_KINDS)]
    steps = runs[0].steps
    sec.summary = (
        "Does the gated cells' lead over the vanilla RNN grow with the model? Each kind at parameter budgets of "
        + ", ".join(f"{b:,}" for b in budgets)
        + f", parameters matched within each budget, each at the best rate of its own grid, every size on Lab 02's "
        f"quick protocol ({steps} steps of the same characters, schedule and clipping, seed 0). A finding, not a "
        "criterion: measured once, outside this run (acceptance/measured/sizes.json; Lab 02's own budget is the "
        "gating study's one-layer grids, gating.json)."
    )
    rows = table_rows(runs)
    sec.tables.append(
        Table(
            "Validation perplexity at matched parameters, by size",
            COLUMNS,
            rows,
            caption="'vs RNN': the perplexity reduction against the RNN of the same budget, each at its best rate, in "
            f"% of the RNN's (one seed{_noise_text()}). A best rate at the edge of its grid may not be the model's "
            "best. " + "; ".join(sorted({f"{r.machine}, git {r.git}" for r in runs})),
        )
    )
    if complete:
        sec.figures.append(
            Figure(
                "Perplexity against parameters",
                "Each kind at its best rate, by parameter budget (log scale): where the curves part is where a "
                "gated cell's lead appears.",
                plots.series(
                    {NAMES[k]: [by[(b, k)].best[1] for b in complete] for k in MODEL_KINDS},
                    "parameter budget",
                    "validation perplexity",
                    "Lab 02's models at matched parameters",
                    x=complete,
                    logx=True,
                ),
            )
        )
        leads = {k: [reduction(by[(b, BASELINE)].best[1], by[(b, k)].best[1]) for b in complete] for k in MODEL_KINDS}
        sec.notes.append(
            "Reduction against the RNN of the same size, smallest to largest budget: "
            + "; ".join(
                f"{NAMES[k]} " + " -> ".join(f"{v:+.1f}%" for v in leads[k]) for k in MODEL_KINDS if k != BASELINE
            )
            + "."
        )
