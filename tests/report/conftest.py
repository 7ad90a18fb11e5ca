"""Synthetic run directories in the format `elicbench run` writes (CONTRACT.md: 'A run directory').

The RD points follow a simple model, PSNR = a + b*log2(bpp) per image, so BD-rates between the
synthetic codecs are known in closed form: a codec whose every bpp is scaled by s has BD-rate
(s - 1) * 100 % against the other.
"""
from __future__ import annotations

import csv
import json
import math
from pathlib import Path

import pytest

from elicbench.results import RESULT_COLUMNS

IMAGES = [f"img{i:02d}" for i in range(6)]
# label -> (bpp scale vs jpeg, qualities, encode seconds, decode seconds)
CODECS = {
    "jpeg": (1.0, [30, 50, 70, 85, 95], 0.004, 0.002),
    "webp": (0.75, [30, 50, 70, 85, 95], 0.03, 0.004),
    "avif": (0.6, [30, 50, 70, 85, 95], 0.2, 0.01),
}


def synthetic_rows(dataset: str, codecs: dict, images=IMAGES, width=64, height=48, fail=()):
    rows = []
    for label, (scale, qualities, enc, dec) in codecs.items():
        for i, image in enumerate(images):
            for q in qualities:
                base_bpp = 0.1 * 2 ** (q / 20) * (1 + 0.15 * i)
                bpp = base_bpp * scale
                psnr = 22 + 3.0 * math.log2(base_bpp / 0.1) + 0.5 * i
                ms_ssim = 1 - 10 ** (-(psnr - 14) / 10)
                row = {
                    "dataset": dataset, "image": image, "width": width, "height": height, "codec": label,
                    "quality": q, "bytes": round(bpp * width * height / 8), "bpp": bpp, "psnr": psnr,
                    "psnr_y": psnr + 1, "ms_ssim": ms_ssim, "ms_ssim_db": -10 * math.log10(1 - ms_ssim),
                    "encode_s": enc * (1 + q / 100), "decode_s": dec * (1 + q / 200), "repeats": 1,
                    "codec_settings": "", "target_bpp": "", "converted": "", "note": "", "error": "",
                }
                if (label, image, q) in fail:
                    row.update({k: "" for k in ("bytes", "bpp", "psnr", "psnr_y", "ms_ssim", "ms_ssim_db",
                                                 "encode_s", "decode_s")})
                    row["error"] = "CodecError: synthetic failure"
                rows.append(row)
    return rows


def write_run(run_dir: Path, dataset: str = "synthetic", codecs: dict = CODECS, images=IMAGES, fail=(),
              manifest: bool = True) -> Path:
    run_dir.mkdir(parents=True, exist_ok=True)
    with open(run_dir / "results.csv", "w", newline="") as fh:
        w = csv.DictWriter(fh, fieldnames=RESULT_COLUMNS)
        w.writeheader()
        for row in synthetic_rows(dataset, codecs, images, fail=fail):
            w.writerow(row)
    if manifest:
        (run_dir / "manifest.json").write_text(json.dumps({
            "command": "elicbench run --dataset synthetic --codecs " + ",".join(codecs),
            "elicbench_version": "0.1.0",
            "started": "2024-01-01T10:00:00+00:00",
            "finished": "2024-01-01T10:05:00+00:00",
            "dataset": {"name": dataset, "source": "tests", "images": [
                {"name": n, "sha256": "0" * 64, "width": 64, "height": 48} for n in images]},
            "codecs": {label: {"name": label, "settings": {}, "versions": {"lib": "1.0"}, "deterministic": True,
                               "qualities": q} for label, (_, q, _, _) in codecs.items()},
            "platform": {"python": "3.11.0", "cpu": "test cpu", "cores": 2, "gpu": None},
            "versions": {"numpy": "1.26.4"},
        }, indent=1))
    return run_dir


@pytest.fixture
def synthetic_run(tmp_path) -> Path:
    return write_run(tmp_path / "run-a")
