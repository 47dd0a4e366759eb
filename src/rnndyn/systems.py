"""Reference dynamical systems in the rnndyn contract, with analytic Jacobians.

They are the oracles of the Lyapunov and fixed-point tests (docs/theory/chaos.md §4.1):
Lorenz-63 (0.9056, 0, -14.5723) at the classic parameters, Hénon (sum = ln 0.3), logistic
r = 4 (ln 2), tent (ln mu), Lorenz-96 (sum = -N).
"""

from __future__ import annotations

import torch

from rnndyn._checks import check_positive_int, check_real
from rnndyn.models.base import AbstractFlow, AbstractMap, initial_state_args

Tensor = torch.Tensor


class _Reference:
    """Parameters are float64 buffers (reference systems are oracles, so float64 by default);
    ``.to(dtype/device)`` carries them and the dtype checks of the contract apply."""

    def _param(self, name: str, value: float) -> None:
        self.register_buffer(name, torch.tensor(float(value), dtype=torch.float64))  # type: ignore[attr-defined]


class Lorenz63(AbstractFlow, _Reference):
    r"""Lorenz-63: :math:`\dot x = \sigma(y-x),\ \dot y = x(\rho-z)-y,\ \dot z = xy-\beta z`.

    Sum of exponents ``-(sigma + 1 + beta)`` exactly (the divergence is constant).
    """

    def __init__(self, *, sigma: float = 10.0, rho: float = 28.0, beta: float = 8.0 / 3.0) -> None:
        super().__init__()
        self.state_size, self.input_size = 3, 0
        self._param("sigma", check_real(sigma, "sigma"))
        self._param("rho", check_real(rho, "rho"))
        self._param("beta", check_real(beta, "beta"))

    def _vector_field(self, h: Tensor, x: Tensor | None) -> Tensor:
        a, b, c = h[..., 0], h[..., 1], h[..., 2]
        return torch.stack([self.sigma * (b - a), a * (self.rho - c) - b, a * b - self.beta * c], dim=-1)

    def _jacobian(self, h: Tensor, x: Tensor | None) -> Tensor:
        a, b, c = h[..., 0], h[..., 1], h[..., 2]
        one = torch.ones_like(a)
        zero = torch.zeros_like(a)
        rows = [
            torch.stack([-self.sigma * one, self.sigma * one, zero], -1),
            torch.stack([self.rho - c, -one, -a], -1),
            torch.stack([b, a, -self.beta * one], -1),
        ]
        return torch.stack(rows, -2)

    def initial_state(self, batch_shape=(), *, generator=None, scale=1.0):  # type: ignore[override]
        batch_shape, scale = initial_state_args(batch_shape, generator, scale)
        base = torch.tensor([1.0, 1.0, 20.0], dtype=torch.float64)
        noise = torch.randn(*batch_shape, 3, generator=generator, dtype=torch.float64)
        return (base + scale * noise).to(self.sigma.dtype).to(self.sigma.device)


class Rossler(AbstractFlow, _Reference):
    r"""Rössler: :math:`\dot x = -y - z,\ \dot y = x + a y,\ \dot z = b + z(x - c)`."""

    def __init__(self, *, a: float = 0.2, b: float = 0.2, c: float = 5.7) -> None:
        super().__init__()
        self.state_size, self.input_size = 3, 0
        self._param("a", check_real(a, "a"))
        self._param("b", check_real(b, "b"))
        self._param("c", check_real(c, "c"))

    def _vector_field(self, h: Tensor, x: Tensor | None) -> Tensor:
        u, v, w = h[..., 0], h[..., 1], h[..., 2]
        return torch.stack([-v - w, u + self.a * v, self.b + w * (u - self.c)], dim=-1)

    def _jacobian(self, h: Tensor, x: Tensor | None) -> Tensor:
        u, w = h[..., 0], h[..., 2]
        one = torch.ones_like(u)
        zero = torch.zeros_like(u)
        rows = [
            torch.stack([zero, -one, -one], -1),
            torch.stack([one, self.a * one, zero], -1),
            torch.stack([w, zero, u - self.c], -1),
        ]
        return torch.stack(rows, -2)

    def initial_state(self, batch_shape=(), *, generator=None, scale=1.0):  # type: ignore[override]
        batch_shape, scale = initial_state_args(batch_shape, generator, scale)
        base = torch.tensor([1.0, 1.0, 0.0], dtype=torch.float64)
        noise = torch.randn(*batch_shape, 3, generator=generator, dtype=torch.float64)
        return (base + scale * noise).to(self.a.dtype).to(self.a.device)


class Lorenz96(AbstractFlow, _Reference):
    r"""Lorenz-96: :math:`\dot x_i = (x_{i+1} - x_{i-2}) x_{i-1} - x_i + F` (periodic).

    The divergence is ``-n``, so the exponents sum to ``-n`` exactly.
    """

    def __init__(self, n: int = 10, *, forcing: float = 8.0) -> None:
        super().__init__()
        self.state_size = check_positive_int(n, "n", minimum=4)
        self.input_size = 0
        self._param("forcing", check_real(forcing, "forcing"))

    def _vector_field(self, h: Tensor, x: Tensor | None) -> Tensor:
        return (torch.roll(h, -1, -1) - torch.roll(h, 2, -1)) * torch.roll(h, 1, -1) - h + self.forcing

    def _jacobian(self, h: Tensor, x: Tensor | None) -> Tensor:
        n = self.state_size
        idx = torch.arange(n, device=h.device)
        jac = torch.zeros(*h.shape[:-1], n, n, dtype=h.dtype, device=h.device)
        jac[..., idx, idx] = -1.0
        jac[..., idx, (idx + 1) % n] = torch.roll(h, 1, -1)  # d/dx_{i+1}: x_{i-1}
        jac[..., idx, (idx - 2) % n] = -torch.roll(h, 1, -1)  # d/dx_{i-2}: -x_{i-1}
        jac[..., idx, (idx - 1) % n] = torch.roll(h, -1, -1) - torch.roll(h, 2, -1)
        return jac

    def initial_state(self, batch_shape=(), *, generator=None, scale=0.01):  # type: ignore[override]
        batch_shape, scale = initial_state_args(batch_shape, generator, scale)
        noise = torch.randn(*batch_shape, self.state_size, generator=generator, dtype=torch.float64)
        return (8.0 + scale * noise).to(self.forcing.dtype).to(self.forcing.device)


class Henon(AbstractMap, _Reference):
    r"""Hénon map: :math:`(x, y) \mapsto (1 - a x^2 + y,\ b x)`; ``det J = -b`` everywhere."""

    def __init__(self, *, a: float = 1.4, b: float = 0.3) -> None:
        super().__init__()
        self.state_size, self.input_size = 2, 0
        self._param("a", check_real(a, "a"))
        self._param("b", check_real(b, "b"))

    def _step(self, h: Tensor, x: Tensor | None) -> Tensor:
        u, v = h[..., 0], h[..., 1]
        return torch.stack([1.0 - self.a * u * u + v, self.b * u], dim=-1)

    def _jacobian(self, h: Tensor, x: Tensor | None) -> Tensor:
        u = h[..., 0]
        one = torch.ones_like(u)
        zero = torch.zeros_like(u)
        return torch.stack(
            [torch.stack([-2.0 * self.a * u, one], -1), torch.stack([self.b * one, zero], -1)], -2
        )

    def initial_state(self, batch_shape=(), *, generator=None, scale=0.05):  # type: ignore[override]
        batch_shape, scale = initial_state_args(batch_shape, generator, scale)
        noise = torch.randn(*batch_shape, 2, generator=generator, dtype=torch.float64)
        return (scale * noise).to(self.a.dtype).to(self.a.device)


class Logistic(AbstractMap, _Reference):
    r"""Logistic map :math:`x \mapsto r x (1 - x)`; at ``r = 4`` the exponent is ``ln 2``."""

    def __init__(self, *, r: float = 4.0) -> None:
        super().__init__()
        self.state_size, self.input_size = 1, 0
        self._param("r", check_real(r, "r", low=0.0, high=4.0))

    def _step(self, h: Tensor, x: Tensor | None) -> Tensor:
        return self.r * h * (1.0 - h)

    def _jacobian(self, h: Tensor, x: Tensor | None) -> Tensor:
        return (self.r * (1.0 - 2.0 * h)).unsqueeze(-1)

    def initial_state(self, batch_shape=(), *, generator=None, scale=1.0):  # type: ignore[override]
        batch_shape, scale = initial_state_args(batch_shape, generator, scale)
        u = 0.05 + 0.9 * torch.rand(*batch_shape, 1, generator=generator, dtype=torch.float64)
        return u.to(self.r.dtype).to(self.r.device)


class Tent(AbstractMap, _Reference):
    r"""Tent map :math:`x \mapsto \mu \min(x, 1 - x)` on ``[0, 1]``; its exponent is ``ln mu`` exactly.

    ``|f'| = mu`` everywhere, so every orbit has the exponent ``ln mu`` (``ln 2 = 0.693`` at the
    default ``mu = 2``). At the kink ``x = 1/2`` the Jacobian is the right-hand derivative
    ``-mu`` (either side has ``|f'| = mu``, so the exponent does not depend on the choice; a ReLU
    form ``2 relu(x) - 4 relu(x - 1/2)`` with ``relu'(0) = 0`` instead has ``f'(0) = 0``).

    Floating point: at ``mu = 2`` the map is computed exactly and every float64 start is a dyadic
    rational, so every orbit reaches the fixed point 0 within ~60 steps and stays there. The
    exponent is still ``ln 2`` (``f'(0) = 2``), but the orbit is that unstable fixed point, not a
    typical orbit, and :func:`rnndyn.lyapunov_spectrum` says so (status ``warning``, check
    ``exact_periodic_orbit``). ``mu`` slightly below 2 (``1.9999``) keeps the orbits typical.
    """

    def __init__(self, *, mu: float = 2.0) -> None:
        super().__init__()
        self.state_size, self.input_size = 1, 0
        self._param("mu", check_real(mu, "mu", low=0.0, high=2.0, low_open=True))

    def _step(self, h: Tensor, x: Tensor | None) -> Tensor:
        return self.mu * torch.minimum(h, 1.0 - h)

    def _jacobian(self, h: Tensor, x: Tensor | None) -> Tensor:
        return torch.where(h < 0.5, self.mu, -self.mu).unsqueeze(-1)

    def initial_state(self, batch_shape=(), *, generator=None, scale=1.0):  # type: ignore[override]
        batch_shape, scale = initial_state_args(batch_shape, generator, scale)
        u = 0.05 + 0.9 * torch.rand(*batch_shape, 1, generator=generator, dtype=torch.float64)
        return u.to(self.mu.dtype).to(self.mu.device)


__all__ = ["Henon", "Logistic", "Lorenz63", "Lorenz96", "Rossler", "Tent"]
