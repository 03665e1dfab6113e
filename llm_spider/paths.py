"""Where the package finds its own files (prompts, the Spider checkpoint, the zoos' recorded
results), where it caches, and where it keeps the user's own data.

Third-party data sets are not the package's: where they live is the data layer's business
(``llm_spider.datasets``, the only other module that reads the environment).
"""

from __future__ import annotations

import os
from pathlib import Path

PACKAGE_DIR = Path(__file__).resolve().parent
DATA_DIR = PACKAGE_DIR / "data"


def prompts_dir() -> Path:
    """The prompt templates: inside the wheel (``_prompts``) or at the repository root (editable)."""
    for candidate in (PACKAGE_DIR / "_prompts", PACKAGE_DIR.parent / "prompts"):
        if candidate.is_dir():
            return candidate
    raise FileNotFoundError("prompt templates not found: reinstall llm-spider")


def default_cache_dir() -> Path:
    """The on-disk cache for task vectors; follows the XDG convention like other ML tools."""
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "llm-spider"


# The Spider checkpoint trained on the data folder's leaderboard (`llm-spider train --output` reproduces it).
SHIPPED_CHECKPOINT = DATA_DIR / "spider"
ZOO_DIR = DATA_DIR / "zoos"  # the shipped local zoos (zoo files and their results)


def user_data_dir() -> Path:
    """The user's own llm-spider data (XDG data home): not a cache, since it cannot be rebuilt from
    the package (a model added from its scores, hours of model evaluation)."""
    base = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(base) / "llm-spider"


def ensure_writable(folder: Path, what: str) -> None:
    """Refuse, before any work, a folder that cannot be written (a file in its place, a read-only
    disk): a training or a fit must not be lost at the end because its output cannot be saved.
    Creates nothing."""
    import tempfile

    from llm_spider.errors import SpiderError, cannot_write

    existing = folder
    while not existing.exists() and existing != existing.parent:  # create nothing: find where it would start
        existing = existing.parent
    try:
        if not existing.is_dir():
            raise NotADirectoryError(20, "Not a directory", str(existing))
        with tempfile.NamedTemporaryFile(dir=existing, prefix=".write-test-"):
            pass
    except OSError as exc:
        raise SpiderError(f"cannot write the {what} to {folder} ({cannot_write(exc)}); give another folder "
                          "with --output") from None


def user_checkpoint_dir() -> Path:
    """Where `llm-spider train` and `zoo add-model` keep the user's own Spider."""
    return user_data_dir() / "spider"


def data_matched_checkpoint_dir(leaderboard_sha256: str) -> Path:
    """Where `rank` keeps the Spider it trained for a leaderboard table other than the shipped one's."""
    return user_data_dir() / "spider-for-data" / leaderboard_sha256[:16]


def user_local_zoo_dir(zoo: str = "local") -> Path:
    """Where `llm-spider evaluate` keeps the user's own results for a local zoo, which `compare` reads
    on top of the shipped ones."""
    return user_data_dir() / "zoos" / zoo


# Real image data from Debian packages, for the vision zoo's named tasks (overridable for tests and
# for data kept elsewhere).
IMAGE_SOURCES = {
    "openclipart": ("LLM_SPIDER_OPENCLIPART", "/usr/share/openclipart/png", "openclipart-png"),
    "tuxpaint": ("LLM_SPIDER_TUXPAINT_STAMPS", "/usr/share/tuxpaint/stamps", "tuxpaint-stamps-default"),
    "fashion-mnist": ("LLM_SPIDER_FASHION_MNIST", "/usr/share/datasets/fashion-mnist", "dataset-fashion-mnist"),
}


def image_source_root(source: str) -> tuple[Path, str]:
    """The folder of an image source and the Debian package that provides it."""
    env, default, package = IMAGE_SOURCES[source]
    return Path(os.environ.get(env) or default), package


def vision_zoo_dir() -> Path:
    """The shipped vision zoo ground truth (`llm-spider vision evaluate --output` reproduces it)."""
    return ZOO_DIR / "vision"
