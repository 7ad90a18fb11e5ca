"""The run directory as a place: which folders ``--out`` may use, and one run at a time in each.

Recognising a run directory
---------------------------
A folder is an elicbench run directory when it holds a ``manifest.json`` written by elicbench (a
JSON object with the ``format`` key ``"elicbench-run"``; manifests written before that key existed
are recognised by their ``elicbench_version`` key) or a ``results.csv`` whose header has
elicbench's key columns (dataset, image, codec, quality, bpp).

``--out DIR`` may be a folder that does not exist yet (it is created), an empty folder, or a run
directory (continued with ``--resume``; refused without it once it holds results). Anything else
is refused with one line (exit code 2) before anything is written: a non-empty folder that is not
a run directory (its files are the user's, never overwritten), a file, a path below a file, a
path that cannot be created or written.

One run at a time
-----------------
A run holds an exclusive OS lock (``fcntl.flock``) on ``.elicbench.lock`` in its run directory
for its whole life. The lock belongs to the open file, so it ends with the process however the
process ends (kill -9 included): there is never a stale lock to remove by hand. The holder writes
its pid, command line and start time into the file; a second run into the same directory stops
at once (exit code 2) naming the holder, before reading or writing anything else there. Worker
processes forked by the holder close their copy of the lock file, so the lock never outlives it.
Where ``fcntl`` does not exist (Windows) no lock is taken.
"""
from __future__ import annotations

import json
import os
import time
from pathlib import Path
from typing import Any

from .manifest import RUN_FORMAT, now_iso
from .results import MANIFEST_FILE, RESULTS_FILE
from .errors import UserError

LOCK_FILE = ".elicbench.lock"
#: results.csv header columns that identify elicbench's table.
_KEY_COLUMNS = ("dataset", "image", "codec", "quality", "bpp")

try:
    import fcntl
except ImportError:  # Windows
    fcntl = None  # type: ignore[assignment]

#: File descriptors of run-directory locks held by this process (closed in forked workers).
_held_fds: set[int] = set()


class OutDirError(UserError):
    """``--out`` cannot be used as a run directory (exit code 2); the message says why."""


class RunDirBusy(OutDirError):
    """Another run holds the run directory's lock."""


def _our_manifest(path: Path) -> bool:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    return isinstance(data, dict) and (data.get("format") == RUN_FORMAT or "elicbench_version" in data)


def _our_results(path: Path) -> bool:
    try:
        with open(path, encoding="utf-8", newline="") as fh:
            header = fh.readline()
    except (OSError, UnicodeDecodeError):
        return False
    columns = {c.strip() for c in header.strip().split(",")}
    return all(c in columns for c in _KEY_COLUMNS)


def is_run_dir(path: str | os.PathLike) -> bool:
    """Whether ``path`` is a folder elicbench wrote as a run directory (see the module docstring)."""
    path = Path(path)
    return path.is_dir() and (_our_manifest(path / MANIFEST_FILE) or _our_results(path / RESULTS_FILE))


def check_out_dir(path: str | os.PathLike) -> None:
    """Refuse an ``--out`` that is a file, below a file, or a non-empty folder that is not a run
    directory. Writes nothing."""
    path = Path(path)
    for parent in [path, *path.parents]:
        if parent.exists() or parent.is_symlink():
            if not parent.is_dir():
                where = "is a file" if parent == path else f"is below {parent}, which is a file"
                raise OutDirError(f"--out {path} {where}, not a folder; give a new or empty folder "
                                  "(or a run directory with --resume)")
            break
    if not path.is_dir():
        return
    try:
        entries = [p.name for p in path.iterdir() if p.name != LOCK_FILE]
    except OSError as exc:
        raise OutDirError(f"--out {path}: cannot list the folder ({exc.strerror or exc})") from None
    if entries and not is_run_dir(path):
        if (path / LOCK_FILE).exists() and lock_is_held(path / LOCK_FILE):  # a run is just starting there
            raise RunDirBusy(busy_message(path))
        shown = ", ".join(sorted(entries)[:3]) + (", ..." if len(entries) > 3 else "")
        raise OutDirError(f"--out {path} is not empty ({shown}) and is not an elicbench run directory "
                          "(no elicbench manifest.json or results.csv); refusing to write into it: "
                          "give a new or empty folder")


def make_out_dir(path: str | os.PathLike) -> Path:
    """Create ``path`` (and its parents); an OSError becomes one OutDirError line."""
    path = Path(path)
    try:
        path.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise OutDirError(f"--out {path}: cannot create the folder ({exc.strerror or exc})") from None
    return path


class RunDirLock:
    """The exclusive lock of a run directory (see the module docstring). A context manager."""

    def __init__(self, run_dir: str | os.PathLike, command: list[str] | None = None):
        self.run_dir = Path(run_dir)
        self.path = self.run_dir / LOCK_FILE
        self.command = command
        self.fd: int | None = None

    def acquire(self) -> "RunDirLock":
        try:
            fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        except OSError as exc:
            raise OutDirError(f"--out {self.run_dir}: cannot write there ({exc.strerror or exc})") from None
        if fcntl is not None:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except OSError:
                os.close(fd)
                raise RunDirBusy(busy_message(self.run_dir)) from None
        holder = {"pid": os.getpid(), "command": self.command, "started": now_iso()}
        try:
            os.ftruncate(fd, 0)
            os.pwrite(fd, (json.dumps(holder) + "\n").encode(), 0)
        except OSError as exc:
            os.close(fd)
            raise OutDirError(f"--out {self.run_dir}: cannot write there ({exc.strerror or exc})") from None
        self.fd = fd
        _held_fds.add(fd)
        return self

    def release(self) -> None:
        if self.fd is None:
            return
        fd, self.fd = self.fd, None
        _held_fds.discard(fd)
        try:
            os.ftruncate(fd, 0)  # still ours: say nobody holds it (the file stays; see docstring)
        except OSError:
            pass
        os.close(fd)  # closing the last descriptor releases the flock

    def __enter__(self) -> "RunDirLock":
        return self.acquire() if self.fd is None else self

    def __exit__(self, *exc: object) -> None:
        self.release()


def busy_message(run_dir: Path) -> str:
    return (f"{run_dir} is in use by another elicbench run ({holder_text(Path(run_dir) / LOCK_FILE)}); "
            "wait for it to end, or choose another --out")


def lock_is_held(lock_path: Path) -> bool:
    """Whether some process holds the lock (probed read-only, released at once)."""
    if fcntl is None:
        return False
    try:
        fd = os.open(lock_path, os.O_RDONLY)
    except OSError:
        return False
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        return True
    finally:
        os.close(fd)
    return False


def holder_text(lock_path: Path, wait_s: float = 1.0) -> str:
    """'pid 123, started ..., command: ...' from a lock file (its holder may still be writing it)."""
    deadline = time.monotonic() + wait_s
    info: Any = None
    while True:
        try:
            info = json.loads(Path(lock_path).read_text(encoding="utf-8") or "null")
        except (OSError, ValueError):
            info = None
        if isinstance(info, dict) or time.monotonic() >= deadline:
            break
        time.sleep(0.05)
    if not isinstance(info, dict):
        return "holder not recorded yet"
    command = info.get("command")
    command = " ".join(map(str, command)) if isinstance(command, list) else str(command or "?")
    command = " ".join(command.split())  # one line
    return f"pid {info.get('pid', '?')}, started {info.get('started', '?')}, command: {command}"


def close_inherited_locks() -> None:
    """In a forked worker: close the copies of the parent's lock descriptors (the lock stays the
    parent's, and ends with it, not with the last worker)."""
    for fd in list(_held_fds):
        try:
            os.close(fd)
        except OSError:
            pass
    _held_fds.clear()
