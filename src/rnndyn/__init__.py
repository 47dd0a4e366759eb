"""rnndyn: recurrent neural networks as dynamical systems.

>>> import rnndyn as rd
>>> rd.__version__
'0.1.0'
"""

from importlib.metadata import PackageNotFoundError, version

from rnndyn.discretise import Discretised, discretise
from rnndyn.jacobians import jacobian
from rnndyn.models import AbstractFlow, AbstractMap, AbstractSystem, RateRNN, VanillaRNN, init
from rnndyn.simulate import simulate
from rnndyn.systems import Henon, Logistic, Lorenz63, Lorenz96, Rossler

try:
    __version__ = version("rnndyn")
except PackageNotFoundError:  # pragma: no cover - running from a source tree
    __version__ = "0.1.0"

__all__ = [
    "AbstractFlow",
    "AbstractMap",
    "AbstractSystem",
    "Discretised",
    "Henon",
    "Logistic",
    "Lorenz63",
    "Lorenz96",
    "RateRNN",
    "Rossler",
    "VanillaRNN",
    "__version__",
    "discretise",
    "init",
    "jacobian",
    "simulate",
]
