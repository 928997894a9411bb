"""The figures the report embeds: every helper returns a PNG, drawn with the Agg backend."""

import matplotlib
import numpy as np
import pytest

from acceptance import plots

PNG = b"\x89PNG\r\n\x1a\n"


def test_the_backend_is_agg():
    assert matplotlib.get_backend().lower() == "agg", "plots must never need a display"


@pytest.mark.parametrize(
    "make",
    [
        lambda: plots.loss_curves({"m": {"train_loss": [3.0, 2.0, 1.5], "eval_step": [3], "val_loss": [1.6]}}),
        lambda: plots.val_loss_vs_time({"m": {"eval_seconds": [1.0, 2.0], "val_loss": [2.0, 1.5]}}),
        lambda: plots.series({"a": [1.0, 0.1, 0.01]}, "x", "y", "t", logy=True, smooth=2),
        lambda: plots.grad_through_time({"m": ([1.0, 0.1, 0.01], [1.0, 0.5, 0.2])}),
        lambda: plots.attention_heatmap(np.eye(3, 5), "ab cd", "xyz"),
        lambda: plots.accuracy_by_length({"m": ([10, 30], [1.0, 0.5])}),
        lambda: plots.learning_curves(
            {
                "m": {
                    "eval_step": [1, 2],
                    "eval_seconds": [1, 2],
                    "val_accuracy": [{"short": 0.1, "long": 0.0}, {"short": 0.9, "long": 0.5}],
                }
            },
            "eval_step",
            "step",
        ),
    ],
    ids=["loss", "val-time", "series", "grad-time", "heatmap", "by-length", "learning"],
)
def test_every_figure_is_a_png(make):
    png = make()
    assert png.startswith(PNG) and len(png) > 1000, "each helper returns the bytes of a non-trivial PNG"


def test_moving_average():
    assert plots.moving_average([1, 2, 3, 4], 2) == [1, 1.5, 2.5, 3.5]


def test_series_in_pairs_can_be_drawn_as_lines_without_markers(monkeypatch):
    """A thousand-step series in pairs (the clipping study's clipped and unclipped runs: solid and dashed in one colour)
    is drawn as lines: a marker on every point would bury one curve under its twin."""
    import matplotlib.axes

    seen = []
    real = matplotlib.axes.Axes.plot

    def spy(self, *args, **kwargs):
        seen.append(kwargs)
        return real(self, *args, **kwargs)

    monkeypatch.setattr(matplotlib.axes.Axes, "plot", spy)
    plots.series({"a": [1.0, 2.0], "b": [2.0, 1.0]}, "x", "y", "t", styles=["-", "--"], marker="")
    assert [k["marker"] for k in seen] == ["", ""], seen
    assert [k["color"] for k in seen] == ["C0", "C0"], "a pair shares its colour"
