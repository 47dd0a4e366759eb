"""rnndyn: recurrent neural networks as dynamical systems.

>>> import rnndyn as rd
>>> rd.__version__
'0.1.0'
"""

from rnndyn import chaos, meanfield, training
from rnndyn._results import AnalysisError, Check, Result, Status
from rnndyn._version import __version__
from rnndyn.analysis import AnalysisResult, analyze
from rnndyn.checks import check_jacobian
from rnndyn.clv import CLVResult, FTLEResult, covariant_lyapunov_vectors, finite_time_exponents
from rnndyn.discretise import Discretised, discretise
from rnndyn.fixed_points import FixedPointResult, find_fixed_points
from rnndyn.io import load_model, load_torch_model
from rnndyn.jacobians import jacobian
from rnndyn.lyapunov import LyapunovEngine, LyapunovResult, lyapunov_spectrum, max_lyapunov
from rnndyn.lyapunov_data import DataLyapunovResult, lyapunov_from_data
from rnndyn.models import (
    GRU,
    LSTM,
    PLRNN,
    AbstractFlow,
    AbstractMap,
    AbstractSystem,
    GatedRateRNN,
    RateRNN,
    TorchGRU,
    TorchLSTM,
    TorchRNN,
    VanillaRNN,
    autonomous,
    from_torch,
    init,
)
from rnndyn.phases import phase_diagram
from rnndyn.simulate import rollout_like_torch, simulate
from rnndyn.spectra import SpectrumResult, jacobian_spectrum
from rnndyn.sweeps import sweep
from rnndyn.systems import Henon, Logistic, Lorenz63, Lorenz96, Rossler, Tent

__all__ = [
    "GRU",
    "LSTM",
    "PLRNN",
    "AbstractFlow",
    "AbstractMap",
    "AbstractSystem",
    "AnalysisResult",
    "AnalysisError",
    "Check",
    "Discretised",
    "CLVResult",
    "DataLyapunovResult",
    "FTLEResult",
    "FixedPointResult",
    "GatedRateRNN",
    "Henon",
    "Logistic",
    "Lorenz63",
    "Lorenz96",
    "LyapunovEngine",
    "LyapunovResult",
    "RateRNN",
    "Result",
    "Rossler",
    "SpectrumResult",
    "Status",
    "Tent",
    "TorchGRU",
    "TorchLSTM",
    "TorchRNN",
    "VanillaRNN",
    "__version__",
    "analyze",
    "autonomous",
    "chaos",
    "check_jacobian",
    "discretise",
    "find_fixed_points",
    "from_torch",
    "init",
    "jacobian",
    "jacobian_spectrum",
    "load_model",
    "load_torch_model",
    "covariant_lyapunov_vectors",
    "finite_time_exponents",
    "lyapunov_from_data",
    "lyapunov_spectrum",
    "max_lyapunov",
    "meanfield",
    "phase_diagram",
    "rollout_like_torch",
    "simulate",
    "training",
    "sweep",
]
