"""Vanilla recurrent networks: the discrete map (``VanillaRNN``) and the
Sompolinsky--Crisanti--Sommers rate network (``RateRNN``, a flow).

docs/theory/gated.md §2.1 (004-1): h_t = phi(W h_{t-1} + U x_t + b), W_ij ~ N(0, g^2/N);
§3.1: D_t = [phi'(a_t)] W. The SCS flow: dh/dt = -h + W phi(h) + U x (+ b).
"""

from __future__ import annotations

import torch
from torch import nn

from rnndyn._checks import check_choice, check_generator, check_nonnegative, check_positive_int, check_real
from rnndyn._linalg import matmul_frame
from rnndyn.models.base import AbstractFlow, AbstractMap, _frob_gain, _np
from rnndyn.models.init import INITS, init_weight

Tensor = torch.Tensor

ACTIVATIONS = ("tanh", "relu")


def _phi(a: Tensor, activation: str) -> Tensor:
    return torch.tanh(a) if activation == "tanh" else torch.relu(a)


def _dphi(a: Tensor, activation: str, phi_a: Tensor | None = None) -> Tensor:
    if activation == "tanh":
        t = torch.tanh(a) if phi_a is None else phi_a
        return 1.0 - t * t
    return (a > 0).to(a.dtype)


class _VanillaParams(nn.Module):
    """Shared construction of ``weight_hh``, ``weight_ih``, ``bias`` for both vanilla models."""

    def _build(
        self,
        n: int,
        g: float,
        input_size: int,
        activation: str,
        bias: float | None,
        bias_std: float,
        init: str,
        zero_diagonal: bool,
        generator: torch.Generator | None,
        device: torch.device | str | None,
        dtype: torch.dtype | None,
    ) -> None:
        self.state_size = check_positive_int(n, "n")
        self.input_size = check_positive_int(input_size, "input_size", minimum=0)
        self.g = check_nonnegative(g, "g")
        self.activation = check_choice(activation, "activation", ACTIVATIONS)
        check_choice(init, "init", INITS)
        check_generator(generator)
        bias_std = check_nonnegative(bias_std, "bias_std")
        if bias is not None:
            bias = check_real(bias, "bias")
        if not isinstance(zero_diagonal, bool):
            raise TypeError(
                f"`zero_diagonal` must be a bool; got {type(zero_diagonal).__name__} {zero_diagonal!r}"
            )
        kw = {"generator": generator, "dtype": dtype, "device": device}
        w = init_weight(init, (n, n), gain=self.g, **kw)
        if zero_diagonal:
            w.fill_diagonal_(0.0)
        self.zero_diagonal = zero_diagonal
        self.weight_hh = nn.Parameter(w)
        self.weight_ih = nn.Parameter(init_weight("gaussian", (n, max(input_size, 1)), **kw)[:, :input_size])
        b = (
            init_weight("gaussian", (n, 1), gain=bias_std, **kw)[:, 0]
            if bias_std > 0
            else torch.zeros(n, dtype=dtype or torch.get_default_dtype(), device=device)
        )
        if bias is not None:
            b = b + float(bias)
        self.bias = nn.Parameter(b)


class VanillaRNN(AbstractMap, _VanillaParams):
    r"""Discrete-time vanilla RNN, :math:`h_{t+1} = \phi(W h_t + U x_{t+1} + b)` (docs/theory/gated.md (004-1)).

    Args:
        n: number of units.
        g: gain; with ``init="gaussian"`` the couplings are :math:`W_{ij}\sim\mathcal N(0, g^2/n)`.
        input_size: input dimension ``d`` (0: autonomous).
        activation: ``"tanh"`` or ``"relu"``.
        bias: constant added to every bias entry; ``bias_std``: std of Gaussian biases.
        init: ``"gaussian"`` (the papers'), ``"he"``, ``"xavier"``, ``"orthogonal"``, ``"uniform"``
            (each scaled by ``g``).
        generator: randomness for the weights.

    Parameters ``weight_hh`` (n, n), ``weight_ih`` (n, d), ``bias`` (n) use torch's names.

    Example:
        >>> import torch, rnndyn as rd
        >>> net = rd.VanillaRNN(8, g=0.5, generator=torch.Generator().manual_seed(0), dtype=torch.float64)
        >>> net.step(torch.zeros(8, dtype=torch.float64)).abs().max().item()
        0.0
    """

    def __init__(
        self,
        n: int,
        *,
        g: float = 1.0,
        input_size: int = 0,
        activation: str = "tanh",
        bias: float | None = None,
        bias_std: float = 0.0,
        init: str = "gaussian",
        generator: torch.Generator | None = None,
        device: torch.device | str | None = None,
        dtype: torch.dtype | None = None,
    ) -> None:
        AbstractMap.__init__(self)
        self._build(n, g, input_size, activation, bias, bias_std, init, False, generator, device, dtype)

    def _preact(self, h: Tensor, x: Tensor | None) -> Tensor:
        a = h @ self.weight_hh.T + self.bias
        if x is not None:
            a = a + x @ self.weight_ih.T
        return a

    def _step(self, h: Tensor, x: Tensor | None) -> Tensor:
        return _phi(self._preact(h, x), self.activation)

    def _jacobian(self, h: Tensor, x: Tensor | None) -> Tensor:
        # docs/theory/gated.md §3.1: D_t = [phi'(a_t)] W
        a = self._preact(h, x)
        return _dphi(a, self.activation).unsqueeze(-1) * self.weight_hh

    def _step_and_tangent(self, h: Tensor, x: Tensor | None, Q: Tensor) -> tuple[Tensor, Tensor]:
        # J Q = [phi'(a)] (W Q): one (n, n) @ (n, k) product; the step reuses ``a``
        a = self._preact(h, x)
        h_next = _phi(a, self.activation)
        d = _dphi(a, self.activation, h_next if self.activation == "tanh" else None)
        return h_next, d.unsqueeze(-1) * matmul_frame(self.weight_hh, Q)

    def spectral_theory(
        self, h: Tensor, x: Tensor | None = None, *, factorised: bool = True, n_points: int = 256
    ) -> object | None:
        """Circular law for ``[phi'(a)] W`` (docs/theory/gated.md §3.1; tanh only, else ``None``)."""
        if self.activation != "tanh":
            return None
        from rnndyn.meanfield import rmt

        with torch.no_grad():
            a = self._preact(h, x)
            return rmt.vanilla_support(
                _frob_gain(self.weight_hh), dphi=_np(1 - torch.tanh(a) ** 2), n_points=n_points
            )

    def extra_repr(self) -> str:
        return (
            f"n={self.state_size}, g={self.g}, input_size={self.input_size}, activation={self.activation!r}"
        )


class RateRNN(AbstractFlow, _VanillaParams):
    r"""The Sompolinsky--Crisanti--Sommers rate network, :math:`\dot h = -h + W\phi(h) + U x + b`.

    For ``g < 1`` (Gaussian init) the origin is globally stable with :math:`\lambda_{max} = g - 1`;
    above ``g = 1`` it is chaotic for large ``n`` (docs/theory/chaos.md §4.2). ``zero_diagonal=True``
    sets ``W_ii = 0`` (as in Engelken et al.), which makes the sum rule exact: the trace of the
    Jacobian is ``-n``.

    Args: as :class:`VanillaRNN`, plus ``zero_diagonal``. Discretise before analysis:
    ``rd.discretise(rd.RateRNN(500, g=2.0), dt=0.05)``.
    """

    def __init__(
        self,
        n: int,
        *,
        g: float = 1.5,
        input_size: int = 0,
        activation: str = "tanh",
        bias: float | None = None,
        bias_std: float = 0.0,
        init: str = "gaussian",
        zero_diagonal: bool = False,
        generator: torch.Generator | None = None,
        device: torch.device | str | None = None,
        dtype: torch.dtype | None = None,
    ) -> None:
        AbstractFlow.__init__(self)
        self._build(
            n, g, input_size, activation, bias, bias_std, init, zero_diagonal, generator, device, dtype
        )

    def _vector_field(self, h: Tensor, x: Tensor | None) -> Tensor:
        out = -h + _phi(h, self.activation) @ self.weight_hh.T + self.bias
        if x is not None:
            out = out + x @ self.weight_ih.T
        return out

    def _jacobian(self, h: Tensor, x: Tensor | None) -> Tensor:
        # d/dh [-h + W phi(h)] = -I + W [phi'(h)]
        n = self.state_size
        eye = torch.eye(n, dtype=h.dtype, device=h.device)
        return -eye + self.weight_hh * _dphi(h, self.activation).unsqueeze(-2)

    def _step_and_tangent(self, h: Tensor, x: Tensor | None, Q: Tensor) -> tuple[Tensor, Tensor]:
        # J Q = -Q + W ([phi'(h)] Q)
        p = _phi(h, self.activation)
        out = -h + p @ self.weight_hh.T + self.bias
        if x is not None:
            out = out + x @ self.weight_ih.T
        d = _dphi(h, self.activation, p if self.activation == "tanh" else None)
        return out, matmul_frame(self.weight_hh, d.unsqueeze(-1) * Q) - Q

    def extra_repr(self) -> str:
        return (
            f"n={self.state_size}, g={self.g}, input_size={self.input_size}, activation={self.activation!r}"
        )


__all__ = ["ACTIVATIONS", "RateRNN", "VanillaRNN"]
