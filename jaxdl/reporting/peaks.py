"""Data-sheet peak FLOP/s per accelerator chip: the denominator of a model-FLOPs utilisation (MFU).
No jax import, so a parent process (benchmarks/gpu_check/) can read it without starting JAX.
"""

from __future__ import annotations

# Dense (no sparsity) bf16 tensor-core peak per chip, FLOP/s, matched against device_kind in this order.
# NVIDIA data sheets quote "with sparsity" figures; dense is half of them.
PEAK_BF16 = (
    ("H100 PCIe", 756e12, "NVIDIA H100 data sheet: H100 PCIe BF16 1,513 TFLOPS with sparsity"),
    ("H100 NVL", 835e12, "NVIDIA H100 data sheet: H100 NVL BF16 1,671 TFLOPS with sparsity"),
    ("H100", 989e12, "NVIDIA H100 data sheet: H100 SXM BF16 1,979 TFLOPS with sparsity"),
    ("H200 NVL", 835e12, "NVIDIA H200 data sheet: H200 NVL BF16 1,671 TFLOPS with sparsity"),
    ("H200", 989e12, "NVIDIA H200 data sheet: H200 SXM BF16 1,979 TFLOPS with sparsity (same tensor cores "
     "as H100 SXM)"),
    ("A100", 312e12, "NVIDIA A100 data sheet: BF16 312 TFLOPS dense (624 with sparsity)"),
    ("L4", 121e12, "NVIDIA L4 data sheet: BF16 242 TFLOPS with sparsity"),
)


def peak_bf16(device_kind: str) -> tuple[float, str] | tuple[None, None]:
    """(dense bf16 FLOP/s, source) of the first PEAK_BF16 entry found in `device_kind`, else (None, None)."""
    return next(((peak, src) for key, peak, src in PEAK_BF16 if key in device_kind), (None, None))
