"""The README's "Adding a ranker" example, run as written: registered by its decorator alone, it
ranks, and the registry (hence `rank --method`, `benchmark llm`) offers it. In a subprocess, so the
example's ranker does not join this session's registry."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_the_readme_ranker_example_registers_and_ranks():
    readme = (ROOT / "README.md").read_text()
    section = readme.split("## Adding a ranker", 1)[1]
    code = re.search(r"```python\n(.*?)```", section, re.S).group(1)
    check = code + (
        "\nimport pandas as pd\n"
        "from llm_spider.ranking import RANKERS, make_ranker\n"
        "from llm_spider.zoo.history import History\n"
        "h = History.from_wide(pd.DataFrame({'t1': {'a': 0.1, 'b': 0.5}, 't2': {'a': 0.9, 'b': 0.6},"
        " 't3': {'a': 0.2, 'b': 0.7}}), source='test')\n"
        "name = RANKERS.names()[-1]\n"
        "print(name, make_ranker(name).fit(h).rank(TaskView('new')).models)\n")
    out = subprocess.run([sys.executable, "-c", check], capture_output=True, text=True, check=True).stdout
    assert out.split() == ["median", "['b',", "'a']"]
