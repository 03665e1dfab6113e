"""Spider checkpoints: ``spider.json`` (config, hyper-parameters, names) + ``spider.safetensors``.

Why two files bound by a hash: the config is readable and diffable, the tensors load without
unpickling (safetensors), and a weights file written with another config is refused instead of
silently ranking with the wrong names.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import numpy as np
import torch

from llm_spider.errors import SpiderError
from llm_spider.ranking.accuracy import AccuracyMap
from llm_spider.ranking.spider.priors import HISTORY_PRIORS

CHECKPOINT_FORMAT = "llm-spider.spider"
CHECKPOINT_VERSION = 1
WEIGHTS_FILE, CONFIG_FILE = "spider.safetensors", "spider.json"


def config(spider) -> dict:
    """Everything besides the tensors needed to rebuild ``spider`` (JSON-serialisable)."""
    return {"format": CHECKPOINT_FORMAT, "version": CHECKPOINT_VERSION, "params": spider.get_params(),
            "models": list(spider.models_), "tasks": list(spider.tasks_), "token_dim": spider.token_dim_,
            "n_tokens": spider.n_tokens_, "encoder": spider.encoder_,
            "fit_log": spider.fit_log_, "trained_on": spider.trained_on_,
            "leaderboard_sha256": spider.leaderboard_sha256_,
            "added_models": spider.added_models_,
            **({"accuracy": spider.accuracy_.to_dict()} if getattr(spider, "accuracy_", None) else {}),
            **({"stack_lambda": spider.stack_lambda_, "stack_taus": spider.stack_taus_}
               if spider.prior in HISTORY_PRIORS else {})}


def save(spider, path: str | Path) -> Path:
    """Write ``spider.safetensors`` + ``spider.json`` into directory ``path`` (atomically)."""
    from safetensors.torch import save_file

    if not hasattr(spider, "net_"):
        raise SpiderError("cannot save an unfitted Spider: call fit first")
    path = Path(path)
    path.mkdir(parents=True, exist_ok=True)
    config_ = config(spider)
    text = json.dumps(config_, indent=1, sort_keys=True)
    tensors = {f"net.{k}": v.detach().contiguous() for k, v in spider.net_.state_dict().items()}
    if spider.first_net_ is not None:
        tensors.update({f"first.{k}": v.detach().contiguous() for k, v in spider.first_net_.state_dict().items()})
    tensors.update(prior=torch.tensor(spider.prior_), train_scores=torch.tensor(spider.train_scores_),
                   centroids=torch.from_numpy(spider.centroids_))
    tmp_w, tmp_c = path / (WEIGHTS_FILE + ".tmp"), path / (CONFIG_FILE + ".tmp")
    save_file(tensors, str(tmp_w), metadata={"config_sha256": _digest(text)})
    tmp_c.write_text(text + "\n")
    tmp_w.replace(path / WEIGHTS_FILE)
    tmp_c.replace(path / CONFIG_FILE)
    return path


def load(cls, path: str | Path):
    """Read a checkpoint written by :meth:`save`; refuses one whose parts do not match."""
    from safetensors import safe_open

    path = Path(path)
    cfg_path, w_path = path / CONFIG_FILE, path / WEIGHTS_FILE
    if not cfg_path.is_file() or not w_path.is_file():
        raise SpiderError(f"{path}: not a Spider checkpoint (expected {CONFIG_FILE} and {WEIGHTS_FILE})")
    text = cfg_path.read_text().strip()
    try:
        config = json.loads(text)
    except json.JSONDecodeError as exc:
        raise SpiderError(f"{cfg_path}: not valid JSON ({exc})") from None
    if config.get("format") != CHECKPOINT_FORMAT or config.get("version") != CHECKPOINT_VERSION:
        raise SpiderError(f"{cfg_path}: not a version-{CHECKPOINT_VERSION} Spider checkpoint "
                          f"(format={config.get('format')!r}, version={config.get('version')!r})")
    try:
        with safe_open(str(w_path), framework="pt") as f:
            meta = f.metadata() or {}
            tensors = {k: f.get_tensor(k) for k in f.keys()}
    except Exception as exc:  # safetensors raises its own error types for corrupt files
        raise SpiderError(f"{w_path}: cannot read ({exc})") from None
    if meta.get("config_sha256") != _digest(text):
        raise SpiderError(f"{path}: {WEIGHTS_FILE} was not written with this {CONFIG_FILE} "
                          "(config hash mismatch); re-create the checkpoint with `llm-spider train`")
    try:
        spider = cls(**config["params"])
    except TypeError as exc:  # a hyper-parameter this version does not know
        raise SpiderError(f"{cfg_path}: {exc}; it was written by another version of llm-spider") from None
    spider.models_, spider.tasks_ = list(config["models"]), list(config["tasks"])
    spider.token_dim_, spider.n_tokens_ = int(config["token_dim"]), int(config["n_tokens"])
    spider.encoder_, spider.fit_log_ = config.get("encoder"), config.get("fit_log")
    spider.added_models_ = list(config.get("added_models", []))
    spider.accuracy_ = AccuracyMap.from_dict(config.get("accuracy"))
    spider.trained_on_, spider.leaderboard_sha256_ = config.get("trained_on"), config.get("leaderboard_sha256")
    spider.stack_lambda_, spider.stack_taus_ = None, []
    if spider.prior in HISTORY_PRIORS:
        spider.stack_lambda_, spider.stack_taus_ = float(config["stack_lambda"]), list(config.get("stack_taus", []))
    spider.prior_ = tensors["prior"].numpy().astype(np.float64)
    spider.train_scores_ = tensors["train_scores"].numpy().astype(np.float64)
    spider.centroids_ = tensors["centroids"].numpy().astype(np.float32)
    n_models, n_tasks = len(spider.models_), len(spider.tasks_)
    if spider.prior_.shape != (n_models,) or spider.train_scores_.shape != (n_models, n_tasks) \
            or spider.centroids_.shape != (n_tasks, spider.token_dim_):
        raise SpiderError(f"{path}: tensor shapes do not match the config's {n_models} models × {n_tasks} tasks")
    spider._set_profile()
    spider.net_ = spider.build_net()
    state = {k[len("net."):]: v for k, v in tensors.items() if k.startswith("net.")}
    first = {k[len("first."):]: v for k, v in tensors.items() if k.startswith("first.")}
    spider.first_net_ = spider.build_net() if first else None
    try:
        spider.net_.load_state_dict(state, strict=True)
        if first:
            spider.first_net_.load_state_dict(first, strict=True)
    except RuntimeError as exc:
        raise SpiderError(f"{path}: weights do not match the config: {str(exc).splitlines()[0]}") from None
    spider.net_.eval()
    if first:
        spider.first_net_.eval()
    return spider


def _digest(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()
