"""Extracting a zip archive without letting it write anywhere but the target directory.

Every member is checked before anything is written; one unsafe member refuses the whole archive:
absolute paths (``/x``, ``\\x``, ``C:x``), ``..`` components (with ``/`` or ``\\`` separators),
symbolic links and other special files (from the Unix mode bits), NUL bytes in names. Each output
path is also resolved and must lie inside the target directory, and files are opened with ``x``
(create, never overwrite or follow an existing link).
"""
from __future__ import annotations

import re
import shutil
import stat
import zipfile
from pathlib import Path
from typing import Callable

from .base import DatasetError

_SEPARATORS = re.compile(r"[\\/]+")


def unsafe_reason(info: zipfile.ZipInfo) -> str | None:
    """Why this member must not be extracted, or None if it is safe."""
    name = info.filename
    if not name:
        return "empty name"
    if "\x00" in name:
        return "NUL byte in name"
    if name.startswith(("/", "\\")) or re.match(r"^[A-Za-z]:", name):
        return "absolute path"
    if ".." in _SEPARATORS.split(name):
        return "'..' path component"
    kind = stat.S_IFMT(info.external_attr >> 16)
    if kind == stat.S_IFLNK:
        return "symbolic link"
    if kind not in (0, stat.S_IFREG, stat.S_IFDIR):
        return "special file"
    return None


def safe_extract_zip(archive: Path, target: Path,
                     select: Callable[[str], str | None] | None = None) -> list[Path]:
    """Extract the members of ``archive`` into the existing directory ``target``.

    ``select(member_name)`` returns the relative output path for a member, or None to skip it
    (default: keep every file at its own path). Returns the written files, in archive order.
    Raises DatasetError (and writes nothing) for an unsafe archive; an archive found corrupt while
    extracting raises DatasetError too, leaving the already written files for the caller to remove.
    """
    try:
        zf = zipfile.ZipFile(archive)
    except (zipfile.BadZipFile, OSError) as exc:
        raise DatasetError(f"{archive}: not a readable zip archive: {exc}") from None
    root = target.resolve()
    written: list[Path] = []
    with zf:
        members = zf.infolist()
        unsafe = [f"{m.filename!r} ({reason})" for m in members if (reason := unsafe_reason(m))]
        if unsafe:
            raise DatasetError(f"{archive}: refusing to extract an archive with unsafe members: "
                               + ", ".join(unsafe))
        plan: list[tuple[zipfile.ZipInfo, Path]] = []
        taken: set[Path] = set()
        for member in members:
            if member.is_dir():
                continue
            relative = select(member.filename) if select else member.filename
            if relative is None:
                continue
            out = (root / relative).resolve()
            if not out.is_relative_to(root) or out == root:
                raise DatasetError(f"{archive}: refusing to extract {member.filename!r}: "
                                   f"it would be written outside {target}")
            if out in taken:
                raise DatasetError(f"{archive}: two members would both be extracted to {relative!r}")
            taken.add(out)
            plan.append((member, out))
        try:
            for member, out in plan:
                out.parent.mkdir(parents=True, exist_ok=True)
                with zf.open(member) as src, open(out, "xb") as dst:
                    shutil.copyfileobj(src, dst, 1 << 20)
                written.append(out)
        except (zipfile.BadZipFile, OSError, EOFError) as exc:
            raise DatasetError(f"{archive}: extraction failed at {member.filename!r}: {exc}") from None
    return written
