"""`llm-spider select` on recorded zoos: the pick, its cost, and its clear refusals."""

from __future__ import annotations

import json

from typer.testing import CliRunner

from llm_spider.cli import app

runner = CliRunner()


def test_select_on_mmlu_pro_picks_within_epsilon_at_a_small_cost():
    result = runner.invoke(app, ["select", "--zoo", "mmlu-pro", "--level", "category", "--task", "math",
                                 "--format", "json"])
    assert result.exit_code == 0, result.output
    rows = json.loads(result.stdout)
    best = max(r["recorded_accuracy"] for r in rows)
    pick = rows[0]  # the pick has the best posterior mean, so it comes first
    assert pick["recorded_accuracy"] >= best - 0.02
    assert sum(r["evaluated"] for r in rows) < 0.02 * 32 * 1351
    assert "calibrated on them" in result.stderr


def test_select_refuses_clearly():
    unknown = runner.invoke(app, ["select", "--zoo", "mmlu-pro", "--level", "category", "--task", "maths"])
    assert unknown.exit_code == 2 and "Did you mean: math" in unknown.output
    both = runner.invoke(app, ["select", "--task", "math", "--level", "category", "--budget", "10",
                               "--budget-share", "0.1"])
    assert both.exit_code == 2 and "not both" in both.output
    budget = runner.invoke(app, ["select", "--task", "law", "--level", "category", "--prior", "flat", "--budget", "12",
                                 "--format", "json"])
    assert budget.exit_code == 0 and sum(r["evaluated"] for r in json.loads(budget.stdout)) == 12


def test_select_replays_batches_in_flight_and_needs_ray_for_them_on_a_live_zoo():
    args = ["select", "--task", "law", "--level", "category", "--prior", "flat", "--budget", "12", "--in-flight", "2"]
    capped = runner.invoke(app, [*args, "--format", "json"])
    assert capped.exit_code == 0, capped.output
    assert sum(r["evaluated"] for r in json.loads(capped.stdout)) == 12  # the batches in flight were counted
    table = runner.invoke(app, args)
    assert table.exit_code == 0 and "2 batches in flight" in " ".join(table.stdout.split())
    local = runner.invoke(app, ["select", "--zoo", "local", "--task", "arc_easy", "--in-flight", "2"])
    assert local.exit_code == 2 and "needs --executor ray" in local.output and local.stdout.count("\n") <= 1
