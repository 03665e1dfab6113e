"""Domain specialists: LoRA fine-tuning (peft) of a base LLM on one training source.

Why LoRA on the letter-choice objective: a specialist must change which model is best *per task*,
cheaply enough for 2 CPU cores. The loss is the cross-entropy over the options' first tokens at
the answer position — the very quantity the zoo's scorer reads (``TransformersBackend._logits``),
so what the adapter learns is what `evaluate` measures. Only the low-rank matrices on the
attention's query/value projections train; the adapter is saved with safetensors beside a JSON
record of base, source, recipe, losses and the adapter's sha256.
"""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from llm_spider.errors import SpiderError
from llm_spider.paths import file_name

ADAPTER_FILE, RECORD_FILE = "adapter_model.safetensors", "specialist.json"
PEFT_INSTALL = "pip install 'llm-spider[local]'"


@dataclass(frozen=True)
class LoraRecipe:
    """Everything that decides a specialist besides its base and source (recorded with it)."""

    rank: int = 8
    alpha: int = 16
    target_modules: tuple[str, ...] = ("q_proj", "v_proj")
    lr: float = 1e-3
    steps: int = 48  # 48 steps x 4 items: 1.5-4 min per specialist of a <=0.5B base on 2 cores
    batch_size: int = 4
    seed: int = 0


def option_loss(backend, ids: list[list[int]], tokens: list[list[int]], answers: Sequence[int]):
    """Mean cross-entropy of the gold option among the options, at the answer position."""
    import torch
    import torch.nn.functional as F

    hidden = backend._last_hidden(ids).float()
    losses = [F.cross_entropy(backend._logits(hidden[r:r + 1], tokens[r]), torch.tensor([int(answers[r])]))
              for r in range(len(ids))]
    return torch.stack(losses).mean()


def train_specialist(backend, items: Sequence, recipe: LoraRecipe, out_dir: Path, base: str, source: str,
                     progress: Callable[[int, float], None] | None = None, extra: dict | None = None) -> dict:
    """Fit a LoRA adapter on ``items`` (ScoringItems) into ``backend``'s model and save it.

    The backend's model is modified in place (the adapter stays active), so the same backend then
    scores as the specialist. Returns the record written to ``out_dir/specialist.json`` (with
    ``extra``'s keys, e.g. the training split, added)."""
    import importlib.util

    import torch

    if importlib.util.find_spec("peft") is None:
        raise SpiderError(f"building specialists needs peft: {PEFT_INSTALL}")
    from peft import LoraConfig, get_peft_model

    if not items:
        raise SpiderError("a specialist needs training items")
    torch.manual_seed(recipe.seed)
    config = LoraConfig(r=recipe.rank, lora_alpha=recipe.alpha, lora_dropout=0.0,
                        target_modules=list(recipe.target_modules), task_type="CAUSAL_LM")
    peft_model = get_peft_model(backend.model, config)
    trainable = [p for p in peft_model.parameters() if p.requires_grad]
    optimizer = torch.optim.AdamW(trainable, lr=recipe.lr, weight_decay=0.0)
    ids, tokens = backend.prompt_option_tokens([it.prompt for it in items], [it.options for it in items])
    answers = [it.answer for it in items]
    rng = np.random.default_rng(recipe.seed)
    losses, start = [], time.perf_counter()
    for step in range(recipe.steps):
        batch = rng.choice(len(items), size=min(recipe.batch_size, len(items)), replace=False)
        loss = option_loss(backend, [ids[i] for i in batch], [tokens[i] for i in batch], [answers[i] for i in batch])
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        losses.append(float(loss.detach()))
        if progress:
            progress(step + 1, losses[-1])
    peft_model.eval()
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    peft_model.save_pretrained(str(out_dir), safe_serialization=True)
    tidy_adapter_dir(out_dir, base)
    adapter = out_dir / ADAPTER_FILE
    record = {"base": base, "source": source, "recipe": asdict(recipe), "train_items": len(items),
              "trainable_parameters": int(sum(p.numel() for p in trainable)),
              "loss_first": losses[0], "loss_last": losses[-1], "loss_last10_mean": float(np.mean(losses[-10:])),
              "seconds": round(time.perf_counter() - start, 2),
              "adapter_sha256": hashlib.sha256(adapter.read_bytes()).hexdigest(), **(extra or {})}
    (out_dir / RECORD_FILE).write_text(json.dumps(record, indent=1) + "\n")
    return record


def tidy_adapter_dir(out_dir: Path, base: str) -> None:
    """Drop peft's empty model card and record the base by its zoo name, not by this machine's cache
    path (the adapter is loaded onto a base we pass explicitly, so the field is documentation)."""
    (Path(out_dir) / "README.md").unlink(missing_ok=True)
    config = Path(out_dir) / "adapter_config.json"
    if config.is_file():
        raw = json.loads(config.read_text())
        raw["base_model_name_or_path"] = base
        config.write_text(json.dumps(raw, indent=2, sort_keys=True) + "\n")


def load_specialist(backend, adapter_dir: Path) -> dict:
    """Apply a saved adapter to a freshly loaded base backend (checked against its recorded hash),
    merged into the weights so scoring runs at the base model's speed."""
    from peft import PeftModel

    adapter_dir = Path(adapter_dir)
    record_path, adapter = adapter_dir / RECORD_FILE, adapter_dir / ADAPTER_FILE
    if not record_path.is_file() or not adapter.is_file():
        raise SpiderError(f"{adapter_dir}: not a specialist (expected {RECORD_FILE} and {ADAPTER_FILE})")
    record = json.loads(record_path.read_text())
    if hashlib.sha256(adapter.read_bytes()).hexdigest() != record["adapter_sha256"]:
        raise SpiderError(f"{adapter}: does not match the sha256 in {RECORD_FILE}; rebuild the specialist")
    merged = PeftModel.from_pretrained(backend.model, str(adapter_dir)).merge_and_unload()
    backend.model = merged.eval()
    backend.head = backend.model.get_output_embeddings()
    return record


def load_adapter(backend, adapter_dir: Path) -> dict:
    """A specialist built here (checked against its record), or any PEFT LoRA adapter folder with
    safetensors weights (a user's own fine-tune), merged into the loaded base."""
    from peft import PeftModel

    if (Path(adapter_dir) / RECORD_FILE).is_file():
        return load_specialist(backend, adapter_dir)
    backend.model = PeftModel.from_pretrained(backend.model, str(adapter_dir)).merge_and_unload().eval()
    backend.head = backend.model.get_output_embeddings()
    return {}


def specialists_dir(root: Path | None = None) -> Path:
    """Where built specialists live: ``<root>/<base>+<source>/`` (default: the user's data dir)."""
    from llm_spider.paths import user_data_dir

    return Path(root) if root else user_data_dir() / "zoos" / "specialists"


def specialist_name(base: str, source: str) -> str:
    return f"{base}+{source}"


def training_items(source: str, exclude: frozenset[str], n: int, seed: int = 0) -> list:
    """``n`` ScoringItems of the source, drawn with a seed (all of them when it has fewer)."""
    from llm_spider.zoo.evaluate import scoring_items
    from llm_spider.zoo.sources import source_task

    items = scoring_items(source_task(source, exclude))
    pick = np.random.default_rng([seed, *source.encode()]).permutation(len(items))[:n]
    return [items[i] for i in sorted(pick)]


def build_specialists(bases: Sequence, sources: Sequence[str], recipe: LoraRecipe, root: Path | None = None,
                      rebuild: bool = False, load=None, log: Callable[[str], None] = lambda s: None,
                      progress: Callable[[int, float], None] | None = None) -> list[dict]:
    """Train every (base, source) specialist not built yet under ``root`` and write ``zoo.json``, the
    index of all of them with their training split. ``load(base)`` gives a fresh base backend.
    Each specialist sees ``recipe.steps × recipe.batch_size`` items of its source (seeded)."""
    from llm_spider.tasks import get_task
    from llm_spider.zoo.evaluate import LIVE_TASK_SET
    from llm_spider.zoo.sources import evaluated_hashes, split_record

    root = specialists_dir(root)
    exclude = evaluated_hashes([get_task(t) for t in LIVE_TASK_SET])
    records = []
    for base in bases:
        for source in sources:
            out = root / file_name(specialist_name(base.name, source))
            if (out / RECORD_FILE).is_file() and not rebuild:
                log(f"{out.name}: already built (--rebuild to redo)")
                records.append(json.loads((out / RECORD_FILE).read_text()))
                continue
            items = training_items(source, exclude, recipe.steps * recipe.batch_size, recipe.seed)
            log(f"{out.name}: {len(items)} items, {recipe.steps} steps")
            backend = load(base)
            record = train_specialist(backend, items, recipe, out, base.name, source, progress,
                                      extra={"split": split_record(source, exclude)})
            backend.close()
            records.append(record)
    write_index(root)
    return records


def write_index(root: Path) -> dict:
    """``zoo.json``: a zoo file (`--zoo DIR` loads it) listing every specialist built under ``root``
    (not only this run's) with base, source, recipe, adapter hash and training split, preceded by
    the local zoo's entries for its default members and for the specialists' bases: the zoo a user
    chooses from is the plain models plus their fine-tuned variants."""
    from llm_spider.writing import write_output
    from llm_spider.zoo.zoofile import pypi_entries

    records = [(p.parent.name, json.loads(p.read_text())) for p in sorted(Path(root).glob(f"*/{RECORD_FILE}"))]
    local = pypi_entries("local")
    bases = list(dict.fromkeys([*(n for n, m in local.items() if m.get("default", True)),
                                *(r["base"] for _, r in records)]))
    unknown = [b for b in bases if b not in local]
    if unknown:
        raise SpiderError(f"{root}: specialists of {unknown[0]!r}, which is not a member of the local zoo")
    members = [{**local[b], "default": True} for b in bases]
    members += [{"name": specialist_name(r["base"], r["source"]),
                 "title": f"{local[r['base']]['title'].split(' (')[0]} + LoRA on {r['source']}",
                 "base": r["base"], "adapter": folder, "default": True, **r} for folder, r in records]
    index = {"name": Path(root).name, "format": "llm-spider.specialists", "version": 2,
             "description": f"{len(bases)} base LLMs of the local zoo and {len(records)} LoRA domain specialists "
                            "fine-tuned from them (`zoo build-specialists`)",
             "models": members}
    Path(root).mkdir(parents=True, exist_ok=True)
    write_output(Path(root) / "zoo.json", json.dumps(index, indent=1) + "\n", "zoo file")
    return index
