"""rnndyn: recurrent neural networks as dynamical systems.

>>> import rnndyn as rd
>>> rd.__version__
'0.1.0'
"""

from importlib.metadata import PackageNotFoundError, version

from rnndyn.discretise import Discretised, discretise
from rnndyn.jacobians import jacobian
from rnndyn.lyapunov import LyapunovEngine, LyapunovResult, lyapunov_spectrum, max_lyapunov
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
    from_torch,
    init,
    load_torch_model,
    rollout_like_torch,
)
from rnndyn.simulate import simulate
from rnndyn.sweeps import sweep
from rnndyn.systems import Henon, Logistic, Lorenz63, Lorenz96, Rossler

try:
    __version__ = version("rnndyn")
except PackageNotFoundError:  # pragma: no cover - running from a source tree
    __version__ = "0.1.0"

__all__ = [
    "GRU",
    "LSTM",
    "PLRNN",
    "AbstractFlow",
    "AbstractMap",
    "AbstractSystem",
    "Discretised",
    "GatedRateRNN",
    "Henon",
    "Logistic",
    "Lorenz63",
    "Lorenz96",
    "LyapunovEngine",
    "LyapunovResult",
    "RateRNN",
    "Rossler",
    "TorchGRU",
    "TorchLSTM",
    "TorchRNN",
    "VanillaRNN",
    "__version__",
    "discretise",
    "from_torch",
    "init",
    "jacobian",
    "load_torch_model",
    "lyapunov_spectrum",
    "max_lyapunov",
    "rollout_like_torch",
    "simulate",
    "sweep",
]
