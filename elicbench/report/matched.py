"""Quality at matched bpp: the table for rate-matched runs (``elicbench run --target-bpp``).

For each dataset, codec and target, the means over images of the bpp actually reached and of the
quality metrics there, so codecs are compared at (nearly) the same rate rather than by BD-rate.
PSNR follows the lossless rule of ``summary.csv`` (README, "Lossless rows"): the mean over images with
a finite PSNR, with ``n_psnr_inf`` counting the lossless ones left out.
"""
from __future__ import annotations

import html

from ..results import rd_points

COLUMNS = ["dataset", "codec", "target_bpp", "n_images", "bpp", "psnr", "ms_ssim_db", "encode_ms", "decode_ms",
           "n_psnr_inf"]


def matched_table(results_df):
    """One row per (dataset, codec, target_bpp) of the rate-matched rows; None when there are none."""
    import pandas as pd

    if "target_bpp" not in results_df or not results_df["target_bpp"].notna().any():
        return None
    ok = results_df[results_df["target_bpp"].notna() & (results_df["error"].fillna("") == "")]
    if ok.empty:
        return None
    # The one aggregation of rows into RD points (results.rd_points): PSNR the mean of finite values
    # with n_psnr_inf counting the lossless rows left out; MS-SSIM dB of the mean MS-SSIM.
    out = rd_points(ok, ["dataset", "codec", "target_bpp"], ["psnr", "ms_ssim_db"]).reset_index()
    out["encode_ms"] = 1000 * out["encode_s"]
    out["decode_ms"] = 1000 * out["decode_s"]
    return out[COLUMNS].sort_values(["dataset", "target_bpp", "psnr"], ascending=[True, True, False]) \
        .reset_index(drop=True) if isinstance(out, pd.DataFrame) else None


def _cells(r) -> list[str]:
    return [str(r.dataset), str(r.codec), f"{r.target_bpp:g}", str(r.n_images), f"{r.bpp:.4f}",
            f"{r.psnr:.3f}", f"{r.ms_ssim_db:.3f}", f"{r.encode_ms:,.1f}", f"{r.decode_ms:,.1f}"]


HEADERS = ["dataset", "codec", "target bpp", "images", "mean bpp", "PSNR dB", "MS-SSIM dB", "encode ms", "decode ms"]


def matched_markdown(table) -> str:
    lines = ["## Quality at matched bpp", "",
             "Per image and codec, the quality whose bpp is closest to the target (see README, rate matching); "
             "means over images.", "",
             "| " + " | ".join(HEADERS) + " |", "|" + "---|" * 2 + "---:|" * (len(HEADERS) - 2)]
    lines += ["| " + " | ".join(_cells(r)) + " |" for r in table.itertuples()]
    lossless = int(table["n_psnr_inf"].sum())
    if lossless:
        lines += ["", f"PSNR: mean over images with a finite PSNR; {lossless} lossless row(s) (PSNR infinite) left out."]
    return "\n".join(lines) + "\n"


def matched_html(table) -> str:
    head = "".join(f"<th>{html.escape(h)}</th>" for h in HEADERS)
    body = "".join("<tr>" + "".join(f"<td>{html.escape(c)}</td>" for c in _cells(r)) + "</tr>"
                   for r in table.itertuples())
    lossless = int(table["n_psnr_inf"].sum())
    note = (f"<p>PSNR: mean over images with a finite PSNR; {lossless} lossless row(s) (PSNR infinite) left out.</p>"
            if lossless else "")
    return (f'<section><h2>Quality at matched bpp</h2><table class="bd"><thead><tr>{head}</tr></thead>'
            f"<tbody>{body}</tbody></table>{note}</section>")
