"""Mean-field theory (MFT) and dynamical mean-field theory (DMFT) of random and gated RNNs.

Imports no model, analysis or package top level (the theory floor, ARCHITECTURE.md). Submodules:

* :mod:`~rnndyn.meanfield.quadrature`: Gaussian expectations accurate at any variance;
* :mod:`~rnndyn.meanfield.vanilla`: discrete-time mean field and the SCS DMFT (docs/theory/chaos.md §4.2-4.3);
* :mod:`~rnndyn.meanfield.gated`: fixed-point MFT of the GRU and the gated flow (docs/theory/gated.md §4-6);
* :mod:`~rnndyn.meanfield.phase`: the (g_h, alpha_r) phase diagram as an xarray Dataset;
* :mod:`~rnndyn.meanfield.dmft`: time-dependent DMFT of the gated flow (correlations, lambda_max,
  the chaos-onset line; docs/theory/gated.md §4.6-4.8);
* :mod:`~rnndyn.meanfield.dmft_ageing`: two-time (non-stationary) DMFT of the gated flow from a
  random start, C_h(t, t') and its ageing (docs/meanfield.md);
* :mod:`~rnndyn.meanfield.dmft_discrete`: time-dependent DMFT of the discrete GRU and LSTM
  (docs/theory/gated.md §4.1, §4.4, §4.5);
* :mod:`~rnndyn.meanfield.gradients`: the CKS20 gradient-norm laws (docs/theory/gated.md §5.4);
* :mod:`~rnndyn.meanfield.rmt`: random-matrix predictions of Jacobian spectra (models call it from
  :meth:`~rnndyn.AbstractSystem.spectral_theory`).
"""

from rnndyn.meanfield import gradients, rmt
from rnndyn.meanfield.adjoint import AdjointGradientResult, adjoint_gradient_norms
from rnndyn.meanfield.dmft import ChaosOnsetResult, DMFTResult, chaos_onset, gated_dmft
from rnndyn.meanfield.dmft_ageing import AgeingDMFTResult, gated_dmft_ageing
from rnndyn.meanfield.dmft_discrete import DiscreteDMFTResult, gru_dmft, lstm_dmft
from rnndyn.meanfield.gated import (
    ALPHA_R_STAR,
    G_H_ZERO_FP,
    FixedPointMFTResult,
    bifurcation_gain,
    critical_alpha_r,
    fixed_points,
    gain_function,
    gated_flow_dmft,
    marginal_stability_gain,
    spectral_shaping,
)
from rnndyn.meanfield.phase import REGION_NAMES, bifurcation_curve, phase_diagram
from rnndyn.meanfield.quadrature import CorrelationTable, gaussian_correlation, gaussian_expectation
from rnndyn.meanfield.vanilla import (
    DiscreteMeanFieldResult,
    MeanFieldError,
    SCSDMFTResult,
    discrete_meanfield,
    scs_dmft,
)

__all__ = [
    "ALPHA_R_STAR",
    "CorrelationTable",
    "DiscreteMeanFieldResult",
    "FixedPointMFTResult",
    "G_H_ZERO_FP",
    "MeanFieldError",
    "REGION_NAMES",
    "SCSDMFTResult",
    "bifurcation_curve",
    "bifurcation_gain",
    "critical_alpha_r",
    "discrete_meanfield",
    "fixed_points",
    "gain_function",
    "gated_flow_dmft",
    "gaussian_correlation",
    "gaussian_expectation",
    "marginal_stability_gain",
    "phase_diagram",
    "rmt",
    "scs_dmft",
    "spectral_shaping",
    "ChaosOnsetResult",
    "DMFTResult",
    "chaos_onset",
    "gated_dmft",
    "gated_dmft_ageing",
    "AgeingDMFTResult",
    "AdjointGradientResult",
    "adjoint_gradient_norms",
    "DiscreteDMFTResult",
    "gru_dmft",
    "lstm_dmft",
    "gradients",
]
