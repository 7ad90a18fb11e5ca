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
RESULTS_FILE = "results.csv"
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

    def __init__(self, path: Path, fsync_every_s: float = 1.0):
        self.path = Path(path)
        self.fsync_every_s = fsync_every_s
        self._last_sync = 0.0
        new = not self.path.exists() or self.path.stat().st_size == 0
        self._fh = open(self.path, "a", newline="", encoding="utf-8")
        self._writer = csv.DictWriter(self._fh, fieldnames=RESULT_COLUMNS, extrasaction="ignore")
        if new:
            self._writer.writeheader()
            self._sync()

    def write(self, row: dict[str, Any]) -> None:
        self._writer.writerow({k: _cell(row.get(k)) for k in RESULT_COLUMNS})
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
    tmp = path.with_suffix(".csv.tmp")
    with open(tmp, "w", newline="", encoding="utf-8") as fh:
        w = csv.DictWriter(fh, fieldnames=RESULT_COLUMNS, extrasaction="ignore")
        w.writeheader()
        for r in rows:
            w.writerow({k: r.get(k, "") for k in RESULT_COLUMNS})
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
    for col in NUMERIC_COLUMNS:
        if col in df:
            # 'inf' (a lossless PSNR) parses to inf; '' and junk to NaN.
            df[col] = pd.to_numeric(df[col].replace("", np.nan), errors="coerce").astype(float)
        else:
            df[col] = np.nan
    return df


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
    import numpy as np
    import pandas as pd

    from .metrics.mse import pooled_psnr

    keys = ["dataset", "codec", "quality"]
    if "target_bpp" in df and df["target_bpp"].notna().any():
        keys.append("target_bpp")
    ok = df[df["error"] == ""]
    failed = df[df["error"] != ""].groupby(keys, dropna=False).size().rename("n_failed")
    agg = ok.replace([np.inf, -np.inf], np.nan).groupby(keys, dropna=False).agg(
        n_images=("image", "size"), bytes=("bytes", "mean"), bpp=("bpp", "mean"), psnr=("psnr", "mean"),
        psnr_y=("psnr_y", "mean"), ms_ssim=("ms_ssim", "mean"), encode_s=("encode_s", "mean"),
        decode_s=("decode_s", "mean"),
    )
    pixels = ok["width"].astype(float) * ok["height"].astype(float)
    groups = ok.assign(_pixels=pixels).groupby(keys, dropna=False)
    for col in ("psnr", "psnr_y"):
        agg[f"n_{col}_inf"] = groups[col].agg(lambda v: int(np.isposinf(v.astype(float)).sum()))
        agg[f"{col}_pooled"] = groups.apply(lambda g, c=col: pooled_psnr(g[c].to_numpy(float), g["_pixels"].to_numpy(float)),
                                            include_groups=False) if len(ok) else pd.Series(dtype=float)
    out = agg.join(failed, how="outer").reset_index()
    out["n_images"] = out["n_images"].fillna(0).astype(int)
    out["n_failed"] = out["n_failed"].fillna(0).astype(int)
    for col in ("n_psnr_inf", "n_psnr_y_inf"):
        out[col] = out[col].fillna(0).astype(int)
    with np.errstate(divide="ignore", invalid="ignore"):
        out["ms_ssim_db"] = -10 * np.log10(1 - out["ms_ssim"])
    cols = SUMMARY_COLUMNS + (["target_bpp"] if "target_bpp" in keys else [])
    return out[cols].sort_values(["dataset", "codec", "quality"]).reset_index(drop=True)


def write_summary(run_dir: Path) -> Path:
    run_dir = Path(run_dir)
    df = load_results(run_dir / RESULTS_FILE)
    out = run_dir / SUMMARY_FILE
    tmp = out.with_suffix(".csv.tmp")
    summarize(df).to_csv(tmp, index=False)
    os.replace(tmp, out)
    return out
