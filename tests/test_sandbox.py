"""The suite never touches the real home: HOME and the XDG folders point into a temporary folder
from before anything is imported (tests/conftest.py), and each test has a home of its own."""

from __future__ import annotations

import os
import pwd
import tempfile
from pathlib import Path

from llm_spider.paths import default_cache_dir, user_data_dir


def test_every_home_a_test_sees_is_a_temporary_folder():
    real = Path(pwd.getpwuid(os.getuid()).pw_dir).resolve()
    temp = Path(tempfile.gettempdir()).resolve()
    for var in ("HOME", "XDG_CACHE_HOME", "XDG_DATA_HOME", "XDG_CONFIG_HOME", "MPLCONFIGDIR"):
        where = Path(os.environ[var]).resolve()
        assert temp in where.parents and where != real and real not in where.parents, (var, where)
    for where in (default_cache_dir(), user_data_dir(), Path.home()):
        assert temp in where.resolve().parents


def test_each_test_has_a_data_home_of_its_own(tmp_path):
    assert tmp_path in user_data_dir().parents and tmp_path in Path.home().parents
