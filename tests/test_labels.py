"""Numbers in console lines and model labels: significant digits, not float reprs."""

from __future__ import annotations

import types

from rnndyn._display import param_text as _fmt_param
from rnndyn.cli.train import gradient_line


def test_train_gradient_line_quotes_lambda_with_its_error() -> None:
    """`train --gradients` printed 'lambda_max -0.23358370352279229/step'; now the value is
    rounded to the place of its standard error's second digit, the rates to 4 digits."""
    g = types.SimpleNamespace(
        grad_rate=0.0312345678,
        tangent_rate=-0.2299999123,
        lambda_max=-0.23358370352279229,
        lambda_max_stderr=0.01234,
    )
    assert (
        gradient_line(g)
        == "gradient growth rate 0.03123/step, tangent -0.23/step, lambda_max -0.234 ± 0.012/step"
    )
    g.lambda_max_stderr = None
    assert gradient_line(g).endswith("lambda_max -0.2336/step")
    g.lambda_max = None
    assert gradient_line(g).endswith("lambda_max not computed")


def test_model_label_parameters_are_short() -> None:
    assert _fmt_param(8.0 / 3.0) == "2.66667" and _fmt_param(28.0) == "28" and _fmt_param(0.05) == "0.05"
    assert _fmt_param(1e-7) == "1e-07" and _fmt_param(5) == "5" and _fmt_param("tanh") == "tanh"
