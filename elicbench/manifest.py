"""manifest.json: what is needed to reproduce and judge a run (CONTRACT.md)."""
from __future__ import annotations

import json
import os
import platform
import subprocess
import sys
from datetime import datetime, timezone
from importlib import metadata
from pathlib import Path
from typing import Any

from . import __version__
from .errors import UserError

#: The manifest's ``format``: it marks a folder as an elicbench run directory (``elicbench.rundir``).
RUN_FORMAT = "elicbench-run"


def now_iso() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


def cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def gpu_names() -> list[str]:
    """GPUs seen by nvidia-smi (no TF import: that costs seconds and is recorded separately)."""
    try:
        out = subprocess.run(["nvidia-smi", "--query-gpu=name", "--format=csv,noheader"],
                             capture_output=True, text=True, timeout=10)
    except (OSError, subprocess.SubprocessError):
        return []
    return [l.strip() for l in out.stdout.splitlines() if l.strip()] if out.returncode == 0 else []


def package_versions(names: tuple[str, ...] = ("numpy", "numba", "scipy", "pillow", "pillow-avif-plugin",
                                               "scikit-image", "pandas", "matplotlib", "tensorflow",
                                               "tensorflow-compression", "tensorflow-probability",
                                               "pillow-jxl-plugin", "pillow-heif", "dask", "distributed")) -> dict[str, str]:
    out = {}
    for n in names:
        try:
            out[n] = metadata.version(n)
        except metadata.PackageNotFoundError:
            pass
    return out


def git_commit() -> str | None:
    """The elicbench source commit when running from a checkout (dirty trees marked)."""
    root = Path(__file__).resolve().parent.parent
    if not (root / ".git").exists():
        return None
    try:
        rev = subprocess.run(["git", "-C", str(root), "rev-parse", "HEAD"], capture_output=True,
                             text=True, timeout=5).stdout.strip()
        dirty = subprocess.run(["git", "-C", str(root), "status", "--porcelain", "--untracked-files=no"],
                               capture_output=True, text=True, timeout=5).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return None
    return (rev + ("-dirty" if dirty else "")) or None


def platform_info() -> dict[str, Any]:
    return {
        "python": sys.version.split()[0],
        "implementation": platform.python_implementation(),
        "os": platform.platform(),
        "machine": platform.machine(),
        "cpu": cpu_model(),
        "cores": os.cpu_count(),
        "gpus": gpu_names(),
    }


def base_manifest(command: list[str] | None = None) -> dict[str, Any]:
    from . import tfenv

    return {
        "format": RUN_FORMAT,  # marks the folder as an elicbench run directory (elicbench.rundir)
        "elicbench_version": __version__,
        "elicbench_commit": git_commit(),
        "command": command if command is not None else list(sys.argv),
        "started": now_iso(),
        "finished": None,
        "status": "running",
        "platform": platform_info(),
        "packages": package_versions(),
        # Recorded even when TF is not used: an ELIC stream decodes only under the same settings.
        "tensorflow_settings": tfenv.settings(),
    }


def write_manifest(path: Path, manifest: dict[str, Any]) -> None:
    """Atomic write: a crash leaves the previous manifest, never half a JSON file."""
    path = Path(path)
    tmp = path.with_suffix(".json.tmp")
    tmp.write_text(json.dumps(manifest, indent=2, sort_keys=False, default=str) + "\n")
    os.replace(tmp, path)


class ManifestError(UserError, ValueError):
    """A manifest.json that cannot be read as one (exit code 2); the message names the file."""


def read_manifest(path: Path) -> dict[str, Any]:
    """A run's manifest.json as a dict; ManifestError (one line) when it is unreadable, not JSON,
    or not a JSON object."""
    path = Path(path)
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise
    except (OSError, UnicodeDecodeError) as exc:
        raise ManifestError(f"{path}: cannot read it ({exc})") from None
    except json.JSONDecodeError as exc:
        raise ManifestError(f"{path}: not valid JSON ({exc}); is it a manifest.json written by elicbench?") from None
    if not isinstance(data, dict):
        raise ManifestError(f"{path}: expected a JSON object, got {type(data).__name__}; "
                            "is it a manifest.json written by elicbench?")
    return data
