"""The one way the tool writes what a user asked for: an output file (``--output``/``-o``/``--plot``)
or a folder it fills and swaps in (an import, a zoo's results).

Promises, each tested (tests/test_writing.py):
- the place is checked before any work (``check_output``): a missing folder, a directory, a place
  that cannot be written is one line, and the work is not done;
- a regular file is written whole or not at all (a temporary file beside it, then a rename), and the
  temporary file is gone after any failure, an interrupt included;
- a symlink is written through to its target, never replaced by a file;
- a device or a FIFO is written as a stream (``/dev/stdout``, ``/dev/null``, a pipe), never replaced;
- a folder is filled aside and swapped in only when complete (``replaced_dir``): a failure or a kill
  leaves the old one as it was.
"""

from __future__ import annotations

import json
import os
import shutil
import stat
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from llm_spider.errors import SpiderError, cannot_write

Content = str | bytes | Callable[[Path], None]  # text, bytes, or a function that writes a file at a path


def _target(path: Path) -> Path:
    """Where writing ``path`` lands: a symlink's final target (which may not exist yet)."""
    path = Path(path).expanduser()
    return Path(os.path.realpath(path)) if path.is_symlink() else path


def check_output(path: Path, what: str = "output", create_folder: bool = False) -> Path:
    """Refuse, before any work, a place ``write_output`` could not write: a directory, a missing or
    unwritable folder. Creates nothing, except the missing folder with ``create_folder`` (an option
    whose help says so). Returns ``path``."""
    path = Path(path).expanduser()
    target = _target(path)
    if create_folder and not target.parent.exists():
        try:
            target.parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise SpiderError(f"cannot write the {what} to {path} ({cannot_write(exc)})") from None
    shown = f"{path}" + (f" (a link to {target})" if target != path else "")
    try:
        st = os.stat(target)
    except FileNotFoundError:
        st = None
    except OSError as exc:
        raise SpiderError(f"cannot write the {what} to {shown} ({cannot_write(exc)})") from None
    if st is not None and stat.S_ISDIR(st.st_mode):
        raise SpiderError(f"cannot write the {what} to {shown}: it is a directory; give a file name")
    if st is not None and not stat.S_ISREG(st.st_mode):  # a device or a FIFO: written as a stream
        if not os.access(target, os.W_OK):
            raise SpiderError(f"cannot write the {what} to {shown}: permission denied")
        return path
    folder = target.parent
    if not folder.is_dir():
        raise SpiderError(f"cannot write the {what} to {shown}: the folder {folder} does not exist"
                          + ("" if folder.exists() else "; create it first"))
    try:
        with tempfile.NamedTemporaryFile(dir=folder, prefix=".write-test-"):
            pass
    except OSError as exc:
        raise SpiderError(f"cannot write the {what} to {shown} ({cannot_write(exc)})") from None
    return path


def write_output(path: Path, content: Content, what: str = "output") -> Path:
    """Write ``content`` to ``path`` as the module's promises say; an OS error is one line naming
    the path. Returns ``path``."""
    path = Path(path).expanduser()
    target = _target(path)
    try:
        st = os.stat(target)
    except OSError:
        st = None
    if st is not None and stat.S_ISDIR(st.st_mode):
        raise SpiderError(f"cannot write the {what} to {path}: it is a directory; give a file name")
    stream = st is not None and not stat.S_ISREG(st.st_mode)  # a device or FIFO: keep the node, stream into it
    tmp: Path | None = None
    try:
        fd, name = tempfile.mkstemp(dir=None if stream else target.parent, prefix=f".{target.name[:80]}.",
                                    suffix=".tmp")
        tmp = Path(name)
        if callable(content):
            os.close(fd)
            content(tmp)
        else:
            with os.fdopen(fd, "wb") as f:
                f.write(content.encode("utf-8") if isinstance(content, str) else content)
                f.flush()
                os.fsync(f.fileno())
        if stream:
            with open(target, "wb") as out, open(tmp, "rb") as src:
                shutil.copyfileobj(src, out)
        else:
            if st is not None:  # keep the file's permissions, as an editor would
                os.chmod(tmp, stat.S_IMODE(st.st_mode))
            else:
                os.chmod(tmp, 0o666 & ~_umask())
            os.replace(tmp, target)
            tmp = None
    except OSError as exc:  # named by the user's path, never by the temporary file's
        raise SpiderError(f"cannot write the {what} to {path} ({exc.strerror or exc})") from None
    finally:
        if tmp is not None:
            tmp.unlink(missing_ok=True)
    return path


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def json_text(payload, one_per_line: bool = False) -> str:
    """``payload`` as JSON text. ``one_per_line``: a list of flat records written one compact item a
    line, floats to 6 significant digits (large record files stay small and still diff line by line)."""
    if one_per_line:
        short = ({k: float(f"{v:.6g}") if isinstance(v, float) else v for k, v in item.items()} for item in payload)
        return "[\n" + ",\n".join(json.dumps(item, separators=(",", ":")) for item in short) + "\n]\n"
    return json.dumps(payload, indent=2) + "\n"


def write_json_atomic(path: Path, payload, one_per_line: bool = False, what: str = "records") -> Path:
    """JSON to ``path`` through ``write_output`` (whole or nothing); the folder is made if missing,
    for library callers and benchmarks (the CLI checks its ``--output`` before the work)."""
    target = _target(Path(path))
    target.parent.mkdir(parents=True, exist_ok=True)
    return write_output(path, json_text(payload, one_per_line), what)


def write_cache(path: Path, text: Content, what: str) -> None:
    """A cache entry written as an output is (whole or not at all); one that cannot be written is a
    note, not an error: the next run computes it again."""
    import warnings

    from llm_spider.errors import SpiderWarning

    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        write_output(path, text, what)
    except (OSError, SpiderError) as exc:
        reason = exc if isinstance(exc, SpiderError) else cannot_write(exc)
        warnings.warn(SpiderWarning(f"the {what} is not written ({reason}); it is computed again next time"))


def ensure_writable(folder: Path, what: str) -> None:
    """Refuse, before any work, a folder that cannot be written (a file in its place, a read-only
    disk): a training or a fit must not be lost at the end because its output cannot be saved.
    Creates nothing."""
    folder = _target(Path(folder))
    existing = folder
    while not existing.exists() and existing != existing.parent:  # create nothing: find where it would start
        existing = existing.parent
    try:
        if not existing.is_dir():
            raise NotADirectoryError(20, "Not a directory", str(existing))
        with tempfile.NamedTemporaryFile(dir=existing, prefix=".write-test-"):
            pass
    except OSError as exc:
        raise SpiderError(f"cannot write the {what} to {folder} ({cannot_write(exc)}); give another folder "
                          "with --output") from None


@contextmanager
def replaced_dir(target: Path) -> Iterator[Path]:
    """A fresh temporary folder beside ``target`` to fill; when the block ends without an error it
    takes ``target``'s place (the old one removed only then), else it is removed and ``target`` is
    left as it was. A kill mid-way leaves at most a hidden ``.NAME.*.partial`` folder, never a
    half-written ``target``."""
    target = _target(Path(target))
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(dir=target.parent, prefix=f".{target.name}.", suffix=".partial"))
    old: Path | None = None
    try:
        yield tmp
        if target.exists() or target.is_symlink():
            if not target.is_dir():
                raise SpiderError(f"cannot write {target}: a file is in the folder's place")
            old = Path(tempfile.mkdtemp(dir=target.parent, prefix=f".{target.name}.", suffix=".old"))
            os.replace(target, old / "x")
        os.replace(tmp, target)
    except BaseException:
        if old is not None and not target.exists():  # put the old one back
            os.replace(old / "x", target)
        raise
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
        if old is not None:
            shutil.rmtree(old, ignore_errors=True)
