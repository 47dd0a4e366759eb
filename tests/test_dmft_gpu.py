"""The sampled DMFT solvers (stationary and two-time) on CUDA give the CPU's solution (same frozen noise, drawn on the CPU
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


@pytest.mark.gpu
def test_two_time_dmft_on_cuda_matches_cpu() -> None:
    if not torch.cuda.is_available():
        pytest.skip("needs CUDA")
    kw = dict(alpha_z=5.0, alpha_r=2.0, t_max=20.0, dt=0.2, n_samples=500, lag=5.0)
    cpu, gpu = mf.gated_dmft_ageing(3.0, **kw), mf.gated_dmft_ageing(3.0, device="cuda", **kw)
    assert gpu.status == cpu.status and gpu.iterations == cpu.iterations
    np.testing.assert_allclose(gpu.c_h, cpu.c_h, rtol=1e-6, atol=1e-9)
    np.testing.assert_allclose(gpu.lambda_ages, cpu.lambda_ages, atol=1e-6)
