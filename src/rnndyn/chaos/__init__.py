"""Chaos at initialisation: period-3 (Li--Yorke) detection, lap numbers, scrambling, persistence.

See docs/chaos.md. docs/theory/chaos.md §1 ([CPSS22], arXiv:2210.05212).
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
from rnndyn.chaos._persistence import PersistenceResult, persistence
from rnndyn.chaos._probability import (
    CRITERIA,
    VECTOR_INITS,
    ChaosProbabilityResult,
    batched_max_lyapunov_rnn,
    chaos_probability,
    vector_chaos_probability,
)
from rnndyn.chaos._vector import ScramblingResult, scrambling

__all__ = [
    "ACTIVATIONS",
    "CRITERIA",
    "VECTOR_INITS",
    "ChaosProbabilityResult",
    "PersistenceResult",
    "ScramblingResult",
    "batched_max_lyapunov_rnn",
    "chaos_probability",
    "persistence",
    "scrambling",
    "vector_chaos_probability",
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
