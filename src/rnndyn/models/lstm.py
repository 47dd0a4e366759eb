r"""The LSTM of CKS20 as a map on the flat state ``(h, c)``, with its full analytic Jacobian.

docs/theory/gated.md §2.3 (004-6)–(004-8):

.. math::

    f_t, i_t, o_t &= \sigma(W_k h_{t-1} + U_k x_t + b_k),\quad k\in\{f,i,o\}, \\
    c_t &= f_t\odot c_{t-1} + i_t\odot\tanh(W_c h_{t-1} + U_c x_t + b_c), \qquad
    h_t = o_t\odot\tanh(c_t).

The flat state is ``[h, c]`` (``state_parts = (("h", n), ("c", n))``, the order of torch's
``(h, c)`` tuple); the theory notes write the Jacobian (004-31) in the order ``(c, h)``.
"""

from __future__ import annotations

import torch
from torch import nn

from rnndyn._checks import check_choice, check_generator, check_nonnegative, check_positive_int
from rnndyn._linalg import matmul_frame
from rnndyn.models.base import AbstractMap, _frob_gain, _np
from rnndyn.models.gru import _gate_bias, _input_weight, _matvec, _sigmoid_prime
from rnndyn.models.init import INITS, init_weight

Tensor = torch.Tensor

_GATES = ("f", "i", "o", "c")


class LSTM(AbstractMap):
    r"""The CKS20 long short-term memory network, a map on the flat state ``[h, c]`` of size ``2n``.

    Random initialisation (``init="gaussian"``): :math:`(W_k)_{ij}\sim\mathcal N(0,\alpha_k^2/n)`
    for the gates :math:`k\in\{f,i,o\}` and :math:`(W_c)_{ij}\sim\mathcal N(0,g^2/n)` for the
    candidate; biases :math:`b_k=\bar b_k+\sigma_b\,\mathcal N(0,1)`.

    Two Jacobians (docs/theory/chaos.md §3.2, §5 item 2):

    * :meth:`jacobian` is the full ``2n x 2n`` Jacobian of ``(h, c)`` (MMD22 Remark 3; the one
      whose Lyapunov spectrum has ``2n`` exponents);
    * :meth:`jacobian_h_only` is ``d h_t / d h_{t-1}`` at fixed ``c_{t-1}`` (the VPSL22 code's
      convention, ``n`` exponents).

    Facts (docs/theory/gated.md §3.4, §5.7): whenever :math:`\alpha_o = 0` the full Jacobian has rank
    ``<= n`` (at least ``n`` exact zero eigenvalues) at every state; at the zero fixed point
    (``bias_c = 0``) the other ``n`` eigenvalues fill the disk centred at :math:`\sigma(b_f)`
    with radius :math:`g\sigma(b_i)\sigma(b_o)`, stable iff :math:`g < 2` for zero biases.

    Args:
        n: number of units (the state has ``2n`` entries).
        g: gain of the candidate couplings :math:`W_c` (``weight_hc``); default 2 (zero-FP
            critical value, Cor. 5.4).
        alpha_f, alpha_i, alpha_o: gains of the forget-, input- and output-gate couplings.
        input_size: input dimension ``d`` (0: autonomous); input couplings :math:`\mathcal N(0,1/d)`.
        bias_f, bias_i, bias_o, bias_c: scalar (mean) biases.
        bias_std: standard deviation :math:`\sigma_b` of quenched Gaussian biases (all four).
        init: ``"gaussian"``, ``"he"``, ``"xavier"``, ``"orthogonal"`` or ``"uniform"``, each
            scaled by the matrix's gain.
        generator: randomness (order: ``weight_hf, weight_hi, weight_ho, weight_hc``, then the
            input weights in the same gate order, then the biases).
        device, dtype: where the parameters live.

    Parameters: ``weight_h{f,i,o,c}`` ``(n, n)``, ``weight_i{f,i,o,c}`` ``(n, d)``,
    ``bias_{f,i,o,c}`` ``(n,)``.

    Shape:
        state ``(*batch, 2n)`` = ``[h, c]``; ``x``: ``(*batch, d)`` or ``None``; ``jacobian``:
        ``(*batch, 2n, 2n)``; ``jacobian_h_only``: ``(*batch, n, n)``.

    References:
        CKS20 (arXiv:2002.00025), §5; Mikhaeil, Monfared, Durstewitz, NeurIPS 2022 (MMD22).

    Example:
        >>> import torch, rnndyn as rd
        >>> net = rd.LSTM(3, g=1.0, alpha_o=0.0, generator=torch.Generator().manual_seed(0),
        ...               dtype=torch.float64)
        >>> net.state_size, net.state_parts
        (6, (('h', 3), ('c', 3)))
        >>> int(torch.linalg.matrix_rank(net.jacobian(net.initial_state())))
        3
    """

    def __init__(
        self,
        n: int,
        *,
        g: float = 2.0,
        alpha_f: float = 1.0,
        alpha_i: float = 1.0,
        alpha_o: float = 1.0,
        input_size: int = 0,
        bias_f: float = 0.0,
        bias_i: float = 0.0,
        bias_o: float = 0.0,
        bias_c: float = 0.0,
        bias_std: float = 0.0,
        init: str = "gaussian",
        generator: torch.Generator | None = None,
        device: torch.device | str | None = None,
        dtype: torch.dtype | None = None,
    ) -> None:
        super().__init__()
        self.n = check_positive_int(n, "n")
        self.state_size = 2 * n
        self.state_parts = (("h", n), ("c", n))
        self.input_size = check_positive_int(input_size, "input_size", minimum=0)
        self.g = check_nonnegative(g, "g")
        self.alpha_f = check_nonnegative(alpha_f, "alpha_f")
        self.alpha_i = check_nonnegative(alpha_i, "alpha_i")
        self.alpha_o = check_nonnegative(alpha_o, "alpha_o")
        self.bias_std = check_nonnegative(bias_std, "bias_std")
        self.init = check_choice(init, "init", INITS)
        check_generator(generator)
        kw = {"generator": generator, "dtype": dtype, "device": device}
        gains = {"f": self.alpha_f, "i": self.alpha_i, "o": self.alpha_o, "c": self.g}
        for k in _GATES:
            setattr(self, f"weight_h{k}", nn.Parameter(init_weight(init, (n, n), gain=gains[k], **kw)))
        for k in _GATES:
            setattr(self, f"weight_i{k}", _input_weight(n, self.input_size, kw))
        means = {"f": bias_f, "i": bias_i, "o": bias_o, "c": bias_c}
        for k in _GATES:
            setattr(self, f"bias_{k}", _gate_bias(n, means[k], self.bias_std, f"bias_{k}", kw))

    def _forward_parts(self, state: Tensor, x: Tensor | None) -> dict[str, Tensor]:
        n = self.n
        h, c = state[..., :n], state[..., n:]
        u = {}
        for k in _GATES:
            u[k] = _matvec(h, getattr(self, f"weight_h{k}")) + getattr(self, f"bias_{k}")
            if x is not None:
                u[k] = u[k] + _matvec(x, getattr(self, f"weight_i{k}"))
        f, i, o = torch.sigmoid(u["f"]), torch.sigmoid(u["i"]), torch.sigmoid(u["o"])
        cand = torch.tanh(u["c"])
        c_new = f * c + i * cand  # (004-8)
        tc = torch.tanh(c_new)
        return {"h": h, "c": c, "f": f, "i": i, "o": o, "cand": cand, "c_new": c_new, "tc": tc}

    def _step(self, state: Tensor, x: Tensor | None) -> Tensor:
        p = self._forward_parts(state, x)
        return torch.cat([p["o"] * p["tc"], p["c_new"]], dim=-1)

    def _blocks(self, state: Tensor, x: Tensor | None) -> tuple[Tensor, Tensor, Tensor, Tensor]:
        """``(K, Psi, W, f)`` of docs/theory/gated.md §3.4 (004-31)."""
        p = self._forward_parts(state, x)
        c_prev = p["c"].expand_as(p["f"])
        f, i, o, cand, tc = p["f"], p["i"], p["o"], p["cand"], p["tc"]
        # K = dc_t/dh_{t-1} = [c_{t-1} s'_f] W_f + [phi(u^c) s'_i] W_i + [i phi'(u^c)] W_c
        big_k = (
            (c_prev * _sigmoid_prime(f)).unsqueeze(-1) * self.weight_hf
            + (cand * _sigmoid_prime(i)).unsqueeze(-1) * self.weight_hi
            + (i * (1.0 - cand * cand)).unsqueeze(-1) * self.weight_hc
        )
        psi = o * (1.0 - tc * tc)  # Psi = o phi'(c_t)
        w = tc * _sigmoid_prime(o)  # W = phi(c_t) s'_o
        return big_k, psi, w, f

    def _jacobian(self, state: Tensor, x: Tensor | None) -> Tensor:
        # (004-31) in the order (h, c) (the notes use (c, h)):
        #   dh_t/dh = [Psi] K + [W] W_o   dh_t/dc = [Psi f]
        #   dc_t/dh = K                   dc_t/dc = [f]
        big_k, psi, w, f = self._blocks(state, x)
        top = torch.cat(
            [psi.unsqueeze(-1) * big_k + w.unsqueeze(-1) * self.weight_ho, torch.diag_embed(psi * f)], dim=-1
        )
        bottom = torch.cat([big_k, torch.diag_embed(f)], dim=-1)
        return torch.cat([top, bottom], dim=-2)

    def _step_and_tangent(self, state: Tensor, x: Tensor | None, Q: Tensor) -> tuple[Tensor, Tensor]:
        # (004-31) applied to Q = [Q_h; Q_c] without forming the blocks (four GEMMs on Q_h):
        #   K Q_h = [c s'_f] (W_f Q_h) + [phi(u^c) s'_i] (W_i Q_h) + [i phi'(u^c)] (W_c Q_h)
        #   dh = [Psi] (K Q_h + [f] Q_c) + [W] (W_o Q_h),   dc = K Q_h + [f] Q_c
        n = self.n
        p = self._forward_parts(state, x)
        f, i, o, cand, tc = p["f"], p["i"], p["o"], p["cand"], p["tc"]
        c_prev = p["c"].expand_as(f)
        col = lambda v: v.unsqueeze(-1)  # noqa: E731
        qh, qc = Q[..., :n, :], Q[..., n:, :]
        dc = (
            col(c_prev * _sigmoid_prime(f)) * matmul_frame(self.weight_hf, qh)
            + col(cand * _sigmoid_prime(i)) * matmul_frame(self.weight_hi, qh)
            + col(i * (1.0 - cand * cand)) * matmul_frame(self.weight_hc, qh)
            + col(f) * qc
        )
        dh = col(o * (1.0 - tc * tc)) * dc + col(tc * _sigmoid_prime(o)) * matmul_frame(self.weight_ho, qh)
        return torch.cat([o * tc, p["c_new"]], dim=-1), torch.cat([dh, dc], dim=-2)

    def spectral_theory(
        self, h: Tensor, x: Tensor | None = None, *, factorised: bool = True, n_points: int = 256
    ) -> object | None:
        """CKS20 Cor. 5.2 (docs/theory/gated.md §5.7), gains from the weights' norms."""
        from rnndyn.meanfield import rmt

        n = self.n
        with torch.no_grad():
            hh, cc = h[:n], h[n:]
            u = {}
            for k in _GATES:
                u[k] = hh @ getattr(self, f"weight_h{k}").T + getattr(self, f"bias_{k}")
                if x is not None:
                    u[k] = u[k] + x @ getattr(self, f"weight_i{k}").T
            return rmt.lstm_support(
                g=_frob_gain(self.weight_hc),
                alpha_f=_frob_gain(self.weight_hf),
                alpha_i=_frob_gain(self.weight_hi),
                alpha_o=_frob_gain(self.weight_ho),
                u_f=_np(u["f"]),
                u_i=_np(u["i"]),
                u_o=_np(u["o"]),
                u_c=_np(u["c"]),
                c_prev=_np(cc),
                n_points=n_points,
            )

    def jacobian_h_only(self, state: Tensor, x: Tensor | None = None) -> Tensor:
        r"""``d h_t / d h_{t-1}`` at fixed ``c_{t-1}``: :math:`[\Psi]K + [W]W_o` (VPSL22 convention).

        This is the top-left ``n x n`` block of :meth:`jacobian`; ``c`` is carried forward but is
        not part of the tangent space (docs/theory/chaos.md §3.2).

        Args:
            state: the full flat state ``[h, c]``, shape ``(*batch, 2n)`` (``c_{t-1}`` is needed).
            x: input ``(*batch, d)`` or ``None``.

        Returns:
            ``(*batch, n, n)``.
        """
        state, x = self._validate(state, x, name="h")
        big_k, psi, w, _ = self._blocks(state, x)
        return psi.unsqueeze(-1) * big_k + w.unsqueeze(-1) * self.weight_ho

    def extra_repr(self) -> str:
        return (
            f"n={self.n}, g={self.g}, alpha_f={self.alpha_f}, alpha_i={self.alpha_i}, "
            f"alpha_o={self.alpha_o}, input_size={self.input_size}, bias_std={self.bias_std}, "
            f"init={self.init!r}"
        )


__all__ = ["LSTM"]
