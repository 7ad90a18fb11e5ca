"""The runner end to end on real Kodak images: rows, resume after a kill, failures, crashes."""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time

import numpy as np
import pandas as pd
import pytest

from elicbench.results import RESULT_COLUMNS, load_results, read_rows
from elicbench.runner import RunConfig, RunError, run_benchmark

import fake_codecs  # noqa: F401  (registers test-crash / test-fail)
from bench_data import BENCH_DATASET, BENCH_IMAGES


def _run(tmp_path, **kw):
    kw.setdefault("progress", False)
    kw.setdefault("jobs", 1)
    return run_benchmark(RunConfig(out=tmp_path / "run", **kw))


def test_run_writes_contract_files(tmp_path):
    outcome = _run(tmp_path, dataset=BENCH_DATASET, codecs=["jpeg"], qualities={"jpeg": [30, 75]}, limit=2, jobs=2)
    assert outcome.ok and outcome.completed == 4
    df = load_results(outcome.run_dir / "results.csv")
    assert list(df.columns) == RESULT_COLUMNS
    assert sorted(df["image"].unique()) == BENCH_IMAGES[:2]
    # bpp comes from the whole stored file.
    np.testing.assert_allclose(df["bpp"], 8 * df["bytes"] / (df["width"] * df["height"]))
    assert (df["psnr"] > 20).all() and (df["ms_ssim"] > 0.8).all()
    q30, q75 = (df[df["quality"] == q]["bpp"].mean() for q in (30, 75))
    assert q75 > q30
    summary = pd.read_csv(outcome.run_dir / "summary.csv")
    assert len(summary) == 2 and (summary["n_images"] == 2).all()
    m = json.loads((outcome.run_dir / "manifest.json").read_text())
    assert m["status"] == "ok" and m["finished"]
    assert [im["name"] for im in m["dataset"]["images"]] == BENCH_IMAGES[:2]
    assert all(len(im["sha256"]) == 64 for im in m["dataset"]["images"])
    assert "libjpeg-turbo" in json.dumps(m["codecs"]["jpeg"]["versions"]).lower()
    assert m["tensorflow_settings"]["env"]["TF_ENABLE_ONEDNN_OPTS"] in ("0", "1")


def test_failed_job_is_a_row_and_the_run_goes_on(tmp_path):
    outcome = _run(tmp_path, dataset=BENCH_DATASET, codecs=["test-fail"], qualities={"test-fail": [12, 13]}, limit=1)
    assert not outcome.ok and len(outcome.failures) == 1
    rows = read_rows(outcome.run_dir / "results.csv")
    errors = {r["quality"]: r["error"] for r in rows}
    assert errors["12"] == "" and "refusing quality 13" in errors["13"]


def test_worker_crash_is_retried_then_reported(tmp_path):
    outcome = _run(tmp_path, dataset=BENCH_DATASET, codecs=["test-crash"], limit=4, jobs=2)
    rows = read_rows(outcome.run_dir / "results.csv")
    by_image = {r["image"]: r["error"] for r in rows}
    assert len(rows) == 4
    from PIL import Image

    from elicbench.datasets import resolve_dataset

    sizes = {im.name: Image.open(im.path).size for im in resolve_dataset(BENCH_DATASET).images[:4]}
    crashing = {name for name, (w, h) in sizes.items() if h >= w}
    assert len(crashing) == 1  # kodim04 or astronaut
    assert all(("worker process died" in by_image[name]) == (name in crashing) for name in BENCH_IMAGES[:4])


class _LosingExecutor:
    """Runs jobs in threads, but the first ``loss`` results of quality-40 jobs are 'lost on the way
    back' (as a Dask client loses a result when a worker dies while it is being gathered)."""

    def __init__(self, losses: dict):
        from concurrent.futures import ThreadPoolExecutor

        self.pool = ThreadPoolExecutor(1)
        self.losses = losses

    def submit(self, fn, job):
        from concurrent.futures import Future

        key = (job.image.name, job.quality)
        if job.quality == 40 and self.losses.get(key, 0) > 0:
            self.losses[key] -= 1
            lost = Future()
            lost.set_exception(ValueError("too many values to unpack (expected 3)"))
            return lost
        return self.pool.submit(fn, job)


@pytest.mark.parametrize("losses, lost_rows", [(2, 0), (3, 2)])
def test_a_result_lost_in_transport_is_rerun(tmp_path, monkeypatch, losses, lost_rows):
    import contextlib

    from elicbench import runner

    assert runner.RESULT_LOSS_RETRIES == 2
    budget = {(name, 40): losses for name in BENCH_IMAGES[:2]}

    @contextlib.contextmanager
    def losing_executor(workers, scheduler=None):
        ex = _LosingExecutor(budget)
        yield ex
        ex.pool.shutdown()

    monkeypatch.setattr(runner, "make_executor", losing_executor)
    outcome = _run(tmp_path, dataset=BENCH_DATASET, codecs=["jpeg"], qualities={"jpeg": [40, 80]}, limit=2)
    rows = read_rows(outcome.run_dir / "results.csv")
    assert len(rows) == 4 and len({(r["image"], r["quality"]) for r in rows}) == 4
    failed = [r for r in rows if r["error"]]
    assert len(failed) == lost_rows and all(r["quality"] == "40" for r in failed)
    assert all("too many values to unpack" in r["error"] for r in failed)
    assert outcome.ok == (lost_rows == 0)


def test_resume_after_kill_gives_the_same_rows(tmp_path):
    """Kill a real `elicbench run` mid-way, resume it, compare with an uninterrupted run."""
    args = ["--dataset", BENCH_DATASET, "--codecs", "jpeg", "--qualities", "jpeg=20,40,60,80", "--limit", "3",
            "--jobs", "1", "--no-progress"]
    full = tmp_path / "full"
    subprocess.run([sys.executable, "-m", "elicbench.cli", "run", *args, "--out", str(full)], check=True,
                   capture_output=True)
    killed = tmp_path / "killed"
    proc = subprocess.Popen([sys.executable, "-m", "elicbench.cli", "run", *args, "--out", str(killed)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and len(read_rows(killed / "results.csv")) < 4:
        time.sleep(0.05)
    os.killpg(proc.pid, signal.SIGKILL)  # the whole process group: no clean shutdown at all
    proc.wait()
    partial = len(read_rows(killed / "results.csv"))
    assert 4 <= partial < 12, partial
    res = subprocess.run([sys.executable, "-m", "elicbench.cli", "run", *args, "--out", str(killed), "--resume"],
                         capture_output=True, text=True)
    assert res.returncode == 0, res.stderr
    a = load_results(full / "results.csv").sort_values(["image", "quality"]).reset_index(drop=True)
    b = load_results(killed / "results.csv").sort_values(["image", "quality"]).reset_index(drop=True)
    assert len(b) == 12  # no duplicates, nothing lost
    cols = ["image", "codec", "quality", "bytes", "bpp", "psnr", "ms_ssim"]
    pd.testing.assert_frame_equal(a[cols], b[cols])


def test_existing_run_is_not_overwritten(tmp_path):
    _run(tmp_path, dataset=BENCH_DATASET, codecs=["jpeg"], qualities={"jpeg": [50]}, limit=1)
    with pytest.raises(RunError, match="--resume"):
        _run(tmp_path, dataset=BENCH_DATASET, codecs=["jpeg"], qualities={"jpeg": [50]}, limit=1)


def test_qualities_for_unlisted_codec_is_an_error(tmp_path):
    with pytest.raises(RunError, match="not in --codecs"):
        _run(tmp_path, dataset=BENCH_DATASET, codecs=["jpeg"], qualities={"webp": [50]})


def test_a_short_row_is_not_done_on_resume(tmp_path):
    """A row with fewer fields than the header (damaged file) is re-run by --resume, not kept."""
    kw = dict(dataset=BENCH_DATASET, codecs=["jpeg"], qualities={"jpeg": [30, 60]}, limit=1)
    outcome = _run(tmp_path, **kw)
    path = outcome.run_dir / "results.csv"
    lines = path.read_text().splitlines()
    header = lines[0].split(",")
    short = ",".join(lines[2].split(",")[: header.index("bpp")])   # cut before bpp, newline kept
    path.write_text("\n".join([lines[0], lines[1], short]) + "\n")
    _run(tmp_path, resume=True, **kw)
    rows = read_rows(path)
    assert len(rows) == 2 and sorted(r["quality"] for r in rows) == ["30", "60"]
    assert all(r["bpp"] and r["error"] == "" for r in rows)


# ---- --metrics: a run measuring more than today's columns, reported, plotted and checked ----------
MORE_METRICS = ["psnr", "ms_ssim", "ssimulacra2", "psnr_hvs_m", "ciede2000"]


@pytest.fixture(scope="module")
def metrics_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("metrics") / "run"
    outcome = run_benchmark(RunConfig(dataset=BENCH_DATASET, codecs=["jpeg", "jpegli"], limit=2, jobs=2,
                                      qualities={"jpeg": [10, 30, 60, 90], "jpegli": [10, 30, 60, 90]},
                                      metrics=MORE_METRICS, out=out, progress=False, visual_bpp=None))
    assert outcome.ok
    return outcome.run_dir


def test_run_with_metrics_writes_their_columns_and_versions(metrics_run):
    df = load_results(metrics_run / "results.csv")
    header = (metrics_run / "results.csv").read_text().splitlines()[0].split(",")
    assert header[:header.index("ms_ssim_db") + 1] == RESULT_COLUMNS[:RESULT_COLUMNS.index("ms_ssim_db") + 1]
    assert {"ssimulacra2", "psnr_hvs_m", "ciede2000"} <= set(header)
    assert df["psnr_y"].isna().all()                         # not asked for: empty, the column stays
    assert (df["ssimulacra2"] < 100).all() and (df["ciede2000"] > 0).all()   # SSIMULACRA2 goes below 0 at q10
    by_q = df.groupby("quality")[["ssimulacra2", "ciede2000", "psnr_hvs_m"]].mean()
    assert by_q["ssimulacra2"].is_monotonic_increasing and by_q["ciede2000"].is_monotonic_decreasing
    summary = pd.read_csv(metrics_run / "summary.csv")
    assert {"ssimulacra2", "psnr_hvs_m", "ciede2000"} <= set(summary.columns)
    m = json.loads((metrics_run / "manifest.json").read_text())
    assert list(m["metrics"]) == MORE_METRICS
    assert m["metrics"]["ciede2000"]["library"] == "elicbench"   # its own implementation
    assert m["metrics"]["ciede2000"]["version"] == __import__("elicbench").__version__
    assert m["metrics"]["ciede2000"]["higher_is_better"] is False
    assert m["metrics"]["ms_ssim"]["shown_as"] == "ms_ssim_db"


def test_resume_with_other_metrics_is_refused(metrics_run, tmp_path):
    import shutil

    copy = tmp_path / "run"
    shutil.copytree(metrics_run, copy)
    with pytest.raises(RunError, match="flip"):
        run_benchmark(RunConfig(dataset=BENCH_DATASET, codecs=["jpeg"], limit=2, qualities={"jpeg": [10]},
                                metrics=["psnr", "flip"], out=copy, resume=True, progress=False, visual_bpp=None))


def test_report_and_plot_on_any_measured_metric(metrics_run, tmp_path, capsys):
    from elicbench.cli import main

    assert main(["report", str(metrics_run), "--metric", "ssimulacra2", "--anchor", "jpeg", "--no-visual",
                 "--out", str(tmp_path / "s2")]) == 0
    out = capsys.readouterr().out
    assert "BD-SSIMULACRA2" in out and "jpegli" in out
    bd = pd.read_csv(tmp_path / "s2" / "bdrate.csv").set_index("codec")
    assert bd.loc["jpegli", "metric"] == "ssimulacra2" and np.isfinite(bd.loc["jpegli", "bd_rate_pct"])
    for metric in ("ciede2000", "psnr_hvs_m"):   # CIEDE2000: lower is better (tests/analysis/test_bdrate.py)
        assert main(["report", str(metrics_run), "--metric", metric, "--anchor", "jpeg", "--no-visual",
                     "--out", str(tmp_path / metric)]) == 0
        bd = pd.read_csv(tmp_path / metric / "bdrate.csv").set_index("codec")
        assert np.isfinite(bd.loc["jpegli", "bd_rate_pct"]), metric
    assert "not monotonic" not in capsys.readouterr().out   # CIEDE2000 falls with bpp, as it should
    assert main(["report", str(metrics_run), "--metric", "ssim", "--no-visual", "--out", str(tmp_path / "x")]) == 2
    assert "ssimulacra2" in capsys.readouterr().err
    assert main(["plot", str(metrics_run), "--out", str(tmp_path / "plots")]) == 0
    names = {p.name for p in (tmp_path / "plots").iterdir()}
    assert {f"{BENCH_DATASET}_rd_{m}.png" for m in ("psnr", "ms_ssim_db", "ssimulacra2", "ciede2000", "psnr_hvs_m")} <= names
