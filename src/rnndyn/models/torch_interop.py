"""Wrap trained ``torch.nn`` recurrent networks as rnndyn maps: :func:`from_torch`.

Supported: ``nn.RNN`` (tanh and relu), ``nn.GRU``, ``nn.LSTM`` (any ``num_layers``, with or
without bias, ``batch_first`` either way, dropout only in eval mode) and ``nn.RNNCell``,
``nn.GRUCell``, ``nn.LSTMCell``. Not supported: ``bidirectional=True`` (a backward layer is not
a causal map), ``proj_size > 0`` and any other module (a clear ``TypeError``/``ValueError``).

The wrapper implements torch's own equations on one **flat state**, the hidden states of all
layers concatenated with layer 0 first (for the LSTM all ``h`` first, then all ``c``)::

    RNN / GRU:  [h_0, h_1, ..., h_{L-1}]                        state_size = L * H
    LSTM:       [h_0, ..., h_{L-1}, c_0, ..., c_{L-1}]          state_size = 2 * L * H

so that the ``h`` part is torch's ``h_n`` (shape ``(L, *batch, H)``) moved to the last axis and
flattened (likewise ``c``). Within one step, layer ``l`` reads the *new* state of layer
``l - 1`` as its input (layer 0 reads ``x``), exactly as ``nn.RNN/GRU/LSTM`` do.

Equations (torch's documentation; ``u`` is the layer input, ``h``/``c`` its previous state):

* RNN: ``h' = phi(W_ih u + b_ih + W_hh h + b_hh)``, ``phi`` = tanh or relu.
* GRU (gate order r, z, n): ``r = sigma(W_ir u + b_ir + W_hr h + b_hr)``, ``z`` alike,
  ``n = tanh(W_in u + b_in + r * (W_hn h + b_hn))``, ``h' = (1 - z) * n + z * h``.
* LSTM (gate order i, f, g, o): ``i, f, o = sigma(.)``, ``g = tanh(.)`` of
  ``W_ih u + b_ih + W_hh h + b_hh``; ``c' = f * c + i * g``, ``h' = o * tanh(c')``.

The Jacobians are analytic. Each layer contributes local blocks ``dh'_l/dh_l`` (and, for the
LSTM, ``dh'_l/dc_l``, ``dc'_l/dh_l``, ``dc'_l/dc_l = diag(f)``) plus ``dh'_l/du_l`` through its
input, so the step Jacobian is block lower-triangular over layers with rows built by the chain
rule ``row_l = (dh'_l/du_l) @ row_{l-1} + local_l`` (docs/theory/chaos.md §3.2: "multi-layer: block
lower-triangular Jacobian (layer-to-layer blocks chained)").

LSTM tangent spaces (docs/theory/chaos.md §3.2 and §5.2): ``lstm_state="full"`` (default) linearises
the whole ``(h, c)`` state ([MMD22] Remark 3, ``2 L H`` exponents). ``lstm_state="h"`` gives the
[VPSL22] convention: the rollout still carries ``(h, c)``, but the tangent space is the ``h``
part only, and :meth:`~TorchLSTM.jacobian` returns ``dh_t / dh_{t-1}`` at fixed ``c_{t-1}``, an
``(L H, L H)`` matrix. Because ``h`` comes first in the flat state, this is exactly the leading
``(L H, L H)`` block of the full Jacobian ("the other coordinates held fixed"), and the model
says so through ``tangent_size = L * H`` (``tangent_size == state_size`` for every other model).
"""

from __future__ import annotations

from typing import Any

import torch
from torch import nn

from rnndyn._checks import broadcast_shapes, check_choice, check_tensor
from rnndyn._linalg import matmul_fused
from rnndyn.models.base import AbstractMap

Tensor = torch.Tensor

LSTM_STATES = ("full", "h")
_SUPPORTED = "nn.RNN, nn.GRU, nn.LSTM, nn.RNNCell, nn.GRUCell or nn.LSTMCell"


# ---------------------------------------------------------------------------- helpers
def _broadcast(h: Tensor, x: Tensor | None) -> tuple[Tensor, Tensor | None]:
    if x is None:
        return h, None
    batch = broadcast_shapes(h.shape[:-1], x.shape[:-1])
    return h.expand(*batch, h.shape[-1]), x.expand(*batch, x.shape[-1])


def _affine(v: Tensor | None, w: Tensor, b: Tensor | None) -> Tensor | None:
    """``v @ w.T + b`` with ``v = None`` meaning zero input (then only ``b``, possibly None)."""
    if v is None:
        return b
    out = v @ w.T
    return out if b is None else out + b


def _add(*terms: Tensor | None) -> Tensor:
    out: Tensor | None = None
    for t in terms:
        if t is not None:
            out = t if out is None else out + t
    assert out is not None
    return out


def _dsigma(s: Tensor) -> Tensor:
    return s * (1.0 - s)


def _rows(d: Tensor, w: Tensor) -> Tensor:
    """``diag(d) @ w`` for a batch of diagonals ``d`` of shape ``(*batch, H)``."""
    return d.unsqueeze(-1) * w


def _col(d: Tensor) -> Tensor:
    """A diagonal ``(*batch, H)`` as a column ``(*batch, H, 1)`` that scales the rows of a frame."""
    return d.unsqueeze(-1)


def _layer_blocks(q: Tensor, layer: int, H: int) -> Tensor:
    return q[..., layer * H : (layer + 1) * H, :]


def _fused(w: Tensor, v: Tensor, dv: Tensor, b: Tensor | None) -> tuple[Tensor, Tensor]:
    """``(W v + b, W dv)`` from **one** product ``W @ [v | dv]``
    (:func:`rnndyn._linalg.matmul_fused`), so that a step with its tangent reads the weights once
    (the step is memory-bound for large ``H``).

    ``w``: ``(m, H)``; ``v``: ``(*batch, H)``; ``dv``: ``(*batch, H, k)``; returns ``(*batch, m)``
    and ``(*batch, m, k)`` (batch shapes broadcast).
    """
    out, dout = matmul_fused(w, v, dv)
    return (out if b is None else out + b), dout


def _gru_gates(gi: Tensor | None, gh: Tensor, H: int) -> tuple[Tensor, Tensor, Tensor, Tensor]:
    """torch's GRU gates from the pre-activations ``gi = W_ih u + b_ih`` (``None``: no input and no
    bias) and ``gh = W_hh h + b_hh``, blocks ``(r, z, n)``: returns ``(r, z, n, gh_n)`` with the
    reset gate applied after the recurrent product, ``n = tanh(gi_n + r gh_n)``. The r and z gates
    go through one sigmoid (slices, not split: fewer calls per step)."""
    rz = torch.sigmoid(gh[..., : 2 * H] if gi is None else gi[..., : 2 * H] + gh[..., : 2 * H])
    r, z, gh_n = rz[..., :H], rz[..., H:], gh[..., 2 * H :]
    return r, z, torch.tanh(r * gh_n if gi is None else gi[..., 2 * H :] + r * gh_n), gh_n


def _cat_states(states: list[Tensor]) -> Tensor:
    """Concatenate per-layer states along the last axis (one layer: no copy)."""
    return states[0] if len(states) == 1 else torch.cat(states, dim=-1)


def _cat_frames(frames: list[Tensor]) -> Tensor:
    """Concatenate per-layer tangent frames along the state axis, broadcasting their batch shapes."""
    if len(frames) == 1:
        return frames[0]
    batch = broadcast_shapes(*(f.shape[:-2] for f in frames))
    return torch.cat([f.expand(*batch, *f.shape[-2:]) for f in frames], dim=-2)


def _gates(
    layer_params: tuple[Tensor, Tensor, Tensor | None, Tensor | None],
    u: Tensor | None,
    du: Tensor | None,
    h: Tensor,
    dh: Tensor,
) -> tuple[Tensor | None, Tensor | None, Tensor, Tensor]:
    """One layer's ``(W_ih u + b_ih, W_ih du, W_hh h + b_hh, W_hh dh)`` (fused where perturbed);
    ``u = None`` is zero input and ``du = None`` an unperturbed input (layer 0)."""
    w_ih, w_hh, b_ih, b_hh = layer_params
    gh, dgh = _fused(w_hh, h, dh, b_hh)
    if du is None:
        return _affine(u, w_ih, b_ih), None, gh, dgh
    gi, dgi = _fused(w_ih, u, du, b_ih)  # type: ignore[arg-type]
    return gi, dgi, gh, dgh


class _AbstractTorchRNN(AbstractMap):
    """Shared machinery: parameter access by torch's names, layout, state conversion."""

    #: number of gate blocks in ``weight_ih``/``weight_hh`` (1 RNN, 3 GRU, 4 LSTM)
    _n_gates: int = 1
    #: state blocks per layer (1: h; 2: h and c)
    _blocks: int = 1

    def __init__(self, module: nn.Module) -> None:
        AbstractMap.__init__(self)
        self.module = module
        self.is_cell = isinstance(module, nn.RNNCellBase)
        self.num_layers = 1 if self.is_cell else int(module.num_layers)
        self.hidden_size = int(module.hidden_size)
        self.input_size = int(module.input_size)
        self.batch_first = False if self.is_cell else bool(module.batch_first)
        self.bias = bool(module.bias)
        self.state_size = self._blocks * self.num_layers * self.hidden_size
        self.tangent_size = self.state_size
        names = ["h"] if self._blocks == 1 else ["h", "c"]
        self.state_parts = tuple(
            (f"{nm}{layer}", self.hidden_size) for nm in names for layer in range(self.num_layers)
        )

    # ------------------------------------------------------------------ parameters
    def _params(self, layer: int) -> tuple[Tensor, Tensor, Tensor | None, Tensor | None]:
        """``(weight_ih, weight_hh, bias_ih, bias_hh)`` of one layer, read live from the module."""
        sfx = "" if self.is_cell else f"_l{layer}"
        m = self.module
        return (
            getattr(m, "weight_ih" + sfx),
            getattr(m, "weight_hh" + sfx),
            getattr(m, "bias_ih" + sfx, None),
            getattr(m, "bias_hh" + sfx, None),
        )

    def _h(self, h: Tensor, layer: int) -> Tensor:
        H = self.hidden_size
        return h[..., layer * H : (layer + 1) * H]

    def _c(self, h: Tensor, layer: int) -> Tensor:
        H, L = self.hidden_size, self.num_layers
        return h[..., (L + layer) * H : (L + layer + 1) * H]

    # ------------------------------------------------------------------ torch layout
    def output(self, traj: Tensor) -> Tensor:
        """The last layer's hidden state, which is torch's ``output``: ``(..., n) -> (..., H)``."""
        check_tensor(traj, "traj")
        if traj.ndim < 1 or traj.shape[-1] != self.state_size:
            raise ValueError(
                f"`traj` must be flat states (..., {self.state_size}) of this {type(self).__name__}; "
                f"got {tuple(traj.shape)}"
            )
        return self._h(traj, self.num_layers - 1)

    def state_from_torch(self, hx: Tensor | tuple[Tensor, Tensor]) -> Tensor:
        """Convert a torch hidden state to the flat state.

        ``nn.RNN/GRU``: ``h`` of shape ``(L, *batch, H)``; ``nn.LSTM``: a tuple ``(h, c)`` of such;
        cells: ``(*batch, H)`` (a tuple ``(h, c)`` for ``nn.LSTMCell``). Returns ``(*batch, n)``.
        """
        parts = self._torch_parts(hx, "hx")
        if not self.is_cell:
            parts = [p.movedim(0, -2).flatten(-2) for p in parts]
        return torch.cat(parts, dim=-1)

    def state_to_torch(self, h: Tensor) -> Tensor | tuple[Tensor, Tensor]:
        """Inverse of :meth:`state_from_torch`: flat ``(*batch, n)`` -> torch's hidden state."""
        check_tensor(h, "h")
        if h.shape[-1] != self.state_size:
            raise ValueError(f"`h` must have shape (*batch, {self.state_size}); got {tuple(h.shape)}")
        L, H = self.num_layers, self.hidden_size
        out = []
        for b in range(self._blocks):
            p = h[..., b * L * H : (b + 1) * L * H]
            out.append(p if self.is_cell else p.unflatten(-1, (L, H)).movedim(-2, 0))
        return out[0] if self._blocks == 1 else (out[0], out[1])

    def _torch_parts(self, hx: Any, name: str) -> list[Tensor]:
        lstm = self._blocks == 2
        if lstm:
            if not isinstance(hx, tuple | list) or len(hx) != 2:
                raise TypeError(f"`{name}` must be a tuple (h, c) for an LSTM; got {type(hx).__name__}")
            parts = [check_tensor(hx[0], f"{name}[0]"), check_tensor(hx[1], f"{name}[1]")]
        else:
            parts = [check_tensor(hx, name)]
        lead = () if self.is_cell else (self.num_layers,)
        want = "(*batch, H)" if self.is_cell else "(num_layers, *batch, H)"
        for i, p in enumerate(parts):
            pname = f"{name}[{i}]" if lstm else name
            ok = p.ndim >= len(lead) + 1 and p.shape[-1] == self.hidden_size
            ok = ok and tuple(p.shape[: len(lead)]) == lead
            if not ok:
                want_s = want.replace("H", str(self.hidden_size)).replace("num_layers", str(self.num_layers))
                raise ValueError(f"`{pname}` must have shape {want_s}; got {tuple(p.shape)}")
        if lstm:
            h, c = parts
            if h.shape != c.shape:
                raise ValueError(
                    f"`{name}` must hold h and c of one shape; got {tuple(h.shape)} and {tuple(c.shape)}"
                )
            if h.dtype != c.dtype:
                raise TypeError(f"`{name}` must hold h and c of one dtype; got {h.dtype} and {c.dtype}")
        return parts

    def extra_repr(self) -> str:
        return (
            f"{type(self.module).__name__}: input_size={self.input_size}, hidden_size={self.hidden_size}, "
            f"num_layers={self.num_layers}, state_size={self.state_size}, tangent_size={self.tangent_size}"
        )


# ---------------------------------------------------------------------------- RNN
class TorchRNN(_AbstractTorchRNN):
    r"""An ``nn.RNN`` / ``nn.RNNCell`` as an rnndyn map (build it with :func:`from_torch`).

    Per layer :math:`h'_l = \phi(W_{ih} u_l + b_{ih} + W_{hh} h_l + b_{hh})`, :math:`u_0 = x`,
    :math:`u_l = h'_{l-1}`; Jacobian blocks :math:`[\phi'(a)] W_{hh}` and :math:`[\phi'(a)] W_{ih}`
    (docs/theory/gated.md §3.1). State ``[h0, ..., h{L-1}]``.
    """

    def __init__(self, module: nn.Module) -> None:
        super().__init__(module)
        self.activation = str(module.nonlinearity)

    def _layer(self, layer: int, u: Tensor | None, h: Tensor) -> tuple[Tensor, Tensor]:
        w_ih, w_hh, b_ih, b_hh = self._params(layer)
        a = _add(_affine(u, w_ih, b_ih), _affine(h, w_hh, b_hh))
        return (torch.tanh(a) if self.activation == "tanh" else torch.relu(a)), a

    def _step(self, h: Tensor, x: Tensor | None) -> Tensor:
        h, x = _broadcast(h, x)
        u, out = x, []
        for layer in range(self.num_layers):
            u, _ = self._layer(layer, u, self._h(h, layer))
            out.append(u)
        return torch.cat(out, dim=-1)

    def _jacobian(self, h: Tensor, x: Tensor | None) -> Tensor:
        h, x = _broadcast(h, x)
        H, n = self.hidden_size, self.state_size
        u, prev, rows = x, None, []
        for layer in range(self.num_layers):
            w_ih, w_hh, _, _ = self._params(layer)
            u, a = self._layer(layer, u, self._h(h, layer))
            d = 1.0 - u * u if self.activation == "tanh" else (a > 0).to(a.dtype)
            row = h.new_zeros(*h.shape[:-1], H, n) if prev is None else _rows(d, w_ih) @ prev
            sl = slice(layer * H, (layer + 1) * H)
            row[..., sl] = row[..., sl] + _rows(d, w_hh)
            rows.append(row)
            prev = row
        return torch.cat(rows, dim=-2)

    def _step_and_tangent(self, h: Tensor, x: Tensor | None, Q: Tensor) -> tuple[Tensor, Tensor]:
        # per layer: dh'_l = [phi'(a)] (W_hh dh_l + W_ih du_l), du_l = dh'_{l-1} (du_0 = 0)
        h, x = _broadcast(h, x)
        H = self.hidden_size
        u, du, outs, tans = x, None, [], []
        for layer in range(self.num_layers):
            gi, dgi, gh, dgh = _gates(
                self._params(layer), u, du, self._h(h, layer), _layer_blocks(Q, layer, H)
            )
            a = gh if gi is None else gi + gh
            u = torch.tanh(a) if self.activation == "tanh" else torch.relu(a)
            d = 1.0 - u * u if self.activation == "tanh" else (a > 0).to(a.dtype)
            du = _col(d) * (dgh if dgi is None else dgh + dgi)
            outs.append(u)
            tans.append(du)
        return _cat_states(outs), _cat_frames(tans)


# ---------------------------------------------------------------------------- GRU
class TorchGRU(_AbstractTorchRNN):
    r"""An ``nn.GRU`` / ``nn.GRUCell`` as an rnndyn map (build it with :func:`from_torch`).

    Torch's gate order ``(r, z, n)``, with the reset gate applied *after* the recurrent matmul:
    :math:`n = \tanh(W_{in} u + b_{in} + r \odot (W_{hn} h + b_{hn}))`,
    :math:`h' = (1 - z) \odot n + z \odot h`. State ``[h0, ..., h{L-1}]``.
    """

    _n_gates = 3

    def _layer(self, layer: int, u: Tensor | None, h: Tensor) -> tuple[Tensor, tuple[Tensor, ...]]:
        w_ih, w_hh, b_ih, b_hh = self._params(layer)
        r, z, nn_, gh_n = _gru_gates(_affine(u, w_ih, b_ih), _affine(h, w_hh, b_hh), self.hidden_size)
        return torch.lerp(nn_, h, z), (r, z, nn_, gh_n)  # h' = (1 - z) n + z h

    def _step(self, h: Tensor, x: Tensor | None) -> Tensor:
        h, x = _broadcast(h, x)
        u, out = x, []
        for layer in range(self.num_layers):
            u, _ = self._layer(layer, u, self._h(h, layer))
            out.append(u)
        return torch.cat(out, dim=-1)

    def _jacobian(self, h: Tensor, x: Tensor | None) -> Tensor:
        h, x = _broadcast(h, x)
        H, n = self.hidden_size, self.state_size
        u, prev, rows = x, None, []
        for layer in range(self.num_layers):
            w_ih, w_hh, _, _ = self._params(layer)
            h_l = self._h(h, layer)
            h_new, (r, z, nn_, gh_n) = self._layer(layer, u, h_l)
            w_hr, w_hz, w_hn = w_hh.split(H, dim=0)
            dn, dz, dr = 1.0 - nn_ * nn_, _dsigma(z), _dsigma(r)
            one_z, h_n = 1.0 - z, h_l - nn_
            # dh'/dh = [1-z] dn/dh + [h-n] dz/dh + [z]; dn/dh = [dn]([gh_n dr] W_hr + [r] W_hn)
            local = _rows(one_z * dn * gh_n * dr, w_hr) + _rows(one_z * dn * r, w_hn) + _rows(h_n * dz, w_hz)
            local = local + torch.diag_embed(z)
            if prev is None:
                row = h.new_zeros(*h.shape[:-1], H, n)
            else:
                w_ir, w_iz, w_in = w_ih.split(H, dim=0)
                du = _rows(one_z * dn * gh_n * dr, w_ir) + _rows(one_z * dn, w_in) + _rows(h_n * dz, w_iz)
                row = du @ prev
            sl = slice(layer * H, (layer + 1) * H)
            row[..., sl] = row[..., sl] + local
            rows.append(row)
            prev, u = row, h_new
        return torch.cat(rows, dim=-2)

    def _step_and_tangent(self, h: Tensor, x: Tensor | None, Q: Tensor) -> tuple[Tensor, Tensor]:
        # per layer, with dg = W_hh dh + W_ih du split into (r, z, n) blocks (dgh_n = W_hn dh):
        #   dr = [s'_r] dg_r, dz = [s'_z] dg_z, dn = [1 - n^2] (dgi_n + [gh_n] dr + [r] dgh_n),
        #   dh' = [1-z] dn + [h-n] dz + [z] dh;  du_l = dh'_{l-1} (du_0 = 0).
        # Collected per gate block, dh' = [c_r] dg_r + [c_z] dg_z + [c_n] dgh_n + [a_n] dgi_n + [z] dh
        # with the diagonal coefficients a_n = [1-z][1-n^2], c_r = a_n [gh_n][s'_r],
        # c_z = [h-n][s'_z], c_n = a_n [r]: one fused multiply-add pass over the frame per term.
        h, x = _broadcast(h, x)
        H = self.hidden_size
        u, du, outs, tans = x, None, [], []
        for layer in range(self.num_layers):
            h_l, dh = self._h(h, layer), _layer_blocks(Q, layer, H)
            gi, dgi, gh, dgh = _gates(self._params(layer), u, du, h_l, dh)
            r, z, nn_, gh_n = _gru_gates(gi, gh, H)
            dgh_r, dgh_z, dgh_n = dgh[..., :H, :], dgh[..., H : 2 * H, :], dgh[..., 2 * H :, :]
            u = torch.lerp(nn_, h_l, z)
            a_n = (1.0 - z) * (1.0 - nn_ * nn_)
            c_r, c_z = _col(a_n * gh_n * _dsigma(r)), _col((h_l - nn_) * _dsigma(z))
            du = torch.addcmul(_col(z) * dh, c_r, dgh_r).addcmul_(c_z, dgh_z).addcmul_(_col(a_n * r), dgh_n)
            if dgi is not None:
                dgi_r, dgi_z, dgi_n = dgi[..., :H, :], dgi[..., H : 2 * H, :], dgi[..., 2 * H :, :]
                du = du.addcmul_(c_r, dgi_r).addcmul_(c_z, dgi_z).addcmul_(_col(a_n), dgi_n)
            outs.append(u)
            tans.append(du)
        return _cat_states(outs), _cat_frames(tans)


# ---------------------------------------------------------------------------- LSTM
class TorchLSTM(_AbstractTorchRNN):
    r"""An ``nn.LSTM`` / ``nn.LSTMCell`` as an rnndyn map (build it with :func:`from_torch`).

    Torch's gate order ``(i, f, g, o)``: :math:`c' = f \odot c + i \odot g`,
    :math:`h' = o \odot \tanh(c')`. The flat state is ``[h0, ..., h{L-1}, c0, ..., c{L-1}]``.

    ``lstm_state="full"``: :meth:`jacobian` is the exact ``(2LH, 2LH)`` Jacobian of the step.
    ``lstm_state="h"``: :meth:`jacobian` is ``dh_t/dh_{t-1}`` at fixed ``c_{t-1}`` ([VPSL22],
    docs/theory/chaos.md §3.2), an ``(LH, LH)`` matrix, and ``tangent_size = LH``; the rollout is
    unchanged. :meth:`jacobian_h_only` gives that block in either mode.
    """

    _n_gates = 4
    _blocks = 2

    def __init__(self, module: nn.Module, *, lstm_state: str = "full") -> None:
        super().__init__(module)
        self.lstm_state = check_choice(lstm_state, "lstm_state", LSTM_STATES)
        if self.lstm_state == "h":
            self.tangent_size = self.num_layers * self.hidden_size

    def _layer(
        self, layer: int, u: Tensor | None, h: Tensor, c: Tensor
    ) -> tuple[Tensor, Tensor, tuple[Tensor, ...]]:
        w_ih, w_hh, b_ih, b_hh = self._params(layer)
        gates = _add(_affine(u, w_ih, b_ih), _affine(h, w_hh, b_hh))
        gi, gf, gg, go = gates.split(self.hidden_size, dim=-1)
        i, f, g, o = torch.sigmoid(gi), torch.sigmoid(gf), torch.tanh(gg), torch.sigmoid(go)
        c_new = f * c + i * g
        tc = torch.tanh(c_new)
        return o * tc, c_new, (i, f, g, o, tc)

    def _step(self, h: Tensor, x: Tensor | None) -> Tensor:
        h, x = _broadcast(h, x)
        u, hs, cs = x, [], []
        for layer in range(self.num_layers):
            u, c_new, _ = self._layer(layer, u, self._h(h, layer), self._c(h, layer))
            hs.append(u)
            cs.append(c_new)
        return torch.cat(hs + cs, dim=-1)

    def _lstm_jacobian(self, h: Tensor, x: Tensor | None, *, h_only: bool) -> Tensor:
        # Local blocks (i, f, o = sigma; g = tanh; c' = f c + i g; h' = o tanh c'):
        #   dc'/dh = [c sigma'_f] W_hf + [g sigma'_i] W_hi + [i tanh'_g] W_hg ;  dc'/dc = [f]
        #   dh'/dh = [o tanh'(c')] dc'/dh + [tanh(c') sigma'_o] W_ho ;  dh'/dc = [o tanh'(c') f]
        # and the same with W_i* for the layer input u (docs/theory/chaos.md §3.2, `lstm_jac`).
        h, x = _broadcast(h, x)
        H, L = self.hidden_size, self.num_layers
        ncol = L * H if h_only else 2 * L * H
        batch = h.shape[:-1]
        u, prev, rows_h, rows_c = x, None, [], []
        for layer in range(L):
            w_ih, w_hh, _, _ = self._params(layer)
            c_l = self._c(h, layer)
            h_new, _, (i, f, g, o, tc) = self._layer(layer, u, self._h(h, layer), c_l)
            cf, ci, cg = c_l * _dsigma(f), g * _dsigma(i), i * (1.0 - g * g)
            oc, co = o * (1.0 - tc * tc), tc * _dsigma(o)

            def dc(w: Tensor, cf=cf, ci=ci, cg=cg) -> Tensor:
                w_i, w_f, w_g, _ = w.split(H, dim=0)
                return _rows(cf, w_f) + _rows(ci, w_i) + _rows(cg, w_g)

            def dh(w: Tensor, dcw: Tensor, oc=oc, co=co) -> Tensor:
                return _rows(oc, dcw) + _rows(co, w.split(H, dim=0)[3])

            dc_dh = dc(w_hh)
            dh_dh = dh(w_hh, dc_dh)
            if prev is None:
                row_h = h.new_zeros(*batch, H, ncol)
                row_c = h.new_zeros(*batch, H, ncol)
            else:
                dc_du = dc(w_ih)
                row_h = dh(w_ih, dc_du) @ prev
                row_c = dc_du @ prev
            sh = slice(layer * H, (layer + 1) * H)
            row_h[..., sh] = row_h[..., sh] + dh_dh
            if not h_only:
                sc = slice((L + layer) * H, (L + layer + 1) * H)
                row_h[..., sc] = row_h[..., sc] + torch.diag_embed(oc * f)
                row_c[..., sh] = row_c[..., sh] + dc_dh
                row_c[..., sc] = row_c[..., sc] + torch.diag_embed(f)
            rows_h.append(row_h)
            rows_c.append(row_c)
            prev, u = row_h, h_new
        return torch.cat(rows_h if h_only else rows_h + rows_c, dim=-2)

    def _jacobian(self, h: Tensor, x: Tensor | None) -> Tensor:
        return self._lstm_jacobian(h, x, h_only=self.lstm_state == "h")

    def _step_and_tangent(self, h: Tensor, x: Tensor | None, Q: Tensor) -> tuple[Tensor, Tensor]:
        # per layer, with dg = W_hh dh + W_ih du split into (i, f, g, o) blocks:
        #   dc' = [c s'_f] dg_f + [f] dc + [g s'_i] dg_i + [i (1 - g^2)] dg_g,
        #   dh' = [tanh(c') s'_o] dg_o + [o (1 - tanh^2 c')] dc';  du_l = dh'_{l-1} (du_0 = 0).
        # h-only ([VPSL22]): the frame has the h blocks only and dc = 0 (c held fixed).
        h, x = _broadcast(h, x)
        H, L = self.hidden_size, self.num_layers
        h_only = self.lstm_state == "h"
        u, du, hs, cs, dhs, dcs = x, None, [], [], [], []
        for layer in range(L):
            c_l = self._c(h, layer)
            gi, dgi, gh, dgh = _gates(
                self._params(layer), u, du, self._h(h, layer), _layer_blocks(Q, layer, H)
            )
            gates = gh if gi is None else gi + gh
            dg = dgh if dgi is None else dgh + dgi
            a_i, a_f, a_g, a_o = gates.split(H, dim=-1)
            i, f, g, o = torch.sigmoid(a_i), torch.sigmoid(a_f), torch.tanh(a_g), torch.sigmoid(a_o)
            c_new = f * c_l + i * g
            tc = torch.tanh(c_new)
            u = o * tc
            dg_i, dg_f, dg_g, dg_o = dg.split(H, dim=-2)
            dc = _col(c_l * _dsigma(f)) * dg_f + _col(g * _dsigma(i)) * dg_i + _col(i * (1.0 - g * g)) * dg_g
            if not h_only:
                dc = dc + _col(f) * _layer_blocks(Q, L + layer, H)
            du = _col(tc * _dsigma(o)) * dg_o + _col(o * (1.0 - tc * tc)) * dc
            hs.append(u)
            cs.append(c_new)
            dhs.append(du)
            dcs.append(dc)
        return torch.cat(hs + cs, dim=-1), _cat_frames(dhs if h_only else dhs + dcs)

    def jacobian_h_only(self, h: Tensor, x: Tensor | None = None) -> Tensor:
        """``dh_t / dh_{t-1}`` at fixed ``c_{t-1}`` ([VPSL22]): ``(*batch, L H, L H)``.

        The leading ``(LH, LH)`` block of the full Jacobian; available whatever ``lstm_state``.
        """
        h, x = self._validate(h, x)
        return self._lstm_jacobian(h, x, h_only=True)

    def jacobian_full(self, h: Tensor, x: Tensor | None = None) -> Tensor:
        """The exact ``(*batch, 2LH, 2LH)`` Jacobian of the step, whatever ``lstm_state``."""
        h, x = self._validate(h, x)
        return self._lstm_jacobian(h, x, h_only=False)

    def extra_repr(self) -> str:
        return super().extra_repr() + f", lstm_state={self.lstm_state!r}"


# ---------------------------------------------------------------------------- entry points
def _suggest(module: nn.Module) -> str:
    found = [
        f"{name!r} ({type(m).__name__})"
        for name, m in module.named_modules()
        if name and isinstance(m, nn.RNNBase | nn.RNNCellBase)
    ]
    if not found:
        return ""
    return f"; it contains {', '.join(found[:3])}: pass that submodule instead"


def from_torch(module: nn.Module, *, lstm_state: str = "full") -> TorchRNN | TorchGRU | TorchLSTM:
    r"""Wrap a ``torch.nn`` recurrent network as an rnndyn map with analytic Jacobians.

    The wrapper keeps a reference to ``module`` (registered as ``wrapped.module``): it reads the
    module's own parameters at every step, so gradients flow into them, training the module
    changes the wrapper, and dtype/device follow the module (``wrapped.to(...)`` moves both).
    It computes the deterministic (eval-mode) map.

    Flat state (layer 0 first): ``[h0, ..., h{L-1}]`` for RNN/GRU, ``[h0, ..., h{L-1}, c0, ...,
    c{L-1}]`` for the LSTM (``wrapped.state_parts`` names the blocks; ``wrapped.state_from_torch``
    / ``state_to_torch`` convert torch's ``(L, *batch, H)`` hidden states). ``input_size`` is the
    module's; inputs are ``(*batch, input_size)`` per step, ``(*batch, T, input_size)`` for
    :func:`rnndyn.simulate` whatever the module's ``batch_first`` (the torch layout is only used by
    :func:`rnndyn.rollout_like_torch`). The recorded trajectory's last-layer ``h``
    (``wrapped.output(traj)``) is torch's ``output``; its last state gives ``h_n`` (and ``c_n``).

    Args:
        module: ``nn.RNN`` (tanh or relu), ``nn.GRU``, ``nn.LSTM`` (any ``num_layers``, ``bias``,
            ``batch_first``; ``dropout`` only with the module in eval mode) or ``nn.RNNCell``,
            ``nn.GRUCell``, ``nn.LSTMCell``.
        lstm_state: LSTM tangent space. ``"full"`` (default): the exact Jacobian of the whole
            ``(h, c)`` state ([MMD22] Remark 3; ``2LH`` Lyapunov exponents). ``"h"``: the [VPSL22]
            convention, ``jacobian`` returns ``dh_t/dh_{t-1}`` at fixed ``c_{t-1}`` (``LH x LH``;
            ``tangent_size = LH``), the rollout still carries ``c``. Only for LSTMs.

    Returns:
        :class:`TorchRNN`, :class:`TorchGRU` or :class:`TorchLSTM` (an :class:`AbstractMap`).

    Raises:
        TypeError: ``module`` is not one of the supported types.
        ValueError: ``bidirectional=True``, ``proj_size > 0``, inter-layer dropout in training
            mode, a non-floating-point module, or ``lstm_state`` other than ``"full"``/``"h"``
            (or ``"h"`` for a non-LSTM).

    References:
        [MMD22] Mikhaeil, Monfared, Durstewitz, NeurIPS 2022 (full LSTM Jacobian);
        [VPSL22] Vogt et al., Front. Appl. Math. Stat. 8:818799 (h-only LSTM Jacobian).

    Example:
        >>> import torch, rnndyn as rd
        >>> gru = torch.nn.GRU(3, 4, num_layers=2, batch_first=True, dtype=torch.float64)
        >>> net = rd.from_torch(gru)
        >>> net.state_size, [name for name, _ in net.state_parts]
        (8, ['h0', 'h1'])
        >>> x = torch.randn(2, 5, 3, dtype=torch.float64, generator=torch.Generator().manual_seed(0))
        >>> traj = rd.simulate(net, torch.zeros(2, 8, dtype=torch.float64), inputs=x)
        >>> out, h_n = gru(x)
        >>> bool(torch.allclose(net.output(traj), out, rtol=0, atol=1e-12))
        True
    """
    check_choice(lstm_state, "lstm_state", LSTM_STATES)
    if not isinstance(module, nn.Module):
        raise TypeError(f"`module` must be a torch.nn module ({_SUPPORTED}); got {type(module).__name__}")
    kinds = (nn.LSTM, nn.GRU, nn.RNN, nn.LSTMCell, nn.GRUCell, nn.RNNCell)
    if isinstance(module, torch.jit.ScriptModule):  # scripted: its submodules' types are hidden
        raise TypeError(
            f"`module` must be {_SUPPORTED}; got the TorchScript module {type(module).__name__}: pass the "
            "module before torch.jit.script, or rebuild it with rnndyn.io.from_script_module(module) "
            "(rd.analyze and rd.load_model read TorchScript directly)"
        )
    if not isinstance(module, kinds):
        raise TypeError(f"`module` must be {_SUPPORTED}; got {type(module).__name__}{_suggest(module)}")
    name = type(module).__name__
    if isinstance(module, nn.RNNBase):
        if module.bidirectional:
            raise ValueError(
                f"`module` must be unidirectional (bidirectional=False): a backward-in-time layer is "
                f"not a causal map; got {name} with bidirectional=True"
            )
        if getattr(module, "proj_size", 0) > 0:
            raise ValueError(
                f"`module` must have proj_size=0 (LSTM projections are not supported); got {name} "
                f"with proj_size={module.proj_size}"
            )
        if module.dropout > 0 and module.num_layers > 1 and module.training:
            raise ValueError(
                f"`module` must be in eval mode when dropout > 0 (dropout makes the step random); got "
                f"{name} with dropout={module.dropout} in training mode: call module.eval() first"
            )
    for pname, p in module.named_parameters():
        if not torch.is_floating_point(p):
            raise ValueError(
                f"`module` parameters must be real floating point; got {pname} of dtype {p.dtype}"
            )
    is_lstm = isinstance(module, nn.LSTM | nn.LSTMCell)
    if lstm_state != "full" and not is_lstm:
        raise ValueError(f"`lstm_state` applies to nn.LSTM/nn.LSTMCell only; got {lstm_state!r} for {name}")
    if is_lstm:
        return TorchLSTM(module, lstm_state=lstm_state)
    if isinstance(module, nn.GRU | nn.GRUCell):
        return TorchGRU(module)
    nonlin = getattr(module, "nonlinearity", "tanh")
    if nonlin not in ("tanh", "relu"):  # pragma: no cover - torch itself rejects others
        raise ValueError(f"`module.nonlinearity` must be 'tanh' or 'relu'; got {nonlin!r}")
    return TorchRNN(module)


__all__ = [
    "LSTM_STATES",
    "TorchGRU",
    "TorchLSTM",
    "TorchRNN",
    "from_torch",
]
