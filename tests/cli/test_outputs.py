"""`report -o` (and every other output option) written the one way (llm_spider/writing.py), tried
as a user would: a symlink, a directory, a FIFO, /dev/null, a missing folder."""

from __future__ import annotations

import os
import stat
import threading
import time

import pytest
from typer.testing import CliRunner

from llm_spider.cli import app

REPORT = ["report", "--zoo", "mmlu-pro", "--task", "law", "--prior", "leaderboard"]


def invoke(*args):
    return CliRunner().invoke(app, [str(a) for a in args], env={"COLUMNS": "200"})


def refused(result, *words) -> None:
    assert result.exit_code == 2, result.output
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error:") and all(w in lines[0] for w in words), result.stderr
    assert ".tmp" not in lines[0]  # named by the user's path, never a temporary file's


def test_report_through_a_symlink_writes_its_target(tmp_path):
    target = tmp_path / "shared" / "law.html"
    target.parent.mkdir()
    link = tmp_path / "law.html"
    link.symlink_to(target)
    assert invoke(*REPORT, "-o", link).exit_code == 0
    assert link.is_symlink() and target.read_text().startswith("<!doctype html>")


def test_report_to_a_directory_or_a_missing_folder_is_refused_before_the_selection(tmp_path, monkeypatch):
    def never(*args, **kwargs):
        raise AssertionError("the selection ran before the output was checked")

    import importlib

    monkeypatch.setattr(importlib.import_module("llm_spider.api.report"), "select", never)
    out = tmp_path / "out"
    out.mkdir()
    refused(invoke(*REPORT, "-o", out), "is a directory")
    refused(invoke(*REPORT, "-o", out / "newdir" / "r.html"), "newdir", "does not exist")
    assert list(out.iterdir()) == []


def test_report_to_a_fifo_and_to_dev_null_streams_and_keeps_the_node(tmp_path):
    tmp_path = tmp_path / "out"
    tmp_path.mkdir()
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    got: list[bytes] = []
    reader = threading.Thread(target=lambda: got.append(open(fifo, "rb").read()), daemon=True)
    reader.start()
    assert invoke(*REPORT, "-o", fifo).exit_code == 0
    reader.join(30)
    assert got and got[0].startswith(b"<!doctype html>") and stat.S_ISFIFO(os.stat(fifo).st_mode)
    assert invoke(*REPORT, "-o", "/dev/null").exit_code == 0
    assert stat.S_ISCHR(os.stat("/dev/null").st_mode)
    assert [p.name for p in tmp_path.iterdir()] == ["pipe"]  # no temporary file left beside it


@pytest.mark.parametrize("option", [["compare", "--task", "arc_challenge", "--output"],
                                    ["benchmark", "select", "--level", "category", "--output"]])
def test_other_output_options_are_checked_before_their_work(tmp_path, option):
    start = time.perf_counter()
    refused(invoke(*option, tmp_path / "missing" / "out.json"), "does not exist")
    assert time.perf_counter() - start < 10  # refused at once, not after the work
    refused(invoke(*option, tmp_path), "is a directory")
