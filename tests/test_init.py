"""Initialisations: variances, orthogonality, reproducibility, errors."""

from __future__ import annotations

import math

import pytest
import torch

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
