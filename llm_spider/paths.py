"""Where the package finds its own files (prompts, the Spider checkpoint, the zoos' recorded
results), where it caches, and where it keeps the user's own data.

Third-party data sets are not the package's: where they live is the data layer's business
(``llm_spider.datasets``, the only other module that reads the environment).
"""

from __future__ import annotations

import hashlib
import os
import re
from pathlib import Path

PACKAGE_DIR = Path(__file__).resolve().parent
DATA_DIR = PACKAGE_DIR / "data"

# --- a user's name as a file name ---------------------------------------------------------------
# Every model, task, zoo and member name that meets the file system goes through ``file_name``:
# a name is data (a Hugging Face id, a task field read from a user's file), never a path.
_SAFE = re.compile(r"[A-Za-z0-9][A-Za-z0-9._+=-]*")
_RESERVED = {"con", "prn", "aux", "nul", *(f"com{i}" for i in range(10)), *(f"lpt{i}" for i in range(10))}
MAX_NAME = 100  # well under every file system's 255 bytes, with room for suffixes


def is_plain_name(name: str) -> bool:
    """Whether ``name`` is its own file name: letters, digits and ``._+=-``, starting with a letter
    or digit (so never ``.``, ``..`` or hidden), at most MAX_NAME characters, not a Windows device."""
    return (bool(_SAFE.fullmatch(name)) and len(name) <= MAX_NAME
            and name.split(".")[0].lower() not in _RESERVED)


def file_name(name: str) -> str:
    """``name`` as one safe path component. A plain name is itself (so stores keep their layout);
    any other becomes a readable slug, ``~`` and a hash of the exact name: ``~`` is never in a plain
    name, so two names never share a file. Separators, ``..``, NUL and long names cannot escape."""
    name = str(name)
    if is_plain_name(name):
        return name
    slug = re.sub(r"[^A-Za-z0-9._+=-]+", "_", name).strip("._-")[:60] or "_"
    return f"{slug}~{hashlib.sha256(name.encode('utf-8', 'surrogatepass')).hexdigest()[:12]}"


def check_store_name(name: str, kind: str) -> str:
    """A name the user chooses for something they will name again (``--name``): refused in one line
    unless plain, since a mapped name could not be typed back."""
    from llm_spider.errors import SpiderError

    if not is_plain_name(name):
        raise SpiderError(f"{name!r} cannot name {kind}: use letters, digits and . _ + = - (starting with a "
                          f"letter or digit, at most {MAX_NAME} characters)")
    return name


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


def user_checkpoint_dir() -> Path:
    """Where `llm-spider train` and `zoo add-model` keep the user's own Spider."""
    return user_data_dir() / "spider"


def data_matched_checkpoint_dir(leaderboard_sha256: str) -> Path:
    """Where `rank` keeps the Spider it trained for a leaderboard table other than the shipped one's."""
    return user_data_dir() / "spider-for-data" / leaderboard_sha256[:16]


def user_local_zoo_dir(zoo: str = "local") -> Path:
    """Where `llm-spider evaluate` keeps the user's own results for a local zoo, which `compare` reads
    on top of the shipped ones."""
    return user_data_dir() / "zoos" / file_name(zoo)


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
