"""Data flows one way (issue 12): `report` and `plot` read run directories only. In a fresh interpreter,
importing elicbench.report and elicbench.report.plot and making a report and plots of a saved run
directory (the committed baseline: jpeg, webp, avif and elic with the demo weights, plus stored crops)
loads no codec, no dataset module and no TensorFlow."""
from __future__ import annotations

import json
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np

from elicbench.cropfiles import CropSet, CropTile, StoredCrops, save_png, visual_dir, write_index

BASELINE = Path(__file__).resolve().parents[2] / "reports" / "baseline"
FORBIDDEN = ("tensorflow", "numba", "elicbench.codecs", "elicbench.datasets")


def _saved_run_with_crops(tmp_path: Path) -> Path:
    """A copy of the baseline with crops stored as `elicbench run` stores them (drawn here, not coded)."""
    run_dir = tmp_path / "baseline"
    shutil.copytree(BASELINE, run_dir)
    labels = list(json.loads((run_dir / "manifest.json").read_text())["codecs"])
    rng = np.random.default_rng(0)
    folder = visual_dir(run_dir)
    stored = StoredCrops("kodak", "kodim01", (0, 0, 64, 64), "original-kodim01.png", [CropSet(0.5)])
    save_png(folder / stored.original, rng.integers(0, 256, (64, 64, 3), dtype=np.uint8))
    for i, label in enumerate(labels):
        name = f"0.5bpp-{i:02d}-{label}.png"
        save_png(folder / name, rng.integers(0, 256, (64, 64, 3), dtype=np.uint8))
        stored.sets[0].tiles.append(CropTile(label, "1", 24000, 0.5, 30.0, name))
    write_index(run_dir, stored)
    return run_dir


def test_report_and_plot_import_no_codec_dataset_or_tensorflow(tmp_path):
    run_dir = _saved_run_with_crops(tmp_path)
    script = textwrap.dedent(f"""
        import json, sys
        import elicbench.report, elicbench.report.plot
        from elicbench.analysis.runs import find_runs
        from elicbench.cli import main

        report = elicbench.report.build_report(find_runs([{str(run_dir)!r}]), anchor="jpeg",
                                               out_dir={str(tmp_path / "report")!r})
        plots = elicbench.report.plot.plot_runs(find_runs([{str(run_dir)!r}]), {str(tmp_path / "plots")!r})
        codes = [main(["report", {str(run_dir)!r}, "--out", {str(tmp_path / "cli")!r}, "--with-ref", "vtm"]),
                 main(["plot", {str(run_dir)!r}, "--out", {str(tmp_path / "cli-plots")!r}])]
        print(json.dumps({{"loaded": [m for m in {FORBIDDEN!r} if m in sys.modules],
                          "visual": str(report.visuals[0].path), "tiles": len(report.visuals[0].tiles),
                          "plots": len(plots), "codes": codes}}))
    """)
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr
    seen = json.loads(done.stdout.strip().splitlines()[-1])
    assert seen["loaded"] == [], f"report/plot imported {seen['loaded']}"
    assert seen["codes"] == [0, 0]
    assert seen["visual"].endswith("visual_kodak.png") and seen["tiles"] == 5   # original + 4 codecs
    assert seen["plots"] > 0
