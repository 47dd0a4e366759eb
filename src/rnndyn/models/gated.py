r"""The continuous-time gated RNN of Krishnamurthy, Can & Schwab (KCS22) as a flow on ``(h, z, r)``.

docs/theory/gated.md §2.4 (P-1), with optional gate time constants, biases and an additive input:

.. math::

    \dot h &= \sigma(z+\beta_z)\odot\big[-h + W_h\big(\phi(h+\beta_h)\odot\sigma(r+\beta_r)\big)
              + U x\big], \\
    \tau_z\dot z &= -z + W_z\,\phi(h+\beta_h), \qquad
    \tau_r\dot r = -r + W_r\,\phi(h+\beta_h),

with :math:`\phi=\tanh` and :math:`W_h = g_h J^h`, :math:`W_z=\alpha_z J^z`, :math:`W_r =
\alpha_r J^r`, :math:`J_{ij}\sim\mathcal N(0, 1/n)`. The update gate ``z`` scales the speed of
``h`` (``sigma(z) -> 0`` freezes the unit), the reset gate ``r`` gates the presynaptic output.
"""

from __future__ import annotations

import torch
from torch import nn

from rnndyn._checks import (
    broadcast_shapes,
    check_choice,
    check_generator,
    check_nonnegative,
    check_positive_int,
    check_real,
)
from rnndyn._linalg import matmul_frame
from rnndyn.models.base import AbstractFlow, _frob_gain, _np
from rnndyn.models.gru import _gate_bias, _input_weight, _matvec, _sigmoid_prime
from rnndyn.models.init import INITS, init_weight

Tensor = torch.Tensor


class GatedRateRNN(AbstractFlow):
    r"""The continuous-time gated RNN (P-1) of KCS22, a flow on the flat state ``[h, z, r]`` (size ``3n``).

    With ``alpha_z = alpha_r = 0`` and ``z = r = 0`` the gates sit at :math:`\sigma(0)=1/2` and the
    model is the SCS rate network :class:`~rnndyn.RateRNN` with gain :math:`g_h/2` and time
    constant 2 (docs/theory/gated.md §2.4, "Limits"); its transition to chaos is at :math:`g_h=2`.
    At the zero fixed point (zero biases) the Jacobian has the eigenvalue -1 with multiplicity
    ``2n`` and a uniform disk centred at -1/2 with radius :math:`g_h/4` (§3.5).

    Args:
        n: number of units (the state has ``3n`` entries).
        g_h: gain of :math:`W_h` (``weight_hh``); default 3, i.e. :class:`~rnndyn.RateRNN`'s
            default gain 1.5 in the gates-off limit.
        alpha_z, alpha_r: gains of the gate couplings :math:`W_z` (``weight_hz``) and
            :math:`W_r` (``weight_hr``).
        tau_z, tau_r: gate time constants (> 0).
        beta_h, beta_z, beta_r: scalar biases, applied as :math:`\phi(h+\beta_h)`,
            :math:`\sigma(z+\beta_z)`, :math:`\sigma(r+\beta_r)` (stored as ``bias_h/z/r``).
        input_size: input dimension ``d``; the input :math:`U x` (``weight_ih``,
            :math:`\mathcal N(0,1/d)`) enters inside the bracket of :math:`\dot h`.
        init: ``"gaussian"`` (default), ``"he"``, ``"xavier"``, ``"orthogonal"``, ``"uniform"``.
        generator: randomness (order ``weight_hh, weight_hz, weight_hr, weight_ih``).
        device, dtype: where the parameters live.

    Shape:
        state ``(*batch, 3n)`` = ``[h, z, r]``; ``jacobian``: ``(*batch, 3n, 3n)``. Discretise
        before analysis: ``rd.discretise(rd.GatedRateRNN(200), dt=0.1, method="rk4")``.

    References:
        K. Krishnamurthy, T. Can, D. J. Schwab, *Theory of gating in recurrent neural
        networks*, Phys. Rev. X 12, 011011 (2022), arXiv:2007.14823.

    Example:
        >>> import torch, rnndyn as rd
        >>> net = rd.GatedRateRNN(5, g_h=1.5, generator=torch.Generator().manual_seed(0),
        ...                       dtype=torch.float64)
        >>> eig = torch.linalg.eigvals(net.jacobian(torch.zeros(15, dtype=torch.float64)))
        >>> int(((eig + 1).abs() < 1e-12).sum())  # -1 with multiplicity 2n at the zero fixed point
        10
    """

    def __init__(
        self,
        n: int,
        *,
        g_h: float = 3.0,
        alpha_z: float = 1.0,
        alpha_r: float = 1.0,
        tau_z: float = 1.0,
        tau_r: float = 1.0,
        beta_h: float = 0.0,
        beta_z: float = 0.0,
        beta_r: float = 0.0,
        input_size: int = 0,
        init: str = "gaussian",
        generator: torch.Generator | None = None,
        device: torch.device | str | None = None,
        dtype: torch.dtype | None = None,
    ) -> None:
        super().__init__()
        self.n = check_positive_int(n, "n")
        self.state_size = 3 * n
        self.state_parts = (("h", n), ("z", n), ("r", n))
        self.input_size = check_positive_int(input_size, "input_size", minimum=0)
        self.g_h = check_nonnegative(g_h, "g_h")
        self.alpha_z = check_nonnegative(alpha_z, "alpha_z")
        self.alpha_r = check_nonnegative(alpha_r, "alpha_r")
        self.tau_z = check_real(tau_z, "tau_z", low=0.0, low_open=True)
        self.tau_r = check_real(tau_r, "tau_r", low=0.0, low_open=True)
        self.init = check_choice(init, "init", INITS)
        check_generator(generator)
        kw = {"generator": generator, "dtype": dtype, "device": device}
        self.weight_hh = nn.Parameter(init_weight(init, (n, n), gain=self.g_h, **kw))
        self.weight_hz = nn.Parameter(init_weight(init, (n, n), gain=self.alpha_z, **kw))
        self.weight_hr = nn.Parameter(init_weight(init, (n, n), gain=self.alpha_r, **kw))
        self.weight_ih = _input_weight(n, self.input_size, kw)
        self.bias_h = _gate_bias(n, beta_h, 0.0, "beta_h", kw)
        self.bias_z = _gate_bias(n, beta_z, 0.0, "beta_z", kw)
        self.bias_r = _gate_bias(n, beta_r, 0.0, "beta_r", kw)

    def _parts(self, state: Tensor, x: Tensor | None) -> dict[str, Tensor]:
        n = self.n
        h, z, r = state[..., :n], state[..., n : 2 * n], state[..., 2 * n :]
        phi = torch.tanh(h + self.bias_h)
        sz = torch.sigmoid(z + self.bias_z)
        sr = torch.sigmoid(r + self.bias_r)
        xi = -h + _matvec(phi * sr, self.weight_hh)  # the bracket of (P-1); dh/dt = sigma(z) xi
        if x is not None:
            xi = xi + _matvec(x, self.weight_ih)
        return {"h": h, "z": z, "r": r, "phi": phi, "sz": sz, "sr": sr, "xi": xi}

    def _vector_field(self, state: Tensor, x: Tensor | None) -> Tensor:
        p = self._parts(state, x)
        dh = p["sz"] * p["xi"]
        dz = (-p["z"] + _matvec(p["phi"], self.weight_hz)) / self.tau_z
        dr = (-p["r"] + _matvec(p["phi"], self.weight_hr)) / self.tau_r
        return torch.cat([dh, dz.expand_as(dh), dr.expand_as(dh)], dim=-1)

    def _jacobian(self, state: Tensor, x: Tensor | None) -> Tensor:
        # docs/theory/gated.md §3.5 (P-2), with biases inside phi/sigma and the z, r rows / tau:
        #   [sz](-1 + W_h [sr phi'])   [sz' xi]   [sz] W_h [phi sr']
        #   W_z [phi'] / tau_z         -1/tau_z   0
        #   W_r [phi'] / tau_r         0          -1/tau_r
        p = self._parts(state, x)
        sz, sr, phi, xi = p["sz"], p["sr"], p["phi"], p["xi"]
        phi = phi.expand_as(xi)
        sr = sr.expand_as(xi)
        sz = sz.expand_as(xi)
        dphi = 1.0 - phi * phi
        eye = torch.eye(self.n, dtype=xi.dtype, device=xi.device)
        w_h = self.weight_hh
        j_hh = sz.unsqueeze(-1) * (w_h * (sr * dphi).unsqueeze(-2) - eye)
        j_hz = torch.diag_embed(_sigmoid_prime(sz) * xi)
        j_hr = sz.unsqueeze(-1) * (w_h * (phi * _sigmoid_prime(sr)).unsqueeze(-2))
        j_zh = self.weight_hz * dphi.unsqueeze(-2) / self.tau_z
        j_rh = self.weight_hr * dphi.unsqueeze(-2) / self.tau_r
        zero = torch.zeros_like(j_hh)
        minus_z = (-eye / self.tau_z).expand_as(j_hh)
        minus_r = (-eye / self.tau_r).expand_as(j_hh)
        return torch.cat(
            [
                torch.cat([j_hh, j_hz, j_hr], dim=-1),
                torch.cat([j_zh, minus_z, zero], dim=-1),
                torch.cat([j_rh, zero, minus_r], dim=-1),
            ],
            dim=-2,
        )

    def _step_and_tangent(self, state: Tensor, x: Tensor | None, Q: Tensor) -> tuple[Tensor, Tensor]:
        # (P-2) applied to Q = [Q_h; Q_z; Q_r] without forming the blocks (three GEMMs):
        #   dh = [sz] (W_h ([sr phi'] Q_h + [phi sr'] Q_r) - Q_h) + [sz' xi] Q_z
        #   dz = (W_z ([phi'] Q_h) - Q_z) / tau_z,   dr = (W_r ([phi'] Q_h) - Q_r) / tau_r
        n = self.n
        p = self._parts(state, x)
        sz, sr, phi, xi = p["sz"], p["sr"], p["phi"], p["xi"]
        dh_dt = sz * xi
        dz_dt = (-p["z"] + _matvec(phi, self.weight_hz)) / self.tau_z
        dr_dt = (-p["r"] + _matvec(phi, self.weight_hr)) / self.tau_r
        out = torch.cat([dh_dt, dz_dt.expand_as(dh_dt), dr_dt.expand_as(dh_dt)], dim=-1)
        col = lambda v: v.unsqueeze(-1)  # noqa: E731
        qh, qz, qr = Q[..., :n, :], Q[..., n : 2 * n, :], Q[..., 2 * n :, :]
        dphi = 1.0 - phi * phi
        pre = matmul_frame(self.weight_hh, col(sr * dphi) * qh + col(phi * _sigmoid_prime(sr)) * qr)
        dh = col(sz) * (pre - qh) + col(_sigmoid_prime(sz) * xi) * qz
        gq = col(dphi) * qh
        dz = (matmul_frame(self.weight_hz, gq) - qz) / self.tau_z
        dr = (matmul_frame(self.weight_hr, gq) - qr) / self.tau_r
        batch = broadcast_shapes(dh.shape[:-2], dz.shape[:-2])
        parts = [t.expand(*batch, *t.shape[-2:]) for t in (dh, dz, dr)]
        return out, torch.cat(parts, dim=-2)

    def spectral_theory(
        self, h: Tensor, x: Tensor | None = None, *, factorised: bool = True, n_points: int = 256
    ) -> object | None:
        """The vector field's Jacobian spectrum (KCS22; docs/theory/gated.md §5.8)."""
        from rnndyn.meanfield import rmt

        with torch.no_grad():
            p = self._parts(h, x)
            return rmt.gated_flow_support(
                g_h=_frob_gain(self.weight_hh),
                alpha_z=_frob_gain(self.weight_hz),
                alpha_r=_frob_gain(self.weight_hr),
                h=_np(p["h"] + self.bias_h),
                z=_np(p["z"] + self.bias_z),
                r=_np(p["r"] + self.bias_r),
                xi=_np(p["xi"].expand_as(p["h"])),
                tau_z=self.tau_z,
                tau_r=self.tau_r,
                n_points=n_points,
            )

    def extra_repr(self) -> str:
        return (
            f"n={self.n}, g_h={self.g_h}, alpha_z={self.alpha_z}, alpha_r={self.alpha_r}, "
            f"tau_z={self.tau_z}, tau_r={self.tau_r}, input_size={self.input_size}, init={self.init!r}"
        )


__all__ = ["GatedRateRNN"]
