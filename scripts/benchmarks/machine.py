"""What the numbers were measured on, and the most this CPU can do (the matmul ceilings)."""

from __future__ import annotations

import os
import platform
import resource
from pathlib import Path

import torch
from torch.utils.benchmark import Timer

from fer.config import best_precision


def machine() -> dict:
    return {"cpu": cpu_name(), "cores": torch.get_num_threads(), "torch": torch.__version__,
            "python": platform.python_version(), "capability": torch.backends.cpu.get_cpu_capability(),
            "avx512_bf16": torch.cpu._is_avx512_bf16_supported(), "amx": torch.cpu._is_amx_tile_supported(),
            # set to imitate a CPU without AVX-512 (ATEN_CPU_CAPABILITY=avx2, ONEDNN_MAX_CPU_ISA=AVX2)
            "isa_limits": {k: os.environ[k] for k in ("ATEN_CPU_CAPABILITY", "ONEDNN_MAX_CPU_ISA") if k in os.environ}}


def cpu_name() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def median_seconds(stmt, min_run_time: float, threads: int | None = None, **variables) -> float:
    """Median seconds of one call of ``stmt`` (a string using ``variables``) in steady state."""
    timer = Timer(stmt, globals=variables, num_threads=threads or torch.get_num_threads())
    return timer.blocked_autorange(min_run_time=min_run_time).median


def matmul_ceiling(size: int = 2048, min_run_time: float = 1.0) -> dict:
    """GFLOP/s of a large square matmul in fp32 and bf16: the most this CPU can do."""
    result = {}
    for dtype in (torch.float32, torch.bfloat16):
        a, b = torch.randn(size, size, dtype=dtype), torch.randn(size, size, dtype=dtype)
        result[str(dtype).removeprefix("torch.")] = 2 * size**3 / median_seconds("a @ b", min_run_time, a=a, b=b) / 1e9
    return result


def native_precisions() -> tuple[str, ...]:
    """Lightning precisions worth timing here: fp32 always, bf16 only where the CPU runs it natively
    (emulated bf16 is about 10x slower, no option)."""
    return ("32-true", "bf16-mixed") if best_precision("cpu") == "bf16-mixed" else ("32-true",)


def reset_peak_rss() -> None:
    """Linux: restart the process's peak-RSS counter (VmHWM), so each model's peak is its own."""
    try:
        Path("/proc/self/clear_refs").write_text("5")
    except OSError:
        pass


def peak_rss_mb() -> float:
    """Peak resident memory since the last reset (Linux VmHWM), else since the process started."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
