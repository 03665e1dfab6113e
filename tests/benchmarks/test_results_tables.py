"""The results tables in docs/results/*.md are rendered from the record files (benchmarks/tables.py):
a table edited by hand, or a record file regenerated without re-rendering, fails here."""

from __future__ import annotations

import importlib.util
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def _tables():
    spec = importlib.util.spec_from_file_location("results_tables", ROOT / "benchmarks" / "tables.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_every_results_table_matches_its_record_file():
    tables = _tables()
    marked, stale = [], []
    for doc in tables.documents():
        text = doc.read_text()
        marked += [m.group(2) for m in tables.MARK.finditer(text)]
        stale += [f"{doc.name}:{name}" for name in tables.render(text)[1]]
    assert sorted(marked) == sorted(tables.TABLES), "every table builder has one place in docs/results, and only those"
    assert stale == [], f"results tables out of date: {stale}; run python benchmarks/tables.py"


def test_a_hand_edited_table_is_caught():
    tables = _tables()
    text = (ROOT / "docs" / "results" / "live.md").read_text()
    edited = text.replace("<!-- table: live_zoo -->\n| method |", "<!-- table: live_zoo -->\n| approach |", 1)
    assert edited != text
    assert tables.render(edited)[1] == ["live_zoo"]
