"""Models as dynamical systems (maps and flows) and their initialisations."""

from rnndyn.models import init
from rnndyn.models.base import AbstractFlow, AbstractMap, AbstractSystem
from rnndyn.models.gated import GatedRateRNN
from rnndyn.models.gru import GRU
from rnndyn.models.lstm import LSTM
from rnndyn.models.plrnn import PLRNN
from rnndyn.models.torch_interop import (
    TorchGRU,
    TorchLSTM,
    TorchRNN,
    from_torch,
)
from rnndyn.models.vanilla import RateRNN, VanillaRNN
from rnndyn.models.wrappers import AutonomousFlow, AutonomousMap, autonomous

__all__ = [
    "GRU",
    "LSTM",
    "PLRNN",
    "AbstractFlow",
    "AbstractMap",
    "AbstractSystem",
    "AutonomousFlow",
    "AutonomousMap",
    "GatedRateRNN",
    "RateRNN",
    "TorchGRU",
    "TorchLSTM",
    "TorchRNN",
    "VanillaRNN",
    "autonomous",
    "from_torch",
    "init",
]
