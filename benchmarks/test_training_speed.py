"""ELIC training throughput on this machine: steps/s and patches/s of `tiny` and `full`.

Each case runs the real `train()` (the tf.data pipeline, the distributed step, logging) for a few
steps into a temporary folder and reads the throughput that training itself logs in
`training/train_log.csv`, leaving out the first logging window (it holds the one-off tracing of the
step). pytest-benchmark's own time is that of the whole call, tracing included. Run:
`pytest benchmarks/test_training_speed.py --benchmark-enable -s` (a few minutes for `full` on a CPU).
Training images: `$ELICBENCH_DATA/train`, else scikit-image's photographs.
"""
from __future__ import annotations

import csv
from pathlib import Path

import pytest

# (preset, batch, patch, steps, log_every): each preset at its own training defaults, with enough
# steps after the first (tracing) window to measure; `full` is about a minute a step on 2 CPU cores.
CASES = [("tiny", 8, 128, 60, 20), ("full", 16, 256, 3, 1)]


@pytest.fixture(scope="module")
def training_images(data_dir: Path, tmp_path_factory) -> Path:
    if (data_dir / "train").is_dir():
        return data_dir / "train"
    from PIL import Image
    from skimage import data

    folder = tmp_path_factory.mktemp("photos")
    for name in ("astronaut", "coffee", "chelsea", "rocket", "immunohistochemistry"):
        Image.fromarray(getattr(data, name)()).save(folder / f"{name}.png")
    return folder


@pytest.mark.parametrize("preset,batch,patch,steps,log_every", CASES, ids=[c[0] for c in CASES])
def test_training_throughput(benchmark, training_images, tmp_path, preset, batch, patch, steps, log_every):
    from elicbench.codecs.elic.train import train

    def one_run():
        out = tmp_path / f"run-{len(list(tmp_path.iterdir()))}"
        train(training_images, 0.0075, out, preset=preset, steps=steps, batch_size=batch, patch_size=patch,
              log_every=log_every, checkpoint_every=10**6, validate_every=10**6, progress=False, saved_model=False)
        return out

    out = benchmark.pedantic(one_run, rounds=1, iterations=1)
    with open(out / "training" / "train_log.csv") as f:
        rows = [r for r in csv.DictReader(f) if r["split"] == "train"]
    steady = rows[1:]  # the first window includes tracing the step
    assert steady, rows
    steps_per_s = sum(float(r["steps_per_s"]) for r in steady) / len(steady)
    benchmark.extra_info.update(preset=preset, batch=batch, patch=patch, steps_per_s=round(steps_per_s, 3),
                                patches_per_s=round(steps_per_s * batch, 2))
    print(f"\n{preset}: batch {batch} x {patch}px: {steps_per_s:.3f} steps/s, {steps_per_s * batch:.1f} patches/s")
    assert steps_per_s > 0
