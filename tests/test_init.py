"""Initialisations: variances, orthogonality, reproducibility, errors."""

from __future__ import annotations

import math

import pytest
import torch

import rnndyn as rd
from rnndyn.models import init

F64 = torch.float64


def _gen(seed: int = 0) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


@pytest.mark.parametrize(
    ("kind", "gain", "var"),
    [
        ("gaussian", 2.0, 4.0 / 300),
        ("he", 1.0, 2.0 / 300),
        ("xavier", 1.0, 2.0 / 600),
        ("uniform", 0.3, 0.09 / 3),
    ],
)
def test_variance(kind: str, gain: float, var: float) -> None:
    w = init.init_weight(kind, (300, 300), gain=gain, generator=_gen(), dtype=F64)
    # 90000 samples: relative standard error of the sample variance ~ sqrt(2/9e4) = 0.5 %
    assert abs(float(w.var()) / var - 1.0) < 0.03
    assert abs(float(w.mean())) < 5 * math.sqrt(var / 9e4)


def test_orthogonal_is_orthogonal() -> None:
    w = init.orthogonal((50, 50), gain=1.5, generator=_gen(), dtype=F64)
    torch.testing.assert_close(w @ w.T, 2.25 * torch.eye(50, dtype=F64), rtol=0, atol=1e-12)
    tall = init.orthogonal((40, 10), generator=_gen(), dtype=F64)
    torch.testing.assert_close(tall.T @ tall, torch.eye(10, dtype=F64), rtol=0, atol=1e-12)


def test_reproducible_and_dtype() -> None:
    a = init.gaussian((5, 5), generator=_gen(7), dtype=torch.float32)
    b = init.gaussian((5, 5), generator=_gen(7), dtype=F64)
    assert a.dtype == torch.float32
    torch.testing.assert_close(a.double(), b, rtol=1e-6, atol=1e-7)


def test_errors() -> None:
    with pytest.raises(ValueError, match="`init` must be one of"):
        init.init_weight("kaiming", (3, 3))
    with pytest.raises(ValueError, match="`gain` must be in"):
        init.gaussian((3, 3), gain=-1.0)
    with pytest.raises(TypeError, match="`generator` must be a torch.Generator"):
        init.init_weight("he", (3, 3), generator=0)


def _rms(t: torch.Tensor) -> float:
    return float(t.detach().pow(2).mean().sqrt())


_N, _D = 300, 40
_SCALES = {
    # model -> (constructor, {parameter: expected RMS}); Gaussian init N(0, gain^2 / fan_in), input
    # couplings N(0, 1/d), quenched biases N(mean, bias_std^2); every gain distinct so that a swap shows
    "vanilla": (
        lambda: rd.VanillaRNN(_N, g=1.3, input_size=_D, bias_std=0.6, generator=_gen(1), dtype=F64),
        {"weight_hh": 1.3 / math.sqrt(_N), "weight_ih": 1 / math.sqrt(_D), "bias": 0.6},
    ),
    "rate": (
        lambda: rd.RateRNN(_N, g=2.1, input_size=_D, bias_std=0.4, generator=_gen(2), dtype=F64),
        {"weight_hh": 2.1 / math.sqrt(_N), "weight_ih": 1 / math.sqrt(_D), "bias": 0.4},
    ),
    "gru": (
        lambda: rd.GRU(
            _N, g_h=1.3, alpha_z=0.6, alpha_r=2.2, input_size=_D, bias_std=0.5, generator=_gen(3), dtype=F64
        ),
        {
            "weight_hh": 1.3 / math.sqrt(_N),
            "weight_hz": 0.6 / math.sqrt(_N),
            "weight_hr": 2.2 / math.sqrt(_N),
            "weight_ih": 1 / math.sqrt(_D),
            "weight_iz": 1 / math.sqrt(_D),
            "weight_ir": 1 / math.sqrt(_D),
            "bias_z": 0.5,
            "bias_r": 0.5,
            "bias_h": 0.5,
        },
    ),
    "lstm": (
        lambda: rd.LSTM(
            _N,
            g=1.3,
            alpha_f=0.6,
            alpha_i=0.9,
            alpha_o=2.2,
            input_size=_D,
            bias_std=0.5,
            generator=_gen(4),
            dtype=F64,
        ),
        {
            "weight_hc": 1.3 / math.sqrt(_N),
            "weight_hf": 0.6 / math.sqrt(_N),
            "weight_hi": 0.9 / math.sqrt(_N),
            "weight_ho": 2.2 / math.sqrt(_N),
            "weight_if": 1 / math.sqrt(_D),
            "weight_ii": 1 / math.sqrt(_D),
            "weight_io": 1 / math.sqrt(_D),
            "weight_ic": 1 / math.sqrt(_D),
            "bias_f": 0.5,
            "bias_i": 0.5,
            "bias_o": 0.5,
            "bias_c": 0.5,
        },
    ),
    "gated_flow": (
        lambda: rd.GatedRateRNN(
            _N, g_h=1.3, alpha_z=0.6, alpha_r=2.2, input_size=_D, generator=_gen(5), dtype=F64
        ),
        {
            "weight_hh": 1.3 / math.sqrt(_N),
            "weight_hz": 0.6 / math.sqrt(_N),
            "weight_hr": 2.2 / math.sqrt(_N),
            "weight_ih": 1 / math.sqrt(_D),
        },
    ),
    "plrnn_uniform": (
        # MMD22: AW, h ~ U(-a, a), a = gain/sqrt(M) (RMS a/sqrt(3)); C ~ U(-gain/sqrt(d), gain/sqrt(d))
        lambda: rd.PLRNN(_N, gain=1.5, input_size=_D, generator=_gen(6), dtype=F64),
        {
            "weight_diag": 1.5 / math.sqrt(3 * _N),
            "weight_hh": 1.5 / math.sqrt(3 * _N) * math.sqrt(1 - 1 / _N),  # zero diagonal
            "bias": 1.5 / math.sqrt(3 * _N),
            "weight_ih": 1.5 / math.sqrt(3 * _D),
        },
    ),
    "plrnn_gaussian": (
        lambda: rd.PLRNN(_N, gain=1.5, init="gaussian", input_size=_D, generator=_gen(7), dtype=F64),
        {
            "weight_diag": 1.5 / math.sqrt(_N),
            "weight_hh": 1.5 / math.sqrt(_N) * math.sqrt(1 - 1 / _N),
            "weight_ih": 1 / math.sqrt(_D),
        },
    ),
}


@pytest.mark.parametrize("name", sorted(_SCALES))
def test_each_parameter_has_its_documented_scale(name: str) -> None:
    # RMS of n*fan_in >= 12000 Gaussian entries: relative sd <= 0.7 %; of the 300 biases: 4 %
    build, want = _SCALES[name]
    net = build()
    for pname, rms in want.items():
        got = _rms(getattr(net, pname))
        assert got == pytest.approx(
            rms, rel=0.15 if pname.startswith("bias") or pname == "weight_diag" else 0.05
        ), pname


def test_scalar_biases_land_on_their_own_parameters() -> None:
    # bias_std = 0: every entry of each bias vector is exactly its scalar argument (distinct values,
    # so a swap of two gates' biases or a dropped one shows)
    def each(net, want: dict[str, float]) -> None:
        for pname, value in want.items():
            p = getattr(net, pname).detach()
            assert torch.equal(p, torch.full_like(p, value)), pname

    each(rd.VanillaRNN(3, bias=0.4, dtype=F64), {"bias": 0.4})
    each(rd.RateRNN(3, bias=-0.4, dtype=F64), {"bias": -0.4})
    each(
        rd.GRU(3, bias_z=0.3, bias_r=-0.7, bias_h=1.1, dtype=F64),
        {"bias_z": 0.3, "bias_r": -0.7, "bias_h": 1.1},
    )
    each(
        rd.LSTM(3, bias_f=0.3, bias_i=-0.7, bias_o=1.1, bias_c=-1.9, dtype=F64),
        {"bias_f": 0.3, "bias_i": -0.7, "bias_o": 1.1, "bias_c": -1.9},
    )
    each(
        rd.GatedRateRNN(3, beta_h=0.3, beta_z=-0.7, beta_r=1.1, dtype=F64),
        {"bias_h": 0.3, "bias_z": -0.7, "bias_r": 1.1},
    )


def test_xavier_uses_fan_in_plus_fan_out_on_a_rectangular_matrix() -> None:
    # N(0, 2 g^2 / (fan_in + fan_out)) with fan_in = 400 (columns), fan_out = 100 (rows): var 0.004 g^2;
    # a square test cannot tell fan_out from fan_in (fan_in twice would give 0.0025 g^2)
    w = init.xavier((100, 400), gain=1.5, generator=_gen(3), dtype=F64)
    assert float(w.var()) == pytest.approx(2 * 1.5**2 / 500, rel=0.03)  # 40000 draws: rel sd 0.7 %
    # torch's xavier_normal_ takes the same fans (its tensor is (fan_out, fan_in) as ours)
    ref = torch.empty(100, 400, dtype=F64)
    torch.nn.init.xavier_normal_(ref, gain=1.5, generator=_gen(3))
    assert float(ref.std()) == pytest.approx(float(w.std()), rel=0.03)


@pytest.mark.parametrize("shape", [(6, 6), (9, 4)])
def test_orthogonal_is_torchs_haar_orthogonal(shape: tuple[int, int]) -> None:
    # QR of a Gaussian with the sign of diag(R) folded into Q is Haar-distributed (Mezzadri 2007,
    # Notices AMS 54, 592); without the sign fix Q is orthogonal but not Haar. torch.nn.init.orthogonal_
    # draws the same Gaussian (rows >= cols) and applies the same fix: the matrices are identical.
    w = init.orthogonal(shape, gain=1.5, generator=_gen(4), dtype=F64)
    ref = torch.empty(*shape, dtype=F64)
    torch.nn.init.orthogonal_(ref, gain=1.5, generator=_gen(4))
    torch.testing.assert_close(w, ref, rtol=0, atol=1e-14)
