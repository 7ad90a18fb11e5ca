"""The results table: one row per (image, codec, quality), appended as jobs finish.

Columns are fixed here (CONTRACT.md: 'A run directory'); readers and writers all use this module.
"""
from __future__ import annotations

RESULT_COLUMNS = [
    "dataset", "image", "width", "height", "codec", "quality",
    "bytes", "bpp", "psnr", "psnr_y", "ms_ssim", "ms_ssim_db",
    "encode_s", "decode_s",
    "repeats", "codec_settings", "target_bpp", "converted", "note", "error",
]
