"""The shared result base: status vocabulary, generated to_dict, short repr, AnalysisError."""

from __future__ import annotations

import dataclasses
import json
import re
from dataclasses import dataclass

import pytest
import torch

import rnndyn as rd
from rnndyn._results import status_from_checks


@dataclass(frozen=True, kw_only=True)
class _Demo(rd.Result):
    values: torch.Tensor
    eig: torch.Tensor
    rate: float
    count: int
    info: dict


def _demo(**kw):
    base = dict(
        values=torch.tensor([1.0, float("inf"), float("nan"), -float("inf")], dtype=torch.float64),
        eig=torch.tensor([1 + 2j, 3 - 1j], dtype=torch.complex128),
        rate=float("inf"),
        count=3,
        info={"a": 1.5, "b": torch.tensor(2.0)},
        status="warning",
        message="demo",
        checks=(rd.Check(name="residual", passed=True, value=1e-12, tolerance=1e-10),),
    )
    base.update(kw)
    return _Demo(**base)


def test_status_values_explanations_and_order():
    assert [s.value for s in rd.Status] == ["success", "warning", "not_converged", "diverged", "failed"]
    for s in rd.Status:
        assert isinstance(s.explanation, str) and len(s.explanation) > 20
        assert rd.Status(s.value) is s and s == s.value and str(s) == s.value and f"{s}" == s.value
    assert rd.Status.worst("success", "diverged", rd.Status.WARNING) is rd.Status.DIVERGED
    assert rd.Status.worst() is rd.Status.SUCCESS
    assert rd.Status.SUCCESS.ok and rd.Status.WARNING.ok and not rd.Status.NOT_CONVERGED.ok
    with pytest.raises(ValueError, match="status.*got 'ok'"):
        rd.Status.coerce("ok")


def test_to_dict_is_strict_json_and_records_non_finite():
    r = _demo()
    assert r.status is rd.Status.WARNING  # strings are coerced to the enum
    d = r.to_dict()
    text = json.dumps(d, allow_nan=False)  # raises if any NaN/inf slipped through
    back = json.loads(text)
    assert back["values"] == [1.0, None, None, None]
    assert back["rate"] is None and back["count"] == 3 and back["status"] == "warning"
    assert back["eig"] == [[1.0, 2.0], [3.0, -1.0]]
    assert back["info"] == {"a": 1.5, "b": 2.0}
    assert back["non_finite"]["rate"] == "inf"
    assert back["non_finite"]["values"].startswith("3 of 4 entries non-finite")
    assert back["checks"][0] == {
        "name": "residual",
        "passed": True,
        "value": 1e-12,
        "tolerance": 1e-10,
        "detail": "",
        "status": "failed",  # what the check would impose had it failed
        "outcome": "success",  # what it did: a passed check never reads as a failure in JSON
    }
    for key in back:
        assert re.fullmatch(r"[a-z_][a-z0-9_]*", key)
    # finite result: no non_finite key
    finite = _demo(values=torch.ones(2), rate=0.5).to_dict()
    assert "non_finite" not in finite


def test_repr_is_short_and_summary_lists_checks():
    big = _demo(values=torch.randn(1000, 50, dtype=torch.float64, generator=torch.Generator().manual_seed(0)))
    text = repr(big)
    assert len(text) < 200 and "1000x50" in text and "status=warning" in text
    s = big.summary()
    assert "_Demo: warning -- demo" in s and "check residual: passed" in s
    assert str(big) == s


def test_check_repr_shows_its_outcome_not_the_status_a_failure_would_impose():
    # before: Check(name='residual', passed=True, ..., status=<Status.FAILED: 'failed'>)
    ok = rd.Check(name="residual", passed=True, value=1e-12, tolerance=1e-10, status="not_converged")
    bad = dataclasses.replace(ok, passed=False, value=1e-3, detail="too large")
    assert repr(ok) == "Check(name='residual', passed=True, outcome='success', value=1e-12, tolerance=1e-10)"
    assert repr(bad) == (
        "Check(name='residual', passed=False, outcome='not_converged', value=0.001, tolerance=1e-10, "
        "detail='too large')"
    )
    assert "FAILED" not in repr(ok) and "failed" not in repr(ok)
    # the oracle: the outcome shown is the one the result's status is built from
    assert status_from_checks([ok]).value == "success" and status_from_checks([bad]).value == "not_converged"


def test_frozen_eq_and_bad_construction():
    r = _demo()
    with pytest.raises(dataclasses.FrozenInstanceError):
        r.rate = 1.0  # type: ignore[misc]
    assert r == _demo()  # tensor-aware equality, NaN equal to NaN
    assert r != _demo(count=4)
    with pytest.raises(TypeError):
        _Demo(torch.ones(1), torch.ones(1), 1.0, 1, {}, status="success")  # positional
    with pytest.raises(ValueError, match="status"):
        _demo(status="converged")
    with pytest.raises(TypeError, match="checks"):
        _demo(checks=("not a check",))
    with pytest.raises(ValueError, match="snake_case"):
        rd.Check(name="Bad Name", passed=True)


def test_plain_dataclass_subclass_keeps_base_repr():
    @dataclass(frozen=True)
    class Plain(rd.Result):
        x: torch.Tensor

    p = Plain(torch.zeros(500), status=rd.Status.SUCCESS)
    assert repr(p) == "Plain(status=success, x=<500 float32>)" and p.to_dict()["x"] == [0.0] * 500


def test_checks_set_status_and_raise_for_status():
    bad = rd.Check(name="jacobian", passed=False, value=0.1, tolerance=1e-8, detail="x", status="failed")
    slow = rd.Check(name="convergence", passed=False, value=0.3, tolerance=0.1, status="not_converged")
    good = rd.Check(name="sum_rule", passed=True, value=0.0, tolerance=1e-6)
    assert status_from_checks([good]) is rd.Status.SUCCESS
    assert status_from_checks([good, slow]) is rd.Status.NOT_CONVERGED
    assert status_from_checks([slow, bad], base="warning") is rd.Status.FAILED
    assert "FAILED [failed]" in bad.line() and "0.1" in bad.line()
    r = _demo(status=rd.Status.FAILED, checks=(good, bad), message="jacobian wrong")
    assert r.failed_checks == (bad,) and r.check("jacobian") is bad
    with pytest.raises(KeyError, match="sum_rule"):
        r.check("nope")
    with pytest.raises(rd.AnalysisError, match="failed: jacobian wrong") as info:
        r.raise_for_status()
    assert isinstance(info.value, RuntimeError) and info.value.result is r
    _demo(status="warning").raise_for_status()  # warning is allowed by default
