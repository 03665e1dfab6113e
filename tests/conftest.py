"""Shared fixtures. Tests never reach the network or the developers' shared folder: all data comes from the package."""

from __future__ import annotations

import os

os.environ["HF_HUB_OFFLINE"] = "1"
os.environ["TRANSFORMERS_OFFLINE"] = "1"

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import pytest  # noqa: E402

from llm_spider.zoo import History  # noqa: E402


@pytest.fixture(autouse=True)
def _own_data_home(tmp_path, monkeypatch):
    """A user's own Spider checkpoint (XDG data home) must never leak into or out of a test."""
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "xdg-data"))


@pytest.fixture(scope="session")
def leaderboard() -> History:
    return History.from_leaderboard()


@pytest.fixture()
def cache_dir(tmp_path):
    return tmp_path / "cache"


def make_history(table: dict[str, dict[str, float]]) -> History:
    """History from {task: {model: score}}."""
    wide = pd.DataFrame(table)
    return History.from_wide(wide, source="test")


@pytest.fixture()
def tiny_history() -> History:
    rng = np.random.default_rng(0)
    models = [f"m{i}" for i in range(6)]
    ability = np.linspace(0.3, 0.8, 6)
    table = {f"mmlu_t{j}": dict(zip(models, ability + rng.normal(0, 0.02, 6))) for j in range(5)}
    return make_history(table)
