r"""The piecewise-linear RNN (PLRNN) of Durstewitz and co-workers, as a map with its Jacobian.

docs/theory/chaos.md §2.1 (MMD22, ``bptt/PLRNN_model.py::PLRNN_Step``):

.. math::

    z_t = A\odot z_{t-1} + W\,\mathrm{relu}(z_{t-1}) + h + C s_t ,

with ``A`` diagonal (a vector), ``W`` off-diagonal and ``h`` a bias. In MMD22 one matrix
``AW`` is split into its diagonal ``A`` and off-diagonal part ``W``, and ``AW`` and ``h`` are
initialised :math:`U(-1/\sqrt M, 1/\sqrt M)`.
"""

from __future__ import annotations

import math

import torch
from torch import nn

from rnndyn._checks import (
    broadcast_shapes,
    check_choice,
    check_generator,
    check_nonnegative,
    check_positive_int,
)
from rnndyn._linalg import matmul_frame
from rnndyn.models.base import AbstractMap
from rnndyn.models.gru import _matvec
from rnndyn.models.init import INITS, init_weight

Tensor = torch.Tensor


class PLRNN(AbstractMap):
    r"""Piecewise-linear RNN :math:`z_t = A\odot z_{t-1} + W\,\mathrm{relu}(z_{t-1}) + h + C s_t`.

    The Jacobian is :math:`[A] + W\,[\mathbf 1(z_{t-1} > 0)]` (exact away from the switching
    surfaces ``z_j = 0``, where the map is not differentiable; we take relu'(0) = 0 as torch's
    autograd does).

    Args:
        n: latent dimension ``M``.
        input_size: external input dimension (``C``, ``weight_ih``; 0: autonomous).
        gain: scale of the initialisation. ``init="uniform"`` (MMD22's default) draws ``AW``,
            ``h`` and ``C`` from :math:`U(-a, a)` with :math:`a=\mathrm{gain}/\sqrt M`; the other
            kinds call :func:`rnndyn.models.init.init_weight` with ``gain`` (e.g. ``"gaussian"``:
            :math:`\mathcal N(0,\mathrm{gain}^2/M)`), and the bias is then zero.
        init: ``"uniform"`` (default), ``"gaussian"``, ``"he"``, ``"xavier"``, ``"orthogonal"``.
        generator: randomness (order ``AW``, ``h``, ``C``).
        device, dtype: where the parameters live.

    Parameters: ``weight_diag`` ``(n,)`` (``A``), ``weight_hh`` ``(n, n)`` (``W``; its diagonal
    is zero at construction and is **ignored** by the map, as ``A`` carries the diagonal),
    ``bias`` ``(n,)`` (``h``), ``weight_ih`` ``(n, d)`` (``C``).

    References:
        J. Mikhaeil, Z. Monfared, D. Durstewitz, *On the difficulty of learning chaotic dynamics
        with RNNs*, NeurIPS 2022 (MMD22); code ``DurstewitzLab/ChaosRNN``.

    Example:
        >>> import torch, rnndyn as rd
        >>> net = rd.PLRNN(4, generator=torch.Generator().manual_seed(0), dtype=torch.float64)
        >>> z = -torch.ones(4, dtype=torch.float64)  # all units off: the map is z -> A z + h
        >>> torch.equal(net.jacobian(z), torch.diag(net.weight_diag))
        True
    """

    def __init__(
        self,
        n: int,
        *,
        input_size: int = 0,
        gain: float = 1.0,
        init: str = "uniform",
        generator: torch.Generator | None = None,
        device: torch.device | str | None = None,
        dtype: torch.dtype | None = None,
    ) -> None:
        super().__init__()
        self.state_size = check_positive_int(n, "n")
        self.input_size = check_positive_int(input_size, "input_size", minimum=0)
        self.gain = check_nonnegative(gain, "gain")
        self.init = check_choice(init, "init", INITS)
        check_generator(generator)
        kw = {"generator": generator, "dtype": dtype, "device": device}
        if init == "uniform":
            a = self.gain / math.sqrt(n)
            aw = init_weight("uniform", (n, n), gain=a, **kw)
            bias = init_weight("uniform", (n,), gain=a, **kw)
        else:
            aw = init_weight(init, (n, n), gain=self.gain, **kw)
            bias = torch.zeros(n, dtype=aw.dtype, device=aw.device)
        d = self.input_size
        c = init_weight(
            init if init == "uniform" else "gaussian",
            (n, max(d, 1)),
            gain=self.gain / math.sqrt(max(d, 1)) if init == "uniform" else 1.0,
            **kw,
        )
        self.weight_diag = nn.Parameter(torch.diagonal(aw).clone())
        self.weight_hh = nn.Parameter(aw - torch.diag(torch.diagonal(aw)))
        self.bias = nn.Parameter(bias)
        self.weight_ih = nn.Parameter(c[:, :d])

    def _offdiag(self) -> Tensor:
        w = self.weight_hh
        return w - torch.diag_embed(torch.diagonal(w))

    def _step(self, z: Tensor, x: Tensor | None) -> Tensor:
        out = self.weight_diag * z + _matvec(torch.relu(z), self._offdiag()) + self.bias
        if x is not None:
            out = out + _matvec(x, self.weight_ih)
        return out

    def _jacobian(self, z: Tensor, x: Tensor | None) -> Tensor:
        # d z_t / d z_{t-1} = [A] + W [1(z > 0)]
        if x is not None:
            z = z.expand(*broadcast_shapes(z.shape[:-1], x.shape[:-1]), z.shape[-1])
        active = (z > 0).to(z.dtype)
        return self._offdiag() * active.unsqueeze(-2) + torch.diag_embed(self.weight_diag.expand_as(z))

    def _step_and_tangent(self, z: Tensor, x: Tensor | None, Q: Tensor) -> tuple[Tensor, Tensor]:
        # J Q = [A] Q + W_off ([1(z > 0)] Q), with W_off Q = W Q - [diag W] Q (W_off never formed)
        relu = torch.relu(z)
        w = self.weight_hh
        out = self.weight_diag * z + relu @ w.T - relu * torch.diagonal(w) + self.bias
        if x is not None:
            out = out + _matvec(x, self.weight_ih)
        aq = (z > 0).to(z.dtype).unsqueeze(-1) * Q
        jq = self.weight_diag.unsqueeze(-1) * Q + matmul_frame(w, aq) - torch.diagonal(w).unsqueeze(-1) * aq
        return out, jq

    def extra_repr(self) -> str:
        return f"n={self.state_size}, input_size={self.input_size}, gain={self.gain}, init={self.init!r}"


__all__ = ["PLRNN"]
