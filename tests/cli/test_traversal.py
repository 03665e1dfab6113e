"""Names never become paths (issue 32): hostile names thrown at every command that writes, and
nothing may appear outside the tool's own folders (or the output the user named).

The homes sit four folders deep inside the test's folder, so a name that climbs out of them lands
where the snapshot sees it."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from llm_spider.cli import app
from llm_spider.zoo.zoofile import pypi_entries

HARNESS = Path(__file__).resolve().parents[1] / "fixtures" / "harness" / "out"
HOSTILE = ["..", ".", "../../victim", "../../../../escaped", "/tmp/abs-victim", "a/b", "x\x00y", "CON", "a" * 300,
           ".hidden", "-rf"]


@pytest.fixture()
def homes(tmp_path, monkeypatch):
    """Deep homes, a cache folder and a working folder; returns (root, the tool's own folders)."""
    deep = tmp_path / "a" / "b" / "c" / "d"
    own = {"data": deep / "data", "cache": deep / "cache", "home": deep / "home"}
    for var, key in (("XDG_DATA_HOME", "data"), ("HOME", "home")):
        own[key].mkdir(parents=True)
        monkeypatch.setenv(var, str(own[key]))
    own["cache"].mkdir()
    (deep / "work").mkdir()
    monkeypatch.chdir(deep / "work")
    victim = own["data"] / "llm-spider" / "spider"  # the user's own data, which no failed command may touch
    victim.mkdir(parents=True)
    (victim / "keep.txt").write_text("the user's checkpoint")
    return tmp_path, own


def snapshot(root: Path) -> set[Path]:
    return {p for p in root.rglob("*")}


def invoke(*args):
    return CliRunner().invoke(app, [str(a) for a in args], env={"COLUMNS": "200"})


def outside(new: set[Path], own: dict[str, Path]) -> list[Path]:
    allowed = [own["data"] / "llm-spider", own["cache"]]
    return sorted(p for p in new if not any(p == a or a in p.parents for a in allowed))


def questions_and_results(folder: Path, task: str, models: list[str]) -> tuple[Path, Path]:
    """A recorded zoo's files of our own making: 60 questions of ``task``, each model right on some."""
    q = folder / "q.jsonl"
    q.write_text("".join(json.dumps({"question_id": f"q{i}", "task": task, "question": f"What is {i} + {i}?",
                                     "options": [str(2 * i), str(2 * i + 1)], "answer": "A"}) + "\n"
                         for i in range(60)))
    r = folder / "r.csv"
    r.write_text("model,question_id,correct\n" + "".join(f"{m},q{i},{int((i + k) % 3 > 0)}\n" for k, m in enumerate(models)
                                                          for i in range(60)))
    return q, r


@pytest.mark.parametrize("name", HOSTILE)
def test_a_hostile_name_for_an_import_is_one_line_and_writes_nothing(homes, name):
    root, own = homes
    q, r = questions_and_results(root, "arith", ["m1", "m2"])
    before = snapshot(root)
    for args in (["zoo", "import", HARNESS, "--name", name],
                 ["zoo", "import-items", "--questions", q, "--results", r, "--name", name]):
        result = invoke(*args)
        assert result.exit_code == 2, result.output
        lines = result.stderr.strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith("error:"), result.stderr
        assert snapshot(root) == before, f"{args[:2]} wrote {sorted(snapshot(root) - before)}"
    assert (own["data"] / "llm-spider" / "spider" / "keep.txt").read_text() == "the user's checkpoint"


def test_hostile_task_and_model_names_inside_the_files_stay_inside_the_tools_folders(homes):
    root, own = homes
    tasks = ["../../../escaped-task", "/tmp/abs-task", "CON"]
    models = ["../../../escaped-model", "m/2", "ok"]
    q = root / "q.jsonl"
    q.write_text("".join(json.dumps({"question_id": f"q{t}-{i}", "task": task, "question": f"{i} + {i}?",
                                     "options": [str(2 * i), str(2 * i + 1)], "answer": "A"}) + "\n"
                         for t, task in enumerate(tasks) for i in range(60)))
    r = root / "r.csv"
    r.write_text("model,question_id,correct\n" + "".join(f"{m},q{t}-{i},{int((i + k + t) % 3 > 0)}\n"
                                                          for k, m in enumerate(models) for t in range(3)
                                                          for i in range(60)))
    before = snapshot(root)
    result = invoke("zoo", "import-items", "--questions", q, "--results", r, "--name", "mine")
    assert result.exit_code == 0, result.output
    for prior in ("leaderboard", "similar-tasks", "items"):  # similar-tasks and items encode: the vector caches
        result = invoke("select", "--zoo", "mine", "--task", tasks[0], "--prior", prior, "--cache-dir", own["cache"])
        assert result.exit_code == 0, result.output
    assert list((own["cache"] / "task-vectors").rglob("*.safetensors"))
    assert list((own["cache"] / "item-vectors").rglob("*.safetensors"))
    assert outside(snapshot(root) - before, own) == []


@pytest.mark.slow
def test_a_member_named_like_a_path_is_evaluated_inside_the_results_folder(homes):
    # A zoo file whose zoo and member names climb: the converted weights, the run log and the
    # history all stay in the tool's folders; the weights are converted once per hash, whatever
    # the member's name.
    root, own = homes
    base = pypi_entries("local")["smollm2-135m-instruct"]
    zoo_file = root / "zoo.json"
    zoo_file.write_text(json.dumps({"name": "../../../escaped-zoo", "models": [{**base, "name": "../../../x"}]}))
    before = snapshot(root)
    result = invoke("evaluate", "--zoo", zoo_file, "--task", "bbh_boolean_expressions", "--max-items", 4,
                    "--cache-dir", own["cache"], "--format", "json")
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)[0]["model"] == "../../../x"
    new = snapshot(root) - before
    assert outside(new, own) == []
    logs = [p for p in new if p.suffix == ".jsonl"]
    assert len(logs) == 1 and len(logs[0].read_text().splitlines()) == 4
    assert len(list((own["cache"] / "models").iterdir())) == 1


def test_a_model_added_under_a_hostile_name_is_data_not_a_path(homes):
    root, own = homes
    scores = root / "s.csv"
    scores.write_text("task,score\nmmlu_anatomy,0.55\nmmlu_virology,0.50\nmmlu_marketing,0.72\n")
    before = snapshot(root)
    for name in ("../../../escaped-model", "/tmp/abs-model"):
        result = invoke("zoo", "add-model", name, "--scores", scores, "--cache-dir", own["cache"])
        assert result.exit_code == 0, result.output
    assert outside(snapshot(root) - before, own) == []
    spider = json.loads((own["data"] / "llm-spider" / "spider" / "spider.json").read_text())
    assert {"../../../escaped-model", "/tmp/abs-model"} <= set(spider["models"])
