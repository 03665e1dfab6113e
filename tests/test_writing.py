"""The one way outputs are written (llm_spider/writing.py): each promise against what is on disk."""

from __future__ import annotations

import os
import stat
import threading

import pytest

from llm_spider.errors import SpiderError
from llm_spider.writing import check_output, replaced_dir, write_output


def leftovers(folder) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if p.name.startswith("."))


def test_a_regular_file_is_replaced_whole_and_keeps_its_mode(tmp_path):
    out = tmp_path / "r.html"
    out.write_text("old")
    out.chmod(0o640)
    write_output(check_output(out), "new")
    assert out.read_text() == "new" and stat.S_IMODE(out.stat().st_mode) == 0o640
    assert leftovers(tmp_path) == []


def test_a_failed_write_leaves_the_old_file_and_no_temporary_file(tmp_path):
    out = tmp_path / "r.html"
    out.write_text("old")

    def broken(path):
        path.write_text("half")
        raise KeyboardInterrupt  # a Ctrl-C mid-write

    with pytest.raises(KeyboardInterrupt):
        write_output(out, broken)
    assert out.read_text() == "old" and leftovers(tmp_path) == []


def test_a_symlink_is_written_through_to_its_target(tmp_path):
    target = tmp_path / "real" / "r.html"
    target.parent.mkdir()
    target.write_text("old")
    link = tmp_path / "link.html"
    link.symlink_to(target)
    write_output(check_output(link), "new")
    assert link.is_symlink() and os.readlink(link) == str(target) and target.read_text() == "new"
    dangling = tmp_path / "dangling.html"
    dangling.symlink_to(tmp_path / "real" / "new.html")
    write_output(check_output(dangling), "made")
    assert dangling.is_symlink() and (tmp_path / "real" / "new.html").read_text() == "made"


def test_a_directory_a_missing_folder_and_an_unwritable_one_are_refused_before_any_work(tmp_path):
    with pytest.raises(SpiderError, match="is a directory") as exc:
        check_output(tmp_path)
    assert "\n" not in str(exc.value)
    with pytest.raises(SpiderError, match="does not exist"):
        check_output(tmp_path / "missing" / "r.html")
    assert not (tmp_path / "missing").exists()
    with pytest.raises(SpiderError, match="is a directory"):
        write_output(tmp_path, "x")
    made = check_output(tmp_path / "new" / "deep" / "r.json", create_folder=True)
    assert made.parent.is_dir() and not made.exists()
    if os.geteuid() != 0:  # root writes anywhere
        ro = tmp_path / "ro"
        ro.mkdir(mode=0o500)
        with pytest.raises(SpiderError, match="cannot write"):
            check_output(ro / "r.html")


def test_a_fifo_and_dev_null_are_written_as_streams_never_replaced(tmp_path):
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    got: list[bytes] = []
    reader = threading.Thread(target=lambda: got.append(open(fifo, "rb").read()))
    reader.start()
    write_output(check_output(fifo), "through the pipe")
    reader.join(10)
    assert got == [b"through the pipe"] and stat.S_ISFIFO(os.stat(fifo).st_mode)
    write_output(check_output("/dev/null"), "nothing")
    assert stat.S_ISCHR(os.stat("/dev/null").st_mode)
    assert leftovers(tmp_path) == []


def test_a_write_error_is_one_line_naming_the_users_path(tmp_path):
    if not os.path.exists("/dev/full"):
        pytest.skip("no /dev/full here")
    with pytest.raises(SpiderError) as exc:
        write_output("/dev/full", "x" * 100_000)
    assert str(exc.value).startswith("cannot write the output to /dev/full") and "\n" not in str(exc.value)
    assert stat.S_ISCHR(os.stat("/dev/full").st_mode)


def test_a_folder_is_swapped_in_only_when_complete(tmp_path):
    target = tmp_path / "zoo"
    with replaced_dir(target) as tmp:
        (tmp / "a").write_text("1")
    assert (target / "a").read_text() == "1"
    with pytest.raises(RuntimeError):
        with replaced_dir(target) as tmp:
            (tmp / "b").write_text("2")
            raise RuntimeError("killed half way")
    assert sorted(p.name for p in target.iterdir()) == ["a"] and leftovers(tmp_path) == []
    with replaced_dir(target) as tmp:
        (tmp / "c").write_text("3")
    assert sorted(p.name for p in target.iterdir()) == ["c"] and leftovers(tmp_path) == []
