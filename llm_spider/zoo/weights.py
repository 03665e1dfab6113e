"""A member made ready to run: its weights found and checked, its device, dtype and backend decided,
all before any model loads or any result is written (``prepare``).

Why all up front: `select` and `compare` run members one after another; a missing folder, an
uncached Hugging Face id or an unreachable server found at the third member would fail after the
first two had run. So every chosen member is checked first, each problem one line naming the
member and what to do.
"""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import dataclass, field
from pathlib import Path

from llm_spider.errors import SpiderError
from llm_spider.zoo.fit import Placement, fit, gguf_params, resolve, safetensors_params
from llm_spider.zoo.members import LocalModel

PICKLED = ("*.bin", "*.pt", "*.pth", "*.ckpt", "*.pkl")


@dataclass(frozen=True)
class RunOptions:
    """What the command line says for every member (None: the member's own setting, else auto)."""

    backend: str | None = None
    dtype: str | None = None
    device: str | None = None
    batch_size: int | None = None
    threads: int | None = None
    trust_remote_code: bool = False
    concurrency: int | None = None


@dataclass
class Prepared:
    """A checked member: ``folder`` is where its weights load from (for a GGUF member the converted
    copy, made from ``gguf`` on first use; None for an endpoint); ``label`` is the backend as run
    logs name it (another dtype, a chat template or an endpoint is another measurement)."""

    model: LocalModel
    backend: str
    placement: Placement
    label: str
    folder: Path | None = None
    gguf: Path | None = None
    params: int = 0
    settings: dict = field(default_factory=dict)  # the member's options merged with the run's

    @property
    def chunk(self) -> int:
        """Items scored and saved per batch: the batch size, or for an endpoint the requests in flight."""
        return int(self.settings.get("batch_size") or self.settings.get("concurrency") or 8)


def run_options(backend: str | None, dtype: str | None, device: str | None, batch_size: int | None,
                threads: int | None, trust_remote_code: bool = False, concurrency: int | None = None):
    """The command line's settings for every member, checked before any work."""
    from llm_spider.zoo.fit import check_device
    from llm_spider.zoo.members import check_dtype
    from llm_spider.zoo.zoofile import CHOICES

    if dtype is not None:
        check_dtype(dtype)
    if backend is not None and backend not in CHOICES["backend"]:
        raise SpiderError(f"unknown backend {backend!r}; backends: {', '.join(CHOICES['backend'])}")
    if device is not None:
        check_device(device)
    return RunOptions(backend, dtype, device, batch_size, threads, trust_remote_code, concurrency)


def hf_cache_dir() -> Path:
    """The Hugging Face hub cache, read from the environment now (huggingface_hub reads it once, at
    import, so a test's HF_HOME set later would not count there)."""
    if os.environ.get("HF_HUB_CACHE"):
        return Path(os.environ["HF_HUB_CACHE"])
    home = os.environ.get("HF_HOME") or os.path.join(os.environ.get("XDG_CACHE_HOME") or
                                                      os.path.expanduser("~/.cache"), "huggingface")
    return Path(home) / "hub"


def offline() -> bool:
    return os.environ.get("HF_HUB_OFFLINE", "").lower() in ("1", "true", "yes", "on")


def resolve_hf(model: LocalModel) -> Path:
    """The cached snapshot of a Hugging Face id (downloaded first where downloads are on)."""
    from huggingface_hub import snapshot_download

    repo, rev, cache = model.location, model.revision or None, hf_cache_dir()
    try:
        return Path(snapshot_download(repo, revision=rev, cache_dir=str(cache), local_files_only=True))
    except Exception:  # not cached (LocalEntryNotFoundError), or a malformed id
        pass
    command = f"hf download {repo}" + (f" --revision {rev}" if rev else "") + f" --cache-dir {cache}"
    if offline():
        raise SpiderError(f"member '{model.name}': {repo} is not in the Hugging Face cache ({cache}) and downloads "
                          f"are off (HF_HUB_OFFLINE): fetch it where there is network with `{command}`")
    try:
        return Path(snapshot_download(repo, revision=rev, cache_dir=str(cache),
                                      allow_patterns=["*.json", "*.safetensors", "*.model", "*.txt", "*.jinja"]))
    except Exception as exc:
        raise SpiderError(f"member '{model.name}': cannot download {repo} ({exc.__class__.__name__}); fetch it "
                          f"with `{command}`") from None


def check_folder(model: LocalModel, folder: Path, trust_remote_code: bool) -> None:
    """A Hugging Face layout folder with safetensors weights; pickled-only weights are refused."""
    if not folder.is_dir():
        raise SpiderError(f"member '{model.name}': {folder} is not a folder")
    if not (folder / "config.json").is_file():
        raise SpiderError(f"member '{model.name}': {folder} has no config.json (a Hugging Face model folder: "
                          "config.json, tokenizer files and *.safetensors)")
    if not any(folder.glob("*.safetensors")):
        pickled = sorted(p.name for pat in PICKLED for p in folder.glob(pat))
        if pickled:
            raise SpiderError(
                f"member '{model.name}': {folder} holds only pickled weights ({pickled[0]}), which llm-spider never "
                "unpickles: convert them once where you trust the file, e.g. `python -c \"from transformers import "
                f"AutoModelForCausalLM as M; M.from_pretrained('{folder}').save_pretrained('{folder}-st')\"`, "
                "and point path at the new folder")
        raise SpiderError(f"member '{model.name}': {folder} has no *.safetensors weights")
    config = json.loads((folder / "config.json").read_text())
    wants = bool(config.get("auto_map")) or bool(model.options.get("trust_remote_code"))
    if wants and not trust_remote_code:
        raise SpiderError(f"member '{model.name}' needs trust_remote_code (its folder's code runs on load): "
                          "rerun with --trust-remote-code if you trust that code")


def check_adapter(model: LocalModel) -> None:
    folder = Path(model.adapter)
    if not folder.is_dir():
        raise SpiderError(f"member '{model.name}': its adapter folder {folder} does not exist")
    if not (folder / "adapter_config.json").is_file():
        raise SpiderError(f"member '{model.name}': {folder} has no adapter_config.json (a PEFT LoRA adapter folder)")
    if not (folder / "adapter_model.safetensors").is_file():
        if (folder / "adapter_model.bin").is_file():
            raise SpiderError(f"member '{model.name}': {folder} holds a pickled adapter (adapter_model.bin), which "
                              "llm-spider never unpickles: save it again with safe_serialization=True")
        raise SpiderError(f"member '{model.name}': {folder} has no adapter_model.safetensors")


def gguf_key(path: Path) -> str:
    """A user's GGUF file's cache key: its place, size and time (hashing gigabytes on every run would
    cost more than the conversion saves; a replaced file has another size or time)."""
    st = path.stat()
    return hashlib.sha256(f"{path.resolve()}|{st.st_size}|{st.st_mtime_ns}".encode()).hexdigest()


def prepare(model: LocalModel, run: RunOptions = RunOptions(), cache_dir: Path | None = None) -> Prepared:
    """Check ``model`` and decide how it runs (one line on the first problem); loads nothing."""
    from llm_spider.zoo.members import backend_label, converted_dir

    settings = {**model.options, **{k: v for k, v in vars(run).items() if v is not None}}  # the run's win
    backend = settings.get("backend", "openai" if model.kind == "endpoint" else "transformers")
    if model.kind == "endpoint":
        if backend != "openai":
            raise SpiderError(f"member '{model.name}' is an endpoint: it runs on the openai backend, not {backend}")
        from llm_spider.backends.openai import probe

        mode = probe(model, settings)
        return Prepared(model, backend, Placement("remote", "n/a"), f"openai-{mode}", settings={**settings,
                                                                                               "scoring": mode})
    if backend == "openai":
        raise SpiderError(f"member '{model.name}' has local weights: the openai backend needs an endpoint member")
    placement = resolve(settings.get("device", "auto"), settings.get("dtype", "auto"))
    if backend == "vllm" and settings.get("chat_template"):
        raise SpiderError(f"member '{model.name}': chat_template is applied by the transformers backend; "
                          "use --backend transformers (or serve it and use an endpoint member)")
    if backend == "vllm" and placement.device == "mps":
        raise SpiderError(f"member '{model.name}': vLLM does not run on mps; use --backend transformers")
    folder = gguf = None
    if model.adapter:
        check_adapter(model)
    if model.kind == "pypi":
        if not model.installed:
            raise SpiderError(model.missing_message())
        params = int(model.params_b * 1e9)
        folder = model.converted_dir(cache_dir, placement.dtype)
    elif model.kind == "gguf":
        gguf = Path(model.location)
        if not gguf.is_file():
            raise SpiderError(f"member '{model.name}': GGUF file {gguf} does not exist")
        params = gguf_params(gguf)
        folder = converted_dir(f"gguf-{gguf_key(gguf)[:16]}", cache_dir, placement.dtype)
    else:
        folder = Path(model.location) if model.kind == "path" else resolve_hf(model)
        if model.kind == "path" and not folder.exists():
            raise SpiderError(f"member '{model.name}': folder {folder} does not exist")
        check_folder(model, folder, run.trust_remote_code)
        params = safetensors_params(folder)
    placement = fit(model.name, params, placement)
    label = backend_label(backend, placement.dtype) + ("-chat" if settings.get("chat_template") else "")
    return Prepared(model, backend, placement, label, folder, gguf, params, settings)
