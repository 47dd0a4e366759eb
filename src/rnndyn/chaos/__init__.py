"""Chaos at initialisation: period-3 (Li--Yorke) detection, lap numbers, scrambling, persistence.

See docs/chaos.md. theory/chaos.md §1 ([CPSS22], arXiv:2210.05212).
"""

from rnndyn.chaos._common import wilson_interval
from rnndyn.chaos._detect import (
    EntropyResult,
    Lyapunov1DResult,
    Period3Result,
    PeriodicPointsResult,
    composition_laps,
    lap_numbers,
    li_yorke_witness,
    lyapunov_exponent_1d,
    period3,
    periodic_points,
    topological_entropy,
)
from rnndyn.chaos._networks import (
    ACTIVATIONS,
    OUT_ACTIVATIONS,
    SCALAR_INITS,
    PiecewiseLinear,
    ScalarNetwork,
)

__all__ = [
    "ACTIVATIONS",
    "OUT_ACTIVATIONS",
    "SCALAR_INITS",
    "EntropyResult",
    "Lyapunov1DResult",
    "Period3Result",
    "PeriodicPointsResult",
    "PiecewiseLinear",
    "ScalarNetwork",
    "composition_laps",
    "lap_numbers",
    "li_yorke_witness",
    "lyapunov_exponent_1d",
    "period3",
    "periodic_points",
    "topological_entropy",
    "wilson_interval",
]
