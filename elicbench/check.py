"""`elicbench check`: re-run what a baseline run recorded and fail on regressions.

The baseline is an ordinary run directory (results.csv + manifest.json). We re-run exactly its
images (checked by SHA-256), codecs, settings and qualities, then compare row by row:

- bytes: exact for codecs that declare themselves deterministic (same input, settings and
  library versions give the same file: jpeg, webp, avif, jpeg2000, elic on the same numerics);
  within ``bytes_rel`` (relative) for the others;
- PSNR within ``psnr_db``, MS-SSIM within ``ms_ssim`` (absolute);
- per codec, the BD-rate of the new mean curve against the baseline's within ``bdrate_pct``.

Library versions that differ from the baseline's manifest are reported first: they are the
usual reason for a changed file. A missing or failed row is a regression. ``update=True``
replaces the baseline with the new run, on purpose.
"""
from __future__ import annotations

import math
import shutil
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .results import MANIFEST_FILE, RESULTS_FILE, SUMMARY_FILE, ResultsFileError, load_results


class CheckError(Exception):
    """The baseline cannot be used (missing files, changed images): exit code 2."""


@dataclass(frozen=True)
class Tolerances:
    bytes_rel: float = 0.01        # non-deterministic codecs only
    psnr_db: float = 0.01
    ms_ssim: float = 1e-4
    bdrate_pct: float = 0.5

    @classmethod
    def from_args(cls, **given: float | None) -> "Tolerances":
        return cls(**{k: v for k, v in given.items() if v is not None})


@dataclass
class CheckResult:
    passed: bool
    text: str
    regressions: list[dict[str, Any]] = field(default_factory=list)
    version_changes: list[str] = field(default_factory=list)
    new_run: Path | None = None
    wall_s: float = 0.0


def _replayed_settings(info: dict[str, Any]) -> dict[str, Any]:
    """The settings the user chose for the baseline (its label's); everything else takes today's
    defaults, so a changed default shows up as changed output rather than being replayed away.
    Machine-local settings (model paths) are never replayed."""
    return dict(info.get("changed_settings", {}))


def _version_changes(old: dict[str, Any], new: dict[str, Any]) -> list[str]:
    changes = []
    for label, info in old.get("codecs", {}).items():
        now = new.get("codecs", {}).get(label, {})
        for lib, v in info.get("versions", {}).items():
            w = now.get("versions", {}).get(lib)
            if w != v:
                changes.append(f"{label}: {lib} {v} -> {w}")
    for pkg, v in old.get("packages", {}).items():
        w = new.get("packages", {}).get(pkg)
        if w != v:
            changes.append(f"package {pkg} {v} -> {w}")
    old_tf = old.get("tensorflow_settings", {}).get("env", {})
    new_tf = new.get("tensorflow_settings", {}).get("env", {})
    if old_tf != new_tf:
        changes.append(f"TensorFlow environment {old_tf} -> {new_tf}")
    return changes


def _replay_dataset(manifest: dict[str, Any], image_names: list[str]):
    """The baseline's images, found again by dataset name and verified by SHA-256."""
    from .datasets import file_sha256, resolve_dataset
    from .datasets.base import Dataset

    info = manifest.get("dataset") or {}
    name = info.get("name")
    if not name:
        raise CheckError("baseline manifest.json records no dataset")
    dataset = resolve_dataset(name, progress=False)
    by_name = {ref.name: ref for ref in dataset.images}
    missing = [n for n in image_names if n not in by_name]
    if missing:
        raise CheckError(f"baseline images not found in dataset {name!r}: {', '.join(missing)}")
    hashes = {im["name"]: im.get("sha256") for im in info.get("images", [])}
    changed = [n for n in image_names if hashes.get(n) and file_sha256(by_name[n].path) != hashes[n]]
    if changed:
        raise CheckError(f"images differ from the baseline's (SHA-256): {', '.join(changed)}")
    return Dataset(dataset.name, [by_name[n] for n in image_names], dataset.source, dataset.root, dataset.info)


def _fmt(v: float, spec: str) -> str:
    return "-" if v is None or (isinstance(v, float) and math.isnan(v)) else format(v, spec)


def compare(baseline, new, deterministic: dict[str, bool], tol: Tolerances) -> list[dict[str, Any]]:
    """Row-by-row regressions between two results DataFrames (keyed by image, codec, quality)."""
    keys = ["image", "codec", "quality"]
    merged = baseline.merge(new, on=keys, how="left", suffixes=("_base", "_new"), indicator=True)
    out = []
    for r in merged.to_dict("records"):
        problems = []
        if r["_merge"] != "both":
            problems.append("missing in the new run")
        elif r.get("error_new"):
            problems.append(f"failed: {r['error_new']}")
        elif r.get("error_base"):
            continue  # failed in the baseline too: nothing to compare
        else:
            b0, b1 = r["bytes_base"], r["bytes_new"]
            if deterministic.get(r["codec"], False):
                if b0 != b1:
                    problems.append("bytes changed (deterministic codec)")
            elif abs(b1 - b0) > tol.bytes_rel * b0:
                problems.append(f"bytes changed by more than {tol.bytes_rel:.1%}")
            for col, t, unit in (("psnr", tol.psnr_db, "dB"), ("ms_ssim", tol.ms_ssim, "")):
                x0, x1 = r[f"{col}_base"], r[f"{col}_new"]
                if math.isinf(x0) and math.isinf(x1) or (math.isnan(x0) and math.isnan(x1)):
                    continue
                if not abs(x1 - x0) <= t:
                    problems.append(f"{col} moved by {x1 - x0:+.4g}{unit}")
        if problems:
            out.append({"image": r["image"], "codec": r["codec"], "quality": r["quality"],
                        "bytes_base": r.get("bytes_base"), "bytes_new": r.get("bytes_new"),
                        "psnr_base": r.get("psnr_base"), "psnr_new": r.get("psnr_new"),
                        "problem": "; ".join(problems)})
    return out


def curve_changes(baseline, new, tol: Tolerances) -> list[dict[str, Any]]:
    """Per codec: BD-rate (PSNR, pchip) of the new mean curve against the baseline's."""
    from .analysis.bdrate import bd_rate
    from .analysis.curves import rd_curves

    old_c, new_c = rd_curves(baseline, "psnr"), rd_curves(new, "psnr")
    out = []
    for label, c0 in old_c.items():
        c1 = new_c.get(label)
        if c1 is None or len(c0) < 2:
            continue
        res = bd_rate(c0, c1, method="pchip")
        value = res.value
        status = "ok"
        if math.isnan(value):
            status = "n/a" if len(c0) < 4 else f"fail ({res.reason})"
        elif abs(value) > tol.bdrate_pct:
            status = "fail"
        out.append({"codec": label, "bd_rate_pct": value, "status": status})
    return out


def check_baseline(baseline_dir: Path, *, tolerances: Tolerances = Tolerances(), update: bool = False,
                   out: Path | None = None, jobs: int | None = None, elic_models: str | None = None,
                   progress: bool = True) -> CheckResult:
    from .manifest import read_manifest
    from .runner import prepare_codec, run_planned

    t0 = time.monotonic()
    baseline_dir = Path(baseline_dir)
    for f in (RESULTS_FILE, MANIFEST_FILE):
        if not (baseline_dir / f).exists():
            raise CheckError(f"{baseline_dir} is not a run directory: {f} is missing")
    base_manifest = read_manifest(baseline_dir / MANIFEST_FILE)
    try:
        base = load_results(baseline_dir / RESULTS_FILE)
    except ResultsFileError as exc:
        raise CheckError(f"baseline unusable: {exc}") from None
    if base["target_bpp"].notna().any():
        raise CheckError("rate-matched runs (--target-bpp) cannot be used as a baseline")
    images = list(dict.fromkeys(base["image"]))
    dataset = _replay_dataset(base_manifest, images)

    codecs = []
    setting_changes = []
    relabel = {}
    for label, info in base_manifest.get("codecs", {}).items():
        settings = _replayed_settings(info)
        if info["name"] == "elic" and elic_models:
            settings["models"] = elic_models
        qualities = sorted(set(base.loc[base["codec"] == label, "quality"]))
        spec, codec, qs = prepare_codec(info["name"], settings, qualities)
        relabel[codec.label] = label
        if "settings_text" in info and codec.settings_text != info["settings_text"]:
            setting_changes.append(f"{label}: settings {info['settings_text']} -> {codec.settings_text}")
        codecs.append((spec, codec, qs))

    tmp = None
    if out is None:
        tmp = Path(tempfile.mkdtemp(prefix="elicbench-check-"))
        out = tmp / "run"
    outcome = run_planned(dataset, codecs, Path(out), jobs=jobs, progress=progress,
                          command=["elicbench", "check", "--baseline", str(baseline_dir)])
    new_manifest = read_manifest(Path(out) / MANIFEST_FILE)
    new = load_results(Path(out) / RESULTS_FILE)
    new["codec"] = new["codec"].map(lambda c: relabel.get(c, c))  # compare under the baseline's labels

    deterministic = {label: bool(info.get("deterministic")) for label, info in base_manifest["codecs"].items()}
    rows = compare(base, new, deterministic, tolerances)
    curves = curve_changes(base, new, tolerances)
    versions = setting_changes + _version_changes(base_manifest, new_manifest)
    failed_curves = [c for c in curves if c["status"].startswith("fail")]
    passed = not rows and not failed_curves

    lines = []
    if versions:
        lines.append("Codec settings or library versions differ from the baseline's (a likely cause of changes):")
        lines += [f"  {v}" for v in versions]
        lines.append("")
    lines.append(f"Baseline {baseline_dir}: {len(base)} rows, {len(images)} images, codecs "
                 f"{', '.join(deterministic)}; new run {out} in {outcome.wall_s:.1f} s")
    lines.append("")
    lines.append("| codec | BD-rate vs baseline (PSNR) | status |")
    lines.append("|---|---:|---|")
    for c in curves:
        lines.append(f"| {c['codec']} | {_fmt(c['bd_rate_pct'], '+.3f')} % | {c['status']} |")
    lines.append("")
    if rows:
        lines.append(f"{len(rows)} row(s) regressed:")
        lines.append("| image | codec | quality | bytes base -> new | PSNR base -> new | problem |")
        lines.append("|---|---|---:|---|---|---|")
        for r in rows:
            lines.append(f"| {r['image']} | {r['codec']} | {r['quality']:g} | {_fmt(r['bytes_base'], '.0f')} -> "
                         f"{_fmt(r['bytes_new'], '.0f')} | {_fmt(r['psnr_base'], '.3f')} -> "
                         f"{_fmt(r['psnr_new'], '.3f')} | {r['problem']} |")
    lines.append("")
    if passed:
        lines.append("PASS: no regression against the baseline.")
    else:
        lines.append("FAIL: results moved against the baseline (run with --update to accept them on purpose).")
    if update:
        for f in (RESULTS_FILE, SUMMARY_FILE, MANIFEST_FILE):
            shutil.copy2(Path(out) / f, baseline_dir / f)
        lines.append(f"baseline {baseline_dir} updated with the new results.")
        passed = True
    if tmp is not None:
        shutil.rmtree(tmp, ignore_errors=True)
        out = None
    return CheckResult(passed, "\n".join(lines), rows, versions, out, time.monotonic() - t0)
