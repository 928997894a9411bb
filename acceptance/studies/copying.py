"""Study: what an exact earlier copy is worth to each model (in-context copying, as induction
heads do it; Olsson et al., 2022), for Lab 02's recurrent models and the bridge's attention LM."""

from __future__ import annotations

from typing import Any

from acceptance import plots
from acceptance.measures import ATTENTION
from acceptance.measures import LM_NAMES as NAMES
from acceptance.record import Figure, Recorder, Table
from acceptance.trained import BridgeResult, Lab02Result
from rnnlab.metrics import copy_gain

SECTION = "study-copying"


def measure(study: Any, lab02: Lab02Result, bridge: BridgeResult, val_ids: Any) -> dict[str, Any]:
    """``copy_gain`` of every model over Lab 02's training window (the attention LM's window), at the
    study's distances that fit in it: model -> {d: (loss after another span, loss after the copy,
    the gain's standard error)}."""
    window, seed = lab02.cfg.train.seq_len, lab02.cfg.eval_seed  # the same spans whatever the training seed
    distances = [d for d in study.copy_distances if d + 2 * study.copy_span <= window]
    if not distances:
        raise ValueError(
            f"Studies.copy_span ({study.copy_span}) twice, with any of copy_distances {study.copy_distances} "
            f"between, does not fit the {window}-character training window; shorten the span"
        )
    if bridge.run is None or bridge.run.model is None:
        raise ValueError("the copying study reads the trained attention LM; this session did not train it")
    models: dict[str, Any] = {k: r.model for k, r in lab02.runs.items()} | {ATTENTION: bridge.run.model}
    copies = {
        k: copy_gain(model, val_ids, window, study.copy_span, distances, study.copy_positions, seed=seed)
        for k, model in models.items()
    }
    return {"study": study, "window": window, "copy": copies}


def gains(result: dict[str, Any]) -> dict[str, dict[int, tuple[float, float]]]:
    """model -> {d: (gain in nats per character, its standard error)}, the recurrent models first."""
    return {k: {d: (other - copied, se) for d, (other, copied, se) in c.items()} for k, c in result["copy"].items()}


def nats(gain: float) -> str:
    """A gain with its sign, to 4 places (a tiny negative prints as +0.0000, not -0.0000)."""
    return f"{round(gain, 4) + 0.0:+.4f}"


def copies_best(gains: dict[str, dict[int, tuple[float, float]]], far: int) -> bool:
    """Whether the attention LM's gain at distance ``far`` exceeds every recurrent model's by more
    than twice the larger of their standard errors (less could be chance)."""
    mine, mine_se = gains[ATTENTION][far]
    return all(mine - g[far][0] > 2 * max(mine_se, g[far][1]) for k, g in gains.items() if k != ATTENTION)


def write(recorder: Recorder, result: dict[str, Any]) -> None:
    study, gained, copies = result["study"], gains(result), result["copy"]
    distances = list(copies[ATTENTION])
    span, window = study.copy_span, result["window"]
    far = max(distances)
    sec = recorder.section(SECTION, "Study — what an exact earlier copy is worth (in-context copying)")
    sec.summary = (
        "Exact recall is one mechanism credited for a transformer's reach (induction heads, Olsson et al., "
        "2022). Measured on Lab 02's trained models and the bridge's attention LM; a finding, not a criterion."
    )
    how = (
        f"At {study.copy_positions:,} validation spans of {span} characters, each model reads the "
        f"{window + 1} characters of text that end with the span from a fresh state, twice, with the {span} "
        "characters that end d characters before the span overwritten: once by another span of the text, once "
        "by the span itself. The gain is how much lower its mean loss on the span's characters "
        f"2..{span} is after the copy (rnnlab.metrics.copy_gain, spec/lab02/test_context.py)."
    )
    sec.tables.append(
        Table(
            "What an exact earlier copy is worth (in-context copying)",
            [
                "model",
                f"loss after another span (d = {far})",
                *(f"gain at d = {d}" for d in distances),
                "share at d = " + str(far),
            ],
            [
                [
                    NAMES[k],
                    c[far][0],
                    *(f"{nats(gained[k][d][0])} ± {gained[k][d][1]:.4f}" for d in distances),
                    f"{100 * gained[k][far][0] / c[far][0]:.1f}%",
                ]
                for k, c in copies.items()
            ],
            caption=how + " Each gain ± its standard error over the spans (a gain within about two of them of "
            "zero, or of another model's, could be chance). Share: the gain as a part of the loss after another "
            "span. Nats per character.",
        )
    )
    sec.figures.append(
        Figure(
            "What an exact earlier copy is worth, against its distance",
            how,
            plots.series(
                {NAMES[k]: [g[d][0] for d in distances] for k, g in gained.items()},
                "characters between the copy and the span (d)",
                "loss drop on the repeat (nats per character)",
                "In-context copying",
                x=distances,
            ),
        )
    )
    mine, mine_se = gained[ATTENTION][far]
    recurrent = [k for k in gained if k != ATTENTION]
    most = max(recurrent, key=lambda k: gained[k][far][0])
    sec.notes.append(
        f"Given a {span}-character span it already read {far} characters earlier, the attention LM's loss on the "
        f"repeat changes by {nats(-mine)} ± {mine_se:.4f} nats per character "
        f"({100 * mine / copies[ATTENTION][far][0]:.1f}% of it), the "
        + ", the ".join(f"{NAMES[k]}'s by {nats(-gained[k][far][0])}" for k in recurrent)
        + (
            ": it gains more than any recurrent model, by more than twice the standard errors."
            if copies_best(gained, far)
            else f": it gains not measurably more than the recurrent models (the largest of theirs: the {NAMES[most]}'s)."
        )
    )
