"""The README's results tables are rendered from the record files (benchmarks/tables.py): a table
edited by hand, or a record file regenerated without re-rendering, fails here."""

from __future__ import annotations

import importlib.util
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _tables():
    spec = importlib.util.spec_from_file_location("readme_tables", ROOT / "benchmarks" / "tables.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_every_results_table_in_the_readme_matches_its_record_file():
    tables = _tables()
    text = (ROOT / "README.md").read_text()
    marked = [m.group(2) for m in tables.MARK.finditer(text)]
    assert set(marked) == set(tables.TABLES), "every table builder has its place in the README, and only those"
    _, changed = tables.render(text)
    assert changed == [], f"README tables out of date: {changed}; run python benchmarks/tables.py"


def test_a_hand_edited_table_is_caught():
    tables = _tables()
    text = (ROOT / "README.md").read_text()
    edited = text.replace("<!-- table: live_zoo -->\n| method |", "<!-- table: live_zoo -->\n| approach |", 1)
    assert edited != text
    assert tables.render(edited)[1] == ["live_zoo"]
