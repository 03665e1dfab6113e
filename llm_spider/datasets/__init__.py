"""The data layer: the one place that knows where third-party data lives.

The public data sets the tool runs on (the Open LLM Leaderboard table, MMLU, BIG-Bench-Hard, nine
multiple-choice sets, MMLU-Pro, Model Spider's published vision figures) are not ours to ship, so
the package carries none of them. Each named table is read, in order, from:

1. a **data folder** laid out like the project's ``../shared/data`` (``--data-dir`` on the command
   line, else the ``LLM_SPIDER_DATA`` environment variable; docs/data.md says how to build one);
2. an earlier conversion of its **Hugging Face Hub** copy, else the Hub itself when online;
3. else a one-line error naming the data set, the variable to set and the docs page.

Converted tables are cached as parquet under the cache dir, keyed by a hash of the source files, so
a second run reads them in milliseconds and a changed file is converted again. Every table also
carries a hash of its content (``content_sha``), which caches of derived results key on.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import time
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from pathlib import Path

import numpy as np
import pandas as pd

from llm_spider.datasets import folder, hub
from llm_spider.errors import SpiderError, SpiderWarning, UnknownNameError, cannot_write
from llm_spider.paths import default_cache_dir

ENV_VAR = "LLM_SPIDER_DATA"
CACHE_FORMAT = 2  # part of every cache key: a new conversion or hash scheme never reads an old entry
DOCS = "docs/data.md"
# The tasks of the two task families whose data set is a folder of files, one per task or set.
BBH_TASKS = (
    "boolean_expressions", "causal_judgement", "date_understanding", "disambiguation_qa", "dyck_languages",
    "formal_fallacies", "geometric_shapes", "hyperbaton", "logical_deduction_five_objects",
    "logical_deduction_seven_objects", "logical_deduction_three_objects", "movie_recommendation",
    "multistep_arithmetic_two", "navigate", "object_counting", "penguins_in_a_table",
    "reasoning_about_colored_objects", "ruin_names", "salient_translation_error_detection", "snarks",
    "sports_understanding", "temporal_sequences", "tracking_shuffled_objects_five_objects",
    "tracking_shuffled_objects_seven_objects", "tracking_shuffled_objects_three_objects", "web_of_lies",
    "word_sorting",
)
MC_SETS = ("arc-challenge", "arc-easy", "commonsenseqa", "medqa-usmle", "openbookqa", "piqa", "socialiqa",
           "truthfulqa-mc1", "winogrande")


class DataMissingError(SpiderError):
    """A data set that no data folder holds and the Hub could not provide."""


@dataclass(frozen=True)
class Table:
    """One named table: where it sits in a data folder, how to read it, and its Hub copy if any."""

    name: str
    dataset: str  # the data set it belongs to, as docs/data.md lists them
    where: str  # its place in a data folder, for messages
    files: Callable[[Path], list[Path]]
    read: Callable[[list[Path]], pd.DataFrame]
    hub: Callable[[], pd.DataFrame] | None = None
    hub_id: str = ""


def _tables() -> dict[str, Table]:
    tables = [
        Table("leaderboard", "leaderboard", folder.LEADERBOARD_FILE, folder.leaderboard_files,
              folder.read_leaderboard, hub.leaderboard, f"{hub.LEADERBOARD_V1_HUB} + {hub.LEADERBOARD_V2_HUB}"),
        Table("mmlu", "mmlu", "mmlu/{dev,val,test}/<subject>_<split>.csv", folder.mmlu_files, folder.read_mmlu,
              hub.mmlu, hub.MMLU_HUB),
        Table("bbh", "bbh", "bbh/<task>.json", folder.bbh_files, folder.read_bbh,
              partial(hub.bbh, BBH_TASKS), hub.BBH_HUB),
        *(Table(f"mc/{s}", "mc", f"mc/{s}/test.json", partial(folder.mc_files, task=s), folder.read_mc,
                partial(hub.mc, s) if s in hub.MC_HUB else None, hub.MC_HUB[s][0] if s in hub.MC_HUB else "")
          for s in MC_SETS),
        Table("mmlu_pro/questions", "mmlu_pro", "mmlu_pro/questions.jsonl.gz", folder.mmlu_pro_questions_files,
              folder.read_mmlu_pro_questions, hub.mmlu_pro_questions, hub.MMLU_PRO_HUB),
        Table("mmlu_pro/results", "mmlu_pro", "mmlu_pro/results.csv.gz", folder.mmlu_pro_results_files,
              folder.read_mmlu_pro_results),
        *(Table(f"vision_published/{t}", "vision_published", f"{folder.VISION_DIR}/{t}.csv",
                partial(folder.vision_files, table=t), folder.read_csv_table)
          for t in ("transferability_scores", "finetune_accuracy")),
    ]
    return {t.name: t for t in tables}


TABLES = _tables()
_data_dir: Path | None = None
# Tables already read in this process, by name, data folder and cache folder.
_memo: dict[tuple[str, str, str], tuple[pd.DataFrame, dict]] = {}


# --- where the data folder is --------------------------------------------------------------------
def set_data_dir(path: str | Path | None) -> None:
    """Use ``path`` as the data folder for this process (the CLI's ``--data-dir``); None: the variable."""
    global _data_dir
    _data_dir = Path(path).expanduser() if path else None


def reset() -> None:
    """Forget the tables read in this process (the next read comes from the cache or the source)."""
    _memo.clear()


def data_dir() -> Path | None:
    """The data folder in use: ``--data-dir``, else ``$LLM_SPIDER_DATA``, else None."""
    path = _data_dir or (Path(os.environ[ENV_VAR]).expanduser() if os.environ.get(ENV_VAR) else None)
    if path is not None and not path.is_dir():
        origin = "--data-dir" if _data_dir else ENV_VAR
        raise DataMissingError(f"the data folder {path} (from {origin}) does not exist; see {DOCS}")
    return path


def hub_offline() -> bool:
    return any(os.environ.get(v, "").strip().lower() in ("1", "true", "yes", "on")
               for v in ("HF_HUB_OFFLINE", "HF_DATASETS_OFFLINE"))


def cache_root() -> Path:
    return default_cache_dir() / "data" / f"v{CACHE_FORMAT}"


# --- reading -------------------------------------------------------------------------------------
def table(name: str) -> Table:
    try:
        return TABLES[name]
    except KeyError:
        raise UnknownNameError("data set", name, TABLES) from None


def load(name: str) -> pd.DataFrame:
    """The internal table ``name`` (see ``TABLES``), from the data folder or the Hub, via the cache."""
    return _resolve(name)[0]


def content_sha(name: str) -> str:
    """A hash of the table's content (the same table from the folder or the Hub hashes alike)."""
    return _resolve(name)[1]["content_sha"]


def info(name: str) -> dict:
    """Where the table came from: source (folder or hub), path or Hub id, rows, hashes, cache file."""
    return dict(_resolve(name)[1])


def _resolve(name: str) -> tuple[pd.DataFrame, dict]:
    spec = table(name)
    root = data_dir()
    key = (name, str(root), str(cache_root()))
    if key not in _memo:
        _memo[key] = _read(spec, root)
    return _memo[key]


def _folder_files(spec: Table, root: Path | None) -> list[Path] | None:
    """The table's source files in the data folder, or None when the folder lacks any of them."""
    files = spec.files(root) if root is not None else []
    return files if files and all(p.is_file() for p in files) else None


def _read(spec: Table, root: Path | None) -> tuple[pd.DataFrame, dict]:
    if (files := _folder_files(spec, root)) is not None:
        return _from_folder(spec, root, files)
    cached = _cache_file(spec, "hub")
    if cached.is_file() and cached.with_suffix(".json").is_file():
        return pd.read_parquet(cached), json.loads(cached.with_suffix(".json").read_text())
    reason = _hub_reason(spec)
    if reason is None:
        try:
            return _store(spec, spec.hub(), "hub", {"hub_id": spec.hub_id}, cached)
        except Exception as exc:  # network, Hub and format errors alike mean "not available"
            first = (str(exc).strip().splitlines() or [""])[0][:160]
            reason = f"its Hugging Face Hub copy ({spec.hub_id}) could not be fetched ({type(exc).__name__}: {first})"
    where = f"the data folder {root} has no {spec.where}" if root is not None else \
        f"no data folder is set (set {ENV_VAR} or pass --data-dir: a folder holding {spec.where})"
    raise DataMissingError(f"data set '{spec.name}' not found: {where}, and {reason}; see {DOCS}")


def _hub_reason(spec: Table) -> str | None:
    """Why the Hub cannot be asked for this table, or None when it can."""
    if spec.hub is None:
        return "it has no Hugging Face Hub loader"
    if hub_offline():
        return f"the Hugging Face Hub is off (HF_HUB_OFFLINE is set), so its copy ({spec.hub_id}) was not fetched"
    return hub.unreachable()


def _from_folder(spec: Table, root: Path, files: list[Path]) -> tuple[pd.DataFrame, dict]:
    digest = _known_sha(spec, root, files)
    cached = _cache_file(spec, digest[:16])
    meta_path = cached.with_suffix(".json")
    if cached.is_file() and meta_path.is_file():
        return pd.read_parquet(cached), json.loads(meta_path.read_text())
    for old in cached.parent.glob(f"{_slug(spec.name)}-*.parquet"):  # an earlier version of the source
        if old.name != cached.name and not old.name.endswith("-hub.parquet"):
            old.unlink(missing_ok=True)
            old.with_suffix(".json").unlink(missing_ok=True)
    return _store(spec, spec.read(files), "folder", {"path": str(root), "source_sha": digest}, cached)


def _known_sha(spec: Table, root: Path, files: list[Path]) -> str:
    """The files' sha256, remembered against their paths, sizes and modification times, so that an
    unchanged folder is not read again on every run (MMLU's 171 files: 20 ms); any change to a file
    moves its time or size, and the hash is computed afresh."""
    stats = [[str(p.relative_to(root)), st.st_size, st.st_mtime_ns] for p in files for st in [p.stat()]]
    index = cache_root() / f"{_slug(spec.name)}.sources.json"
    key = hashlib.sha256(json.dumps([str(root.resolve()), stats]).encode()).hexdigest()
    try:
        known = json.loads(index.read_text())
    except (OSError, ValueError):
        known = {}
    if key not in known:
        known = {key: source_sha(files, root)}  # only the folder's current state is worth keeping
        try:
            index.parent.mkdir(parents=True, exist_ok=True)
            tmp = index.with_name(f"{index.name}.tmp-{os.getpid()}")
            tmp.write_text(json.dumps(known))
            tmp.replace(index)
        except OSError:
            pass  # an unwritable cache: hashed again next time (_store says so)
    return known[key]


def _store(spec: Table, df: pd.DataFrame, source: str, extra: dict, path: Path) -> tuple[pd.DataFrame, dict]:
    """Write the converted table and its record atomically; return it as read back, so that a first
    run sees exactly the types a cached run sees (parquet turns lists into arrays)."""
    t0 = time.perf_counter()
    tmp = path.with_name(f"{path.name}.tmp-{os.getpid()}")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        try:
            df.reset_index(drop=True).to_parquet(tmp, index=False)
            tmp.replace(path)
        finally:
            tmp.unlink(missing_ok=True)
        out = pd.read_parquet(path)
    except OSError as exc:  # an unwritable cache: convert in memory, every run
        warnings.warn(SpiderWarning(f"the data cache cannot be written ({cannot_write(exc)}); '{spec.name}' is "
                                    "converted again on every run"), stacklevel=2)
        buffer = io.BytesIO()
        df.reset_index(drop=True).to_parquet(buffer, index=False)
        out = pd.read_parquet(buffer)
    meta = {"table": spec.name, "source": source, **extra, "rows": len(out), "content_sha": frame_sha(out),
            "converted": time.strftime("%Y-%m-%d %H:%M:%S"), "seconds": round(time.perf_counter() - t0, 3)}
    tmp_meta = path.with_name(f"{path.stem}.json.tmp-{os.getpid()}")
    try:
        tmp_meta.write_text(json.dumps(meta, indent=1))
        tmp_meta.replace(path.with_suffix(".json"))
    except OSError:
        pass  # said above
    return out, meta


def _slug(name: str) -> str:
    return name.replace("/", "__")


def _cache_file(spec: Table, key: str) -> Path:
    return cache_root() / f"{_slug(spec.name)}-{key}.parquet"


# --- hashes --------------------------------------------------------------------------------------
def source_sha(files: list[Path], root: Path) -> str:
    """sha256 over the files' paths (relative to the folder) and bytes."""
    h = hashlib.sha256()
    for path in files:
        h.update(str(path.relative_to(root)).encode() + b"\0")
        h.update(path.read_bytes())
        h.update(b"\0")
    return h.hexdigest()


def _plain(value):
    if isinstance(value, np.ndarray):
        return [_plain(v) for v in value.tolist()]
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if value is None or (isinstance(value, float) and np.isnan(value)):
        return None
    return value.item() if hasattr(value, "item") else value


def frame_sha(df: pd.DataFrame) -> str:
    """A content hash that does not depend on the file format or library versions: column names,
    then each column's values (numbers as float64 bytes, strings with their lengths, anything else as
    JSON)."""
    h = hashlib.sha256(json.dumps([str(c) for c in df.columns]).encode())
    for col in df.columns:
        values = df[col]
        if pd.api.types.is_numeric_dtype(values) and not pd.api.types.is_bool_dtype(values):
            arr = values.to_numpy(dtype=np.float64, na_value=np.nan)
            h.update(np.where(np.isnan(arr), np.nan, arr).tobytes())
            continue
        items = values.tolist()
        if all(isinstance(v, str) for v in items):  # the common case, hashed without a JSON pass
            h.update(b"s" + np.array([len(v) for v in items], dtype=np.int64).tobytes() + "".join(items).encode())
        else:
            h.update(b"j" + "\x1f".join(json.dumps(_plain(v), ensure_ascii=False) for v in items).encode())
    return h.hexdigest()


# --- what is where -------------------------------------------------------------------------------
def status() -> pd.DataFrame:
    """One row per table: where it would be read from now, without fetching anything."""
    root = data_dir()
    rows = []
    for spec in TABLES.values():
        if _folder_files(spec, root) is not None:
            source, where = "folder", str(root / spec.where) if "{" not in spec.where else str(root)
        elif _cache_file(spec, "hub").is_file():
            source, where = "hub (cached)", spec.hub_id
        elif spec.hub is not None and not hub_offline():
            source, where = "hub (not fetched yet)", spec.hub_id
        else:
            source, where = "missing", spec.where
        rows.append({"table": spec.name, "dataset": spec.dataset, "source": source, "where": where,
                     "hub": spec.hub_id or "-"})
    return pd.DataFrame(rows)
