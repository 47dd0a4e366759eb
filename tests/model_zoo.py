"""Every model rnndyn ships, as small float64 instances: the conformance suite runs them all.

Add one line here for every new model (map or flow). Entries: name -> factory(generator).
"""

from __future__ import annotations

from collections.abc import Callable

import torch

import rnndyn as rd

F64 = torch.float64


def _g(seed: int) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


ZOO: dict[str, Callable[[], rd.AbstractSystem]] = {
    "vanilla_tanh": lambda: rd.VanillaRNN(7, g=1.8, input_size=3, bias_std=0.3, generator=_g(1), dtype=F64),
    "vanilla_relu": lambda: rd.VanillaRNN(6, g=1.2, activation="relu", bias=0.1, generator=_g(2), dtype=F64),
    "vanilla_he": lambda: rd.VanillaRNN(6, init="he", generator=_g(3), dtype=F64),
    "rate": lambda: rd.RateRNN(7, g=2.0, input_size=2, generator=_g(4), dtype=F64),
    "rate_zero_diag": lambda: rd.RateRNN(6, g=3.0, zero_diagonal=True, generator=_g(5), dtype=F64),
    "rate_rk4": lambda: rd.discretise(
        rd.RateRNN(6, g=2.0, input_size=2, generator=_g(6), dtype=F64), dt=0.1, method="rk4"
    ),
    "lorenz63": lambda: rd.Lorenz63().double(),
    "lorenz63_rk4": lambda: rd.discretise(rd.Lorenz63().double(), dt=0.01, method="rk4"),
    "lorenz63_euler": lambda: rd.discretise(rd.Lorenz63().double(), dt=0.01, method="euler"),
    "rossler_heun": lambda: rd.discretise(rd.Rossler().double(), dt=0.05, method="heun"),
    "lorenz96": lambda: rd.Lorenz96(8).double(),
    "henon": lambda: rd.Henon().double(),
    "logistic": lambda: rd.Logistic(r=3.7).double(),
}
