"""Shared fixtures. Tests never reach the network; public data sets come through the data layer
from the data folder (``LLM_SPIDER_DATA``; ``.ci/run`` sets it to ``../shared/data``).

A test that fails while a data set is missing fails in CI (``CI`` set) with the data layer's message,
and is skipped, with that message, elsewhere.
"""

from __future__ import annotations

import atexit
import os
import shutil
import tempfile
from pathlib import Path

# The real home is never touched: before anything is imported, HOME and the XDG folders point into
# one temporary folder for the session (removed at its end), which the tests' subprocesses inherit.
# The cache (converted data tables, models, task vectors) is shared by the session's tests, so each
# conversion is done once a run; LLM_SPIDER_TEST_CACHE keeps it across runs where a developer asks.
SANDBOX = Path(tempfile.mkdtemp(prefix="llm-spider-tests-"))
atexit.register(shutil.rmtree, SANDBOX, ignore_errors=True)
SANDBOX_ENV = {"HOME": SANDBOX / "home", "XDG_CACHE_HOME": Path(os.environ.get("LLM_SPIDER_TEST_CACHE") or SANDBOX / "cache"),
               "XDG_DATA_HOME": SANDBOX / "data", "XDG_CONFIG_HOME": SANDBOX / "config",
               "XDG_STATE_HOME": SANDBOX / "state", "MPLCONFIGDIR": SANDBOX / "config" / "matplotlib"}
for _var, _path in SANDBOX_ENV.items():
    _path.mkdir(parents=True, exist_ok=True)
    os.environ[_var] = str(_path)

os.environ["HF_HUB_OFFLINE"] = "1"
os.environ["TRANSFORMERS_OFFLINE"] = "1"
os.environ["HF_DATASETS_OFFLINE"] = "1"

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import pytest  # noqa: E402

from llm_spider import datasets  # noqa: E402
from llm_spider.zoo import History  # noqa: E402

if os.environ.get(datasets.ENV_VAR):  # absolute, so that a test's subprocess in another folder finds it too
    os.environ[datasets.ENV_VAR] = os.path.abspath(os.path.expanduser(os.environ[datasets.ENV_VAR]))


def _missing_data() -> str | None:
    """The data layer's message for the first public table it cannot find, or None."""
    for name in datasets.TABLES:
        try:
            datasets.load(name)
        except datasets.DataMissingError as exc:
            return str(exc)
    return None


MISSING_DATA = _missing_data()


def pytest_report_header(config):
    root = os.environ.get(datasets.ENV_VAR)
    return f"data folder: {root or '(none)'}" + (f"; MISSING: {MISSING_DATA}" if MISSING_DATA else "")


@pytest.hookimpl(wrapper=True)
def pytest_runtest_setup(item):
    return (yield from _data_or_skip())


@pytest.hookimpl(wrapper=True)
def pytest_runtest_call(item):
    return (yield from _data_or_skip())


def _data_or_skip():
    """Outside CI, a test that fails while a data set is missing is skipped with the layer's message."""
    try:
        return (yield)
    except Exception:
        if MISSING_DATA and not os.environ.get("CI"):
            pytest.skip(f"needs data: {MISSING_DATA}")
        raise


@pytest.fixture(autouse=True)
def _own_home(tmp_path, monkeypatch):
    """Each test has a home and a data home of its own: a user's own Spider checkpoint or recorded
    zoo (XDG data home) never leaks into or out of a test, nor a data folder a test pointed the data
    layer at (a command's --data-dir). The cache stays the session's (see SANDBOX)."""
    for var in ("HOME", "XDG_DATA_HOME", "XDG_CONFIG_HOME", "XDG_STATE_HOME"):
        (tmp_path / "_env" / var.lower()).mkdir(parents=True)
        monkeypatch.setenv(var, str(tmp_path / "_env" / var.lower()))
    yield
    datasets.set_data_dir(None)


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


@pytest.fixture()
def small_history(tmp_path, leaderboard):
    """Three MMLU subjects and three BBH subtasks of the real table, as a user's wide CSV."""
    tasks = ["mmlu_anatomy", "mmlu_virology", "mmlu_marketing", "bbh_navigate", "bbh_snarks", "bbh_hyperbaton"]
    wide = leaderboard.wide()[tasks].dropna().iloc[:30]
    path = tmp_path / "history.csv"
    wide.rename_axis("model").reset_index().to_csv(path, index=False)
    return path


class RecordingProgress:
    """A Progress that keeps every bar it was asked for, with what was done on it."""

    def __init__(self):
        self.bars: dict[str, list] = {}

    def note(self, message):
        pass

    def bar(self, description, total=None):
        from contextlib import contextmanager

        from llm_spider.progress import Bar

        log = self.bars.setdefault(description, [])
        outer = self

        class Rec(Bar):
            def advance(self, n=1):
                log.append(("advance", n))

            def update(self, completed=None, total=None, description=None):
                log.append(("update", completed, total))
                if description:
                    outer.bars.setdefault(description, [])

        @contextmanager
        def cm():
            yield Rec()
        return cm()

    def track(self, items, description, total=None):
        from llm_spider.progress import Progress

        return Progress.track(self, items, description, total)


@pytest.fixture()
def recording() -> RecordingProgress:
    """A Progress that records the bars asked for (tests of what a user sees move)."""
    return RecordingProgress()
