"""Models as dynamical systems (maps and flows) and their initialisations."""

from rnndyn.models import init
from rnndyn.models.base import AbstractFlow, AbstractMap, AbstractSystem
from rnndyn.models.vanilla import RateRNN, VanillaRNN

__all__ = ["AbstractFlow", "AbstractMap", "AbstractSystem", "RateRNN", "VanillaRNN", "init"]
