"""Hydra glue: the config directory, resolvers, and instantiating a whole config group."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from hydra.utils import instantiate
from omegaconf import DictConfig, OmegaConf

# an installed package carries its configs as fer/conf; a checkout keeps them at the top, beside fer/
_PACKAGE = Path(__file__).resolve().parent
CONFIG_DIR = str(next((d for d in (_PACKAGE / "conf", _PACKAGE.parent / "conf") if (d / "train.yaml").is_file()),
                      _PACKAGE / "conf"))


def best_precision(accelerator: str = "cpu") -> str:
    """bf16 mixed precision where the hardware runs it natively, else full fp32 (16-mixed on GPUs without bf16
    and on Apple's MPS). ``auto`` is the accelerator Lightning's ``accelerator='auto'`` picks."""
    import torch

    if accelerator == "auto":
        accelerator = "gpu" if torch.cuda.is_available() else "mps" if torch.backends.mps.is_available() else "cpu"
    if accelerator == "mps":
        return "16-mixed"
    if accelerator == "cpu":
        return "bf16-mixed" if native_cpu_bf16() else "32-true"
    if torch.cuda.is_available():
        return "bf16-mixed" if torch.cuda.is_bf16_supported() else "16-mixed"
    return "32-true"


def native_cpu_bf16() -> bool:
    """Whether this CPU runs bf16 natively (AVX-512 BF16 or AMX) and PyTorch may use it: with
    ``ATEN_CPU_CAPABILITY=avx2`` (how an AVX2-only CPU is imitated) it may not."""
    import torch

    allowed = torch.backends.cpu.get_cpu_capability().startswith("AVX512")
    return allowed and (torch.cpu._is_avx512_bf16_supported() or torch.cpu._is_amx_tile_supported())


def precision_note(precision: str) -> str:
    """One line for the start of training: the precision chosen, why, and how to choose the other."""
    import torch

    native = native_cpu_bf16()
    cpu = f"this CPU ({torch.backends.cpu.get_cpu_capability()}) " + (
        "runs bf16 natively (AVX-512 BF16 / AMX)" if native else "has no native bf16 (emulated bf16 is ~10x slower)")
    if "bf16" in str(precision):
        return f"precision {precision}: {cpu}; trainer.precision=32-true forces fp32 (about 3x slower here)"
    return f"precision {precision}: {cpu}; trainer.precision=bf16-mixed forces bf16" + (
        "" if native else " (slower here, not faster)")


RESOLVERS = {
    "best_precision": best_precision,
    # hydra.run.dir: the run being resumed, else a new directory
    "run_dir": lambda resume, fresh: fresh if resume is None else resume,
    # hydra.output_subdir: a resumed run keeps the record of how it was made (no new .hydra/ written over it)
    "record_dir": lambda resume: ".hydra" if resume is None else None,
}


def register_resolvers() -> None:
    for name, resolver in RESOLVERS.items():
        if not OmegaConf.has_resolver(name):
            OmegaConf.register_new_resolver(name, resolver)


def instantiate_group(group: DictConfig | None) -> list[Any]:
    """Instantiate every entry of a group such as ``callbacks`` or ``logger`` (null entries switch one off)."""
    return [instantiate(item) for item in (group or {}).values() if item and "_target_" in item]


def write_json(data: dict, path: str | Path) -> None:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(data, indent=2, sort_keys=True) + "\n")


register_resolvers()
