"""`llm-spider report`: one static page, opened in headless Chromium (Debian's `chromium`, which
.ci/run installs): the table and the plot render, and the console stays silent."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest
from typer.testing import CliRunner

from llm_spider.cli import app

HARNESS = Path(__file__).resolve().parents[1] / "fixtures" / "harness" / "out"
runner = CliRunner()


def chromium() -> str:
    path = shutil.which("chromium") or shutil.which("chromium-browser")
    if path is None:
        if os.environ.get("CI"):
            pytest.fail("chromium is not installed (.ci/run installs Debian's chromium)")
        pytest.skip("chromium is not installed")
    return path


@pytest.fixture()
def page(tmp_path) -> Path:
    result = runner.invoke(app, ["zoo", "import", str(HARNESS), "--name", "harness"])
    assert result.exit_code == 0, result.output
    out = tmp_path / "report.html"
    result = runner.invoke(app, ["report", "--zoo", "harness", "--task", "spider_letters", "--prior", "flat",
                                 "--output", str(out)])
    assert result.exit_code == 0, result.output
    assert "report written to" in result.stderr and result.stdout == ""
    return out


def test_the_page_is_self_contained_and_says_what_was_chosen(page):
    text = page.read_text()
    assert not re.search(r"(src|href)=\"https?://|<link |<script src", text)  # no network
    assert "data:image/png;base64," in text
    assert len(re.findall(r"<tr( class=\"pick\")?><td>", text)) == 3  # the three members
    assert '<tr class="pick"><td>qwen2.5-coder-0.5b-instruct</td>' in text
    assert "of brute force (90: every" in text and "Can the ground truth settle it?" in text


def test_chromium_renders_the_table_and_the_plot_without_console_errors(page, tmp_path):
    exe = chromium()
    flags = ["--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars", f"--user-data-dir={tmp_path / 'profile'}"]
    shot = tmp_path / "report.png"
    run = subprocess.run([exe, *flags, "--window-size=1100,1600", f"--screenshot={shot}", page.as_uri()],
                         capture_output=True, text=True, timeout=120)
    assert shot.is_file() and shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n", run.stderr[-2000:]
    dom = subprocess.run([exe, *flags, "--enable-logging=stderr", "--v=0", "--dump-dom", page.as_uri()],
                         capture_output=True, text=True, timeout=120)
    assert 'data-plot="loaded"' in dom.stdout  # the image decoded and loaded
    assert dom.stdout.count("<tr") == 4 and "qwen2.5-coder-0.5b-instruct" in dom.stdout
    assert ":CONSOLE" not in dom.stderr, [line for line in dom.stderr.splitlines() if ":CONSOLE" in line]
    import numpy as np
    from PIL import Image

    grey = np.asarray(Image.open(shot).convert("L"))
    assert np.unique(grey).size > 50  # text, table rules and the plot: not a blank page


def test_report_errors_are_one_line_and_write_nothing(tmp_path):
    out = tmp_path / "r.html"
    result = runner.invoke(app, ["report", "--zoo", "mmlu-pro", "--task", "biologyy", "--output", str(out)])
    assert result.exit_code == 2 and "Did you mean: biology" in result.stderr and not out.exists()
