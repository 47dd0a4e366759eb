"""Training dynamics: chaotic data, sparse teacher forcing, evaluation, gradient diagnostics.

docs/theory/chaos.md §2 ([MMD22]: gradients vs Lyapunov exponents, sparsely forced BPTT, D_stsp /
D_H) and §3 ([VPSL22]: Lyapunov spectra during training as a readout of trainability).
See docs/training.md for the experiments; ``rnndyn.training.experiments`` holds their runners
(GRU digits sweep over (alpha_z, g_h), trainability readout), resumable through ``rnndyn.sweep``.
"""

from typing import Any

from rnndyn.training.callbacks import (
    EvaluationCallback,
    LyapunovCallback,
    TrainabilityResult,
    spectrum_features,
    trainability_readout,
)
from rnndyn.training.data import (
    SERIES,
    ForcedDuffing,
    SequenceTask,
    TimeSeriesData,
    chaotic_series,
    delayed_copy_task,
    digits_task,
    from_array,
    mnist_task,
)
from rnndyn.training.evaluation import EvaluationResult, TauSweepResult, evaluate_generative, tau_sweep
from rnndyn.training.gradients import GradientHorizonResult, gradient_horizon
from rnndyn.training.lyapunov_data import DataLyapunovResult, estimate_lambda_max
from rnndyn.training.metrics import power_spectrum_distance, state_space_divergence
from rnndyn.training.teacher_forcing import (
    ForcedRNN,
    forcing_schedule,
    make_torch_rnn,
    pinv_control,
    predictability_time,
)
from rnndyn.training.trainer import (
    Callback,
    SequenceClassifier,
    TrainConfig,
    TrainResult,
    annealed_tau,
    epochs_to_accuracy,
    evaluate_classifier,
    resolve_tau,
    train_classifier,
    train_forced,
)

__all__ = [
    "SERIES",
    "Callback",
    "DataLyapunovResult",
    "EvaluationCallback",
    "EvaluationResult",
    "ForcedDuffing",
    "ForcedRNN",
    "GradientHorizonResult",
    "LyapunovCallback",
    "SequenceClassifier",
    "SequenceTask",
    "TauSweepResult",
    "TimeSeriesData",
    "TrainConfig",
    "TrainResult",
    "TrainabilityResult",
    "annealed_tau",
    "chaotic_series",
    "delayed_copy_task",
    "digits_task",
    "epochs_to_accuracy",
    "estimate_lambda_max",
    "evaluate_classifier",
    "evaluate_generative",
    "forcing_schedule",
    "from_array",
    "gradient_horizon",
    "make_torch_rnn",
    "mnist_task",
    "pinv_control",
    "power_spectrum_distance",
    "predictability_time",
    "resolve_tau",
    "spectrum_features",
    "state_space_divergence",
    "tau_sweep",
    "train_classifier",
    "train_forced",
    "trainability_readout",
]


def __getattr__(name: str) -> Any:
    # ``experiments`` is imported on first use (PEP 562), so ``python -m
    # rnndyn.training.experiments`` does not find it half-imported in sys.modules
    if name == "experiments":
        import importlib

        return importlib.import_module("rnndyn.training.experiments")
    raise AttributeError(f"module 'rnndyn.training' has no attribute {name!r}")
