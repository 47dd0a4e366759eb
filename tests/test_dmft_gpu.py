"""The sampled DMFT solvers on CUDA give the CPU's solution (same frozen noise, drawn on the CPU
generator and moved to the device; FFTs differ only by round-off). Skipped without CUDA."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import rnndyn.meanfield as mf


@pytest.mark.gpu
@pytest.mark.parametrize(
    "solve",
    [
        lambda dev: mf.gated_dmft(3.0, alpha_z=5.0, method="sampled", n_samples=400, device=dev),
        lambda dev: mf.gru_dmft(3.0, alpha_z=5.0, alpha_r=5.0, method="sampled", n_samples=400, device=dev),
    ],
    ids=["gated_flow", "gru"],
)
def test_sampled_dmft_on_cuda_matches_cpu(solve) -> None:  # noqa: ANN001
    if not torch.cuda.is_available():
        pytest.skip("needs CUDA")
    cpu, gpu = solve("cpu"), solve("cuda")
    assert gpu.status == cpu.status
    np.testing.assert_allclose(gpu.c_h, cpu.c_h, rtol=1e-6, atol=1e-8 * abs(cpu.c_h0))
    assert gpu.lambda_max == pytest.approx(cpu.lambda_max, abs=1e-6)
