"""Autodiff helpers below the model layer: autograd and finite-difference Jacobians and
matrix-free forward-mode tangent products of any function ``(h, x) -> out``.

This is the only module that calls ``torch.func``. It imports nothing from rnndyn, so models
(:mod:`rnndyn.models.base`) and analyses can both use it; :mod:`rnndyn.jacobians` re-exports it.
"""

from __future__ import annotations

from collections.abc import Callable

import torch
from torch import func

from rnndyn._checks import broadcast_shapes, check_tensor

Tensor = torch.Tensor
RHS = Callable[[Tensor, "Tensor | None"], Tensor]


def _broadcast(h: Tensor, x: Tensor | None) -> tuple[Tensor, Tensor | None, torch.Size]:
    if x is None:
        return h, None, h.shape[:-1]
    batch = broadcast_shapes(h.shape[:-1], x.shape[:-1])
    return h.expand(*batch, h.shape[-1]), x.expand(*batch, x.shape[-1]), batch


#: Largest ``batch * n * n`` for which :func:`autograd_jacobian` replicates the state (one forward
#: and one backward pass at batch ``batch * n``) instead of calling ``torch.func.jacrev``. The
#: replicated route imports nothing (jacrev imports ``torch._dynamo``: 1.8 s in a fresh process)
#: and takes 0.4-0.7x jacrev's time for n = 8 and 64 with one state, about 0.8x at this size
#: (n = 64, 4 states); beyond it the forward pass at ``n`` times the batch makes it 1.3-2.7x
#: slower than jacrev (n = 64 with 8 states, n = 256), which then wins once its one-time import
#: is paid (benchmarks/bench_autodiff.py, benchmarks/RESULTS.md).
REPLICATE_MAX = 16384


def autograd_jacobian(fn: RHS, h: Tensor, x: Tensor | None = None) -> Tensor:
    r"""Jacobian ``d fn(h, x) / d h`` by reverse-mode autograd, vectorised over the batch.

    Up to ``REPLICATE_MAX`` (16384) entries (``batch * n * n``), each state is repeated ``n`` times,
    ``fn`` runs once on the ``(batch * n, n)`` stack and one backward pass of
    :math:`\sum_{b, i} F_i(h_{b, i})` (copy ``i`` of state ``b`` feeds output ``i`` only) gives row
    :math:`\partial F_i / \partial h` in copy ``i``: the exact reverse-mode Jacobian (equal to
    ``torch.func.jacrev``'s to round-off) without any ``torch.func`` transform, so the first call in a
    process does not import ``torch._dynamo``. This needs ``fn`` to act on each row of a 2-D batch
    independently; it is checked (every copy's output must equal ``fn`` on the plain batch, to
    round-off, and ``u^T J`` must equal one reverse pass of ``fn`` on the plain batch, which catches
    a reduction over the rows that identical copies hide, e.g. ``s - s.mean()`` written for one
    state), and a function that fails the check, or raises on a 2-D batch (one written for a
    single state ``(n,)``), gets ``torch.func.vmap(torch.func.jacrev(fn))``, as do larger problems
    (faster there). Under grad mode the result stays differentiable (with respect to ``h`` and the
    parameters ``fn`` uses), as jacrev's is.

    Args:
        fn: a function of ``(h, x)`` acting on one state ``(n,)`` (or on each row of a batch
            ``(*batch, n)`` independently), returning ``(n,)`` (``(*batch, n)``).
        h: ``(*batch, n)``. x: ``(*batch, d)`` or ``None``.

    Returns:
        ``(*batch, n, n)``.

    Raises:
        ValueError: ``fn`` does not return ``n`` outputs per state.
    """
    h, x, batch = _broadcast(h, x)
    n = h.shape[-1]
    hf = h.reshape(-1, n)
    xf = None if x is None else x.reshape(-1, x.shape[-1])
    jac = _replicated_jacobian(fn, hf, xf) if hf.shape[0] * n * n <= REPLICATE_MAX else None
    if jac is None:
        if xf is None:
            jac = func.vmap(func.jacrev(lambda hh: fn(hh, None)))(hf)
        else:
            jac = func.vmap(func.jacrev(fn, argnums=0))(hf, xf)
        if jac.shape[1:] != (n, n):
            raise ValueError(
                f"`fn` must return one output of size n = {n} per state (shape (*batch, {n})) for an "
                f"autograd Jacobian; got {tuple(jac.shape[1:-1])} per state"
            )
    return jac.reshape(*batch, n, n)


def _replicated_jacobian(fn: RHS, hf: Tensor, xf: Tensor | None) -> Tensor | None:
    """``(B, n, n)`` Jacobian of ``fn`` at the rows of ``hf`` ``(B, n)``: one pass on ``n`` copies.

    ``None`` when ``fn`` is not a row-wise function of a 2-D batch: it raises on the stack or on the
    plain batch, returns another shape, or the copies' outputs differ from ``fn(hf, xf)`` beyond
    round-off (e.g. ``W @ h``, written for one state, mixes the copies).
    """
    nb, n = hf.shape
    keep_graph = torch.is_grad_enabled()
    with torch.enable_grad():
        stack = hf.unsqueeze(-2).expand(nb, n, n).reshape(nb * n, n)
        if not stack.requires_grad:
            stack = stack.detach().requires_grad_(True)
        xs = None if xf is None else xf.unsqueeze(-2).expand(nb, n, xf.shape[-1]).reshape(nb * n, -1)
        try:
            out = fn(stack, xs)
            probe = hf.detach().requires_grad_(True)  # for the cross-talk check below
            ref = fn(probe, xf)
        except (RuntimeError, ValueError, IndexError, TypeError):
            return None
        if not (isinstance(out, Tensor) and isinstance(ref, Tensor)):
            return None
        if out.shape != (nb * n, n) or ref.shape != (nb, n):
            return None
        with torch.no_grad():
            copies = out.detach().reshape(nb, n, n)
            tol = 64.0 * torch.finfo(copies.dtype).eps * max(1.0, float(ref.abs().max()))
            expected = ref.detach().unsqueeze(-2)
            same = (
                ((copies - expected).abs() <= tol)
                | (copies == expected)
                | (copies.isnan() & expected.isnan())
            )
            if not bool(same.all()):
                return None
        if not out.requires_grad:  # the output does not depend on h (nor on any parameter): J = 0
            return out.new_zeros(nb, n, n)
        # a scalar output: autograd.grad with explicit grad_outputs imports sympy on first use
        diag = out.reshape(nb, n, n).diagonal(dim1=-2, dim2=-1).sum()
        (g,) = torch.autograd.grad(diag, stack, create_graph=keep_graph, allow_unused=True)
    if g is None:
        return out.new_zeros(nb, n, n)
    jac = g.reshape(nb, n, n)
    if ref.requires_grad:
        # identical copies hide a reduction over the rows (s - s.mean(), s / s.abs().max() in a
        # function written for one state): the outputs agree but the gradient mixes the copies.
        # One reverse pass on the plain batch gives u^T J without copies; it must agree
        u = torch.arange(1, n + 1, dtype=ref.dtype, device=ref.device) / n
        with torch.enable_grad():
            (gp,) = torch.autograd.grad((ref * u).sum(), probe, allow_unused=True)
        with torch.no_grad():
            jd = jac.detach()
            ju = torch.matmul(u, jd)
            gp = torch.zeros_like(ju) if gp is None else gp
            size = float(torch.matmul(u, jd.abs()).max()) if jd.numel() else 0.0
            tol = 64.0 * n * torch.finfo(jd.dtype).eps * max(1.0, size)
            if not bool(((gp - ju).abs() <= tol).all()):
                return None
    return jac if keep_graph else jac.detach()


def finite_difference_jacobian(
    fn: RHS, h: Tensor, x: Tensor | None = None, *, eps: float | None = None
) -> Tensor:
    """Central finite-difference Jacobian (the independent oracle for analytic Jacobians).

    The step defaults to ``eps_machine ** (1/3)`` scaled by ``max(1, |h_j|)``, which balances
    truncation (O(eps^2)) against round-off (O(eps_machine / eps)).
    """
    h, x, batch = _broadcast(h, x)
    n = h.shape[-1]
    if eps is None:
        eps = float(torch.finfo(h.dtype).eps) ** (1.0 / 3.0)
    cols = []
    with torch.no_grad():
        for j in range(n):
            step = eps * torch.clamp(h[..., j].abs(), min=1.0)
            e = torch.zeros_like(h)
            e[..., j] = step
            diff = fn(h + e, x) - fn(h - e, x)
            cols.append(diff / (2.0 * step.unsqueeze(-1)))
    return torch.stack(cols, dim=-1).reshape(*batch, n, n)


def tangent_map(fn: RHS, h: Tensor, vectors: Tensor, x: Tensor | None = None) -> Tensor:
    """Matrix-free product ``J(h) @ V`` by forward-mode autodiff (one JVP per column of V).

    Args:
        fn: batched right-hand side ``(h, x) -> out``.
        h: ``(*batch, n)``. vectors: ``(*batch, n, k)``. x: ``(*batch, d)`` or ``None``.

    Returns:
        ``(*batch, n, k)``; costs ``k`` JVPs instead of forming the ``n x n`` Jacobian.
    """

    def one(v: Tensor) -> Tensor:
        return func.jvp(lambda hh: fn(hh, x), (h,), (v,))[1]

    return func.vmap(one, in_dims=-1, out_dims=-1)(vectors)


def reverse_tangent_map(fn: RHS, h: Tensor, vectors: Tensor, x: Tensor | None = None) -> Tensor:
    r"""The same product ``J(h) @ V`` as :func:`tangent_map`, by reverse-mode autograd only.

    With a dummy cotangent ``u``, one backward pass with ``create_graph=True`` gives
    :math:`g(u) = J^\top u` as a function linear in ``u``; differentiating :math:`g \cdot v_j` with
    respect to ``u`` gives :math:`J v_j` exactly (the "double-vjp" trick: two reverse passes per
    column instead of one forward-mode JVP). No ``torch.func`` transform is involved, so the first
    call in a process does not pay for what functorch's forward mode loads (in torch 2.13 the JVP of
    a linear layer imports ``torch._dynamo``: about 2 s). :func:`rnndyn.checks.jacobian_check`
    uses it for the self-check every analysis runs.

    Args:
        fn: batched right-hand side ``(h, x) -> out`` acting on each row of ``h`` independently.
        h: ``(*batch, n)``. vectors: ``(*batch, n, k)``. x: ``(*batch, d)`` or ``None``.

    Returns:
        ``(*batch, n_out, k)`` (detached).

    Raises:
        TypeError: ``h`` or ``vectors`` is not a tensor. ValueError: ``vectors`` is not
        ``(*batch, n, k)`` with ``n = h.shape[-1]``.

    Example:
        >>> w = torch.randn(3, 3, dtype=torch.float64)
        >>> fn = lambda h, x: torch.tanh(h @ w.T)
        >>> h, v = torch.randn(2, 3, dtype=torch.float64), torch.randn(2, 3, 2, dtype=torch.float64)
        >>> bool(torch.allclose(reverse_tangent_map(fn, h, v), tangent_map(fn, h, v), atol=1e-14))
        True
    """
    check_tensor(h, "h")
    check_tensor(vectors, "vectors")
    if vectors.dim() < 2 or vectors.shape[-2] != h.shape[-1]:
        raise ValueError(
            f"`vectors` must have shape (*batch, {h.shape[-1]}, k) for `h` of shape {tuple(h.shape)}; "
            f"got {tuple(vectors.shape)}"
        )
    with torch.enable_grad():
        hh = h.detach().requires_grad_(True)
        out = fn(hh, x)
        u = torch.zeros_like(out, requires_grad=True)
        # scalar outputs throughout: torch.autograd.grad with explicit grad_outputs imports sympy
        # (torch.fx's symbolic shapes) on first use, another ~1.5 s
        (g,) = torch.autograd.grad((out * u).sum(), hh, create_graph=True, allow_unused=True)
        k = vectors.shape[-1]
        if g is None or not g.requires_grad:  # the output does not depend on h: J = 0
            return out.new_zeros(*out.shape, k).detach()
        cols = [
            torch.autograd.grad((g * vectors[..., j]).sum(), u, retain_graph=j < k - 1)[0] for j in range(k)
        ]
    return torch.stack(cols, dim=-1).detach()


__all__ = ["autograd_jacobian", "finite_difference_jacobian", "reverse_tangent_map", "tangent_map"]
