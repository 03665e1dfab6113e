"""Zoo files: the schema's checks, each bad input one line (exit 2) with nothing written, the fit and
device decisions (tested on the CPU with the GPUs' figures given), and the shipped zoos in the schema."""

from __future__ import annotations

import json
import re
import struct

import pytest
import yaml
from typer.testing import CliRunner

from llm_spider.cli import app
from llm_spider.errors import SpiderError
from llm_spider.zoo import fit
from llm_spider.zoo.local import load_zoo
from llm_spider.zoo.weights import RunOptions, prepare
from llm_spider.zoo.zoofile import load_any, member_spec, pypi_entries

runner = CliRunner()


def hf_folder(root, params: int = 1000, pickled: bool = False, remote: bool = False):
    """A Hugging Face layout folder whose safetensors header declares ``params`` float32 parameters
    (the file is sparse: the check reads the header only)."""
    root.mkdir(parents=True)
    (root / "config.json").write_text(json.dumps({"model_type": "llama", **({"auto_map": {"AutoModel": "x.Y"}}
                                                                              if remote else {})}))
    if pickled:
        (root / "pytorch_model.bin").write_bytes(b"\x80\x04")
        return root
    header = json.dumps({"w": {"dtype": "F32", "shape": [params], "data_offsets": [0, 4 * params]}}).encode()
    with (root / "model.safetensors").open("wb") as f:
        f.write(struct.pack("<Q", len(header)) + header)
        f.truncate(8 + len(header) + 4 * params)
    return root


def write(tmp_path, members, **top):
    path = tmp_path / "zoo.yaml"
    path.write_text(yaml.safe_dump({"name": "mine", **top, "members": members}))
    return path


def test_shipped_zoos_load_and_local_is_in_the_schema():
    local = load_zoo("local")
    assert local.path.name == "local.yaml" and all(m.kind == "pypi" for m in local.models)
    assert local.results_dir is not None and pypi_entries()["gemma3-270m"]["sha256"] == local.get("gemma3-270m").sha256
    multi = load_zoo("multisource")  # the older JSON shape, as build-specialists writes it
    assert any(m.adapter for m in multi.models) and multi.results_dir is not None


def test_members_of_every_kind_with_paths_relative_to_the_file(tmp_path):
    path = write(tmp_path, [{"name": "ft", "path": "models/ft", "dtype": "bfloat16", "leaderboard_name": "x"},
                            {"name": "q", "hf": "Org/Model", "revision": "abc"},
                            {"name": "g", "gguf": "~/w.gguf"},
                            {"name": "ft+law", "base": "ft", "adapter": "adapters/law"},
                            {"name": "api", "endpoint": "http://h:8000/v1/", "model": "m", "api_key_env": "K"}])
    z = load_any(str(path))
    ft, q, g, law, api = z.models
    assert ft.location == str(tmp_path / "models/ft") and ft.options == {"dtype": "bfloat16", "leaderboard_name": "x"}
    assert (q.kind, q.location, q.revision) == ("hf", "Org/Model", "abc")
    assert not g.location.startswith("~")
    assert (law.kind, law.base, law.adapter, law.options["dtype"]) == ("path", "ft", str(tmp_path / "adapters/law"),
                                                                       "bfloat16")
    assert (api.location, api.served_model, api.api_key_env) == ("http://h:8000/v1", "m", "K")
    assert z.history == "leaderboard"


@pytest.mark.parametrize("members, message", [
    ([{"name": "a", "pth": "/x"}], "unknown field 'pth' (did you mean 'path'?)"),
    ([{"name": "a", "path": "/x", "hf": "o/m"}], "exactly one source"),
    ([{"name": "a", "path": "/x"}, {"name": "a", "path": "/y"}], "two members are named 'a'"),
    ([{"name": "a", "path": "/x", "dtype": "float8"}], "dtype must be one of auto, float32, bfloat16, float16"),
    ([{"name": "a", "path": "/x", "device": "gpu"}], "device must be auto, cpu, cuda, cuda:N or mps"),
    ([{"name": "a", "base": "b", "adapter": "x"}], "base 'b' is not a member listed before it"),
    ([{"name": "a", "endpoint": "h:8000", "model": "m"}], "endpoint must be an http(s) URL"),
    ([{"name": "a", "endpoint": "http://h/v1"}], "needs model"),
    ([{"name": "a", "path": "/x", "revision": "r"}], "'revision' goes with another source"),
    ([{"name": "a", "path": "/x", "batch_size": 0}], "batch_size must be a whole number of at least 1"),
])
def test_a_bad_zoo_file_is_one_line_naming_the_file_and_member(tmp_path, members, message):
    path = write(tmp_path, members)
    with pytest.raises(SpiderError, match=re.escape(message)) as exc:
        load_any(str(path))
    assert str(path) in str(exc.value)


def test_member_specs_are_typed_like_yaml():
    assert member_spec("name=a,path=/x,chat_template=true,batch_size=4") == {
        "name": "a", "path": "/x", "chat_template": True, "batch_size": 4}
    with pytest.raises(SpiderError, match="key=value"):
        member_spec("name=a,/x")


# --- checks before loading -----------------------------------------------------------------------
def test_folders_hf_ids_and_adapters_are_checked_before_loading(tmp_path, monkeypatch):
    monkeypatch.setenv("HF_HOME", str(tmp_path / "hf"))
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    hf_folder(tmp_path / "ok")
    hf_folder(tmp_path / "pickled", pickled=True)
    hf_folder(tmp_path / "remote", remote=True)
    z = load_any(str(write(tmp_path, [
        {"name": "ok", "path": "ok"}, {"name": "missing", "path": "nowhere"}, {"name": "pickled", "path": "pickled"},
        {"name": "remote", "path": "remote"}, {"name": "uncached", "hf": "Org/Uncached", "revision": "v1"},
        {"name": "ok+lora", "base": "ok", "adapter": "no-adapter"}])))
    cpu = RunOptions(device="cpu")
    p = prepare(z.models[0], cpu)
    assert (p.folder, p.params, p.placement.dtype, p.label) == (tmp_path / "ok", 1000, "float32", "transformers")
    for name, message in [("missing", "does not exist"), ("pickled", "only pickled weights (pytorch_model.bin)"),
                          ("remote", "rerun with --trust-remote-code"),
                          ("uncached", f"hf download Org/Uncached --revision v1 --cache-dir {tmp_path / 'hf' / 'hub'}"),
                          ("ok+lora", "adapter folder")]:
        with pytest.raises(SpiderError, match=re.escape(message)):
            prepare(next(m for m in z.models if m.name == name), cpu)
    assert prepare(z.models[3], RunOptions(device="cpu", trust_remote_code=True)).folder == tmp_path / "remote"


def test_a_member_too_large_for_the_cpu_names_a_smaller_dtype(tmp_path, monkeypatch):
    monkeypatch.setattr(fit, "cpu_available", lambda: 10 * 2**30)
    hf_folder(tmp_path / "big", params=3 * 10**9)  # 3B float32 parameters: ~13 GiB, ~7 GiB in bfloat16
    z = load_any(str(write(tmp_path, [{"name": "big", "path": "big"}])))
    with pytest.raises(SpiderError, match=r"needs about 13\.\d GiB in float32 .* 10\.0 GiB .*--dtype bfloat16"):
        prepare(z.models[0], RunOptions(device="cpu"))
    assert prepare(z.models[0], RunOptions(device="cpu", dtype="bfloat16")).placement.dtype == "bfloat16"


def test_gpu_placement_auto_dtype_and_spreading_over_gpus(monkeypatch):
    gib = 2**30
    monkeypatch.setattr(fit, "gpus", lambda: [(40 * gib, 80 * gib), (70 * gib, 80 * gib)])
    p = fit.resolve("auto", "auto")
    assert (p.device, p.dtype) == ("cuda:0", "bfloat16")  # a GPU takes bfloat16 by default
    assert fit.fit("m", 10 * 10**9, p).device_map is None  # 22.9 GiB fits cuda:0's 40
    assert fit.fit("m", 40 * 10**9, p).device_map == "auto"  # 90 GiB: spread over both (110 free)
    with pytest.raises(SpiderError, match=r"needs about 224.0 GiB in bfloat16 .*\(2 GPUs: 110.0 GiB\): use --device cpu"):
        fit.fit("m", 100 * 10**9, p)
    with pytest.raises(SpiderError, match="no such CUDA GPU"):
        fit.resolve("cuda:2", "auto")
    monkeypatch.setattr(fit, "gpus", lambda: [])
    monkeypatch.setattr(fit, "has_mps", lambda: False)
    assert fit.resolve("auto", "auto") == fit.Placement("cpu", "float32")


# --- through the command line: one line, exit 2, nothing written ------------------------------------
def files_under(root):
    return sorted(p for p in root.rglob("*") if p.is_file())


@pytest.mark.parametrize("members, flags, message", [
    ([{"name": "a", "pth": "/x"}], [], "unknown field 'pth'"),
    ([{"name": "a", "path": "/x", "gguf": "/y"}], [], "exactly one source"),
    ([{"name": "a", "path": "nowhere"}], [], "does not exist"),
    ([{"name": "a", "path": "pickled"}], [], "never unpickles"),
    ([{"name": "a", "hf": "Org/Uncached"}], [], "hf download Org/Uncached"),
    ([{"name": "a", "path": "ok", "trust_remote_code": True}], [], "--trust-remote-code"),
    ([{"name": "a", "path": "big"}], ["--device", "cpu"], "--dtype bfloat16"),
    ([{"name": "a", "path": "ok"}, {"name": "a", "path": "ok"}], [], "two members are named 'a'"),
])
@pytest.mark.parametrize("command", ["evaluate", "select", "compare"])
def test_bad_members_are_refused_before_any_work(tmp_path, monkeypatch, members, flags, message, command):
    monkeypatch.setenv("HF_HOME", str(tmp_path / "hf"))
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setattr(fit, "cpu_available", lambda: 6 * 2**30)  # 2B: 9.4 GiB in float32, 5.0 in bfloat16
    hf_folder(tmp_path / "ok")
    hf_folder(tmp_path / "pickled", pickled=True)
    hf_folder(tmp_path / "big", params=2 * 10**9)
    path = write(tmp_path, members)
    before = files_under(tmp_path / "_env")
    args = [command, "--zoo", str(path), "--task", "arc_easy", *flags]
    r = runner.invoke(app, args + (["--budget", "10"] if command == "select" else []))
    assert r.exit_code == 2, r.output
    errors = [x for x in r.output.splitlines() if x.startswith("error:")]
    assert len(errors) == 1 and message in errors[0], r.output
    assert files_under(tmp_path / "_env") == before


def test_zoo_create_add_remove_show_and_list(tmp_path):
    hf_folder(tmp_path / "ok")
    r = runner.invoke(app, ["zoo", "create", "mine", "-m", f"name=a,path={tmp_path / 'ok'}",
                            "-m", "name=served,endpoint=http://h:1/v1,model=m"])
    assert r.exit_code == 0, r.output
    r = runner.invoke(app, ["zoo", "add-member", "mine", "-m", f"name=b,path={tmp_path / 'ok'},dtype=bfloat16"])
    assert r.exit_code == 0, r.output
    shown = yaml.safe_load(runner.invoke(app, ["zoo", "show", "mine"]).stdout)
    assert [m["name"] for m in shown["members"]] == ["a", "served", "b"] and shown["members"][2]["dtype"] == "bfloat16"
    assert runner.invoke(app, ["zoo", "remove-member", "mine", "served"]).exit_code == 0
    listed = json.loads(runner.invoke(app, ["zoo", "list", "--zoos", "--format", "json"]).stdout)
    assert {"zoo": "mine", "kind": "yours", "members": "2"}.items() <= next(z for z in listed if z["zoo"] == "mine").items()
    assert {"local", "multisource", "mmlu-pro"} <= {z["zoo"] for z in listed}
    shipped = yaml.safe_load(runner.invoke(app, ["zoo", "show", "multisource"]).stdout)
    assert "pypi" in shipped["members"][0] and "adapter" in shipped["members"][-1]
    for args, message in [(["zoo", "create", "mine", "-m", "name=c,path=/x"], "exists"),
                          (["zoo", "create", "local", "-m", "name=c,path=/x"], "shipped zoo's name"),
                          (["zoo", "create", "../up", "-m", "name=c,path=/x"], "cannot name a zoo"),
                          (["zoo", "add-member", "mine", "-m", "name=a,path=/x"], "two members are named 'a'"),
                          (["zoo", "remove-member", "mine", "zz"], "unknown member of zoo 'mine'"),
                          (["zoo", "show", "nope"], "unknown zoo 'nope'")]:
        before = files_under(tmp_path / "_env")
        r = runner.invoke(app, args)
        assert r.exit_code == 2 and message in r.output, (args, r.output)
        assert files_under(tmp_path / "_env") == before


def test_a_missing_or_malformed_zoo_file_is_one_line(tmp_path):
    (tmp_path / "bad.yaml").write_text("members: [\n")
    (tmp_path / "typed.yaml").write_text("members:\n - name: a\n   path: /x\n   params_b: large\n")
    for name, message in [(str(tmp_path / "nope.yaml"), "no such zoo file"),
                          (str(tmp_path / "bad.yaml"), "bad.yaml:2: not valid YAML"),
                          (str(tmp_path / "typed.yaml"), "a field has the wrong type"),
                          ("no-such-zoo", "unknown zoo 'no-such-zoo'")]:
        with pytest.raises(SpiderError, match=re.escape(message)):
            load_any(name)
    r = runner.invoke(app, ["select", "--zoo", str(tmp_path / "nope.yaml"), "--task", "arc_easy"])
    assert r.exit_code == 2 and "no such zoo file" in r.output  # not taken for a recorded zoo's name
