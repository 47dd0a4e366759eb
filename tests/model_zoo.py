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


def _torch(module: torch.nn.Module, seed: int, gain: float = 1.5, **kw) -> rd.AbstractSystem:
    """Wrap a torch.nn RNN with rd.from_torch after redrawing its weights N(0, gain^2/H), seeded."""
    gen = _g(seed)
    module = module.to(F64)
    with torch.no_grad():
        for p in module.parameters():
            p.copy_(torch.randn(p.shape, generator=gen, dtype=F64) * gain / module.hidden_size**0.5)
    return rd.from_torch(module, **kw)


ZOO: dict[str, Callable[[], rd.AbstractSystem]] = {
    "vanilla_tanh": lambda: rd.VanillaRNN(7, g=1.8, input_size=3, bias_std=0.3, generator=_g(1), dtype=F64),
    "vanilla_relu": lambda: rd.VanillaRNN(6, g=1.2, activation="relu", bias=0.1, generator=_g(2), dtype=F64),
    "vanilla_he": lambda: rd.VanillaRNN(6, init="he", generator=_g(3), dtype=F64),
    "rate": lambda: rd.RateRNN(7, g=2.0, input_size=2, generator=_g(4), dtype=F64),
    "rate_zero_diag": lambda: rd.RateRNN(6, g=3.0, zero_diagonal=True, generator=_g(5), dtype=F64),
    "rate_rk4": lambda: rd.discretise(
        rd.RateRNN(6, g=2.0, input_size=2, generator=_g(6), dtype=F64), dt=0.1, method="rk4"
    ),
    "gru": lambda: rd.GRU(7, g_h=3.0, alpha_z=2.0, alpha_r=1.5, generator=_g(11), dtype=F64),
    "gru_inputs_bias_std": lambda: rd.GRU(
        6, g_h=2.5, alpha_z=1.0, alpha_r=3.0, input_size=3, bias_std=0.5, generator=_g(12), dtype=F64
    ),
    "gru_scalar_biases_orth": lambda: rd.GRU(
        6, bias_z=0.7, bias_r=-0.4, bias_h=0.2, init="orthogonal", generator=_g(13), dtype=F64
    ),
    "lstm": lambda: rd.LSTM(5, g=3.0, alpha_f=2.0, alpha_i=1.5, alpha_o=1.0, generator=_g(14), dtype=F64),
    "lstm_inputs_biases": lambda: rd.LSTM(
        4,
        input_size=2,
        bias_f=1.0,
        bias_i=-0.5,
        bias_o=0.3,
        bias_c=0.1,
        bias_std=0.4,
        generator=_g(15),
        dtype=F64,
    ),
    "lstm_xavier": lambda: rd.LSTM(4, init="xavier", generator=_g(16), dtype=F64),
    "gated": lambda: rd.GatedRateRNN(5, g_h=3.0, alpha_z=2.0, alpha_r=1.5, generator=_g(17), dtype=F64),
    "gated_inputs_tau_bias": lambda: rd.GatedRateRNN(
        4,
        g_h=2.0,
        alpha_z=3.0,
        alpha_r=0.5,
        tau_z=2.0,
        tau_r=0.5,
        beta_h=0.2,
        beta_z=-0.3,
        beta_r=0.4,
        input_size=2,
        generator=_g(18),
        dtype=F64,
    ),
    "gated_rk4": lambda: rd.discretise(
        rd.GatedRateRNN(4, g_h=3.0, alpha_z=1.0, alpha_r=2.0, generator=_g(19), dtype=F64), dt=0.1
    ),
    "plrnn": lambda: rd.PLRNN(6, generator=_g(20), dtype=F64),
    "plrnn_inputs_gaussian": lambda: rd.PLRNN(
        5, input_size=2, init="gaussian", gain=1.5, generator=_g(21), dtype=F64
    ),
    "torch_rnn_tanh_2layer": lambda: _torch(torch.nn.RNN(3, 4, num_layers=2), 31),
    "torch_rnn_relu_3layer_nobias": lambda: _torch(
        torch.nn.RNN(2, 3, num_layers=3, nonlinearity="relu", bias=False, batch_first=True), 32
    ),
    "torch_gru_2layer": lambda: _torch(torch.nn.GRU(3, 4, num_layers=2), 33, gain=2.5),
    "torch_lstm_2layer": lambda: _torch(torch.nn.LSTM(2, 3, num_layers=2), 34, gain=2.5),
    "torch_lstm_nobias": lambda: _torch(torch.nn.LSTM(3, 4, bias=False, batch_first=True), 35, gain=2.5),
    "torch_gru_cell": lambda: _torch(torch.nn.GRUCell(3, 5), 36, gain=2.5),
    "torch_lstm_cell": lambda: _torch(torch.nn.LSTMCell(2, 4), 37, gain=2.5),
    "torch_lstm_h_only": lambda: _torch(torch.nn.LSTM(2, 3, num_layers=2), 39, gain=2.5, lstm_state="h"),
    "torch_rnn_cell_relu": lambda: _torch(torch.nn.RNNCell(3, 4, nonlinearity="relu"), 38),
    "lorenz63": lambda: rd.Lorenz63().double(),
    "lorenz63_rk4": lambda: rd.discretise(rd.Lorenz63().double(), dt=0.01, method="rk4"),
    "lorenz63_euler": lambda: rd.discretise(rd.Lorenz63().double(), dt=0.01, method="euler"),
    "rossler_heun": lambda: rd.discretise(rd.Rossler().double(), dt=0.05, method="heun"),
    "forced_duffing_rk4": lambda: rd.discretise(rd.training.ForcedDuffing(), dt=0.05, method="rk4"),
    "lorenz96": lambda: rd.Lorenz96(8).double(),
    "henon": lambda: rd.Henon().double(),
    "logistic": lambda: rd.Logistic(r=3.7).double(),
}


#: Wrappers around zoo models: each must pass every hook of the model it wraps on.
WRAPPERS: dict[str, Callable[[], rd.AbstractSystem]] = {
    "autonomous_vanilla": lambda: rd.autonomous(ZOO["vanilla_tanh"]()),
    "autonomous_gru": lambda: rd.autonomous(ZOO["gru_inputs_bias_std"]()),
    "autonomous_lstm": lambda: rd.autonomous(ZOO["lstm_inputs_biases"]()),
    "autonomous_torch_lstm_h_only": lambda: rd.autonomous(ZOO["torch_lstm_h_only"]()),
    "autonomous_torch_gru": lambda: rd.autonomous(ZOO["torch_gru_2layer"]()),
    "autonomous_rate_flow": lambda: rd.autonomous(ZOO["rate"]()),
    "autonomous_gated_flow": lambda: rd.autonomous(ZOO["gated_inputs_tau_bias"]()),
    "discretised_autonomous_gated": lambda: rd.discretise(
        rd.autonomous(ZOO["gated_inputs_tau_bias"]()), dt=0.1, method="rk4"
    ),
    "autonomous_rate_rk4": lambda: rd.autonomous(ZOO["rate_rk4"]()),
    "autonomous_plrnn": lambda: rd.autonomous(ZOO["plrnn_inputs_gaussian"]()),
}


# ------------------------------------------------------------------ exact test maps (not in ZOO)
class Escape(rd.AbstractMap):
    """``h -> h - c h (h - 1)(h + 2)``: unstable fixed point 0 (``F'(0) = 1 + 2c``), stable ones at
    1 (``F'(1) = 1 - 3c``) and -2. From a start near 0 the orbit creeps away at rate ln(1 + 2c) and
    ends on 1, whose exponent ln(1 - 3c) is the orbit's exponent (the escape is a transient): the
    stationarity checks' oracle (tests/test_trust.py, test_chaos.py, test_clv.py)."""

    def __init__(self, c: float) -> None:
        super().__init__()
        self.state_size, self.input_size = 1, 0
        self.register_buffer("c", torch.tensor(c, dtype=F64))

    def _step(self, h: torch.Tensor, x: torch.Tensor | None) -> torch.Tensor:
        return h - self.c * h * (h - 1) * (h + 2)

    def _jacobian(self, h: torch.Tensor, x: torch.Tensor | None) -> torch.Tensor:
        return (1 - self.c * (3 * h * h + 2 * h - 2)).unsqueeze(-1)


class DrivenDiagonal(rd.AbstractMap):
    """``h_{t+1} = e^{x_t} * h_t`` elementwise in ``n`` dimensions: once the frame is on the axes,
    ``ln R_ii = x_i(t)`` exactly (tests/test_lyapunov_exact.py, test_clv_qr_every.py)."""

    def __init__(self, n: int) -> None:
        super().__init__()
        self.state_size = self.input_size = n
        self.register_buffer("one", torch.ones((), dtype=F64))

    def _step(self, h: torch.Tensor, x: torch.Tensor | None) -> torch.Tensor:
        return h * torch.exp(x) * self.one

    def _jacobian(self, h: torch.Tensor, x: torch.Tensor | None) -> torch.Tensor:
        return torch.diag_embed(torch.exp(x) * self.one).expand(*h.shape[:-1], -1, -1)


class DrivenScalar(DrivenDiagonal):
    """``h_{t+1} = exp(x_t) h_t``: ``ln R = x_t`` exactly at every step (the Jacobian at
    ``(h_t, x_t)`` is ``exp(x_t)``): every average, error and drift of the exponent estimates is
    computable from the inputs (tests/test_lyapunov_exact.py, test_clv*.py, test_spectra_exact.py)."""

    def __init__(self) -> None:
        super().__init__(1)


class DrivenFlow(rd.AbstractFlow):
    """``h' = x(t) h``: its Euler map ``h + dt x h`` grows by ``1 + dt x_t`` per step exactly."""

    def __init__(self) -> None:
        super().__init__()
        self.state_size, self.input_size, self.dtype = 1, 1, F64

    def _vector_field(self, h: torch.Tensor, x: torch.Tensor | None) -> torch.Tensor:
        return h * x

    def _jacobian(self, h: torch.Tensor, x: torch.Tensor | None) -> torch.Tensor:
        return x.unsqueeze(-1).expand(*h.shape[:-1], 1, 1).clone()


class Linear(rd.AbstractMap):
    """``h' = A h``: constant Jacobian ``A`` (held in float64)."""

    def __init__(self, a: torch.Tensor) -> None:
        super().__init__()
        self.state_size = a.shape[0]
        self.register_buffer("a", a.to(F64))

    def _step(self, h: torch.Tensor, x: torch.Tensor | None) -> torch.Tensor:
        return h @ self.a.T

    def _jacobian(self, h: torch.Tensor, x: torch.Tensor | None) -> torch.Tensor:
        return self.a.expand(*h.shape[:-1], *self.a.shape)


#: non-normal A = S diag(2, 1, 0.5, 0.25) S^-1 with non-orthogonal eigenvectors S: the CLVs of
#: ``Linear(A)`` are the columns of S (tests/test_clv.py, test_clv_qr_every.py)
NON_NORMAL_S = torch.tensor(
    [[1.0, 0.9, 0.3, -0.5], [0.0, 0.4, 0.8, 0.2], [0.2, 0.0, 0.5, 0.7], [0.0, 0.3, 0.0, 0.5]], dtype=F64
)
NON_NORMAL_EIGS = torch.tensor([2.0, 1.0, 0.5, 0.25], dtype=F64)
NON_NORMAL_A = NON_NORMAL_S @ torch.diag(NON_NORMAL_EIGS) @ torch.linalg.inv(NON_NORMAL_S)


def line_sine(u: torch.Tensor, v: torch.Tensor) -> torch.Tensor:
    """sin of the angle between the lines spanned by u and v (last axis), as ``|u - (u.v) v|`` of
    the unit vectors (exact to round-off for small angles)."""
    u = u / torch.linalg.vector_norm(u, dim=-1, keepdim=True)
    v = v / torch.linalg.vector_norm(v, dim=-1, keepdim=True)
    return torch.linalg.vector_norm(u - (u * v).sum(-1, keepdim=True) * v, dim=-1)


def close(a: torch.Tensor, b: torch.Tensor, *, rtol: float, atol: float) -> None:
    """Assert ``|a - b| <= atol + rtol |b|`` elementwise, same shape (without the imports of
    ``torch.testing.assert_close``, whose first call loads torch.distributed: seconds in a fresh
    process)."""
    assert a.shape == b.shape, (a.shape, b.shape)
    err = (a - b).abs()
    assert bool((err <= atol + rtol * b.abs()).all()), f"max |a - b| = {float(err.max()):.3g}"
