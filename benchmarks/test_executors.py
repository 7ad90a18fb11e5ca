"""Jobs per second on one sweep: the local process pool vs a Dask LocalCluster of 1 and 2 workers.

Run: pytest benchmarks/test_executors.py --benchmark-enable -s
"""
from __future__ import annotations

import time

import pytest

from elicbench.runner import RunConfig, run_benchmark

distributed = pytest.importorskip("distributed")

# visual_bpp=None: jobs only, without the visual comparison's crops made after them.
SWEEP = dict(dataset="kodak", codecs=["jpeg", "webp"], limit=6, progress=False, visual_bpp=None)


def _jobs_per_s(tmp_path_factory, **kw) -> float:
    out = tmp_path_factory.mktemp("run") / "r"
    t0 = time.perf_counter()
    outcome = run_benchmark(RunConfig(out=out, **SWEEP, **kw))
    wall = time.perf_counter() - t0
    assert outcome.ok
    return outcome.completed / wall


@pytest.mark.parametrize("setup", ["pool-1", "pool-2", "dask-1", "dask-2"])
def test_jobs_per_second(benchmark, tmp_path_factory, setup):
    kind, n = setup.split("-")
    n = int(n)
    if kind == "pool":
        rate = benchmark.pedantic(lambda: _jobs_per_s(tmp_path_factory, jobs=n), rounds=1, iterations=1)
    else:
        from distributed import LocalCluster

        with LocalCluster(n_workers=n, threads_per_worker=1, processes=True, host="127.0.0.1",
                          dashboard_address=None, silence_logs=40) as cluster:
            rate = benchmark.pedantic(lambda: _jobs_per_s(tmp_path_factory, scheduler=cluster.scheduler_address),
                                      rounds=1, iterations=1)
    benchmark.extra_info["jobs_per_s"] = rate
    print(f"\n{setup}: {rate:.2f} jobs/s")
