r"""The GRU of Can, Krishnamurthy & Schwab (CKS20) as a map, with its analytic Jacobian.

docs/theory/gated.md §2.2 (004-2)–(004-5), with the gate convention ``z = 0`` means *memory* and the
reset gate acting column-wise on the candidate couplings:

.. math::

    z_t &= \sigma(W_z h_{t-1} + U_z x_t + b_z), \qquad
    r_t = \sigma(W_r h_{t-1} + U_r x_t + b_r), \\
    \tilde h_t &= \tanh\big(W_h (r_t \odot h_{t-1}) + U_h x_t + b_h\big), \qquad
    h_t = (1 - z_t) \odot h_{t-1} + z_t \odot \tilde h_t .

This is **not** ``torch.nn.GRU``: torch writes ``h_t = (1 - z) n + z h_{t-1}`` (``z = 1`` is
memory) and puts the reset gate *after* the matrix product, ``n = tanh(W_in x + b_in + r (W_hn h
+ b_hn))``. Wrap trained torch modules with :func:`rnndyn.from_torch` instead.

The private helpers here (``_sigmoid_prime``, ``_gate_bias``, ``_input_weight``) are shared by the
LSTM and the gated flow.
"""

from __future__ import annotations

import torch
from torch import nn

from rnndyn._checks import (
    check_choice,
    check_generator,
    check_nonnegative,
    check_positive_int,
    check_real,
)
from rnndyn._linalg import matmul_frame
from rnndyn.models.base import AbstractMap, _frob_gain, _np
from rnndyn.models.init import INITS, init_weight

Tensor = torch.Tensor


def _sigmoid_prime(s: Tensor) -> Tensor:
    """``sigma'(u)`` from ``s = sigma(u)`` (docs/theory/gated.md §1: sigma' = sigma (1 - sigma))."""
    return s * (1.0 - s)


def _gate_bias(
    n: int,
    value: float,
    std: float,
    name: str,
    kw: dict,
) -> nn.Parameter:
    """Bias vector ``value + std * N(0, 1)`` (CKS20: scalar biases and/or bias variance sigma_b^2)."""
    value = check_real(value, name)
    if std > 0:
        b = init_weight("gaussian", (n, 1), gain=std, **kw)[:, 0]  # fan_in 1: std exactly `std`
    else:
        b = torch.zeros(n, dtype=kw["dtype"] or torch.get_default_dtype(), device=kw["device"])
    return nn.Parameter(b + value)


def _input_weight(n: int, d: int, kw: dict) -> nn.Parameter:
    """Input couplings ``U ~ N(0, 1/d)``, shape ``(n, d)`` (``(n, 0)`` for autonomous models)."""
    return nn.Parameter(init_weight("gaussian", (n, max(d, 1)), **kw)[:, :d])


def _matvec(v: Tensor, w: Tensor) -> Tensor:
    """``w @ v`` on the last axis of a batch of vectors (torch's ``weight[out, in]`` layout)."""
    return v @ w.T


class GRU(AbstractMap):
    r"""The CKS20 gated recurrent unit, a map on ``h`` (docs/theory/gated.md §2.2, (004-2)–(004-5)).

    Random initialisation (``init="gaussian"``, the papers'): :math:`(W_z)_{ij}\sim\mathcal
    N(0,\alpha_z^2/n)`, :math:`(W_r)_{ij}\sim\mathcal N(0,\alpha_r^2/n)`, :math:`(W_h)_{ij}\sim
    \mathcal N(0,g_h^2/n)`; biases :math:`b_k = \bar b_k + \sigma_b\,\mathcal N(0, 1)`.

    Facts worth knowing (docs/theory/gated.md §5.2): with zero biases the zero fixed point has the
    Jacobian :math:`\tfrac12 + \tfrac14 W_h`, a uniform disk of eigenvalues centred at 1/2 with
    radius :math:`g_h/4`, so it is stable iff :math:`g_h < 2` (Cor. 4.3); with scalar biases the
    disk is centred at :math:`1-\sigma(b_z)` with radius :math:`g_h\sigma(b_z)\sigma(b_r)`
    (needs ``bias_h = 0``). ``alpha_z`` creates slow modes (eigenvalues accumulate at 1),
    ``alpha_r`` widens the spectrum (§5.3–5.4).

    Args:
        n: number of units.
        g_h: gain of the candidate couplings :math:`W_h` (``weight_hh``); default 2, the zero-FP
            critical value (CKS20 App. H found the best sMNIST training near it).
        alpha_z: gain of the update-gate couplings :math:`W_z` (``weight_hz``).
        alpha_r: gain of the reset-gate couplings :math:`W_r` (``weight_hr``).
        input_size: input dimension ``d`` (0: autonomous). Input couplings are
            :math:`\mathcal N(0, 1/d)`.
        bias_z, bias_r, bias_h: scalar (mean) biases :math:`\bar b_z, \bar b_r, \bar b_h`.
        bias_std: standard deviation :math:`\sigma_b` of quenched Gaussian biases (all three).
        init: ``"gaussian"``, ``"he"``, ``"xavier"``, ``"orthogonal"`` or ``"uniform"``; each
            is scaled by the matrix's gain (see :mod:`rnndyn.models.init`).
        generator: randomness for weights and biases (drawn in the order ``weight_hz, weight_hr,
            weight_hh, weight_iz, weight_ir, weight_ih, bias_z, bias_r, bias_h``).
        device, dtype: where the parameters live; float64 is recommended for analyses.

    Parameters (torch ``[out, in]`` layout): ``weight_hz, weight_hr, weight_hh`` ``(n, n)``;
    ``weight_iz, weight_ir, weight_ih`` ``(n, d)``; ``bias_z, bias_r, bias_h`` ``(n,)``.

    Shape:
        ``h``: ``(*batch, n)``; ``x``: ``(*batch, d)`` or ``None``; ``jacobian``:
        ``(*batch, n, n)``.

    Raises:
        ValueError: a negative gain or ``bias_std``, ``n < 1``, an unknown ``init``.

    References:
        T. Can, K. Krishnamurthy, D. J. Schwab, *Gating creates slow modes and controls
        phase-space complexity in GRUs and LSTMs*, MSML 2020 (arXiv:2002.00025).

    Example:
        >>> import torch, rnndyn as rd
        >>> net = rd.GRU(4, g_h=1.0, generator=torch.Generator().manual_seed(0), dtype=torch.float64)
        >>> jac = net.jacobian(torch.zeros(4, dtype=torch.float64))
        >>> torch.allclose(jac, 0.5 * torch.eye(4, dtype=torch.float64) + 0.25 * net.weight_hh)
        True
    """

    def __init__(
        self,
        n: int,
        *,
        g_h: float = 2.0,
        alpha_z: float = 1.0,
        alpha_r: float = 1.0,
        input_size: int = 0,
        bias_z: float = 0.0,
        bias_r: float = 0.0,
        bias_h: float = 0.0,
        bias_std: float = 0.0,
        init: str = "gaussian",
        generator: torch.Generator | None = None,
        device: torch.device | str | None = None,
        dtype: torch.dtype | None = None,
    ) -> None:
        super().__init__()
        self.state_size = check_positive_int(n, "n")
        self.input_size = check_positive_int(input_size, "input_size", minimum=0)
        self.g_h = check_nonnegative(g_h, "g_h")
        self.alpha_z = check_nonnegative(alpha_z, "alpha_z")
        self.alpha_r = check_nonnegative(alpha_r, "alpha_r")
        self.bias_std = check_nonnegative(bias_std, "bias_std")
        self.init = check_choice(init, "init", INITS)
        check_generator(generator)
        kw = {"generator": generator, "dtype": dtype, "device": device}
        self.weight_hz = nn.Parameter(init_weight(init, (n, n), gain=self.alpha_z, **kw))
        self.weight_hr = nn.Parameter(init_weight(init, (n, n), gain=self.alpha_r, **kw))
        self.weight_hh = nn.Parameter(init_weight(init, (n, n), gain=self.g_h, **kw))
        d = self.input_size
        self.weight_iz = _input_weight(n, d, kw)
        self.weight_ir = _input_weight(n, d, kw)
        self.weight_ih = _input_weight(n, d, kw)
        self.bias_z = _gate_bias(n, bias_z, self.bias_std, "bias_z", kw)
        self.bias_r = _gate_bias(n, bias_r, self.bias_std, "bias_r", kw)
        self.bias_h = _gate_bias(n, bias_h, self.bias_std, "bias_h", kw)

    def _gates(self, h: Tensor, x: Tensor | None) -> tuple[Tensor, Tensor, Tensor, Tensor]:
        """``(z, r, u_h, h_tilde)`` at the step from ``h`` with input ``x``."""
        uz = _matvec(h, self.weight_hz) + self.bias_z
        ur = _matvec(h, self.weight_hr) + self.bias_r
        uh_in = self.bias_h
        if x is not None:
            uz = uz + _matvec(x, self.weight_iz)
            ur = ur + _matvec(x, self.weight_ir)
            uh_in = uh_in + _matvec(x, self.weight_ih)
        z = torch.sigmoid(uz)
        r = torch.sigmoid(ur)
        # (004-4): the reset gate multiplies the presynaptic state, i.e. W_h [r] (column-wise)
        uh = _matvec(r * h, self.weight_hh) + uh_in
        return z, r, uh, torch.tanh(uh)

    def _step(self, h: Tensor, x: Tensor | None) -> Tensor:
        z, _, _, h_tilde = self._gates(h, x)
        # (004-5): z = 0 keeps the old state (memory)
        return (1.0 - z) * h + z * h_tilde

    def _jacobian(self, h: Tensor, x: Tensor | None) -> Tensor:
        # docs/theory/gated.md §3.2 (004-11):
        # D = [1-z] + [(h~ - h) s'_z] W_z + [z phi'_h] W_h ([r] + [h s'_r] W_r)
        z, r, _, h_tilde = self._gates(h, x)
        if x is not None:  # inputs may broadcast the batch
            h = h.expand_as(z)
        dz = _sigmoid_prime(z)
        dr = _sigmoid_prime(r)
        a = (h_tilde - h) * dz
        b = z * (1.0 - h_tilde * h_tilde)
        w_h = self.weight_hh
        reset = w_h * r.unsqueeze(-2) + (w_h * (h * dr).unsqueeze(-2)) @ self.weight_hr
        jac = a.unsqueeze(-1) * self.weight_hz + b.unsqueeze(-1) * reset
        return jac + torch.diag_embed(1.0 - z)

    def _step_and_tangent(self, h: Tensor, x: Tensor | None, Q: Tensor) -> tuple[Tensor, Tensor]:
        # docs/theory/gated.md §3.2 (004-11) applied to Q without forming D (three GEMMs):
        # D Q = [1-z] Q + [(h~ - h) s'_z] (W_z Q) + [z phi'_h] W_h ([r] Q + [h s'_r] (W_r Q))
        z, r, _, h_tilde = self._gates(h, x)
        if x is not None:
            h = h.expand_as(z)
        h_next = (1.0 - z) * h + z * h_tilde
        col = lambda v: v.unsqueeze(-1)  # noqa: E731 - diagonal scaling of the rows of Q
        inner = col(r) * Q + col(h * _sigmoid_prime(r)) * matmul_frame(self.weight_hr, Q)
        jq = (
            col(1.0 - z) * Q
            + col((h_tilde - h) * _sigmoid_prime(z)) * matmul_frame(self.weight_hz, Q)
            + col(z * (1.0 - h_tilde * h_tilde)) * matmul_frame(self.weight_hh, inner)
        )
        return h_next, jq

    def spectral_theory(
        self, h: Tensor, x: Tensor | None = None, *, factorised: bool = True, n_points: int = 256
    ) -> object | None:
        """CKS20 Theorem 4.1 (docs/theory/gated.md §5.2), gains from the weights' norms."""
        from rnndyn.meanfield import rmt

        with torch.no_grad():
            uz = h @ self.weight_hz.T + self.bias_z
            ur = h @ self.weight_hr.T + self.bias_r
            if x is not None:
                uz = uz + x @ self.weight_iz.T
                ur = ur + x @ self.weight_ir.T
            _, _, uh, _ = self._gates(h, x)
            return rmt.gru_support(
                g_h=_frob_gain(self.weight_hh),
                alpha_z=_frob_gain(self.weight_hz),
                alpha_r=_frob_gain(self.weight_hr),
                u_z=_np(uz),
                u_r=_np(ur),
                u_h=_np(uh),
                h_prev=_np(h),
                factorised=factorised,
                n_points=n_points,
            )

    def extra_repr(self) -> str:
        return (
            f"n={self.state_size}, g_h={self.g_h}, alpha_z={self.alpha_z}, alpha_r={self.alpha_r}, "
            f"input_size={self.input_size}, bias_std={self.bias_std}, init={self.init!r}"
        )


__all__ = ["GRU"]
