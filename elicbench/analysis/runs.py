"""Reading run directories (results.csv + manifest.json) for reports and plots.

Only ``results.csv`` is required: curves are recomputed from it, so a run killed before it wrote
``summary.csv`` or ``manifest.json`` can still be reported on (the manifest is then empty).
"""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable

from ..results import MANIFEST_FILE, RESULTS_FILE, ResultsFileError, load_results
from ..errors import UserError


class RunDirError(UserError):
    """A path given as a run directory is not one (or holds an unreadable results.csv)."""


@dataclass
class Run:
    """One run directory: its results table and manifest (``{}`` when the file is missing)."""

    path: Path
    results: "pandas.DataFrame"
    manifest: dict[str, Any] = field(default_factory=dict)

    @property
    def name(self) -> str:
        return self.path.name

    @property
    def datasets(self) -> list[str]:
        return sorted(self.results["dataset"].dropna().unique())

    @property
    def codecs(self) -> list[str]:
        return sorted(self.results["codec"].dropna().unique())


def load_run(path: str | Path) -> Run:
    """Load a run directory. Raises RunDirError when there is no results.csv in it."""
    path = Path(path)
    results_path = path / RESULTS_FILE
    if not results_path.is_file():
        raise RunDirError(f"{path} is not a run directory: it has no {RESULTS_FILE} (make one with `elicbench run`)")
    try:
        results = load_results(results_path)
    except ResultsFileError as exc:
        raise RunDirError(str(exc)) from None
    manifest: dict[str, Any] = {}
    manifest_path = path / MANIFEST_FILE
    if manifest_path.is_file():
        try:
            manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
        except (json.JSONDecodeError, UnicodeDecodeError) as exc:
            raise RunDirError(f"{manifest_path}: not valid JSON ({exc})") from None
        if not isinstance(manifest, dict):
            raise RunDirError(f"{manifest_path}: expected a JSON object at the top level")
    return Run(path=path, results=results, manifest=manifest)


def find_runs(paths: Iterable[str | Path]) -> list[Run]:
    """Every run directory at or below the given paths, each once, in path order.

    A path may be a run directory or any directory containing run directories (searched
    recursively; directories without results.csv are skipped). A path that does not exist, or
    under which no run is found, is an error: a typo should not produce an empty report.
    """
    found: list[Path] = []
    seen: set[Path] = set()
    for given in paths:
        root = Path(given)
        if not root.exists():
            raise RunDirError(f"{root}: no such file or directory")
        if root.is_file():
            if root.name == RESULTS_FILE:
                root = root.parent
            else:
                raise RunDirError(f"{root}: expected a run directory (or a directory of run directories), got a file")
        candidates = sorted({p.parent for p in root.rglob(RESULTS_FILE)})
        if not candidates:
            raise RunDirError(f"{root}: no run directory (with a {RESULTS_FILE}) found here or below")
        for run_dir in candidates:
            key = run_dir.resolve()
            if key not in seen:
                seen.add(key)
                found.append(run_dir)
    return [load_run(p) for p in found]


DEMO_SOURCE = "demo weights"  # what the elic codec records as its models_source for the bundled weights
#: What a reader is told wherever results of the demo weights appear (after their name).
DEMO_NOTE = ("the bundled demo ELIC models (tiny preset, trained for about three hours on a 2-core CPU; "
             "elicbench/data/elic-demo/MODEL_CARD.md), far below ELIC as published: never report them as ELIC "
             "results; train models (`elicbench train`) and pass --elic-models DIR")


def is_demo_name(name: str) -> bool:
    """Whether a series name (``series_name``, perhaps with its run added: 'elic (demo weights) (run-a)')
    is that of demo-weight results."""
    return f"({DEMO_SOURCE})" in name


def series_name(label: str, described: dict[str, Any] | None) -> str:
    """The name a reader sees for a codec's results: the ``display_name`` its run recorded (e.g.
    ``elic (demo weights)``), else the label. Runs written before display names were recorded
    still name the demo weights as such."""
    described = described or {}
    name = described.get("display_name")
    if isinstance(name, str) and name:
        return name
    if described.get("models_source") == DEMO_SOURCE:
        return f"{label} ({DEMO_SOURCE})"
    return label


def combined_results(runs: Iterable[Run]) -> "pandas.DataFrame":
    """All runs' results in one table, with a ``run`` column (the run directory),
    ``codec_label`` (the codec label as the run wrote it, the key of its manifest's ``codecs``),
    ``plot_colour`` (the colour the codec asked for, or None) and ``codec`` set to the name a
    reader sees (``series_name``: demo weights are always named as such).

    When the same codec label appears for the same dataset in more than one run (two JPEG runs
    with different library versions, say), each is renamed ``label (run-dir-name)`` so their
    curves are kept apart rather than averaged together.
    """
    import pandas as pd

    runs = list(runs)
    frames = []
    for run in runs:
        df = run.results.copy()
        df["run"] = str(run.path)
        described = run.manifest.get("codecs") if isinstance(run.manifest.get("codecs"), dict) else {}
        df["codec_label"] = df["codec"]  # the label as its run wrote it (its manifest's key)
        df["codec"] = [series_name(c, described.get(c)) for c in df["codec"]]
        df["plot_colour"] = [(described.get(c) or {}).get("plot_colour") for c in df["codec_label"]]
        frames.append(df)
    if not frames:
        raise RunDirError("no runs given")
    df = pd.concat(frames, ignore_index=True)
    owners = df.groupby(["dataset", "codec"])["run"].nunique()
    clashing = {key for key, n in owners.items() if n > 1}
    if clashing:
        names = {str(r.path): r.name for r in runs}
        clash = [(d, c) in clashing for d, c in zip(df["dataset"], df["codec"])]
        df.loc[clash, "codec"] = [f"{c} ({names[r]})" for c, r in zip(df.loc[clash, "codec"], df.loc[clash, "run"])]
    return df
