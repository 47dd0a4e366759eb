"""Training data: chaotic time series from rnndyn's reference systems and sequential tasks.

Chaotic series follow the benchmark set-ups of [MMD22] identified in docs/theory/chaos.md §2.5:
Lorenz-63 (also the rho = 38 set-up of their data file, dt = 0.01), Rössler (a = 0.15, b = 0.2,
c = 10, dt = 0.1) and the chaotically forced Duffing oscillator (dt = 0.1773). Each is simulated
as ``n_series`` independent trajectories from random initial conditions (RK4 with ``substeps``
internal steps per sample), a transient dropped, then standardised with *training* statistics.

Sequential tasks need no download: sklearn's 8x8 digits read pixel by pixel, MNIST from local
IDX or NPZ files the user names, and a delayed-copy task.

Axis order is ``(*batch, T, n)`` (rnndyn/_types.py): a series set is ``(n_series, T, n_obs)``.
"""

from __future__ import annotations

import gzip
import math
import struct
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch

from rnndyn._checks import (
    check_choice,
    check_finite,
    check_generator,
    check_positive_int,
    check_real,
    check_tensor,
)
from rnndyn.models.base import AbstractFlow

Tensor = torch.Tensor


class ForcedDuffing(AbstractFlow):
    r"""Forced Duffing oscillator as an autonomous flow on ``(x, v, theta)``.

    :math:`\dot x = v,\ \dot v = -\delta v + x - x^3 + \gamma\cos\theta,\ \dot\theta = \omega`
    (docs/theory/chaos.md §2.5: ``x'' + 0.1 x' - x + x^3 = 0.35 cos(1.4 t)``). The observed series is
    ``(x, v, cos theta)`` as in the [MMD22] data file.
    """

    def __init__(
        self, *, delta: float = 0.1, gamma: float = 0.35, omega: float = 1.4, dtype: torch.dtype | None = None
    ) -> None:
        super().__init__()
        self.state_size, self.input_size = 3, 0
        dt_ = dtype or torch.float64
        self.register_buffer("delta", torch.tensor(check_real(delta, "delta"), dtype=dt_))
        self.register_buffer("gamma", torch.tensor(check_real(gamma, "gamma"), dtype=dt_))
        self.register_buffer("omega", torch.tensor(check_real(omega, "omega"), dtype=dt_))

    def _vector_field(self, h: Tensor, x: Tensor | None) -> Tensor:
        u, v, th = h[..., 0], h[..., 1], h[..., 2]
        dv = -self.delta * v + u - u**3 + self.gamma * torch.cos(th)
        return torch.stack([v, dv, self.omega * torch.ones_like(th)], dim=-1)


@dataclass(frozen=True)
class SeriesSpec:
    """A named benchmark: system, parameters, sampling step and reference lambda_max (1/time)."""

    system: str
    params: dict[str, float]
    dt: float
    lambda_max: float
    source: str
    n_transient_time: float = 10.0
    substeps: int = 1


#: docs/theory/chaos.md §2.5 (data sets) and §4.1 (reference exponents).
SERIES: dict[str, SeriesSpec] = {
    "lorenz63": SeriesSpec(
        "lorenz63", {"sigma": 10.0, "rho": 28.0, "beta": 8.0 / 3.0}, 0.01, 0.9056, "docs/theory/chaos.md §4.1"
    ),
    "lorenz63_rho38": SeriesSpec(
        "lorenz63",
        {"sigma": 10.0, "rho": 38.0, "beta": 8.0 / 3.0},
        0.01,
        1.105,
        "[MMD22] data file, lambda from docs/theory/chaos.md §2.5 [V]",
    ),
    "rossler": SeriesSpec(
        "rossler",
        {"a": 0.15, "b": 0.2, "c": 10.0},
        0.1,
        0.0893,
        "Rosenstein et al. 1993 parameters, docs/theory/chaos.md §2.5 [V]",
        n_transient_time=100.0,
        substeps=2,
    ),
    "duffing": SeriesSpec(
        "duffing",
        {"delta": 0.1, "gamma": 0.35, "omega": 1.4},
        0.24822 / 1.4,
        0.132,
        "[MMD22] data file, lambda from docs/theory/chaos.md §2.5 [V]",
        n_transient_time=100.0,
        substeps=4,
    ),
}


@dataclass(frozen=True)
class TimeSeriesData:
    """Standardised train/test series.

    Attributes:
        name: benchmark name. train / test: ``(n_series, T, n_obs)`` tensors (standardised).
        dt: sampling step (time units per sample). lambda_max: reference exponent per unit time
        (``None`` for user data). offset / scale: ``x_std = (x - offset) / scale``.
    """

    name: str
    train: Tensor
    test: Tensor
    dt: float
    lambda_max: float | None
    offset: Tensor
    scale: Tensor
    params: dict[str, Any] = field(default_factory=dict)

    @property
    def n_obs(self) -> int:
        return int(self.train.shape[-1])

    @property
    def predictability_steps(self) -> float | None:
        """docs/theory/chaos.md §2.3 eq. 17: tau_pred = ln 2 / (lambda_max dt), in samples."""
        if self.lambda_max is None:
            return None
        return math.log(2.0) / (self.lambda_max * self.dt)

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "train_shape": list(self.train.shape),
            "test_shape": list(self.test.shape),
            "dt": self.dt,
            "lambda_max_reference": self.lambda_max,
            "predictability_steps": self.predictability_steps,
            "params": dict(self.params),
        }


def _standardise(train: Tensor, test: Tensor, how: str) -> tuple[Tensor, Tensor, Tensor, Tensor]:
    flat = train.reshape(-1, train.shape[-1])
    if how == "none":
        offset = torch.zeros(flat.shape[-1], dtype=flat.dtype)
        scale = torch.ones_like(offset)
    elif how == "per_dim":
        offset, scale = flat.mean(0), flat.std(0)
    else:  # "global": one affine map for all coordinates, as in the [MMD22] Lorenz file (§2.5)
        offset = flat.mean() * torch.ones(flat.shape[-1], dtype=flat.dtype)
        scale = flat.std() * torch.ones_like(offset)
    if bool((scale <= 0).any()):
        raise ValueError("the series has a constant coordinate; cannot standardise it")
    return (train - offset) / scale, (test - offset) / scale, offset, scale


def from_array(
    series: Any,
    *,
    dt: float = 1.0,
    test_fraction: float = 0.2,
    standardise: str = "per_dim",
    name: str = "user",
    lambda_max: float | None = None,
) -> TimeSeriesData:
    """Wrap a user series ``(T, n)`` or ``(n_series, T, n)`` as :class:`TimeSeriesData`.

    The last ``test_fraction`` of every series is the test split. Raises ``ValueError`` for NaN/inf.
    """
    arr = np.asarray(series)
    if arr.dtype.kind not in "biuf" or arr.dtype.kind == "b":
        raise TypeError(
            f"`series` must be an array of real numbers, (T, n) or (n_series, T, n); got "
            f"{type(series).__name__} of dtype {arr.dtype}"
        )
    dt = check_real(dt, "dt", low=0.0, low_open=True)
    if lambda_max is not None:
        lambda_max = check_real(lambda_max, "lambda_max", low=0.0, low_open=True)
    x = torch.as_tensor(arr)
    if not torch.is_floating_point(x):
        x = x.to(torch.float64)
    if x.ndim == 1:
        x = x[:, None]
    if x.ndim == 2:
        x = x[None]
    if x.ndim != 3:
        raise ValueError(f"`series` must have shape (T, n) or (n_series, T, n); got {tuple(x.shape)}")
    check_finite(x, "series")
    test_fraction = check_real(
        test_fraction, "test_fraction", low=0.0, high=1.0, low_open=True, high_open=True
    )
    check_choice(standardise, "standardise", ("per_dim", "global", "none"))
    n_test = max(1, int(round(test_fraction * x.shape[-2])))
    if x.shape[-2] - n_test < 2:
        raise ValueError(f"`series` is too short to split: T = {x.shape[-2]}")
    train, test = x[..., :-n_test, :], x[..., -n_test:, :]
    train, test, off, sc = _standardise(train, test, standardise)
    return TimeSeriesData(name, train, test, float(dt), lambda_max, off, sc, {"standardise": standardise})


def chaotic_series(
    name: str = "lorenz63_rho38",
    *,
    n_series: int = 8,
    n_steps: int = 12_500,
    test_fraction: float = 0.2,
    standardise: str = "per_dim",
    generator: torch.Generator | None = None,
    dtype: torch.dtype = torch.float64,
) -> TimeSeriesData:
    """Simulate a benchmark chaotic system and return standardised train/test series.

    Args:
        name: one of ``SERIES``: ``"lorenz63"`` (sigma 10, rho 28, beta 8/3), ``"lorenz63_rho38"``
            (the [MMD22] Lorenz data), ``"rossler"`` (0.15, 0.2, 10), ``"duffing"``.
        n_series: independent trajectories (random initial conditions, transient dropped).
        n_steps: samples per trajectory (train + test); the default 8 x 12 500 = 100 000
            samples matches the size of the [MMD22] data files.
        test_fraction: the last fraction of each trajectory is held out.
        standardise: ``"per_dim"`` (z-score each coordinate with training statistics),
            ``"global"`` (one offset/scale for all coordinates, as the [MMD22] Lorenz file) or
            ``"none"``.
        generator: randomness for the initial conditions.

    Returns:
        :class:`TimeSeriesData` with ``train`` ``(n_series, T_train, 3)``.

    Example:
        >>> import torch
        >>> d = chaotic_series("lorenz63", n_series=2, n_steps=500, generator=torch.Generator().manual_seed(0))
        >>> tuple(d.train.shape), round(d.predictability_steps, 1)
        ((2, 400, 3), 76.5)
    """
    from rnndyn.discretise import discretise
    from rnndyn.simulate import simulate
    from rnndyn.systems import Lorenz63, Rossler

    check_choice(name, "name", SERIES)
    n_series = check_positive_int(n_series, "n_series")
    n_steps = check_positive_int(n_steps, "n_steps", minimum=10)
    check_generator(generator)
    check_float_dtype(dtype)
    spec = SERIES[name]
    if spec.system == "lorenz63":
        flow: AbstractFlow = Lorenz63(**spec.params)
    elif spec.system == "rossler":
        flow = Rossler(**spec.params)
    else:
        flow = ForcedDuffing(**spec.params)
    flow = flow.to(torch.float64)
    step = discretise(flow, dt=spec.dt / spec.substeps, method="rk4")
    if spec.system == "duffing":
        h0 = 0.5 * torch.randn(n_series, 3, generator=generator, dtype=torch.float64)
        h0[:, 2] = 2 * math.pi * torch.rand(n_series, generator=generator, dtype=torch.float64)
    else:
        h0 = flow.initial_state((n_series,), generator=generator)
    n_tr = int(round(spec.n_transient_time / spec.dt)) * spec.substeps
    with torch.no_grad():
        traj = simulate(step, h0, n_steps=n_steps * spec.substeps, n_transient=n_tr)
    traj = traj[:, spec.substeps - 1 :: spec.substeps]
    if spec.system == "duffing":
        traj = torch.stack([traj[..., 0], traj[..., 1], torch.cos(traj[..., 2])], dim=-1)
    data = from_array(
        traj,
        dt=spec.dt,
        test_fraction=test_fraction,
        standardise=standardise,
        name=name,
        lambda_max=spec.lambda_max,
    )
    params = dict(spec.params) | {"standardise": standardise, "source": spec.source, "n_series": n_series}
    return TimeSeriesData(
        name,
        data.train.to(dtype),
        data.test.to(dtype),
        spec.dt,
        spec.lambda_max,
        data.offset.to(dtype),
        data.scale.to(dtype),
        params,
    )


# ---------------------------------------------------------------------------- sequence tasks
@dataclass(frozen=True)
class SequenceTask:
    """A sequence classification task.

    Attributes:
        inputs_train / inputs_test: ``(B, T, d)`` float tensors.
        targets_train / targets_test: ``(B,)`` class labels (read out at the last step) or
            ``(B, T)`` per-step labels where ``-100`` marks steps without a target.
        n_classes: number of output classes.
    """

    name: str
    inputs_train: Tensor
    targets_train: Tensor
    inputs_test: Tensor
    targets_test: Tensor
    n_classes: int

    @property
    def per_step(self) -> bool:
        return self.targets_train.ndim == 2

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "inputs_train_shape": list(self.inputs_train.shape),
            "inputs_test_shape": list(self.inputs_test.shape),
            "n_classes": self.n_classes,
            "per_step": self.per_step,
        }


def check_float_dtype(dtype: Any, name: str = "dtype") -> torch.dtype:
    """A real floating-point ``torch.dtype`` (``torch.float64``, ``torch.float32``, ...)."""
    if not (isinstance(dtype, torch.dtype) and dtype.is_floating_point and not dtype.is_complex):
        raise TypeError(
            f"`{name}` must be a real floating-point torch.dtype (e.g. torch.float64); got {dtype!r}"
        )
    return dtype


def _split(n: int, test_fraction: float, generator: torch.Generator | None) -> tuple[Tensor, Tensor]:
    test_fraction = check_real(
        test_fraction, "test_fraction", low=0.0, high=1.0, low_open=True, high_open=True
    )
    n_test = max(1, int(round(test_fraction * n)))
    if n_test >= n:
        raise ValueError(
            f"`test_fraction` {test_fraction:g} of {n} samples leaves no training sample; lower it or "
            "use more samples"
        )
    perm = torch.randperm(n, generator=generator)
    return perm[n_test:], perm[:n_test]


def digits_task(
    *,
    test_fraction: float = 0.25,
    dtype: torch.dtype = torch.float64,
    generator: torch.Generator | None = None,
) -> SequenceTask:
    """sklearn's 8x8 digits read pixel by pixel: ``T = 64`` steps of one input in [0, 1], 10 classes.

    Example:
        >>> t = digits_task(generator=torch.Generator().manual_seed(0))
        >>> tuple(t.inputs_train.shape), t.n_classes
        ((1348, 64, 1), 10)
    """
    from sklearn.datasets import load_digits

    test_fraction = check_real(
        test_fraction, "test_fraction", low=0.0, high=1.0, low_open=True, high_open=True
    )
    check_float_dtype(dtype)
    d = load_digits()
    x = torch.as_tensor(d.images.reshape(len(d.images), 64, 1) / 16.0, dtype=dtype)
    y = torch.as_tensor(d.target, dtype=torch.long)
    tr, te = _split(len(y), test_fraction, check_generator(generator))
    return SequenceTask("digits", x[tr], y[tr], x[te], y[te], 10)


def _read_idx(path: Path) -> np.ndarray:
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "rb") as fh:
        raw = fh.read()
    if len(raw) < 4 or raw[0] != 0 or raw[1] != 0:
        raise ValueError(f"`{path}` is not an IDX file (bad magic number {raw[:4]!r})")
    dtypes = {0x08: ">u1", 0x09: ">i1", 0x0B: ">i2", 0x0C: ">i4", 0x0D: ">f4", 0x0E: ">f8"}
    code, ndim = raw[2], raw[3]
    if code not in dtypes or ndim == 0:
        raise ValueError(f"`{path}` is not an IDX file (type code {code:#x}, {ndim} dimensions)")
    if len(raw) < 4 + 4 * ndim:
        raise ValueError(f"`{path}` is not an IDX file (truncated header)")
    shape = struct.unpack(f">{ndim}I", raw[4 : 4 + 4 * ndim])
    dt = np.dtype(dtypes[code])
    expected = int(np.prod(shape)) * dt.itemsize
    body = raw[4 + 4 * ndim :]
    if len(body) != expected:
        raise ValueError(
            f"`{path}` is not a valid IDX file: header says {shape} ({expected} bytes), body has {len(body)}"
        )
    return np.frombuffer(body, dtype=dt).reshape(shape)


def _load_images_labels(images: Path, labels: Path | None) -> tuple[np.ndarray, np.ndarray]:
    if not images.exists():
        raise ValueError(f"`images` file does not exist: {images}")
    if images.suffix == ".npz":
        try:
            z = np.load(images, allow_pickle=False)
        except Exception as exc:  # zipfile.BadZipFile, ValueError, OSError
            raise ValueError(f"`{images}` is not a readable NPZ file: {exc}") from None
        keys = set(z.files)
        for xk, yk in (("images", "labels"), ("x", "y"), ("x_train", "y_train")):
            if xk in keys and yk in keys:
                return np.asarray(z[xk]), np.asarray(z[yk])
        raise ValueError(
            f"`{images}` must hold arrays 'images' and 'labels' (or 'x'/'y'); got {sorted(keys)}"
        )
    if labels is None:
        raise ValueError("`labels` is required with an IDX image file")
    if not labels.exists():
        raise ValueError(f"`labels` file does not exist: {labels}")
    return _read_idx(images), _read_idx(labels)


def mnist_task(
    images: str | Path,
    labels: str | Path | None = None,
    *,
    test_images: str | Path | None = None,
    test_labels: str | Path | None = None,
    test_fraction: float = 0.1,
    pixels_per_step: int = 1,
    max_samples: int | None = None,
    dtype: torch.dtype = torch.float32,
    generator: torch.Generator | None = None,
) -> SequenceTask:
    """(Sequential) MNIST from local files: IDX (``train-images-idx3-ubyte[.gz]`` + labels) or NPZ.

    NPZ files hold arrays ``images`` (N, H, W) and ``labels`` (N,) (or ``x``/``y``). Pixels are
    scaled to [0, 1] and read ``pixels_per_step`` at a time (784 steps for 1). Without test
    files, a random ``test_fraction`` of the samples is held out.

    Raises:
        ValueError: a missing file, a file that is neither IDX nor NPZ, mismatched counts.
    """
    pixels_per_step = check_positive_int(pixels_per_step, "pixels_per_step")
    check_float_dtype(dtype)

    def load(img: str | Path, lab: str | Path | None) -> tuple[Tensor, Tensor]:
        x, y = _load_images_labels(Path(img), None if lab is None else Path(lab))
        if x.ndim < 2 or len(x) != len(y) or y.ndim != 1:
            raise ValueError(f"images {x.shape} and labels {y.shape} do not match (need (N, ...) and (N,))")
        x = x.reshape(len(x), -1).astype(np.float64)
        if x.shape[1] % pixels_per_step:
            raise ValueError(f"`pixels_per_step` must divide {x.shape[1]}; got {pixels_per_step}")
        if max_samples is not None:
            x, y = x[:max_samples], y[:max_samples]
        x = x / max(float(x.max()), 1.0) if x.max() > 1 else x
        xt = torch.as_tensor(x, dtype=dtype).reshape(len(x), -1, pixels_per_step)
        return check_finite(xt, "images"), torch.as_tensor(y.astype(np.int64))

    x, y = load(images, labels)
    if test_images is not None:
        xte, yte = load(test_images, test_labels)
        xtr, ytr = x, y
    else:
        tr, te = _split(len(y), test_fraction, check_generator(generator))
        xtr, ytr, xte, yte = x[tr], y[tr], x[te], y[te]
    return SequenceTask("mnist", xtr, ytr, xte, yte, int(max(int(y.max()), int(yte.max()))) + 1)


def delayed_copy_task(
    *,
    n_samples: int = 2000,
    n_symbols: int = 4,
    length: int = 5,
    delay: int = 20,
    test_fraction: float = 0.2,
    dtype: torch.dtype = torch.float64,
    generator: torch.Generator | None = None,
) -> SequenceTask:
    """Delayed copy: see ``length`` one-hot symbols, wait ``delay`` blank steps, then recall them.

    Inputs have ``n_symbols + 1`` channels (the last is the "recall" cue, on during the recall
    phase); targets are per-step labels, ``-100`` outside the recall window. ``T = 2 length + delay``.
    """
    n_samples = check_positive_int(n_samples, "n_samples", minimum=2)
    n_symbols = check_positive_int(n_symbols, "n_symbols", minimum=2)
    length = check_positive_int(length, "length")
    delay = check_positive_int(delay, "delay", minimum=0)
    check_generator(generator)
    check_float_dtype(dtype)
    T = 2 * length + delay
    sym = torch.randint(0, n_symbols, (n_samples, length), generator=generator)
    x = torch.zeros(n_samples, T, n_symbols + 1, dtype=dtype)
    x[:, :length, :n_symbols] = torch.nn.functional.one_hot(sym, n_symbols).to(dtype)
    x[:, length + delay :, n_symbols] = 1.0
    y = torch.full((n_samples, T), -100, dtype=torch.long)
    y[:, length + delay :] = sym
    tr, te = _split(n_samples, test_fraction, generator)
    return SequenceTask("delayed_copy", x[tr], y[tr], x[te], y[te], n_symbols)


def check_series(x: Any, name: str = "series") -> Tensor:
    """A finite floating tensor of shape ``(T, n)`` or ``(S, T, n)``, returned as ``(S, T, n)``."""
    check_tensor(x, name)
    if not torch.is_floating_point(x):
        raise TypeError(f"`{name}` must be a floating-point tensor; got dtype {x.dtype}")
    if x.ndim == 2:
        x = x[None]
    if x.ndim != 3:
        raise ValueError(f"`{name}` must have shape (T, n) or (n_series, T, n); got {tuple(x.shape)}")
    return check_finite(x, name)


__all__ = [
    "SERIES",
    "ForcedDuffing",
    "SequenceTask",
    "SeriesSpec",
    "TimeSeriesData",
    "chaotic_series",
    "check_series",
    "delayed_copy_task",
    "digits_task",
    "from_array",
    "mnist_task",
]
