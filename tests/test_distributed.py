"""Dask: the same jobs on a LocalCluster give the same rows; a worker killed mid-run loses nothing."""
from __future__ import annotations

import os
import signal
import threading
import time

import pandas as pd
import pytest

from elicbench.results import load_results, read_rows
from elicbench.runner import RunConfig, run_benchmark
from bench_data import BENCH_DATASET, BENCH_IMAGES

distributed = pytest.importorskip("distributed")

COLS = ["image", "codec", "quality", "bytes", "bpp", "psnr", "psnr_y", "ms_ssim"]


@pytest.fixture
def cluster():
    from distributed import LocalCluster

    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True, host="127.0.0.1",
                      dashboard_address=None, silence_logs=40) as c:
        yield c


def _config(out, **kw):
    return RunConfig(dataset=BENCH_DATASET, codecs=["jpeg", "webp"], qualities={"jpeg": [40, 80], "webp": [40, 80]},
                     limit=3, out=out, progress=False, **kw)


def _sorted(df):
    return df.sort_values(["image", "codec", "quality"]).reset_index(drop=True)[COLS]


def test_dask_rows_equal_local_rows(tmp_path, cluster):
    local = run_benchmark(_config(tmp_path / "local", jobs=1))
    dask = run_benchmark(_config(tmp_path / "dask", scheduler=cluster.scheduler_address))
    assert local.ok and dask.ok
    pd.testing.assert_frame_equal(_sorted(load_results(local.run_dir / "results.csv")),
                                  _sorted(load_results(dask.run_dir / "results.csv")))


def test_killed_worker_loses_nothing(tmp_path, cluster):
    out = tmp_path / "run"
    victim_pid = list(cluster.workers.values())[0].process.process.pid
    killed = []

    def kill_when_started():
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and len(read_rows(out / "results.csv")) < 2:
            time.sleep(0.02)
        os.kill(victim_pid, signal.SIGKILL)  # a worker process dies mid-run
        killed.append(len(read_rows(out / "results.csv")))

    killer = threading.Thread(target=kill_when_started, daemon=True)
    killer.start()
    outcome = run_benchmark(_config(out, scheduler=cluster.scheduler_address))
    killer.join()
    assert killed and killed[0] < 12, "the worker must die while jobs remain"
    assert outcome.ok, outcome.failures
    df = load_results(out / "results.csv")
    assert len(df) == 12 and not df.duplicated(["image", "codec", "quality"]).any()
