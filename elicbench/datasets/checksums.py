"""SHA-256 of files and ``SHA256SUMS`` lists (the format ``sha256sum`` writes and ``sha256sum -c`` reads)."""
from __future__ import annotations

import hashlib
import os
from importlib import resources
from pathlib import Path

from .base import DatasetError

SUMS_FILE = "SHA256SUMS"


def file_sha256(path: str | os.PathLike) -> str:
    """Hex SHA-256 of a file, read in chunks (never the whole file in memory)."""
    with open(path, "rb") as f:
        return hashlib.file_digest(f, "sha256").hexdigest()


def parse_sha256sums(text: str, origin: str) -> dict[str, str]:
    """``{file name: hex sha256}`` from SHA256SUMS text; ``origin`` names it in error messages."""
    sums: dict[str, str] = {}
    for lineno, line in enumerate(text.splitlines(), 1):
        if not line.strip() or line.startswith("#"):
            continue
        digest, sep, name = line.partition("  ")
        if not sep:  # 'sha256sum --binary' writes ' *name'
            digest, sep, name = line.partition(" *")
        digest = digest.strip().lower()
        if not sep or len(digest) != 64 or any(c not in "0123456789abcdef" for c in digest) or not name:
            raise DatasetError(f"{origin}, line {lineno}: expected '<64 hex digits>  <file name>', got {line!r}")
        sums[name] = digest
    return sums


def read_sha256sums(path: Path) -> dict[str, str]:
    return parse_sha256sums(path.read_text(encoding="utf-8"), str(path))


def shipped_sha256sums(dataset: str) -> dict[str, str]:
    """The SHA-256 list shipped as package data ``elicbench/data/<dataset>/SHA256SUMS``."""
    resource = resources.files("elicbench") / "data" / dataset / SUMS_FILE
    return parse_sha256sums(resource.read_text(encoding="utf-8"), f"elicbench/data/{dataset}/{SUMS_FILE}")


def write_sha256sums(directory: Path, sums: dict[str, str]) -> Path:
    path = directory / SUMS_FILE
    path.write_text("".join(f"{sums[name]}  {name}\n" for name in sorted(sums)), encoding="utf-8")
    return path


def checksum_mismatch_message(what: str, expected: str, got: str) -> str:
    return f"{what}: SHA-256 mismatch: expected {expected}, got {got}"
