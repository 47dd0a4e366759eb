"""rnndyn: recurrent neural networks as dynamical systems.

>>> import rnndyn as rd
>>> rd.__version__
'0.1.0'

The public names are loaded on first use (PEP 562 module ``__getattr__``): ``import rnndyn`` does
not import torch, so ``rnndyn --help`` starts at once, and ``rd.lyapunov_spectrum`` (or ``from
rnndyn import lyapunov_spectrum``) imports its module the first time it is asked for.

A new public name is one line in :data:`_EXPORTS` (name -> the module that defines it) and its
import in the ``TYPE_CHECKING`` block below (what type checkers and editors read);
``tests/test_package_lazy.py`` checks that the two agree. Never import a module here at run time:
every eager import would load torch for every command line call.
"""

from __future__ import annotations

import importlib
import importlib.util
import sys
import types
from typing import TYPE_CHECKING, Any

from rnndyn._version import __version__

if TYPE_CHECKING:  # the same names for type checkers and editors (`X as X`: re-exported)
    from rnndyn import chaos as chaos
    from rnndyn import meanfield as meanfield
    from rnndyn import training as training
    from rnndyn._results import AnalysisError as AnalysisError
    from rnndyn._results import Check as Check
    from rnndyn._results import Result as Result
    from rnndyn._results import Status as Status
    from rnndyn.analysis import AnalysisResult as AnalysisResult
    from rnndyn.analysis import analyze as analyze
    from rnndyn.checks import check_jacobian as check_jacobian
    from rnndyn.clv import CLVResult as CLVResult
    from rnndyn.clv import FTLEResult as FTLEResult
    from rnndyn.clv import covariant_lyapunov_vectors as covariant_lyapunov_vectors
    from rnndyn.clv import finite_time_exponents as finite_time_exponents
    from rnndyn.discretise import Discretised as Discretised
    from rnndyn.discretise import discretise as discretise
    from rnndyn.fixed_points import FixedPointResult as FixedPointResult
    from rnndyn.fixed_points import find_fixed_points as find_fixed_points
    from rnndyn.io import load_model as load_model
    from rnndyn.io import load_torch_model as load_torch_model
    from rnndyn.jacobians import jacobian as jacobian
    from rnndyn.lyapunov import LyapunovEngine as LyapunovEngine
    from rnndyn.lyapunov import LyapunovResult as LyapunovResult
    from rnndyn.lyapunov import lyapunov_spectrum as lyapunov_spectrum
    from rnndyn.lyapunov import max_lyapunov as max_lyapunov
    from rnndyn.lyapunov_data import DataLyapunovResult as DataLyapunovResult
    from rnndyn.lyapunov_data import lyapunov_from_data as lyapunov_from_data
    from rnndyn.models import GRU as GRU
    from rnndyn.models import LSTM as LSTM
    from rnndyn.models import PLRNN as PLRNN
    from rnndyn.models import AbstractFlow as AbstractFlow
    from rnndyn.models import AbstractMap as AbstractMap
    from rnndyn.models import AbstractSystem as AbstractSystem
    from rnndyn.models import GatedRateRNN as GatedRateRNN
    from rnndyn.models import RateRNN as RateRNN
    from rnndyn.models import TorchGRU as TorchGRU
    from rnndyn.models import TorchLSTM as TorchLSTM
    from rnndyn.models import TorchRNN as TorchRNN
    from rnndyn.models import VanillaRNN as VanillaRNN
    from rnndyn.models import autonomous as autonomous
    from rnndyn.models import from_torch as from_torch
    from rnndyn.models import init as init
    from rnndyn.phases import phase_diagram as phase_diagram
    from rnndyn.simulate import rollout_like_torch as rollout_like_torch
    from rnndyn.simulate import simulate as simulate
    from rnndyn.spectra import SpectrumResult as SpectrumResult
    from rnndyn.spectra import jacobian_spectrum as jacobian_spectrum
    from rnndyn.sweeps import sweep as sweep
    from rnndyn.systems import Henon as Henon
    from rnndyn.systems import Logistic as Logistic
    from rnndyn.systems import Lorenz63 as Lorenz63
    from rnndyn.systems import Lorenz96 as Lorenz96
    from rnndyn.systems import Rossler as Rossler
    from rnndyn.systems import Tent as Tent

#: the public subpackages (``rd.meanfield.dmft_scs``), imported on first use
_SUBPACKAGES: tuple[str, ...] = ("chaos", "meanfield", "training")
#: public name -> the module it is imported from on first use
_EXPORTS: dict[str, str] = {
    "GRU": "rnndyn.models",
    "LSTM": "rnndyn.models",
    "PLRNN": "rnndyn.models",
    "AbstractFlow": "rnndyn.models",
    "AbstractMap": "rnndyn.models",
    "AbstractSystem": "rnndyn.models",
    "AnalysisResult": "rnndyn.analysis",
    "AnalysisError": "rnndyn._results",
    "Check": "rnndyn._results",
    "Discretised": "rnndyn.discretise",
    "CLVResult": "rnndyn.clv",
    "DataLyapunovResult": "rnndyn.lyapunov_data",
    "FTLEResult": "rnndyn.clv",
    "FixedPointResult": "rnndyn.fixed_points",
    "GatedRateRNN": "rnndyn.models",
    "Henon": "rnndyn.systems",
    "Logistic": "rnndyn.systems",
    "Lorenz63": "rnndyn.systems",
    "Lorenz96": "rnndyn.systems",
    "LyapunovEngine": "rnndyn.lyapunov",
    "LyapunovResult": "rnndyn.lyapunov",
    "RateRNN": "rnndyn.models",
    "Result": "rnndyn._results",
    "Rossler": "rnndyn.systems",
    "SpectrumResult": "rnndyn.spectra",
    "Status": "rnndyn._results",
    "Tent": "rnndyn.systems",
    "TorchGRU": "rnndyn.models",
    "TorchLSTM": "rnndyn.models",
    "TorchRNN": "rnndyn.models",
    "VanillaRNN": "rnndyn.models",
    "analyze": "rnndyn.analysis",
    "autonomous": "rnndyn.models",
    "check_jacobian": "rnndyn.checks",
    "discretise": "rnndyn.discretise",
    "find_fixed_points": "rnndyn.fixed_points",
    "from_torch": "rnndyn.models",
    "init": "rnndyn.models",
    "jacobian": "rnndyn.jacobians",
    "jacobian_spectrum": "rnndyn.spectra",
    "load_model": "rnndyn.io",
    "load_torch_model": "rnndyn.io",
    "covariant_lyapunov_vectors": "rnndyn.clv",
    "finite_time_exponents": "rnndyn.clv",
    "lyapunov_from_data": "rnndyn.lyapunov_data",
    "lyapunov_spectrum": "rnndyn.lyapunov",
    "max_lyapunov": "rnndyn.lyapunov",
    "phase_diagram": "rnndyn.phases",
    "rollout_like_torch": "rnndyn.simulate",
    "simulate": "rnndyn.simulate",
    "sweep": "rnndyn.sweeps",
}

__all__ = [*_EXPORTS, *_SUBPACKAGES, "__version__"]


def _load(name: str) -> Any:
    """The public object ``name``: a subpackage, or an attribute of its module."""
    if name in _SUBPACKAGES:
        value = importlib.import_module(f"{__name__}.{name}")
    else:
        value = getattr(importlib.import_module(_EXPORTS[name]), name)
    globals()[name] = value  # later look-ups are plain attribute reads
    return value


def __getattr__(name: str) -> Any:
    """PEP 562: a public name is imported on first use; any other submodule (``rd.lyapunov``,
    ``rd.models``) is imported as ``import rnndyn.NAME`` would."""
    if name in _EXPORTS or name in _SUBPACKAGES:
        return _load(name)
    if (
        name.isidentifier()
        and not name.startswith("__")
        and importlib.util.find_spec(f"{__name__}.{name}") is not None
    ):
        return importlib.import_module(f"{__name__}.{name}")
    import difflib

    close = difflib.get_close_matches(name, __all__, n=3)
    hint = f"; did you mean {' or '.join(map(repr, close))}?" if close else ""
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}{hint}")


def __dir__() -> list[str]:
    return sorted({*globals(), *__all__})


class _Package(types.ModuleType):
    """The package's module type. Importing a submodule binds it as an attribute of its package;
    for ``rnndyn.simulate`` and ``rnndyn.discretise`` that would hide the public functions
    ``rd.simulate`` and ``rd.discretise`` of the same names (whichever analysis imported the module
    first). The public name wins, as it did when this file imported everything eagerly."""

    def __setattr__(self, name: str, value: Any) -> None:
        if (
            name in _EXPORTS
            and isinstance(value, types.ModuleType)
            and value.__name__ == f"{__name__}.{name}"
        ):
            return
        super().__setattr__(name, value)


sys.modules[__name__].__class__ = _Package
