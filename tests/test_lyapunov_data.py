"""rd.lyapunov_from_data (Rosenstein / Kantz): cross-checked against nolds.lyap_r (an independent
implementation of Rosenstein et al. 1993) and against the QR exponent of the same map."""

from __future__ import annotations

import math
import re

import numpy as np
import pytest
import torch

import rnndyn as rd


def gen(seed: int) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


def henon_x(n: int = 4000) -> np.ndarray:
    x = np.empty((n + 100, 2))
    x[0] = (0.1, 0.1)
    for t in range(n + 99):
        x[t + 1] = (1.0 - 1.4 * x[t, 0] ** 2 + x[t, 1], 0.3 * x[t, 0])
    return x[100:, 0]


def test_rosenstein_agrees_with_nolds_on_the_henon_map() -> None:
    nolds = pytest.importorskip("nolds", reason="nolds is in the dev extra")
    s = henon_x(2000)
    for horizon in (4, 7):
        ref = nolds.lyap_r(s, emb_dim=2, lag=1, min_tsep=10, trajectory_len=horizon, fit="poly")
        # all reference points (as nolds), the same Theiler window, embedding and fit range
        ours = rd.lyapunov_from_data(
            s, embedding_dim=2, delay=1, theiler=10, horizon=horizon, fit_range=(0, horizon - 1),
            n_reference=len(s), generator=gen(0),
        )  # fmt: skip
        assert ours.lambda_max == pytest.approx(ref, rel=2e-3), (horizon, ours.lambda_max, ref)


def test_rosenstein_agrees_with_nolds_on_the_logistic_map() -> None:
    nolds = pytest.importorskip("nolds", reason="nolds is in the dev extra")
    y = np.empty(3000)
    y[0] = 0.3
    for t in range(2999):
        y[t + 1] = 4.0 * y[t] * (1.0 - y[t])
    ref = nolds.lyap_r(y, emb_dim=1, lag=1, min_tsep=5, trajectory_len=5, fit="poly")
    ours = rd.lyapunov_from_data(
        y, theiler=5, horizon=5, fit_range=(0, 4), n_reference=3000, generator=gen(0)
    )
    assert ours.lambda_max == pytest.approx(ref, rel=2e-3)
    assert ours.lambda_max == pytest.approx(math.log(2.0), rel=0.02)
    assert ours.status == "success" and ours.check("stationarity").passed, ours.message


def test_data_estimates_match_the_literature_exponent_of_the_map() -> None:
    qr = 0.41922  # Henon a = 1.4, b = 0.3: J. C. Sprott, Chaos and Time-Series Analysis (2003), table A.1
    s = henon_x()
    ros = rd.lyapunov_from_data(s, embedding_dim=2, theiler=10, generator=gen(2))
    assert ros.status == "success", ros.message
    assert ros.check("stationarity").passed  # a stationary chaotic recording: no false alarm
    assert ros.fit_r2 > 0.99
    assert ros.lambda_max == pytest.approx(qr, rel=0.03)
    kan = rd.lyapunov_from_data(
        s, embedding_dim=2, theiler=10, method="kantz", n_reference=500, generator=gen(2)
    )
    assert kan.lambda_max == pytest.approx(qr, rel=0.08)
    d = ros.to_dict()
    assert d["units"] == "1/step" and d["predictability_steps"] == pytest.approx(math.log(2) / ros.lambda_max)
    # the training tools use the same function
    assert rd.training.estimate_lambda_max is rd.lyapunov_from_data


def test_noise_has_no_linear_range_and_bad_input_is_refused() -> None:
    noise = np.random.default_rng(0).normal(size=(3000, 2))
    r = rd.lyapunov_from_data(noise, theiler=5, generator=gen(0))
    assert r.status == "warning" and not r.check("linear_range").passed
    with pytest.raises(ValueError, match="finite"):
        rd.lyapunov_from_data(np.array([1.0, np.nan] * 100))
    with pytest.raises(ValueError, match="too short"):
        rd.lyapunov_from_data(np.arange(40.0), theiler=10, horizon=30)
    with pytest.raises(ValueError, match="fit_range"):
        rd.lyapunov_from_data(henon_x(500), theiler=5, horizon=8, fit_range=(3, 9))
    with pytest.raises(ValueError, match="method"):
        rd.lyapunov_from_data(henon_x(500), method="wolf")


def test_a_recorded_slow_escape_from_an_unstable_fixed_point_is_not_converged() -> None:
    # the recording of h -> h - c h (h - 1)(h + 2), c = 0.003, from 1e-4 (docs/lyapunov.md,
    # "stationarity"): neighbours on the orbit leaving 0 separate at ln f'(0) = ln(1 + 2c) at first
    # and ever more slowly as h grows (the orbit ends on 1, exponent ln(1 - 3c) < 0); the fit is
    # perfectly linear and was 'success' at +0.0059
    x = np.empty(1001)
    x[0] = 1e-4
    for t in range(1000):
        x[t + 1] = x[t] - 0.003 * x[t] * (x[t] - 1) * (x[t] + 2)
    r = rd.lyapunov_from_data(x, theiler=5, horizon=20, generator=gen(0))
    assert r.lambda_max == pytest.approx(math.log(1.006), abs=2e-4) and r.fit_r2 > 0.999
    chk = r.check("stationarity")
    assert r.status == "not_converged" and not chk.passed and chk.value > 10 and chk.tolerance == 5.0
    assert "recording holds a transient" in r.message
    # oracle for the two halves: the first half's slope is the rate at the unstable fixed point
    # (h <= 0.002 there), the second half's is smaller, as ln f'(h) = ln(1 + 2c - c(3h^2 + 2h)) falls
    m2, m1 = (float(v) for v in re.findall(r"half of the series is (\S+) against (\S+) from", chk.detail)[0])
    assert m1 == pytest.approx(math.log(1.006), abs=1e-5) and m2 < m1 - 3e-5


def _brute_divergence(y: np.ndarray, theiler: int, horizon: int, radius: float | None, kantz: bool):
    """S(k) of Rosenstein / Kantz from the definitions, every usable point a reference (O(T^2))."""
    T = len(y)
    usable = np.arange(T) < T - horizon
    d0 = np.abs(y[:, None] - y[None, :])
    far = np.abs(np.arange(T)[:, None] - np.arange(T)[None, :]) > theiler
    valid = far & usable[None, :]
    if radius is None:  # Kantz default: twice the median nearest-neighbour distance
        radius = 2.0 * float(np.median([d0[i][valid[i]].min() for i in range(T) if usable[i]]))
    k = np.arange(horizon + 1)
    curves = []
    for i in np.nonzero(usable)[0]:
        js = (
            np.nonzero(valid[i] & (d0[i] <= radius))[0]
            if kantz
            else [np.argmin(np.where(valid[i], d0[i], np.inf))]
        )
        if len(js) == 0:
            continue
        d = np.abs(y[i + k][None, :] - y[np.asarray(js)[:, None] + k[None, :]])
        curves.append(np.log(d.mean(0)))
    return np.mean(curves, axis=0), radius, len(curves)


@pytest.mark.parametrize("method", ["rosenstein", "kantz"])
def test_divergence_curve_equals_its_definition(method: str) -> None:
    # logistic map r = 4 (300 samples, scalar), every usable point a reference: S(k) from the
    # definition (nearest neighbour outside the Theiler window; for Kantz the log of the mean
    # distance to all neighbours within the radius, default twice the median nearest distance)
    y = np.empty(300)
    y[0] = 0.3
    for t in range(299):
        y[t + 1] = 4.0 * y[t] * (1.0 - y[t])
    theiler, horizon = 3, 6
    want, radius, n_all = _brute_divergence(y, theiler, horizon, None, kantz=method == "kantz")
    r = rd.lyapunov_from_data(
        y, method=method, theiler=theiler, horizon=horizon, n_reference=300, generator=gen(0)
    )
    np.testing.assert_allclose(r.divergence, want, rtol=1e-12, atol=1e-12)
    assert r.n_reference == n_all
    if method == "kantz":
        want, _, n_ref = _brute_divergence(y, theiler, horizon, 0.5 * radius, kantz=True)
        r = rd.lyapunov_from_data(
            y,
            method=method,
            theiler=theiler,
            horizon=horizon,
            radius=0.5 * radius,
            n_reference=300,
            generator=gen(0),
        )
        np.testing.assert_allclose(r.divergence, want, rtol=1e-12, atol=1e-12)
        assert r.n_reference == n_ref < n_all  # a smaller radius leaves some references without neighbours
