"""Batched rollouts of maps, with optional input sequences."""

from __future__ import annotations

from typing import Any

import torch

from rnndyn._checks import (
    broadcast_shapes,
    check_finite,
    check_finite_parameters,
    check_generator,
    check_map,
    check_positive_int,
    check_tensor,
    int_tuple,
)
from rnndyn.models.base import AbstractMap

Tensor = torch.Tensor


def check_inputs_sequence(system: AbstractMap, inputs: Tensor | None, name: str = "inputs") -> Tensor | None:
    """Validate an input sequence of shape ``(*batch, T, input_size)``."""
    if inputs is None:
        return None
    check_tensor(inputs, name)
    d = system.input_size
    if d == 0:
        raise ValueError(
            f"`{name}` must be None: {type(system).__name__} has input_size 0; got shape {tuple(inputs.shape)}"
        )
    if inputs.ndim < 2 or inputs.shape[-1] != d:
        raise ValueError(f"`{name}` must have shape (*batch, T, {d}); got {tuple(inputs.shape)}")
    return check_finite(inputs, name)


def simulate(
    system: AbstractMap,
    h0: Tensor | None = None,
    *,
    n_steps: int | None = None,
    inputs: Tensor | None = None,
    n_transient: int = 0,
    batch_shape: tuple[int, ...] = (),
    generator: torch.Generator | None = None,
    check_divergence: bool = True,
    track_grad: bool = False,
) -> Tensor:
    """Roll a map forward and return the trajectory after a discarded transient.

    ``h_{t+1} = F(h_t, x_{t+1})``; the trajectory holds the states after each step, the first
    ``n_transient`` of them dropped.

    Args:
        system: a map (discretise flows first with :func:`rnndyn.discretise`).
        h0: initial state ``(*batch, n)``; default ``system.initial_state(batch_shape,
            generator=generator)``.
        n_steps: number of recorded steps ``T``. With ``inputs`` it defaults to
            ``inputs.shape[-2] - n_transient``.
        inputs: ``(*batch, n_transient + T, d)`` input sequence (transient inputs first), or
            ``None`` for an autonomous run.
        n_transient: steps run and discarded before recording.
        batch_shape: batch shape of the default ``h0`` (ignored when ``h0`` is given).
        generator: randomness for the default ``h0``.
        check_divergence: raise if the trajectory becomes non-finite (checked once at the end).
        track_grad: record the autograd graph (for backpropagation through time). Off by
            default: analyses need values only, and the graph of a long rollout costs memory.

    Returns:
        ``(*batch, T, n)`` trajectory.

    Raises:
        TypeError: a flow or a non-rnndyn object. ValueError: bad shapes, non-finite ``h0``,
        inputs or parameters of ``system`` (the parameter named), too few inputs, or a trajectory
        that diverged to inf/NaN.

    Example:
        >>> import torch, rnndyn as rd
        >>> traj = rd.simulate(rd.Logistic(r=4.0).double(), torch.tensor([0.3], dtype=torch.float64),
        ...                    n_steps=3)
        >>> [round(v, 4) for v in traj[:, 0].tolist()]
        [0.84, 0.5376, 0.9943]
    """
    check_map(system)
    check_finite_parameters(system)  # one pass over the weights: a NaN weight is named, not "diverged"
    check_generator(generator)
    n_transient = check_positive_int(n_transient, "n_transient", minimum=0)
    if not isinstance(check_divergence, bool):
        raise TypeError(f"`check_divergence` must be a bool; got {type(check_divergence).__name__}")
    if not isinstance(track_grad, bool):
        raise TypeError(f"`track_grad` must be a bool; got {type(track_grad).__name__}")
    if h0 is None and inputs is None:
        want = "a tuple of ints >= 1 (e.g. (8,), or () for one trajectory)"
        shape = int_tuple(batch_shape)
        if shape is None:
            raise TypeError(f"`batch_shape` must be {want}; got {batch_shape!r}")
        if any(b < 1 for b in shape):
            raise ValueError(f"`batch_shape` must be {want}; got {shape}")
    inputs = check_inputs_sequence(system, inputs)
    if inputs is not None:
        total = inputs.shape[-2]
        if n_steps is None:
            if total <= n_transient:
                raise ValueError(
                    f"`inputs` has T = {total} steps, which leaves none after n_transient = {n_transient}; "
                    "give longer inputs or a shorter transient"
                )
            n_steps = total - n_transient
        if n_transient + check_positive_int(n_steps, "n_steps") > total:
            raise ValueError(
                f"`inputs` must cover n_transient + n_steps = {n_transient + n_steps} steps; got T = {total}"
            )
    if n_steps is None:
        raise TypeError("`n_steps` is required when no `inputs` are given")
    n_steps = check_positive_int(n_steps, "n_steps")

    if h0 is None:
        in_batch = tuple(inputs.shape[:-2]) if inputs is not None else tuple(batch_shape)
        h0 = system.initial_state(in_batch, generator=generator)
    h, _ = system._validate(h0, None, name="h0")
    if inputs is not None:
        try:
            batch = broadcast_shapes(h.shape[:-1], inputs.shape[:-2])
        except RuntimeError:
            raise ValueError(
                f"the batch shape of `h0` {tuple(h.shape[:-1])} does not broadcast with that of `inputs` "
                f"{tuple(inputs.shape[:-2])} (inputs are (*batch, T, d))"
            ) from None
        h = h.expand(*batch, h.shape[-1])
        if inputs.dtype != h.dtype:
            raise TypeError(f"`inputs` must have the dtype of the state ({h.dtype}); got {inputs.dtype}")

    out = []
    with torch.set_grad_enabled(track_grad and torch.is_grad_enabled()):
        for t in range(n_transient + n_steps):
            x = inputs[..., t, :] if inputs is not None else None
            h = system._step(h, x)
            if t >= n_transient:
                out.append(h)
        traj = torch.stack(out, dim=-2)
    if check_divergence and not bool(torch.isfinite(traj).all()):
        bad = (~torch.isfinite(traj)).nonzero()[0].tolist()
        raise ValueError(
            f"the trajectory diverged: first non-finite value at index {tuple(bad)} of a "
            f"({', '.join(map(str, traj.shape))}) trajectory; reduce the gain or dt, or pass "
            "check_divergence=False to inspect it"
        )
    return traj


def rollout_like_torch(
    wrapped: Any, inputs: Tensor, hx: Tensor | tuple[Tensor, Tensor] | None = None
) -> tuple[Tensor, Tensor | tuple[Tensor, Tensor]]:
    """Run the wrapper on torch's layout and return what the torch module returns.

    For ``nn.RNN/GRU/LSTM`` the result is ``(output, h_n)`` (``(output, (h_n, c_n))``) exactly as
    ``module(inputs, hx)``: ``inputs`` is ``(T, d)``, ``(T, B, d)`` or, with ``batch_first``,
    ``(B, T, d)``; ``hx`` defaults to zeros as in torch. For cells, ``inputs`` is ``(T, d)`` or
    ``(T, B, d)`` (what a loop ``for x_t in inputs: hx = cell(x_t, hx)`` consumes) and the result
    is ``(outputs, hx_T)``, ``outputs`` stacking the cell's ``h`` at every step ``(T, B, H)``.
    The rollout itself is :func:`simulate` (this function lives beside it, above the model layer),
    so this is a check of the wrapper against torch;
    as in torch, the autograd graph is recorded when grad mode is on.

    Example:
        >>> import torch, rnndyn as rd
        >>> lstm = torch.nn.LSTM(2, 3, dtype=torch.float64)
        >>> x = torch.ones(4, 2, dtype=torch.float64)
        >>> out, (h_n, c_n) = rd.rollout_like_torch(rd.from_torch(lstm), x)
        >>> bool(torch.allclose(out, lstm(x)[0], rtol=0, atol=1e-12)), tuple(h_n.shape)
        (True, (1, 3))
    """
    from rnndyn.models.torch_interop import _AbstractTorchRNN

    if not isinstance(wrapped, _AbstractTorchRNN):
        raise TypeError(f"`wrapped` must come from rnndyn.from_torch; got {type(wrapped).__name__}")
    check_tensor(inputs, "inputs")
    d = wrapped.input_size
    if inputs.ndim not in (2, 3) or inputs.shape[-1] != d:
        layout = "(T, d), (B, T, d)" if wrapped.batch_first else "(T, d), (T, B, d)"
        raise ValueError(f"`inputs` must have shape {layout.replace('d', str(d))}; got {tuple(inputs.shape)}")
    if inputs.dtype != wrapped.dtype:
        raise TypeError(
            f"`inputs` has dtype {inputs.dtype} but the wrapped module's parameters are {wrapped.dtype}; "
            f"convert one of them (module.to({inputs.dtype}) or inputs.to({wrapped.dtype}))"
        )
    unbatched = inputs.ndim == 2
    # rnndyn layout (*batch, T, d)
    seq = inputs if unbatched or wrapped.batch_first else inputs.transpose(0, 1)
    batch = () if unbatched else (seq.shape[0],)
    if hx is None:
        h0 = seq.new_zeros(*batch, wrapped.state_size)
    else:
        if not wrapped.is_cell and unbatched:
            # torch takes (L, H) hidden states for unbatched input
            hx = tuple(p.unsqueeze(1) for p in hx) if isinstance(hx, tuple | list) else hx.unsqueeze(1)
            h0 = wrapped.state_from_torch(hx)[0]
        else:
            h0 = wrapped.state_from_torch(hx)
        if h0.dtype != wrapped.dtype:
            raise TypeError(
                f"`hx` has dtype {h0.dtype} but the wrapped module's parameters are {wrapped.dtype}"
            )
        if tuple(h0.shape[:-1]) != batch:
            raise ValueError(
                f"`hx` must have the batch size of `inputs` ({batch[0] if batch else 'unbatched'}); "
                f"got a state of batch shape {tuple(h0.shape[:-1])}"
            )
    # like the torch module, record the graph when grad mode is on
    traj = simulate(wrapped, h0, inputs=seq, check_divergence=False, track_grad=torch.is_grad_enabled())
    out = wrapped.output(traj)
    last = traj[..., -1, :]
    if wrapped.is_cell or not (unbatched or wrapped.batch_first):
        out = out if unbatched else out.transpose(0, 1)
    hn = wrapped.state_to_torch(last if (wrapped.is_cell or not unbatched) else last.unsqueeze(0))
    if not wrapped.is_cell and unbatched:
        hn = tuple(p[:, 0] for p in hn) if isinstance(hn, tuple) else hn[:, 0]
    return out, hn


__all__ = ["check_inputs_sequence", "rollout_like_torch", "simulate"]
