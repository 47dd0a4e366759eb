"""Sparse teacher forcing ("sparsely forced BPTT", [MMD22] eqs. 15-17; docs/theory/chaos.md §2.3).

A latent map ``z_{t+1} = F(z_t)`` (any rnndyn map, or a ``torch.nn`` RNN/GRU/LSTM through
:func:`rnndyn.from_torch`) with a linear readout ``x_hat_t = B z_t`` (no bias, as the code's
``nn.Linear(dim_z, dim_x, bias=False)``) is trained as a generative model of an observed series:

* control series ``z~_t = B^+ x_t`` with the Moore-Penrose pseudo-inverse (eq. 15; for latent
  size M > N only ``pinv`` makes sense, docs/theory/chaos.md §2.3 item 2);
* forcing at ``t = 0 (mod tau)``, ``t != 0`` (the code's ``t % n == 0 and t != 0``): the latent
  state is replaced by ``z~_t`` *before* stepping (eq. 16); ``z_0 = B^+ x_0``;
* the loss ``|x_{t+1} - B z_{t+1}|^2`` is taken on **every** step, forced or not (item 4);
* B is not detached: gradients reach B through ``B^+`` as in the authors' code;
* structured states: B reads the ``h`` block; forcing sets ``h = B^+ x`` and every other block
  (the LSTM cell ``c``) to 0 (the code's ``c <- 0``).

``tau=None`` is plain BPTT through the whole window (the clipped-gradient baseline).
"""

from __future__ import annotations

import math
from typing import Any

import torch
from torch import nn

from rnndyn._checks import check_device, check_map, check_positive_int, check_real, check_tensor
from rnndyn.models.base import AbstractMap
from rnndyn.models.wrappers import AutonomousMap, autonomous

Tensor = torch.Tensor


def check_tau(tau: Any, name: str = "tau") -> int | None:
    """``None`` (no forcing) or an int >= 1."""
    if tau is None:
        return None
    if isinstance(tau, float) and tau.is_integer():
        tau = int(tau)
    if isinstance(tau, bool) or not isinstance(tau, int):
        raise TypeError(f"`{name}` must be an int >= 1, 'auto' or None; got {type(tau).__name__} {tau!r}")
    if tau < 1:
        raise ValueError(f"`{name}` must be an int >= 1 (forcing interval in samples); got {tau}")
    return tau


def forcing_schedule(n_steps: int, tau: int | None) -> Tensor:
    """Boolean mask of forced steps: ``t % tau == 0 and t != 0`` (docs/theory/chaos.md §2.3).

    Example:
        >>> forcing_schedule(7, 3).nonzero().flatten().tolist()
        [3, 6]
    """
    n_steps = check_positive_int(n_steps, "n_steps")
    tau = check_tau(tau)
    t = torch.arange(n_steps)
    if tau is None:
        return torch.zeros(n_steps, dtype=torch.bool)
    return (t % tau == 0) & (t != 0)


def pinv_control(readout: Tensor, x: Tensor) -> Tensor:
    r"""Control states :math:`\tilde z = B^+ x` (eq. 15 with the pseudo-inverse).

    Args:
        readout: ``B`` of shape ``(N, M)`` (observations x latent); its rank must be ``N``
            (every observed coordinate must be reachable), else ``ValueError``.
        x: observations ``(*batch, N)``.

    Returns:
        ``(*batch, M)``; for ``M >= N`` and full-rank ``B``, ``B @ z~ = x`` exactly.

    Example:
        >>> B = torch.tensor([[1.0, 0.0, 1.0], [0.0, 2.0, 0.0]], dtype=torch.float64)
        >>> z = pinv_control(B, torch.tensor([2.0, 4.0], dtype=torch.float64))
        >>> z.round(decimals=12).tolist(), (B @ z).round(decimals=12).tolist()
        ([1.0, 2.0, 1.0], [2.0, 4.0])
    """
    check_tensor(readout, "readout")
    check_tensor(x, "x")
    if readout.ndim != 2 or x.shape[-1] != readout.shape[0]:
        raise ValueError(f"`x` must have shape (*batch, {readout.shape[0]}); got {tuple(x.shape)}")
    check_readout_rank(readout)
    return x @ torch.linalg.pinv(readout).T


def check_readout_rank(readout: Tensor) -> None:
    """Raise if ``B`` (N x M) cannot reproduce every observation: needs ``M >= N`` and rank N."""
    n_obs, m = readout.shape
    if m < n_obs:
        raise ValueError(
            f"the readout must have rank {n_obs} (one latent direction per observed coordinate); "
            f"the observed latent block has only {m} units"
        )
    rank = int(torch.linalg.matrix_rank(readout.detach()))
    if rank < n_obs:
        raise ValueError(f"the readout must have rank {n_obs} (the observation dimension); got rank {rank}")


def predictability_time(lambda_max: float, dt: float = 1.0) -> float:
    r"""Predictability time :math:`\tau_{pred} = \ln 2 / (\lambda_{max} dt)` in samples (eq. 17).

    Example:
        >>> round(predictability_time(1.105, 0.01), 1)   # Lorenz rho = 38 (docs/theory/chaos.md §2.5)
        62.7
    """
    lam = check_real(lambda_max, "lambda_max", low=0.0, low_open=True)
    dt = check_real(dt, "dt", low=0.0, low_open=True)
    return math.log(2.0) / (lam * dt)


class ForcedRNN(nn.Module):
    """A latent map with a linear readout, trainable by sparse teacher forcing.

    Args:
        core: an rnndyn map (``rd.LSTM``, ``rd.GRU``, ``rd.PLRNN``, ``rd.VanillaRNN`` ...) or a
            ``torch.nn`` RNN/GRU/LSTM (or cell), wrapped with :func:`rnndyn.from_torch`.
            Autonomous by default: inputs are zero (the [MMD22] set-up, §2.3).
        n_obs: observation dimension ``N``.
        generator: randomness for ``B`` (uniform, as ``nn.Linear``'s default).

    Attributes:
        core (the map), readout (``nn.Linear(M_obs, N, bias=False)``), obs_slice (the latent
        block read out: ``h`` for gated models).
    """

    def __init__(self, core: nn.Module, n_obs: int, *, generator: torch.Generator | None = None) -> None:
        super().__init__()
        if not isinstance(core, AbstractMap) and isinstance(core, nn.RNNBase | nn.RNNCellBase):
            from rnndyn.models.torch_interop import from_torch

            core = from_torch(core)
        self.core = check_map(core, "core")
        self.n_obs = check_positive_int(n_obs, "n_obs")
        parts = core.state_parts or (("h", core.state_size),)
        names = [p for p, _ in parts]
        hs = [p for p in names if p == "h" or (p.startswith("h") and p[1:].isdigit())]
        target = hs[-1] if hs else names[0]  # the last layer's h is the output
        start = 0
        for p, size in parts:
            if p == target:
                self.obs_slice = slice(start, start + size)
                break
            start += size
        m_obs = self.obs_slice.stop - self.obs_slice.start
        if m_obs < self.n_obs:
            raise ValueError(
                f"the readout must have rank {n_obs} (one latent direction per observed coordinate); "
                f"the observed latent block {target!r} has only {m_obs} units"
            )
        ref = next(iter(core.parameters()), None)
        dtype = ref.dtype if ref is not None else torch.float64
        device = ref.device if ref is not None else None
        bound = 1.0 / math.sqrt(m_obs)
        w = (2 * torch.rand(n_obs, m_obs, generator=generator, dtype=torch.float64) - 1) * bound
        self.readout = nn.Linear(m_obs, n_obs, bias=False, dtype=dtype, device=device)
        with torch.no_grad():
            self.readout.weight.copy_(w.to(dtype))

    @property
    def latent_size(self) -> int:
        return int(self.core.state_size)

    def _input(self, z: Tensor) -> Tensor | None:
        d = self.core.input_size
        return None if d == 0 else z.new_zeros(*z.shape[:-1], d)

    def step(self, z: Tensor) -> Tensor:
        """One autonomous latent step ``z -> F(z, 0)``."""
        return self.core._step(z, self._input(z))

    def observe(self, z: Tensor) -> Tensor:
        """``B z_obs``: ``(*batch, M) -> (*batch, N)``."""
        return self.readout(z[..., self.obs_slice])

    def control(self, x: Tensor) -> Tensor:
        """Full latent state from observations: observed block ``B^+ x``, other blocks 0."""
        z_obs = pinv_control(self.readout.weight, x)
        z = z_obs.new_zeros(*x.shape[:-1], self.latent_size)
        z = z.clone()
        z[..., self.obs_slice] = z_obs
        return z

    def forward(self, x: Tensor, *, tau: int | None) -> Tensor:
        """Teacher-forced rollout over a window ``x`` of ``T + 1`` observations.

        ``z_0 = B^+ x_0``; for ``t = 0 .. T-1``: if ``t % tau == 0 and t != 0``, ``z <- B^+ x_t``;
        then ``z <- F(z)`` and the prediction of ``x_{t+1}`` is ``B z`` (eq. 16; the loss goes
        on every prediction, eq. 16's remark).

        Shape:
            ``x``: ``(B, T + 1, N)``; returns predictions ``(B, T, N)`` of ``x[:, 1:]``.
        """
        check_tensor(x, "x")
        if x.ndim != 3 or x.shape[-1] != self.n_obs or x.shape[1] < 2:
            raise ValueError(f"`x` must have shape (batch, T + 1 >= 2, {self.n_obs}); got {tuple(x.shape)}")
        tau = check_tau(tau)
        T = x.shape[1] - 1
        forced = forcing_schedule(T, tau).tolist()
        z_all = self.control(x)  # all control states at once (one pinv per window)
        if self._fused():
            return self._forward_fused(z_all, T, tau)
        z = z_all[:, 0]
        out = []
        for t in range(T):
            if forced[t]:
                z = z_all[:, t]
            z = self.step(z)
            out.append(z)
        return self.observe(torch.stack(out, dim=1))

    def _fused(self) -> bool:
        # a full torch.nn RNN/GRU/LSTM module runs each unforced segment in one ATen call
        # (same map as the step-by-step loop; tested against it), ~5x faster on CPU
        mod = getattr(self.core, "module", None)
        return isinstance(mod, nn.RNNBase) and not getattr(mod, "bidirectional", False)

    def _forward_fused(self, z_all: Tensor, T: int, tau: int | None) -> Tensor:
        starts = [0] + [t for t in range(1, T) if tau is not None and t % tau == 0]
        bounds = [*starts, T]
        outs = []
        z = z_all[:, 0]
        for a, b in zip(bounds[:-1], bounds[1:], strict=True):
            if a > 0:
                z = z_all[:, a]
            y, hn = self._free_segment(self.core.state_to_torch(z), b - a, z)
            outs.append(y)
            if b < T:
                z = self.core.state_from_torch(hn)
        return self.readout(torch.cat(outs, dim=1))

    @torch.no_grad()
    def generate(self, x0: Tensor, n_steps: int) -> Tensor:
        """Free-running generation from ``z_0 = B^+ x_0``: ``(*batch, N) -> (*batch, n_steps, N)``."""
        n_steps = check_positive_int(n_steps, "n_steps")
        z = self.control(x0)
        if self._fused():
            return self._generate_fused(z, n_steps)
        out = []
        for _ in range(n_steps):
            z = self.step(z)
            out.append(self.observe(z))
        return torch.stack(out, dim=-2)

    def _free_segment(self, hx: Any, length: int, like: Tensor) -> tuple[Tensor, Any]:
        # ``length`` autonomous steps of the torch.nn module from torch state ``hx`` in one ATen
        # call (zero input); returns the top-layer outputs (batch, length, H) and the final state
        mod = self.core.module
        u = like.new_zeros(like.shape[0], length, mod.input_size)
        if not mod.batch_first:
            u = u.transpose(0, 1)
        y, hn = mod(u, hx)
        if not mod.batch_first:
            y = y.transpose(0, 1)
        return y, hn

    def _generate_fused(self, z: Tensor, n_steps: int, chunk: int = 10_000) -> Tensor:
        # the unforced torch.nn module on zero input, ``chunk`` steps per ATen call (same map as
        # the step loop; tested against it): a 100 000-step free run takes seconds, not minutes
        batch = z.shape[:-1]
        z = z.reshape(-1, z.shape[-1])
        hx = self.core.state_to_torch(z)
        outs = []
        for a in range(0, n_steps, chunk):
            y, hx = self._free_segment(hx, min(chunk, n_steps - a), z)
            outs.append(self.readout(y))
        return torch.cat(outs, dim=1).reshape(*batch, n_steps, self.n_obs)

    def latent_map(self) -> Any:
        """The autonomous latent map ``z -> F(z, 0)`` as an rnndyn map (for Lyapunov spectra)."""
        return self.core if self.core.input_size == 0 else autonomous(self.core)


def make_torch_rnn(
    kind: str,
    hidden_size: int,
    *,
    input_size: int = 1,
    generator: torch.Generator | None = None,
    dtype: torch.dtype = torch.float32,
    device: torch.device | str | None = None,
) -> nn.RNNBase:
    """A single-layer ``nn.LSTM`` / ``nn.GRU`` / ``nn.RNN`` initialised like torch's default,
    U(-1/sqrt(H), 1/sqrt(H)), but from ``generator`` instead of the global RNG.

    Example:
        >>> m = make_torch_rnn("lstm", 4, generator=torch.Generator().manual_seed(0))
        >>> type(m).__name__, tuple(m.weight_hh_l0.shape)
        ('LSTM', (16, 4))
    """
    from rnndyn._checks import check_choice

    check_choice(kind, "kind", ("lstm", "gru", "rnn"))
    hidden_size = check_positive_int(hidden_size, "hidden_size")
    if not (isinstance(dtype, torch.dtype) and dtype.is_floating_point and not dtype.is_complex):
        raise TypeError(
            f"`dtype` must be a real floating-point torch.dtype (e.g. torch.float64); got {dtype!r}"
        )
    cls = {"lstm": nn.LSTM, "gru": nn.GRU, "rnn": nn.RNN}[kind]
    device = None if device is None else check_device(device)
    mod = cls(check_positive_int(input_size, "input_size"), hidden_size, dtype=dtype, device=device)
    bound = 1.0 / math.sqrt(hidden_size)
    with torch.no_grad():
        for p in mod.parameters():
            w = (2 * torch.rand(p.shape, generator=generator, dtype=torch.float64) - 1) * bound
            p.copy_(w.to(dtype))
    return mod


#: the zero-input wrapper, now public as :func:`rnndyn.autonomous` (kept under this name for callers)
_Autonomous = AutonomousMap


__all__ = [
    "ForcedRNN",
    "check_readout_rank",
    "check_tau",
    "forcing_schedule",
    "make_torch_rnn",
    "pinv_control",
    "predictability_time",
]
