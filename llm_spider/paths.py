"""Where the package finds its embedded data and prompts, and where it caches.

Devices and paths are chosen in one place; nothing else reads the environment.
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
