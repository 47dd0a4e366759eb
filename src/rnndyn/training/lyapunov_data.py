"""lambda_max of a measured time series (Rosenstein / Kantz) for the training tools.

The estimator is public as :func:`rnndyn.lyapunov_from_data` (module :mod:`rnndyn.lyapunov_data`);
``estimate_lambda_max`` is the same function under the name the training code has always used.
"""

from __future__ import annotations

from rnndyn.lyapunov_data import DataLyapunovResult, estimate_lambda_max, lyapunov_from_data

__all__ = ["DataLyapunovResult", "estimate_lambda_max", "lyapunov_from_data"]
