"""Evaluation of generative models of chaotic data: D_stsp (binned KL or GMM) and D_H.

Definitions as coded by [MMD22] (docs/theory/chaos.md §2.6), with their quirks switchable:

* binned D_stsp (``evaluation/klx.py``): per dimension the range [-2 std, +2 std] of the true
  data **centred at 0** (``centre="zero"``; ``"mean"`` centres it at the data mean); ``n_bins``
  bins per dimension; points with any bin index ``<= 0`` are discarded in the original
  (``drop_first_bin=True``, an off-by-one that also drops bin 0) or ``< 0`` when fixed;
  Laplace smoothing ``p = (hist + alpha) / (sum hist + alpha n_bins^dim)`` with alpha = 1e-5;
  ``D_stsp = KL(p_true || p_gen)``.
* GMM D_stsp (``evaluation/klz.py``): isotropic Gaussians of variance 0.1 on up to 5000 true and
  generated points; Monte-Carlo ``KL(p_gen || p_true)`` (note: the opposite direction) from
  samples of the generated mixture. Log-densities use log-sum-exp, so the original's "drop
  samples where p_true underflows to 0" never triggers (documented fix).
* D_H (``evaluation/pse.py``): per chunk and dimension standardise, ortho rFFT, ``S = |X|^2 2/n``,
  Gaussian smoothing (sigma = 2 bins, kernel 10 sigma + 1), average over chunks, keep the first
  500 bins; ``BC = trapz(sqrt(S_true S_gen))``, ``D_H = sqrt(1 - BC)`` per dimension, averaged.
  Original: spectra are not renormalised after truncation (``renormalise=False``), so
  ``D_H(x, x) > 0`` when power lies beyond the cut, and ``1 - BC`` may be slightly negative,
  which gives NaN there; here it is clipped at 0 (never NaN). The default ``renormalise=True``
  normalises each spectrum to unit area first, so ``D_H`` lies in [0, 1] and vanishes for
  identical inputs.
"""

from __future__ import annotations

import math
from typing import Any

import torch

from rnndyn._checks import check_choice, check_generator, check_positive_int, check_real
from rnndyn.training.data import check_series

Tensor = torch.Tensor


def _flat(x: Any, name: str) -> Tensor:
    return check_series(x, name).reshape(-1, x.shape[-1])


def _histogram(x: Tensor, lo: Tensor, hi: Tensor, n_bins: int, drop_first_bin: bool) -> Tensor:
    idx = torch.floor(n_bins * (x - lo) / (hi - lo)).long()
    keep = (idx > 0 if drop_first_bin else idx >= 0).all(-1) & (idx < n_bins).all(-1)
    idx = idx[keep]
    dim = x.shape[-1]
    flat = torch.zeros(idx.shape[0], dtype=torch.long, device=x.device)
    for d in range(dim):
        flat = flat * n_bins + idx[:, d]
    return torch.bincount(flat, minlength=n_bins**dim).to(x.dtype)


def state_space_divergence(
    x_true: Tensor,
    x_gen: Tensor,
    *,
    method: str = "binned",
    n_bins: int = 10,
    alpha: float = 1e-5,
    centre: str = "zero",
    drop_first_bin: bool = True,
    variance: float = 0.1,
    n_samples: int = 1000,
    max_points: int = 5000,
    generator: torch.Generator | None = None,
) -> float:
    r"""State-space divergence D_stsp between true and generated orbits (docs/theory/chaos.md §2.6).

    Binned: :math:`D = \sum_b p_{true}(b)\ln[p_{true}(b)/p_{gen}(b)]` on an ``n_bins^dim`` grid
    over ``[c - 2\sigma, c + 2\sigma]`` (``c = 0`` or the mean). GMM: :math:`KL(p_{gen}\|p_{true})`
    of isotropic Gaussian mixtures (variance ``variance``) centred on the points, by Monte Carlo.

    Args:
        x_true, x_gen: ``(T, n)`` or ``(S, T, n)`` orbits (lengths may differ).
        method: ``"binned"`` (low dimension, ``n_bins^n`` cells) or ``"gmm"`` (high dimension).
        n_bins, alpha, centre, drop_first_bin: binned options; defaults are the authors' code.
        variance, n_samples, max_points, generator: GMM options (``max_points`` of each orbit,
            evenly strided).

    Returns:
        D_stsp (>= 0 for binned; the GMM estimate is 0 for identical inputs and can fluctuate
        slightly below 0 from Monte-Carlo error).

    Raises:
        ValueError: mismatched dimensions, non-finite orbits, bad options, or (binned) an
        ``x_true`` that is constant in a dimension (its +-2 std range is empty).

    Example:
        >>> x = torch.randn(2000, 2, generator=torch.Generator().manual_seed(0), dtype=torch.float64)
        >>> state_space_divergence(x, x)
        0.0
        >>> state_space_divergence(x, 0.5 * x) > 0.1
        True
    """
    check_choice(method, "method", ("binned", "gmm"))
    a, b = _flat(x_true, "x_true"), _flat(x_gen, "x_gen")
    if a.shape[-1] != b.shape[-1]:
        raise ValueError(f"`x_gen` must have {a.shape[-1]} dimensions like `x_true`; got {b.shape[-1]}")
    if method == "binned":
        n_bins = check_positive_int(n_bins, "n_bins", minimum=2)
        alpha = check_real(alpha, "alpha", low=0.0, low_open=True)
        check_choice(centre, "centre", ("zero", "mean"))
        if n_bins ** a.shape[-1] > 50_000_000:
            raise ValueError(
                f"binned D_stsp needs n_bins^dim = {n_bins}^{a.shape[-1]} cells; use method='gmm'"
            )
        std = a.std(0)
        if not bool((std > 0).all()):
            dims = torch.nonzero(~(std > 0)).flatten().tolist()
            raise ValueError(
                f"`x_true` is constant in dimension(s) {dims}: the binned D_stsp bins +-2 std of "
                "`x_true`, an empty range, and would report 0 whatever `x_gen` is; use method='gmm'"
            )
        c = torch.zeros_like(std) if centre == "zero" else a.mean(0)
        lo, hi = c - 2 * std, c + 2 * std
        b = b.to(a.dtype)
        h_t = _histogram(a, lo, hi, n_bins, drop_first_bin)
        h_g = _histogram(b, lo, hi, n_bins, drop_first_bin)
        n_cells = h_t.numel()
        p = (h_t + alpha) / (h_t.sum() + alpha * n_cells)
        q = (h_g + alpha) / (h_g.sum() + alpha * n_cells)
        return float((p * (p.log() - q.log())).sum())
    variance = check_real(variance, "variance", low=0.0, low_open=True)
    n_samples = check_positive_int(n_samples, "n_samples")
    max_points = check_positive_int(max_points, "max_points")
    check_generator(generator)
    a = a[:: max(1, math.ceil(a.shape[0] / max_points))]
    b = b[:: max(1, math.ceil(b.shape[0] / max_points))].to(a.dtype)
    pick = torch.randint(0, b.shape[0], (n_samples,), generator=generator)
    noise = torch.randn(n_samples, b.shape[-1], generator=generator, dtype=torch.float64).to(b)
    s = b[pick.to(b.device)] + math.sqrt(variance) * noise

    def log_mix(points: Tensor) -> Tensor:
        d2 = torch.cdist(s, points) ** 2
        return torch.logsumexp(-d2 / (2 * variance), dim=-1) - math.log(points.shape[0])

    return float((log_mix(b) - log_mix(a)).mean())


def _gauss_kernel(sigma: float, dtype: torch.dtype, device: torch.device) -> Tensor:
    half = int(5 * sigma)
    t = torch.arange(-half, half + 1, dtype=dtype, device=device)
    k = torch.exp(-0.5 * (t / sigma) ** 2)
    return k / k.sum()


def power_spectra(x: Tensor, *, chunk_length: int, smoothing: float = 2.0) -> Tensor:
    """Chunk-averaged, Gaussian-smoothed power spectra per dimension, shape ``(n_freq, n)``.

    Each chunk and dimension is standardised, ``S = |rfft(x, norm="ortho")|^2 2 / L``.
    """
    xs = check_series(x, "x")
    L = chunk_length - (chunk_length % 2)
    chunks = [s[i : i + L] for s in xs for i in range(0, s.shape[0] - L + 1, L)]
    if not chunks:
        raise ValueError(f"`chunk_length` = {chunk_length} is longer than the series ({xs.shape[-2]})")
    c = torch.stack(chunks)  # (n_chunks, L, n)
    sd = c.std(1, keepdim=True)
    c = (c - c.mean(1, keepdim=True)) / torch.where(sd > 0, sd, torch.ones_like(sd))
    S = torch.fft.rfft(c, dim=1, norm="ortho").abs() ** 2 * 2 / L
    if smoothing > 0:
        k = _gauss_kernel(smoothing, S.dtype, S.device)
        n = S.shape[-1]
        flat = S.permute(0, 2, 1).reshape(-1, 1, S.shape[1])
        flat = torch.nn.functional.conv1d(flat, k.view(1, 1, -1), padding=k.numel() // 2)
        S = flat.reshape(S.shape[0], n, -1).permute(0, 2, 1)
    return S.mean(0)


def power_spectrum_distance(
    x_true: Tensor,
    x_gen: Tensor,
    *,
    n_chunks: int = 50,
    chunk_length: int | None = None,
    smoothing: float = 2.0,
    n_freq: int = 500,
    renormalise: bool = True,
) -> float:
    r"""Dimension-wise Hellinger distance between power spectra, D_H (docs/theory/chaos.md §2.6).

    :math:`D_H = \langle \sqrt{1 - \int \sqrt{S_{true}(f) S_{gen}(f)}\,df} \rangle_{dims}`.

    Args:
        x_true, x_gen: ``(T, n)`` or ``(S, T, n)``.
        n_chunks: the true data are cut into this many chunks (default ``chunk_length`` =
            total true length / ``n_chunks``); generated orbits are cut into chunks of the same
            length.
        smoothing: Gaussian kernel sigma in frequency bins (0: none).
        n_freq: frequency bins kept (the authors' FREQUENCY_CUTOFF = 500).
        renormalise: normalise the kept spectra to unit area (default; then D_H is in [0, 1]
            and exactly 0 for identical inputs). ``False`` is the original code: truncated
            spectra keep their raw area, so even ``D_H(x, x) = sqrt(1 - area) > 0`` when power
            lies beyond ``n_freq`` bins.

    Returns:
        D_H >= 0 (``1 - BC`` is clipped at 0).

    Raises:
        ValueError: mismatched dimensions, non-finite series, bad options, or an ``x_true`` that
        is constant within every chunk in a dimension (a zero spectrum).

    Example:
        >>> t = torch.arange(4000, dtype=torch.float64)
        >>> x = torch.stack([torch.sin(0.3 * t), torch.sin(0.05 * t)], -1)
        >>> power_spectrum_distance(x, x, n_chunks=4)
        0.0
    """
    a, b = check_series(x_true, "x_true"), check_series(x_gen, "x_gen")
    if a.shape[-1] != b.shape[-1]:
        raise ValueError(f"`x_gen` must have {a.shape[-1]} dimensions like `x_true`; got {b.shape[-1]}")
    n_chunks = check_positive_int(n_chunks, "n_chunks")
    n_freq = check_positive_int(n_freq, "n_freq")
    smoothing = check_real(smoothing, "smoothing", low=0.0)
    if chunk_length is None:
        chunk_length = max(2, (a.shape[0] * a.shape[1]) // n_chunks)
        chunk_length = min(chunk_length, a.shape[1], b.shape[1])
    chunk_length = check_positive_int(chunk_length, "chunk_length", minimum=2)
    St = power_spectra(a, chunk_length=chunk_length, smoothing=smoothing)[:n_freq]
    Sg = power_spectra(b.to(a.dtype), chunk_length=chunk_length, smoothing=smoothing)[:n_freq]
    flat = ~(St.sum(0) > 0)
    if bool(flat.any()):
        raise ValueError(
            f"`x_true` is constant within every chunk in dimension(s) {torch.nonzero(flat).flatten().tolist()}: "
            "its power spectrum is zero and D_H would be 1 whatever `x_gen` is (even for x_gen = x_true)"
        )
    if renormalise:
        St = St / torch.trapezoid(St, dim=0).clamp_min(torch.finfo(St.dtype).tiny)
        Sg = Sg / torch.trapezoid(Sg, dim=0).clamp_min(torch.finfo(Sg.dtype).tiny)
    bc = torch.trapezoid(torch.sqrt(St * Sg), dim=0)
    return float(torch.sqrt((1 - bc).clamp_min(0.0)).mean())


__all__ = ["power_spectra", "power_spectrum_distance", "state_space_divergence"]
