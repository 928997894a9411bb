"""Hypothesis strategies shared by the specs: bounded floats, drawn shapes, seeds."""

from __future__ import annotations

import numpy as np
from hypothesis import strategies as st

seeds = st.integers(min_value=0, max_value=2**31 - 1)
sizes = st.integers(min_value=1, max_value=6)


@st.composite
def cell_case(draw, gates: int = 1):
    """Sizes, weights and inputs for one step of a cell with ``gates`` stacked blocks.

    Values are float64 and bounded so tanh/sigmoid are neither all-saturated nor trivial.
    """
    batch, n_in, hidden = draw(sizes), draw(sizes), draw(sizes)
    rng = np.random.default_rng(draw(seeds))
    scale = draw(st.floats(min_value=0.1, max_value=2.0))
    return {
        "batch": batch,
        "input_size": n_in,
        "hidden_size": hidden,
        "w_ih": rng.uniform(-scale, scale, (gates * hidden, n_in)),
        "b_ih": rng.uniform(-scale, scale, gates * hidden),
        "w_hh": rng.uniform(-scale, scale, (gates * hidden, hidden)),
        "b_hh": rng.uniform(-scale, scale, gates * hidden),
        "x": rng.uniform(-2, 2, (batch, n_in)),
        "h": rng.uniform(-1, 1, (batch, hidden)),
        "c": rng.uniform(-2, 2, (batch, hidden)),
    }


texts = st.text(alphabet=st.characters(codec="utf-8", exclude_categories=("Cs",)), min_size=1, max_size=200)
