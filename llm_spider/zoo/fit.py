"""Where a member runs and whether it fits: device and dtype resolved, memory checked before loading.

Why before loading: a model that does not fit is killed by the OS (CPU) or fails with an
out-of-memory error after minutes of loading (GPU), and in `select` after other members have run.
The check reads the weights' parameter count from the files' headers (safetensors, GGUF), never the
weights themselves, and says which smaller dtype or other device would fit.
"""

from __future__ import annotations

import json
import re
import struct
from dataclasses import dataclass
from pathlib import Path

from llm_spider.errors import SpiderError
from llm_spider.zoo.members import BYTES_PER_PARAM as BYTES
from llm_spider.zoo.members import check_dtype

DEVICE = re.compile(r"auto|cpu|mps|cuda(:\d+)?")


def check_device(device: str, where: str = "--device") -> str:
    if not DEVICE.fullmatch(device):
        raise SpiderError(f"{where}: device must be auto, cpu, cuda, cuda:N or mps, got {device!r}")
    return device


def gpus() -> list[tuple[int, int]]:
    """(free, total) bytes of each visible CUDA GPU; [] without one (or without torch's CUDA)."""
    try:
        import torch

        if not torch.cuda.is_available():
            return []
        return [tuple(torch.cuda.mem_get_info(i)) for i in range(torch.cuda.device_count())]
    except Exception:  # a broken driver is no GPU, not a crash
        return []


def has_mps() -> bool:
    try:
        import torch

        return bool(torch.backends.mps.is_available())
    except Exception:
        return False


@dataclass(frozen=True)
class Placement:
    """Where and in which precision a member loads: ``device`` (cpu, cuda:N, mps), ``device_map``
    ("auto" when it spreads over several GPUs), ``dtype``."""

    device: str
    dtype: str
    device_map: str | None = None


def resolve(device: str = "auto", dtype: str = "auto") -> Placement:
    """``auto`` device: the first CUDA GPU, else MPS, else the CPU; ``auto`` dtype: bfloat16 on a GPU,
    float32 on the CPU (where bfloat16 matmuls are slow on most CPUs)."""
    check_device(device)
    check_dtype(dtype)
    cards = gpus() if device == "auto" or device.startswith("cuda") else []
    if device == "auto":
        device = "cuda:0" if cards else "mps" if has_mps() else "cpu"
    elif device == "cuda":
        device = "cuda:0"
    if device.startswith("cuda") and int(device.split(":")[1]) >= len(cards):
        raise SpiderError(f"--device {device}: no such CUDA GPU here ({len(cards)} visible); "
                          "use --device cpu, or install torch's CUDA build on a GPU machine")
    if device == "mps" and not has_mps():
        raise SpiderError("--device mps: Apple's MPS is not available here; use --device cpu")
    if dtype == "auto":
        dtype = "float32" if device == "cpu" else "bfloat16"
    return Placement(device, dtype)


def safetensors_params(folder: Path) -> int:
    """Parameters in a folder's safetensors files, from their headers only."""
    total = 0
    for f in sorted(Path(folder).glob("*.safetensors")):
        with f.open("rb") as fh:
            size = struct.unpack("<Q", fh.read(8))[0]
            header = json.loads(fh.read(size))
        for name, t in header.items():
            if name != "__metadata__":
                n = 1
                for d in t["shape"]:
                    n *= int(d)
                total += n
    return total


def gguf_params(path: Path) -> int:
    """Parameters in a GGUF file, from its tensor index (read lazily: the data is memory-mapped)."""
    from gguf import GGUFReader

    return int(sum(int(t.n_elements) for t in GGUFReader(str(path)).tensors))


def cpu_available() -> int | None:
    from llm_spider.backends.hf import available_memory_bytes

    return available_memory_bytes()


def _gib(n: float) -> str:
    return f"{n / 2**30:.1f} GiB"


def fit(name: str, params: int, placement: Placement) -> Placement:
    """``placement`` if ``params`` fit there; on CUDA, several GPUs together (device_map="auto") when
    one is too small; else one line naming a smaller dtype or another device that would fit."""
    def need(dtype: str) -> int:
        return int(params * BYTES[dtype] * 1.2 + 0.5 * 2**30)

    needed = need(placement.dtype)
    smaller = [d for d in ("bfloat16",) if BYTES[d] < BYTES[placement.dtype]]
    if placement.device.startswith("cuda"):
        cards = gpus()
        free = cards[int(placement.device.split(":")[1])][0]
        if needed <= free:
            return placement
        if needed <= sum(f for f, _ in cards) and len(cards) > 1:
            return Placement(placement.device, placement.dtype, "auto")
        where = f"{placement.device} has {_gib(free)} free" + (f" ({len(cards)} GPUs: {_gib(sum(f for f, _ in cards))})"
                                                               if len(cards) > 1 else "")
    elif placement.device == "cpu":
        free = cpu_available()
        if free is None or needed <= free:
            return placement
        where = f"the CPU has {_gib(free)} of memory available"
    else:
        return placement  # MPS shares the CPU's memory: torch reports no free figure to check against
    hints = [f"--dtype {d} ({_gib(need(d))})" for d in smaller if need(d) <= free]
    other = "another device (--device cuda on a GPU machine)" if placement.device == "cpu" else "--device cpu"
    raise SpiderError(f"member '{name}' needs about {_gib(needed)} in {placement.dtype} ({params / 1e9:.2f}B "
                      f"parameters) and {where}: use " + (" or ".join(hints + [other])))
