"""`elicbench check`: re-run what a baseline run recorded and fail on regressions.

The baseline is an ordinary run directory (results.csv + manifest.json). We re-run exactly its
images (checked by SHA-256), codecs, settings and qualities, then compare row by row:

- bytes: exact for codecs that declare themselves deterministic (same input, settings and
  library versions give the same file: jpeg, webp, avif, jpeg2000, elic on the same numerics);
  within ``bytes_rel`` (relative) for the others;
- PSNR within ``psnr_db``, MS-SSIM within ``ms_ssim`` (absolute);
- per codec, the BD-rate of the new mean curve against the baseline's within ``bdrate_pct``.

Every move beyond these limits fails the gate (bit-exactness is the point for deterministic codecs),
and the diff says what moved and which way: ``bytes -3.1 % (smaller)``, ``PSNR -0.05 dB (worse)``.
A row with a worse move (larger file, lower PSNR or MS-SSIM, missing or failed) is *regressed*; a row
whose moves are all improvements is *changed*. Likewise a codec's curve is regressed when its BD-rate
rose and changed when it fell.

Rows that failed in the baseline are not compared: when they fail again they are listed apart
("still failing", not a regression), and when they now succeed they are listed as fixed; neither
fails the gate. A baseline whose manifest records no SHA-256 for some images (hand-made, or an image
unreadable then) is still checked, with a warning naming those images at the top of the output and
beside PASS/FAIL: their files could not be verified as the baseline's (``--update`` records the
hashes). A manifest.json that is not a JSON object of the expected shape is a CheckError (exit 2).

Library versions that differ from the baseline's manifest are reported first: they are the
usual reason for a changed file. ``update=True`` replaces the baseline with the new run, on purpose.
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
from .errors import UserError


class CheckError(UserError):
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
    rows: list[dict[str, Any]] = field(default_factory=list)       # every row that moved (see compare)
    version_changes: list[str] = field(default_factory=list)
    new_run: Path | None = None
    wall_s: float = 0.0
    curves: list[dict[str, Any]] = field(default_factory=list)     # see curve_changes
    still_failing: list[dict[str, Any]] = field(default_factory=list)  # failed in both runs (see failed_in_baseline)
    fixed: list[dict[str, Any]] = field(default_factory=list)          # failed in the baseline, succeed now
    unverified_images: list[str] = field(default_factory=list)     # no SHA-256 in the baseline's manifest

    @property
    def regressions(self) -> list[dict[str, Any]]:
        """The rows that moved the worse way (or are missing / failed)."""
        return [r for r in self.rows if r["verdict"] == REGRESSED]

    @property
    def changes(self) -> list[dict[str, Any]]:
        """The rows that moved, but only the better way (they fail the gate all the same)."""
        return [r for r in self.rows if r["verdict"] == CHANGED]


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


#: Rate-point facts that belong to one machine (a model's path), never compared.
_MACHINE_LOCAL_FACTS = ("path",)


def _point_text(quality: str, facts: dict[str, Any]) -> str:
    ident = facts.get("model_id")
    return f"{quality} ({str(ident)[:12]})" if ident else quality


def _rate_point_changes(label: str, recorded: dict[str, dict[str, Any]], codec) -> list[str]:
    """What differs between the rate points the baseline recorded (``Codec.quality_info``, e.g. an
    ELIC model id per λ) and the same qualities of the codec now: the likely cause of changed rows."""
    changes = []
    for quality, old in recorded.items():
        new = codec.quality_info(float(quality))
        for key in sorted((set(old) | set(new)) - set(_MACHINE_LOCAL_FACTS)):
            if old.get(key) != new.get(key):
                changes.append(f"{label}: rate point {quality}: {key} {old.get(key)} -> {new.get(key)}")
    return changes


def _rate_points_gone(label: str, recorded: dict[str, dict[str, Any]], codec, now: list[float],
                      manifest: dict[str, Any], exc: Exception) -> str:
    from .codecs import format_quality

    was = ", ".join(_point_text(q, f) for q, f in recorded.items())
    is_now = ", ".join(_point_text(format_quality(q), codec.quality_info(q)) for q in now)
    command = " ".join(manifest.get("command") or []) or "elicbench run ... --out BASELINE_DIR"
    return (f"{label}: the baseline ran rate points this codec no longer has ({exc}). Recorded: {was}; "
            f"now: {is_now}. Its models changed since the baseline was recorded; --update cannot replay "
            f"qualities that are gone. If the change is on purpose, record a new baseline (the baseline's "
            f"command was: {command}), else point at the old models with -o {codec.name}.models=DIR.")


def _check_manifest_shape(manifest: dict[str, Any]) -> None:
    """CheckError (one line) unless the parts check reads have the shape elicbench writes."""
    where = "baseline manifest.json"
    dataset = manifest.get("dataset")
    if not isinstance(dataset, dict):
        raise CheckError(f"{where} records no dataset (expected an object under 'dataset')")
    images = dataset.get("images", [])
    if not isinstance(images, list) or not all(isinstance(im, dict) and "name" in im for im in images):
        raise CheckError(f"{where}: 'dataset.images' must be a list of objects with a 'name'")
    codecs = manifest.get("codecs")
    if not isinstance(codecs, dict) or not all(isinstance(i, dict) and isinstance(i.get("name"), str)
                                               for i in codecs.values()):
        raise CheckError(f"{where}: 'codecs' must map each codec label to an object with its 'name'")


def _replay_dataset(manifest: dict[str, Any], image_names: list[str]):
    """The baseline's images, found again by dataset name and verified by SHA-256.

    Returns the dataset and the names of the images the manifest records no SHA-256 for (they
    cannot be verified; the caller warns)."""
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
    unverified = [n for n in image_names if not hashes.get(n)]
    changed = []
    for n in image_names:
        if not hashes.get(n):
            continue
        try:
            if file_sha256(by_name[n].path) != hashes[n]:
                changed.append(n)
        except OSError as exc:
            raise CheckError(f"baseline image {n}: cannot read {by_name[n].path} ({exc.strerror or exc})") from None
    if changed:
        raise CheckError(f"images differ from the baseline's (SHA-256): {', '.join(changed)}")
    return (Dataset(dataset.name, [by_name[n] for n in image_names], dataset.source, dataset.root, dataset.info),
            unverified)


def _fmt(v: float, spec: str) -> str:
    return "-" if v is None or (isinstance(v, float) and math.isnan(v)) else format(v, spec)


REGRESSED, CHANGED = "regressed", "changed"


def _num(v: Any) -> float:
    try:
        return float(v)
    except (TypeError, ValueError):
        return math.nan


def _byte_move(b0: float, b1: float) -> str:
    pct = (b1 - b0) / b0 * 100 if b0 else math.inf
    return f"bytes {b1 - b0:+,.0f} B ({pct:+.3g} %, {'smaller' if b1 < b0 else 'larger'})"


def _metric_move(name: str, unit: str, x0: float, x1: float, tol: float,
                 higher_is_better: bool = True) -> tuple[str, bool] | None:
    """(text, worse) when metric ``name`` moved beyond ``tol`` (worse: down, or up for a metric where
    lower is better). An infinite PSNR (a lossless row) equals only itself; becoming or ceasing to be
    lossless is a move."""
    if math.isnan(x0) and math.isnan(x1) or (math.isinf(x0) and math.isinf(x1) and x0 == x1):
        return None
    if math.isnan(x1):
        return f"{name} missing (was {x0:.4g})", True
    if math.isnan(x0):
        return f"{name} now measured ({x1:.4g})", False
    sign = 1.0 if higher_is_better else -1.0
    if math.isinf(x0) or math.isinf(x1):
        worse = sign * x1 < sign * x0
        what = "no longer lossless" if math.isinf(x0) else "now lossless"
        return f"{name} {x0:.4g} -> {x1:.4g}{unit} ({'worse' if worse else 'better'}: {what})", worse
    d = x1 - x0
    if not abs(d) > tol:
        return None
    worse = sign * d < 0
    return f"{name} {d:+.3g}{unit} ({'worse' if worse else 'better'})", worse


def _compared_metrics(baseline, tol: Tolerances) -> list[tuple[str, str, float, str, bool]]:
    """(name, column, tolerance, unit, higher is better) of every metric ``compare`` checks per row:
    PSNR and MS-SSIM (the tolerances of the command line), and each other registered metric the
    baseline measured (its own ``check_tolerance``)."""
    from .metrics import DEFAULT_METRICS, get_metric
    from .results import metric_columns

    out = [("PSNR", "psnr", tol.psnr_db, " dB", True), ("MS-SSIM", "ms_ssim", tol.ms_ssim, "", True)]
    for name in metric_columns(baseline):
        if name not in DEFAULT_METRICS:
            cls = get_metric(name)
            out.append((cls.label, name, cls.check_tolerance, f" {cls.unit}" if cls.unit else "", cls.higher_is_better))
    return out


def compare(baseline, new, deterministic: dict[str, bool], tol: Tolerances) -> list[dict[str, Any]]:
    """The rows (keyed by image, codec, quality) that moved between two results DataFrames.

    Each has ``problem`` (what moved and which way, e.g. ``bytes -3.1 % (smaller); PSNR -0.05 dB
    (worse)``) and ``verdict``: ``regressed`` when any move is worse (or the row is missing or
    failed), ``changed`` when every move is an improvement. Bytes of deterministic codecs must be
    identical, so any change of them is listed; other moves only beyond the tolerances.
    """
    keys = ["image", "codec", "quality"]
    merged = baseline.merge(new, on=keys, how="left", suffixes=("_base", "_new"), indicator=True)
    compared = _compared_metrics(baseline, tol)
    out = []
    for r in merged.to_dict("records"):
        moves: list[tuple[str, bool]] = []          # (text, worse)
        if r.get("error_base"):
            continue  # failed in the baseline: nothing to compare (see failed_in_baseline)
        if r["_merge"] != "both":
            moves.append(("missing in the new run", True))
        elif r.get("error_new"):
            moves.append((f"failed: {r['error_new']}", True))
        else:
            b0, b1 = _num(r["bytes_base"]), _num(r["bytes_new"])
            if deterministic.get(r["codec"], False):
                if b0 != b1:
                    moves.append((_byte_move(b0, b1), b1 > b0))
            elif abs(b1 - b0) > tol.bytes_rel * b0:
                moves.append((_byte_move(b0, b1), b1 > b0))
            for name, col, t, unit, higher in compared:
                move = _metric_move(name, unit, _num(r.get(f"{col}_base")), _num(r.get(f"{col}_new")), t, higher)
                if move:
                    moves.append(move)
        if moves:
            out.append({"image": r["image"], "codec": r["codec"], "quality": r["quality"],
                        "bytes_base": r.get("bytes_base"), "bytes_new": r.get("bytes_new"),
                        "psnr_base": r.get("psnr_base"), "psnr_new": r.get("psnr_new"),
                        "problem": "; ".join(text for text, _ in moves),
                        "verdict": REGRESSED if any(worse for _, worse in moves) else CHANGED})
    out.sort(key=lambda row: row["verdict"] != REGRESSED)   # regressions first, otherwise in baseline order
    return out


def failed_in_baseline(baseline, new) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """Rows that failed in the baseline, split into (still failing, fixed). Neither is a regression:
    a row that failed before and fails again has not regressed, and is listed apart."""
    keys = ["image", "codec", "quality"]
    failed = baseline[baseline["error"] != ""]
    merged = failed.merge(new, on=keys, how="left", suffixes=("_base", "_new"), indicator=True)
    still, fixed = [], []
    for r in merged.to_dict("records"):
        row = {"image": r["image"], "codec": r["codec"], "quality": r["quality"], "error_base": r["error_base"],
               "error_new": r.get("error_new") if r["_merge"] == "both" else "missing in the new run"}
        (still if row["error_new"] else fixed).append(row)
    return still, fixed


def curve_changes(baseline, new, tol: Tolerances, metric: str = "psnr") -> list[dict[str, Any]]:
    """Per codec: BD-rate (``metric``, default PSNR; pchip) of the new mean curve against the baseline's.

    ``status``: ``ok`` (within the tolerance), ``n/a`` (too few points), ``regressed`` (more bits for
    the same PSNR), ``changed (better)`` (fewer bits: still a change), ``fail (reason)`` (no BD-rate).
    Curves follow the lossless rule of ``analysis.curves`` (README, "Lossless rows"): a codec with
    no mean-PSNR curve in the baseline (e.g. lossless on every image) is ``n/a (why)``, its rows are
    still compared one by one; one that had a curve and has none now fails."""
    from .analysis.bdrate import bd_rate
    from .analysis.curves import omitted_codecs, rd_curves

    old_c, new_c = rd_curves(baseline, metric), rd_curves(new, metric)
    out = []
    for label, why in omitted_codecs(baseline, metric).items():
        out.append({"codec": label, "bd_rate_pct": math.nan, "status": f"n/a (no curve in the baseline: {why})",
                    "failed": False})
    for label, c0 in old_c.items():
        c1 = new_c.get(label)
        if c1 is None:
            why = omitted_codecs(new, metric).get(label, "not in the new run")
            out.append({"codec": label, "bd_rate_pct": math.nan, "status": f"fail (no curve in the new run: {why})",
                        "failed": True})
            continue
        if len(c0) < 2:
            continue
        res = bd_rate(c0, c1, method="pchip")
        value = res.value
        status = "ok"
        if math.isnan(value):
            status = "n/a" if len(c0) < 4 else f"fail ({res.reason})"
        elif value > tol.bdrate_pct:
            status = REGRESSED
        elif value < -tol.bdrate_pct:
            status = f"{CHANGED} (better)"
        out.append({"codec": label, "bd_rate_pct": value, "status": status,
                    "failed": status not in ("ok", "n/a")})
    return out


def _lossless_notes(baseline, new, metric: str = "psnr") -> list[str]:
    """Images and points the PSNR curves leave out for being lossless, in either run (each note
    once; codecs with no curve at all are named in the curve table)."""
    from .analysis.curves import coverage_notes

    notes: list[str] = []
    for df in (baseline, new):
        notes += [n for n in coverage_notes(df, metric, omitted=False) if n not in notes]
    return notes


@dataclass
class CheckPlan:
    """What a baseline recorded, ready to run again: its rows, the dataset (its images verified by
    SHA-256 where recorded) and every codec with its settings and qualities."""

    baseline_dir: Path
    manifest: dict[str, Any]
    rows: Any                                  # pandas.DataFrame of the baseline's results.csv
    images: list[str]
    dataset: Any
    unverified: list[str]                      # images whose SHA-256 the baseline did not record
    codecs: list[tuple[Any, Any, list[float]]]  # (CodecSpec, Codec, qualities) for runner.run_planned
    relabel: dict[str, str]                    # new label -> the baseline's label
    setting_changes: list[str]
    metrics: list[str]                         # the metrics the baseline measured (measured again)
    metric: str                                # the quality axis of the per-codec BD-rate

    @property
    def deterministic(self) -> dict[str, bool]:
        return {label: bool(info.get("deterministic")) for label, info in self.manifest["codecs"].items()}


def plan_check(baseline_dir: Path, options: dict[str, dict[str, Any]] | None = None,
               metric: str = "psnr") -> CheckPlan:
    """Read a baseline run directory and prepare its re-run; ``CheckError`` when it cannot be used.
    ``options`` changes recorded codec settings by codec name, e.g. ``{"elic": {"models": DIR}}``;
    ``metric`` is the axis of the per-codec BD-rate (any the baseline measured)."""
    from .analysis.curves import check_metric
    from .codecs.base import BadCodecInput
    from .manifest import read_manifest
    from .metrics import DEFAULT_METRICS
    from .runner import check_metrics, prepare_codec

    check_metric(metric)

    baseline_dir = Path(baseline_dir)
    for f in (RESULTS_FILE, MANIFEST_FILE):
        if not (baseline_dir / f).exists():
            raise CheckError(f"{baseline_dir} is not a run directory: {f} is missing")
    manifest = read_manifest(baseline_dir / MANIFEST_FILE)  # ManifestError (exit 2) when not JSON/an object
    _check_manifest_shape(manifest)
    try:
        rows = load_results(baseline_dir / RESULTS_FILE)
    except ResultsFileError as exc:
        raise CheckError(f"baseline unusable: {exc}") from None
    if rows["target_bpp"].notna().any():
        raise CheckError("rate-matched runs (--target-bpp) cannot be used as a baseline")
    images = list(dict.fromkeys(rows["image"]))
    dataset, unverified = _replay_dataset(manifest, images)
    # The metrics the baseline measured (older manifests record none: today's default columns).
    metrics = check_metrics(list(manifest.get("metrics") or DEFAULT_METRICS))
    if metric not in ("psnr", "psnr_y", "ms_ssim", "ms_ssim_db", "psnr_pooled", "psnr_y_pooled"):
        from .metrics import get_axis

        if get_axis(metric).column not in metrics:
            raise CheckError(f"--metric {metric}: the baseline did not measure {get_axis(metric).column} "
                             f"(it measured {', '.join(metrics)})")

    recorded = {info["name"] for info in manifest.get("codecs", {}).values()}
    codecs = []
    # e.g. `check --elic-models DIR` on a baseline without ELIC: said, not an error.
    setting_changes = [f"{name}: not in the baseline, its options are ignored"
                       for name in sorted(set(options or {}) - recorded)]
    relabel = {}
    for label, info in manifest.get("codecs", {}).items():
        settings = _replayed_settings(info)
        settings.update((options or {}).get(info["name"], {}))
        qualities = sorted(set(rows.loc[rows["codec"] == label, "quality"]))
        try:
            spec, codec, qs = prepare_codec(info["name"], settings, qualities)
        except BadCodecInput as exc:
            if not info.get("rate_points"):
                raise
            # A quality the baseline ran is not this codec's any more (e.g. new ELIC models).
            _, now, now_qs = prepare_codec(info["name"], settings, None)
            raise CheckError(_rate_points_gone(label, info["rate_points"], now, now_qs, manifest, exc)) from None
        setting_changes += _rate_point_changes(label, info.get("rate_points") or {}, codec)
        relabel[codec.label] = label
        if "settings_text" in info and codec.settings_text != info["settings_text"]:
            setting_changes.append(f"{label}: settings {info['settings_text']} -> {codec.settings_text}")
        codecs.append((spec, codec, qs))
    return CheckPlan(baseline_dir, manifest, rows, images, dataset, unverified, codecs, relabel, setting_changes,
                     metrics, metric)


@dataclass
class CheckComparison:
    """The new run against the baseline: what moved, per row and per curve."""

    rows: list[dict[str, Any]]
    curves: list[dict[str, Any]]
    still_failing: list[dict[str, Any]]
    fixed: list[dict[str, Any]]
    versions: list[str]
    lossless_notes: list[str]

    @property
    def passed(self) -> bool:
        return not self.rows and not any(c["failed"] for c in self.curves)


def compare_runs(plan: CheckPlan, new_dir: Path, tolerances: Tolerances) -> CheckComparison:
    """Compare the run in ``new_dir`` (written from ``plan``) with the baseline, under its labels."""
    from .manifest import read_manifest

    new_manifest = read_manifest(Path(new_dir) / MANIFEST_FILE)
    new = load_results(Path(new_dir) / RESULTS_FILE)
    new["codec"] = new["codec"].map(lambda c: plan.relabel.get(c, c))  # compare under the baseline's labels
    base = plan.rows
    still_failing, fixed = failed_in_baseline(base, new)
    return CheckComparison(rows=compare(base, new, plan.deterministic, tolerances),
                           curves=curve_changes(base, new, tolerances, plan.metric), still_failing=still_failing,
                           fixed=fixed,
                           versions=plan.setting_changes + _version_changes(plan.manifest, new_manifest),
                           lossless_notes=_lossless_notes(base, new, plan.metric))


def render_check(plan: CheckPlan, cmp: CheckComparison, new_dir: Path, wall_s: float) -> list[str]:
    """The text ``elicbench check`` prints: warnings, the per-codec table, the rows that moved, the verdict."""
    lines = []
    unverified, passed = plan.unverified, cmp.passed
    unverified_note = ""
    if unverified:
        shown = ", ".join(unverified[:10]) + (f" and {len(unverified) - 10} more" if len(unverified) > 10 else "")
        unverified_note = (f"{len(unverified)} image(s) NOT VERIFIED: the baseline's manifest.json records no "
                           f"SHA-256 for {shown}, so their files could not be checked against the baseline's "
                           "(a difference below may be a different file; --update records the hashes)")
        lines += [f"WARNING: {unverified_note}.", ""]
    if cmp.versions:
        lines.append("Codec settings or library versions differ from the baseline's (a likely cause of changes):")
        lines += [f"  {v}" for v in cmp.versions]
        lines.append("")
    lines.append(f"Baseline {plan.baseline_dir}: {len(plan.rows)} rows, {len(plan.images)} images, codecs "
                 f"{', '.join(plan.deterministic)}; new run {new_dir} in {wall_s:.1f} s")
    lines.append("")
    shown = "PSNR" if plan.metric == "psnr" else plan.metric
    lines.append(f"| codec | BD-rate vs baseline ({shown}; + = more bits) | status |")
    lines.append("|---|---:|---|")
    for c in cmp.curves:
        lines.append(f"| {c['codec']} | {_fmt(c['bd_rate_pct'], '+.3f')} % | {c['status']} |")
    if cmp.lossless_notes:
        lines.append("")
        lines += [f"note: {n}" for n in cmp.lossless_notes]
    lines.append("")
    rows = cmp.rows
    n_worse = sum(r["verdict"] == REGRESSED for r in rows)
    if rows:
        lines.append(f"{len(rows)} row(s) differ from the baseline: {n_worse} regressed (a worse move), "
                     f"{len(rows) - n_worse} changed (better moves only):")
        lines.append("| image | codec | quality | bytes base -> new | PSNR base -> new | verdict | what moved |")
        lines.append("|---|---|---:|---|---|---|---|")
        for r in rows:
            lines.append(f"| {r['image']} | {r['codec']} | {r['quality']:g} | {_fmt(r['bytes_base'], '.0f')} -> "
                         f"{_fmt(r['bytes_new'], '.0f')} | {_fmt(r['psnr_base'], '.3f')} -> "
                         f"{_fmt(r['psnr_new'], '.3f')} | {r['verdict']} | {r['problem']} |")
    if cmp.still_failing or cmp.fixed:
        lines.append("")
    if cmp.still_failing:
        lines.append(f"{len(cmp.still_failing)} row(s) failed in the baseline and fail again (not regressions):")
        lines += [f"  {r['image']} {r['codec']} q={r['quality']:g}: {r['error_new']}" for r in cmp.still_failing]
    if cmp.fixed:
        lines.append(f"{len(cmp.fixed)} row(s) failed in the baseline and succeed now (not compared):")
        lines += [f"  {r['image']} {r['codec']} q={r['quality']:g} (was: {r['error_base']})" for r in cmp.fixed]
    lines.append("")
    accept = "run with --update to accept them on purpose"
    failed_curves = [c for c in cmp.curves if c["failed"]]
    if passed:
        lines.append("PASS: no change against the baseline." + (f" WARNING: {unverified_note}." if unverified else ""))
    elif n_worse or any(c["status"] != f"{CHANGED} (better)" for c in failed_curves):
        lines.append(f"FAIL: results regressed against the baseline ({accept}).")
    else:
        lines.append("FAIL: results changed against the baseline, all for the better; the gate fails on any "
                     "change (bytes of deterministic codecs must stay identical, the rest within the "
                     f"tolerances): {accept}.")
    if unverified and not passed:
        lines.append(f"WARNING: {unverified_note}.")
    return lines


def check_baseline(baseline_dir: Path, *, tolerances: Tolerances = Tolerances(), update: bool = False,
                   out: Path | None = None, jobs: int | None = None,
                   options: dict[str, dict[str, Any]] | None = None,
                   progress: bool = True, metric: str = "psnr") -> CheckResult:
    """Re-run what the run in ``baseline_dir`` recorded (its codecs, qualities, images and metrics)
    and compare: :func:`plan_check`, the run,
    :func:`compare_runs`, :func:`render_check`. ``options`` changes recorded codec settings by
    codec name, e.g. ``{"elic": {"models": "models"}}`` (the change is named in the result);
    ``update`` copies the new results over the baseline's, on purpose."""
    from .runner import run_planned

    t0 = time.monotonic()
    plan = plan_check(baseline_dir, options, metric)
    tmp = None
    if out is None:
        tmp = Path(tempfile.mkdtemp(prefix="elicbench-check-"))
        out = tmp / "run"
    outcome = run_planned(plan.dataset, plan.codecs, Path(out), jobs=jobs, progress=progress,
                          command=["elicbench", "check", "--baseline", str(plan.baseline_dir)], metrics=plan.metrics)
    cmp = compare_runs(plan, Path(out), tolerances)
    lines = render_check(plan, cmp, Path(out), outcome.wall_s)
    passed = cmp.passed
    if update:
        for f in (RESULTS_FILE, SUMMARY_FILE, MANIFEST_FILE):
            shutil.copy2(Path(out) / f, plan.baseline_dir / f)
        lines.append(f"baseline {plan.baseline_dir} updated with the new results.")
        passed = True
    if tmp is not None:
        shutil.rmtree(tmp, ignore_errors=True)
        out = None
    return CheckResult(passed, "\n".join(lines), cmp.rows, cmp.versions, out, time.monotonic() - t0, cmp.curves,
                       cmp.still_failing, cmp.fixed, plan.unverified)
