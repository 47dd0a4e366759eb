"""Follow-ups of the session's audits: texts that quote the result's own words, NaN/inf weights
named at the entry points, the Jacobian spectrum's missing theory said, numpy inputs, keyword
names, and CLV lengths derived from the inputs.

Oracles: the odd double well of tests/test_fixed_points.py (sinks (+-1, 0), saddle (0, 0)), whose
fixed-point result's ``starts`` is the text quoted; exact Jacobians of a linear map.
"""

from __future__ import annotations

import torch

import rnndyn as rd
from rnndyn.report import fixed_point_census
from test_fixed_points import DoubleWell

F64 = torch.float64


# ----------------------------------------------------------------------------- 1. starts in words
def test_analyze_fixed_point_text_quotes_the_searchs_starts() -> None:
    """rd.analyze's 'analysed' row says what the search started from in the search's own words
    (the default mixed starts, not 'states after a 200-step transient' only)."""
    res = rd.analyze(
        DoubleWell(), sections=["fixed_points"], fixed_point_starts=4, n_trajectories=1, n_steps=10
    )
    fp = res.fixed_points
    assert fp.starts_from == "mixed" and "uniform in the box of the visited states" in fp.starts
    assert res.analysed["fixed_points"] == f"zero input; 4 starts: {fp.starts} (seed 3)"


def test_census_quotes_the_starts_it_counts_for() -> None:
    """The complete-census sentence names the start distribution (here: three given states)."""
    starts = torch.tensor([[1.2, 0.3], [0.8, -0.2], [1.1, 0.1]], dtype=F64)
    res = rd.find_fixed_points(DoubleWell(), initial_states=starts, throw=False)
    assert res.starts == "3 given initial_states"
    text = fixed_point_census(res)
    assert "is 0 <= 0.01 (for starts drawn like these: 3 given initial_states)." in text, text
