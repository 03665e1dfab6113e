"""Fixtures of the CLI tests."""

import pytest


@pytest.fixture()
def small_history(tmp_path, leaderboard):
    """Three MMLU subjects and three BBH subtasks of the real table, as a user's wide CSV."""
    tasks = ["mmlu_anatomy", "mmlu_virology", "mmlu_marketing", "bbh_navigate", "bbh_snarks", "bbh_hyperbaton"]
    wide = leaderboard.wide()[tasks].dropna().iloc[:30]
    path = tmp_path / "history.csv"
    wide.rename_axis("model").reset_index().to_csv(path, index=False)
    return path
