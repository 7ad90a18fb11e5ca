"""The results table: one row per (image, codec, quality), appended as jobs finish.

Columns are fixed here (CONTRACT.md: 'A run directory'); readers and writers all use this module.
Rows are appended and flushed to disk one at a time, so a killed run keeps every finished job;
``--resume`` reads them back and skips what is done.
"""
from __future__ import annotations

import csv
import math
import os
import time
from pathlib import Path
from typing import Any, Iterable

from .errors import UserError

RESULT_COLUMNS = [
    "dataset", "image", "width", "height", "codec", "quality",
    "bytes", "bpp", "psnr", "psnr_y", "ms_ssim", "ms_ssim_db",
    "encode_s", "decode_s",
    "repeats", "codec_settings", "target_bpp", "converted", "note", "error",
]
SUMMARY_COLUMNS = [
    "dataset", "codec", "quality", "n_images", "n_failed",
    "bytes", "bpp", "psnr", "psnr_y", "ms_ssim", "ms_ssim_db", "encode_s", "decode_s",
    # Lossless rows (README, "Lossless rows"): how many images had an infinite PSNR (left out of the
    # psnr / psnr_y means), and PSNR from the MSE pooled over every coded image, which keeps them.
    "n_psnr_inf", "psnr_pooled", "n_psnr_y_inf", "psnr_y_pooled",
]
#: The per-image metric columns of RESULT_COLUMNS (a run with --metrics adds its others after these).
BASE_METRIC_COLUMNS = ("psnr", "psnr_y", "ms_ssim", "ms_ssim_db")
RESULTS_FILE = "results.csv"


def result_columns(metric_names=()) -> list[str]:
    """results.csv's header for a run measuring ``metric_names``: RESULT_COLUMNS (today's columns,
    always present so old readers and baselines keep working) with each other metric's column, and
    its display column (e.g. ``ms_ssim_db``), after ``ms_ssim_db``."""
    from .metrics import get_metric

    extra: list[str] = []
    for name in metric_names:
        cls = get_metric(name)
        for col in (name, cls.display[0] if cls.display else None):
            if col and col not in RESULT_COLUMNS and col not in extra:
                extra.append(col)
    at = RESULT_COLUMNS.index("ms_ssim_db") + 1
    return RESULT_COLUMNS[:at] + extra + RESULT_COLUMNS[at:]


def header_of(path: Path) -> list[str] | None:
    """The column names of an existing results.csv (None when it has none yet)."""
    path = Path(path)
    if not path.exists() or path.stat().st_size == 0:
        return None
    with open(path, newline="", encoding="utf-8") as fh:
        return next(csv.reader(fh), None)
SUMMARY_FILE = "summary.csv"
MANIFEST_FILE = "manifest.json"


def _cell(value: Any) -> str:
    """CSV text of a value: floats at full precision, NaN/None empty, inf as 'inf'."""
    if value is None:
        return ""
    if isinstance(value, float):
        if math.isnan(value):
            return ""
        if math.isinf(value):
            return "inf" if value > 0 else "-inf"
        return repr(value)
    return str(value)


class ResultsWriter:
    """Appends rows to results.csv.

    Every row is flushed to the OS at once, so a killed process loses nothing written; an fsync
    (protection against a machine crash) follows at most every ``fsync_every_s`` seconds and at
    close, because one per row would cost more than a fast codec's job.
    """

    def __init__(self, path: Path, fsync_every_s: float = 1.0, columns: list[str] | None = None):
        self.path = Path(path)
        # An existing file keeps its header (a resumed run writes the columns it started with).
        self.columns = header_of(self.path) or list(columns or RESULT_COLUMNS)
        self.fsync_every_s = fsync_every_s
        self._last_sync = 0.0
        new = not self.path.exists() or self.path.stat().st_size == 0
        self._fh = open(self.path, "a", newline="", encoding="utf-8")
        self._writer = csv.DictWriter(self._fh, fieldnames=self.columns, extrasaction="ignore")
        if new:
            self._writer.writeheader()
            self._sync()

    def write(self, row: dict[str, Any]) -> None:
        self._writer.writerow({k: _cell(row.get(k)) for k in self.columns})
        self._fh.flush()
        if time.monotonic() - self._last_sync >= self.fsync_every_s:
            self._sync()

    def _sync(self) -> None:
        self._fh.flush()
        os.fsync(self._fh.fileno())
        self._last_sync = time.monotonic()

    def close(self) -> None:
        if not self._fh.closed:
            self._sync()
            self._fh.close()

    def __enter__(self) -> "ResultsWriter":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def read_rows(path: Path) -> list[dict[str, str]]:
    """Rows of a results.csv as text dicts; a torn last line (killed mid-write) is dropped."""
    path = Path(path)
    if not path.exists():
        return []
    with open(path, newline="", encoding="utf-8") as fh:
        text = fh.read()
    if text and not text.endswith("\n"):
        text = text[: text.rfind("\n") + 1]  # the partial line a kill can leave behind
    rows = list(csv.DictReader(text.splitlines()))
    return [r for r in rows if r.get("image") and None not in r]


def is_done_row(row: dict[str, Any]) -> bool:
    """Whether a results.csv row (from :func:`read_rows`) is a finished job that ``--resume`` keeps:
    no error, a value for every column of the header (a row with fewer fields is damaged, not
    done) and a finite bpp. Anything else is re-run and its row replaced."""
    if any(v is None for v in row.values()) or row.get("error"):
        return False
    try:
        return math.isfinite(float(row.get("bpp") or "nan"))
    except ValueError:
        return False


def rewrite_rows(path: Path, rows: Iterable[dict[str, Any]]) -> None:
    """Atomically replace results.csv with ``rows`` (used by --resume to drop failed rows)."""
    path = Path(path)
    columns = header_of(path) or RESULT_COLUMNS
    tmp = path.with_suffix(".csv.tmp")
    with open(tmp, "w", newline="", encoding="utf-8") as fh:
        w = csv.DictWriter(fh, fieldnames=columns, extrasaction="ignore")
        w.writeheader()
        for r in rows:
            w.writerow({k: r.get(k, "") for k in columns})
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, path)


class ResultsFileError(UserError, ValueError):
    """A results.csv that cannot be read as one (unparseable, or without the key columns)."""


# Columns read as text; everything else is numeric (empty cells -> NaN).
TEXT_COLUMNS = ("dataset", "image", "codec", "codec_settings", "converted", "note", "error")
NUMERIC_COLUMNS = tuple(c for c in RESULT_COLUMNS if c not in TEXT_COLUMNS)


def load_results(path: Path) -> "pandas.DataFrame":
    """results.csv as a DataFrame: text columns as str ('' when empty), the rest as floats.

    The one reader of results tables (run, check, report and plot all use it). A torn last line
    (a run killed mid-write) is dropped; missing optional columns are added empty, so older or
    hand-made files still load. Raises ResultsFileError when the file is not a results table.
    """
    import io

    import numpy as np
    import pandas as pd

    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        raise ResultsFileError(f"{path}: not a text file ({exc}); is it a results.csv written by `elicbench run`?") from None
    if text and not text.endswith("\n"):
        text = text[: text.rfind("\n") + 1]
    try:
        df = pd.read_csv(io.StringIO(text), dtype=str, keep_default_na=False, na_values=[])
    except (pd.errors.EmptyDataError, pd.errors.ParserError) as exc:
        raise ResultsFileError(f"{path}: cannot read results ({exc}); is it a results.csv written by `elicbench run`?") from None
    missing = [c for c in ("image", "codec", "bpp") if c not in df.columns]
    if missing:
        raise ResultsFileError(f"{path}: missing column(s) {', '.join(missing)}; "
                               "expected the columns of `elicbench run`'s results.csv")
    for col in TEXT_COLUMNS:
        df[col] = df[col].fillna("").astype(str) if col in df else ""
    from .metrics import axes

    # Columns of other registered metrics (a run with --metrics) are numeric too.
    extra = [c for c in df.columns if c not in RESULT_COLUMNS and (c in axes() or c in _metric_names())]
    for col in (*NUMERIC_COLUMNS, *extra):
        if col in df:
            # 'inf' (a lossless PSNR) parses to inf; '' and junk to NaN.
            df[col] = pd.to_numeric(df[col].replace("", np.nan), errors="coerce").astype(float)
        else:
            df[col] = np.nan
    return df[[*RESULT_COLUMNS[:RESULT_COLUMNS.index("ms_ssim_db") + 1], *extra,
               *RESULT_COLUMNS[RESULT_COLUMNS.index("ms_ssim_db") + 1:],
               *[c for c in df.columns if c not in RESULT_COLUMNS and c not in extra]]]


def _metric_names() -> list[str]:
    from .metrics import metric_names

    return metric_names()


def metric_columns(df) -> list[str]:
    """The registered metrics a results table has values for (today's default ones always)."""
    from .metrics import DEFAULT_METRICS, metric_names

    return [m for m in metric_names() if m in DEFAULT_METRICS or (m in df and df[m].notna().any())]


def rd_points(rows, by, quantities) -> "pandas.DataFrame":
    """RD points: one per group of ``rows`` (grouped by the columns ``by``), with ``n_images``, the
    mean ``bytes``, ``bpp``, ``encode_s`` and ``decode_s``, and each of ``quantities`` (axis names of
    ``elicbench.metrics``: 'psnr', 'ms_ssim_db', 'psnr_pooled', 'ssimulacra2', ...) aggregated by its
    axis's rule (``metrics.Axis.point_value``). An axis that leaves out infinite per-image values
    (the mean of ``psnr``) gets a count column ``n_<column>_inf``.

    The one aggregation of rows into RD points: summary.csv, the RD curves (report, plot, check) and
    the matched-rate table all call it. ``rows`` are coded rows (no error); which rows a caller
    passes (e.g. only images usable at every point of a curve) is the caller's choice.
    """
    import numpy as np
    import pandas as pd

    from .metrics import DISPLAY_OF_MEAN, MEAN, get_axis

    keys = [rows[k] for k in by]
    finite = rows.replace([np.inf, -np.inf], np.nan)
    grouped = finite.groupby(keys, dropna=False, sort=True)
    out = pd.DataFrame({"n_images": grouped["image"].size()})
    for col in ("bytes", "bpp", "encode_s", "decode_s"):
        out[col] = grouped[col].mean() if col in rows else np.nan
    pixels = (rows["width"].astype(float) * rows["height"].astype(float)) if "width" in rows and "height" in rows \
        else pd.Series(np.nan, index=rows.index)
    for name in quantities:
        axis = get_axis(name)
        values = rows[axis.column].astype(float) if axis.column in rows else pd.Series(np.nan, index=rows.index)
        if axis.rule in (MEAN, DISPLAY_OF_MEAN):   # the mean of finite values (vectorised), then the display
            mean = values.where(np.isfinite(values)).groupby(keys, dropna=False, sort=True).mean()
            if axis.rule == MEAN:
                out[name] = mean
                out[f"n_{axis.column}_inf"] = np.isposinf(values).groupby(keys, dropna=False, sort=True).sum().astype(int)
            else:
                out[name] = [axis.transform(v) for v in mean.to_numpy(float)]
        else:
            both = pd.DataFrame({"v": values, "p": pixels})
            out[name] = [axis.point_value(g["v"].to_numpy(float), g["p"].to_numpy(float))
                         for _, g in both.groupby(keys, dropna=False, sort=True)]
    out.index.names = list(by)
    return out


def summarize(df) -> "pandas.DataFrame":
    """Per (dataset, codec, quality[, target_bpp]) means over images: the RD-curve points.

    Metrics are means of per-image values (CompressAI's convention), except ``ms_ssim_db``,
    which is -10*log10(1 - mean MS-SSIM), as published curves are drawn. Failed rows are counted
    in ``n_failed`` and left out of everything else; ``n_images`` counts the coded ones, over which
    ``bytes``, ``bpp``, the times and MS-SSIM are averaged.

    Lossless rows (the rule of README, "Lossless rows"): an image decoded to exactly its pixels has
    an infinite PSNR, which a mean of dB values cannot hold. ``psnr`` (``psnr_y``) is the mean over
    the images with a finite value and ``n_psnr_inf`` (``n_psnr_y_inf``) counts those left out;
    ``psnr_pooled`` (``psnr_y_pooled``) is the PSNR of the MSE pooled over every pixel of every coded
    image (lossless ones count with MSE 0), finite unless all of them are lossless. So ``bpp`` and
    ``psnr_pooled`` always describe the same images; ``bpp`` and ``psnr`` do when ``n_psnr_inf`` is 0.
    """
    from .metrics import axes_of

    keys = ["dataset", "codec", "quality"]
    if "target_bpp" in df and df["target_bpp"].notna().any():
        keys.append("target_bpp")
    ok = df[df["error"] == ""]
    failed = df[df["error"] != ""].groupby(keys, dropna=False).size().rename("n_failed")
    measured = metric_columns(df)
    wanted = ["psnr", "psnr_y", "ms_ssim", "ms_ssim_db", "psnr_pooled", "psnr_y_pooled"]
    extra = [a for a in axes_of(measured) if a not in wanted]
    points = rd_points(ok, keys, wanted + extra)
    out = points.join(failed, how="outer").reset_index()
    for col in ("n_images", "n_failed", "n_psnr_inf", "n_psnr_y_inf"):
        out[col] = out[col].fillna(0).astype(int)
    cols = SUMMARY_COLUMNS + extra + (["target_bpp"] if "target_bpp" in keys else [])
    return out[cols].sort_values(["dataset", "codec", "quality"]).reset_index(drop=True)


def write_summary(run_dir: Path) -> Path:
    run_dir = Path(run_dir)
    df = load_results(run_dir / RESULTS_FILE)
    out = run_dir / SUMMARY_FILE
    tmp = out.with_suffix(".csv.tmp")
    summarize(df).to_csv(tmp, index=False)
    os.replace(tmp, out)
    return out
