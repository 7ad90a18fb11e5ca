"""Running a benchmark: dataset -> jobs -> executor -> results.csv / summary.csv / manifest.json.

``run_benchmark(RunConfig(...))`` is what ``elicbench run`` calls; use it from a notebook too.
Any ``concurrent.futures``-style executor runs the jobs (a local process pool by default, a Dask
cluster with ``scheduler=``): local and distributed runs share this one code path, and the
client writes every row as it arrives, so a crash or a kill loses at most the jobs in flight.
"""
from __future__ import annotations

import contextlib
import os
import sys
import time
from concurrent.futures import FIRST_COMPLETED, Executor, wait
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any, Callable, Iterator, Sequence

from .codecs import Codec, CodecUnavailable, format_quality, get_codec
from .crops import DEFAULT_TARGET_BPP, NO_RESULTS, choose_image, store_crops, store_notes
from .datasets.base import Dataset
from .jobs import CodecSpec, Job, job_key
from .manifest import base_manifest, now_iso, read_manifest, write_manifest
from .metrics import DEFAULT_METRICS, check_metric_names, get_metric
from .results import (MANIFEST_FILE, RESULTS_FILE, ResultsWriter, header_of, is_done_row, load_results, read_rows,
                      result_columns, rewrite_rows, write_summary)
from .rundir import RunDirLock, check_out_dir, close_inherited_locks, is_run_dir, make_out_dir
from .worker import create_codec, run_job
from .errors import UserError


class RunError(UserError):
    """Bad input for a run (unknown codec, bad quality, existing output ...): exit code 2."""


@dataclass
class RunConfig:
    dataset: str
    codecs: Sequence[str]
    qualities: dict[str, list[float]] = field(default_factory=dict)   # codec name -> sweep
    options: dict[str, dict[str, Any]] = field(default_factory=dict)  # codec name -> settings
    limit: int | None = None
    out: Path | None = None
    jobs: int | None = None            # local worker processes; default: all cores
    resume: bool = False
    repeats: int = 1
    target_bpp: Sequence[float] | None = None
    scheduler: str | None = None       # Dask scheduler address, e.g. tcp://127.0.0.1:8786
    progress: bool = True
    command: list[str] | None = None
    download: bool = True
    visual_bpp: float | None = DEFAULT_TARGET_BPP  # crops for the report's visual comparison; None: none
    metrics: Sequence[str] = DEFAULT_METRICS        # registered metric names, one results column each


@dataclass
class RunOutcome:
    run_dir: Path
    planned: int
    skipped: int                        # already done (resume)
    completed: int
    failures: list[dict[str, Any]]
    wall_s: float
    interrupted: bool = False

    @property
    def ok(self) -> bool:
        return not self.failures and not self.interrupted


# ---- planning ----------------------------------------------------------------------------------
def prepare_codec(name: str, settings: dict[str, Any] | None = None,
                  qualities: Sequence[float] | None = None) -> tuple[CodecSpec, Codec, list[float]]:
    """Create one codec to validate its options, availability and qualities before any job runs."""
    cls = get_codec(name)                       # UnknownNameError lists the known names
    avail = cls.availability_for(settings or {})
    if not avail:
        raise CodecUnavailable(f"codec {name!r} is not available here: {avail.reason}")
    module = cls.__module__ if not cls.__module__.startswith(("elicbench.", "__main__")) else None
    spec = CodecSpec(name, tuple(sorted((settings or {}).items())), module)
    codec = create_codec(spec)
    chosen = [codec.validate_quality(q) for q in qualities] if qualities else list(codec.qualities())
    return spec, codec, chosen


def make_codecs(config: RunConfig) -> list[tuple[CodecSpec, Codec, list[float]]]:
    unknown = (set(config.qualities) | set(config.options)) - set(config.codecs)
    if unknown:
        raise RunError(f"--qualities/--option given for codec(s) not in --codecs: {', '.join(sorted(unknown))}")
    out = []
    for name in config.codecs:
        spec, codec, qualities = prepare_codec(name, config.options.get(name), config.qualities.get(name))
        if any(codec.label == c.label for _, c, _ in out):
            raise RunError(f"codec {codec.label!r} is listed twice")
        if not qualities and not config.target_bpp:
            raise RunError(f"codec {name!r} has no qualities to run")
        out.append((spec, codec, qualities))
    return out


def plan_jobs(dataset: Dataset, codecs, repeats: int, threads: int,
              target_bpp: Sequence[float] | None = None, metrics: Sequence[str] = DEFAULT_METRICS) -> list[Job]:
    """Image-major order, so each worker mostly reuses the image it has loaded."""
    jobs = []
    names = tuple(metrics)
    for image in dataset.images:
        for spec, codec, qualities in codecs:
            if target_bpp:
                jobs += [Job(image, spec, codec.label, None, float(t), repeats, threads, names) for t in target_bpp]
            else:
                jobs += [Job(image, spec, codec.label, q, None, repeats, threads, names) for q in qualities]
    return jobs


def check_metrics(names: Sequence[str]) -> tuple[str, ...]:
    """The metric names checked: known (UnknownNameError lists the known ones: exit 2) and usable here."""
    names = check_metric_names(names)
    if not names:
        raise RunError("--metrics: name at least one metric (see `elicbench list`)")
    for name in names:
        why = get_metric(name).available()
        if why:
            raise RunError(f"metric {name!r} is not available here: {why}")
    return tuple(names)


def metrics_manifest(names: Sequence[str]) -> dict[str, Any]:
    """The manifest's ``metrics`` entry: per metric, what it is and which library version computed it."""
    out = {}
    for name in names:
        cls = get_metric(name)
        out[name] = {"label": cls.label, "unit": cls.unit, "higher_is_better": cls.higher_is_better,
                     "shown_as": cls.display_axis(), "min_side": cls.min_side, "library": cls.library,
                     "version": cls.version()}
    return out


def default_out_dir(dataset: Dataset) -> Path:
    stem = Path(dataset.name).name or "dataset"
    return Path("reports") / f"{stem}-{datetime.now().strftime('%Y%m%d-%H%M%S')}"


def dataset_manifest(dataset: Dataset) -> dict[str, Any]:
    """The manifest's ``dataset`` entry: one record per image (``datasets.image_record``: hash, size,
    an EXIF orientation or ICC profile that was recorded and not applied, or why it is unreadable).
    Warns once (DatasetWarning) when images carry an orientation or a non-sRGB profile."""
    import warnings

    from .datasets import DatasetWarning, ignored_metadata_warning, image_record

    images = [image_record(ref) for ref in dataset.images]
    message = ignored_metadata_warning(images)
    if message:
        warnings.warn(message, DatasetWarning, stacklevel=2)
    return {
        "name": dataset.name, "source": dataset.source,
        "root": str(dataset.root) if dataset.root else None, **dataset.info,
        "images": images,
    }


# ---- executing ---------------------------------------------------------------------------------
@contextlib.contextmanager
def make_executor(workers: int, scheduler: str | None = None) -> Iterator[Executor]:
    if scheduler:
        from .distributed import dask_executor

        with dask_executor(scheduler) as ex:
            yield ex
        return
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor

    ex = ProcessPoolExecutor(max_workers=workers, mp_context=multiprocessing.get_context(_start_method()),
                             initializer=_worker_init, initargs=(os.getpid(),))
    try:
        yield ex
    finally:
        ex.shutdown(wait=True, cancel_futures=True)


def _worker_init(parent_pid: int) -> None:
    """Runs first in every pool worker: the worker ends when the run's main process ends, however
    it ends (kill -9 included), instead of living on under PID 1.

    Linux: the kernel sends SIGKILL when the parent dies (prctl PR_SET_PDEATHSIG). Everywhere: a
    daemon thread checks every half second that the parent is still the one that started us.
    The worker also closes its inherited copy of the run directory's lock (see ``rundir``).
    """
    import signal
    import threading

    close_inherited_locks()
    if sys.platform.startswith("linux"):
        try:
            import ctypes

            libc = ctypes.CDLL(None, use_errno=True)
            PR_SET_PDEATHSIG = 1
            libc.prctl(PR_SET_PDEATHSIG, int(signal.SIGKILL), 0, 0, 0)
        except (OSError, AttributeError):
            pass  # the watchdog below still applies
    if os.getppid() != parent_pid:  # the parent died before the above took effect
        os._exit(1)

    def watch() -> None:
        while True:
            time.sleep(0.5)
            if os.getppid() != parent_pid:
                os._exit(1)

    threading.Thread(target=watch, name="elicbench-parent-watchdog", daemon=True).start()


def _start_method() -> str:
    """'fork' starts workers instantly; a parent that imported TensorFlow (its thread pools
    do not survive a fork) or a platform without fork gets 'spawn'."""
    import multiprocessing

    if "tensorflow" in sys.modules or "fork" not in multiprocessing.get_all_start_methods():
        return "spawn"
    return "fork"


#: Times a job is re-run when its result is lost in transport (not when the job fails).
RESULT_LOSS_RETRIES = 2


def execute(jobs: list[Job], on_row: Callable[[dict[str, Any]], None], workers: int,
            scheduler: str | None = None, in_flight: int | None = None,
            then: Callable[[Executor], None] | None = None) -> None:
    """Run jobs with at most ``in_flight`` submitted at a time; call ``on_row`` for each result.

    If a worker process dies (a codec crashing the interpreter), the pool is rebuilt and the jobs
    that were in flight become suspects: each is re-run alone, so a job that crashes its worker
    on its own is reported as failed and the innocent ones finish normally. A job whose result is
    lost on the way back (a Dask worker dying while its result is gathered) is re-run, at most
    ``RESULT_LOSS_RETRIES`` times.

    ``then(executor)`` runs once every row is in: on the pool that ran the jobs, whose workers have
    their codecs loaded (on a new one when there were no jobs or the pool broke).
    """
    pending = list(reversed(jobs))
    suspects: list[Job] = []
    lost: dict[Job, int] = {}  # times a job's result could not be fetched
    limit = in_flight or (workers if not scheduler else max(2 * workers, 8))
    while pending or suspects:
        with make_executor(workers, scheduler) as ex:
            running: dict[Any, Job] = {}
            broken = False
            while (pending or suspects or running) and not broken:
                if suspects:
                    if not running:
                        job = suspects.pop()
                        running[ex.submit(run_job, job)] = job
                else:
                    while pending and len(running) < limit:
                        job = pending.pop()
                        running[ex.submit(run_job, job)] = job
                done, _ = wait(list(running), return_when=FIRST_COMPLETED)
                alone = len(running) == 1
                for fut in done:
                    job = running.pop(fut)
                    try:
                        row = fut.result()
                    except BrokenProcessPool:
                        broken = True
                        if alone:
                            on_row(_failed_row(job, "worker process died while running this job"))
                        else:
                            suspects.append(job)
                        continue
                    except Exception as exc:
                        # run_job never raises, so this is the transport failing, not the job:
                        # Dask can lose a result it was gathering when a worker dies (seen as a
                        # ValueError from its client). Re-run such a job; KilledWorker means Dask
                        # already retried it (the job keeps killing workers), so it is the job's row.
                        lost[job] = lost.get(job, 0) + 1
                        if type(exc).__name__ != "KilledWorker" and lost[job] <= RESULT_LOSS_RETRIES:
                            pending.append(job)
                            continue
                        row = _failed_row(job, f"{type(exc).__name__}: {exc}")
                    on_row(row)
            # Whatever else was in flight died with the pool: re-run each alone.
            suspects.extend(running.values())
            if then is not None and not (broken or pending or suspects):
                then(ex)
                then = None
    if then is not None:
        with make_executor(1, scheduler) as ex:
            then(ex)


def _failed_row(job: Job, error: str) -> dict[str, Any]:
    return {"dataset": job.image.dataset, "image": job.image.name, "codec": job.label,
            "quality": job.quality, "target_bpp": job.target_bpp, "repeats": job.repeats,
            "error": error[:500]}


def run_benchmark(config: RunConfig) -> RunOutcome:
    """Validate the configuration, resolve the dataset and run every job into a run directory."""
    from .datasets import resolve_dataset

    if config.repeats < 1:
        raise RunError("--repeats must be at least 1")
    if config.jobs is not None and config.jobs < 1:
        raise RunError("--jobs must be at least 1")
    if config.limit is not None and config.limit < 1:
        raise RunError("--limit must be at least 1")
    if config.target_bpp and any(t <= 0 for t in config.target_bpp):
        raise RunError("--target-bpp values must be positive")
    metrics = check_metrics(config.metrics)
    codecs = make_codecs(config)
    dataset = resolve_dataset(config.dataset, download=config.download, progress=config.progress)
    dataset = dataset.limit(config.limit)
    run_dir = Path(config.out) if config.out else default_out_dir(dataset)
    return run_planned(dataset, codecs, run_dir, jobs=config.jobs, resume=config.resume,
                       repeats=config.repeats, target_bpp=config.target_bpp, scheduler=config.scheduler,
                       progress=config.progress, command=config.command, limit=config.limit,
                       visual_bpp=config.visual_bpp, metrics=metrics)


def run_planned(dataset: Dataset, codecs, run_dir: Path, *, jobs: int | None = None, resume: bool = False,
                repeats: int = 1, target_bpp: Sequence[float] | None = None, scheduler: str | None = None,
                progress: bool = True, command: list[str] | None = None, limit: int | None = None,
                visual_bpp: float | None = None, metrics: Sequence[str] = DEFAULT_METRICS) -> RunOutcome:
    """Run ``codecs`` (from :func:`make_codecs`) over ``dataset`` into ``run_dir``.

    ``visual_bpp``: after the jobs, store the crops of the report's visual comparison at this bpp
    (``elicbench.crops``; None: none).

    ``run_dir`` must be new, empty or a run directory, and is locked for the run's life: a second
    run into it fails at once with :class:`elicbench.rundir.RunDirBusy` (see ``elicbench.rundir``).
    """
    run_dir = Path(run_dir)
    check_out_dir(run_dir)
    if resume and not (run_dir / RESULTS_FILE).exists():
        raise RunError(f"--resume: no {RESULTS_FILE} in {run_dir} to resume")
    make_out_dir(run_dir)
    with RunDirLock(run_dir, command if command is not None else list(sys.argv)):
        return _run_locked(dataset, codecs, run_dir, jobs=jobs, resume=resume, repeats=repeats,
                           target_bpp=target_bpp, scheduler=scheduler, progress=progress, command=command,
                           limit=limit, visual_bpp=visual_bpp, metrics=tuple(metrics))


def _run_locked(dataset: Dataset, codecs, run_dir: Path, *, jobs: int | None, resume: bool, repeats: int,
                target_bpp: Sequence[float] | None, scheduler: str | None, progress: bool,
                command: list[str] | None, limit: int | None, visual_bpp: float | None,
                metrics: tuple[str, ...] = DEFAULT_METRICS) -> RunOutcome:
    results_path = run_dir / RESULTS_FILE
    columns = result_columns(metrics)
    done_keys: set = set()
    if resume:
        # Checked again under the lock: another run may have changed the folder meanwhile.
        if not results_path.exists():
            raise RunError(f"--resume: no {RESULTS_FILE} in {run_dir} to resume")
        if not is_run_dir(run_dir):
            raise RunError(f"--resume: {run_dir} is not an elicbench run directory ({RESULTS_FILE} is not ours)")
        missing = [c for c in columns if c not in (header_of(results_path) or columns)]
        if missing:
            raise RunError(f"--resume: {RESULTS_FILE} in {run_dir} has no column(s) {', '.join(missing)}; resume "
                           "with the --metrics the run started with, or run the new metrics into a new --out")
        # Failed and incomplete rows (fewer fields than the header, no bpp) are re-run, never duplicated.
        kept = [r for r in read_rows(results_path) if is_done_row(r)]
        rewrite_rows(results_path, kept)
        done_keys = {job_key(r) for r in kept}
    elif results_path.exists() and results_path.stat().st_size > 0:
        raise RunError(f"{run_dir} already holds results; use --resume to continue it or --out for a new run")

    workers = jobs or os.cpu_count() or 1
    threads = max(1, (os.cpu_count() or 1) // workers) if not scheduler else 1
    all_jobs = plan_jobs(dataset, codecs, repeats, threads, target_bpp, metrics)
    todo = [j for j in all_jobs if j.key not in done_keys]

    manifest_path = run_dir / MANIFEST_FILE
    manifest = base_manifest(command)
    if resume and manifest_path.exists():
        previous = read_manifest(manifest_path)  # ManifestError (exit 2) when corrupt
        manifest["resumed_from"] = {k: previous.get(k) for k in ("started", "finished", "status", "command")}
    manifest["dataset"] = dataset_manifest(dataset)
    manifest["run"] = {"jobs": len(all_jobs), "workers": workers, "threads_per_job": threads,
                       "scheduler": scheduler, "repeats": repeats, "limit": limit,
                       "target_bpp": list(target_bpp) if target_bpp else None,
                       "timing": "median of --repeats encode/decode calls, perf_counter, after one "
                                 "untimed warm-up per worker, codec and image shape"}
    manifest["codecs"] = {
        codec.label: {**codec.describe(), "qualities": [format_quality(q) for q in qualities],
                      "rate_points": {format_quality(q): codec.quality_info(q) for q in qualities
                                      if codec.quality_info(q)}}
        for spec, codec, qualities in codecs
    }
    manifest["metrics"] = metrics_manifest(metrics)
    write_manifest(manifest_path, manifest)

    failures: list[dict[str, Any]] = []
    completed = 0
    interrupted = False
    t0 = time.monotonic()
    bar = _progress(len(todo), progress, dataset.name)
    with ResultsWriter(results_path, columns=columns) as writer:
        def on_row(row: dict[str, Any]) -> None:
            nonlocal completed
            writer.write(row)
            completed += 1
            if row.get("error"):
                failures.append(row)
                bar.set_postfix(failed=len(failures), refresh=False)
            bar.update(1)

        def crops(ex: Executor) -> None:
            bar.close()
            try:
                _store_crops(run_dir, dataset, codecs, visual_bpp, ex)
            except Exception as exc:  # the crops must never cost the run its summary and manifest
                import warnings

                warnings.warn(f"{run_dir}: crops of the visual comparison not stored ({type(exc).__name__}: {exc}); "
                              f"make them with `elicbench visual {run_dir}`", RuntimeWarning, stacklevel=2)

        try:
            execute(todo, on_row, workers, scheduler, then=crops if visual_bpp is not None else None)
        except KeyboardInterrupt:
            interrupted = True
        finally:
            bar.close()
    wall = time.monotonic() - t0
    write_summary(run_dir)
    manifest["finished"] = now_iso()
    manifest["status"] = "interrupted" if interrupted else ("failed jobs" if failures else "ok")
    manifest["run"].update({"wall_s": round(wall, 3), "completed": completed,
                            "skipped": len(all_jobs) - len(todo), "failed": len(failures)})
    write_manifest(manifest_path, manifest)
    return RunOutcome(run_dir, len(all_jobs), len(all_jobs) - len(todo), completed, failures, wall, interrupted)


def _store_crops(run_dir: Path, dataset: Dataset, codecs, target_bpp: float, ex: Executor) -> None:
    """The visual comparison's crops (``elicbench.crops``), coded by a worker of ``ex`` (where the
    codecs, and TensorFlow for ELIC, are loaded already; not in this process). Never fails the run:
    what goes wrong is stored as a note the report shows."""
    results = load_results(run_dir / RESULTS_FILE)
    image = choose_image(results)
    ref = next((r for r in dataset.images if r.name == image), None)
    if ref is None:
        store_notes(run_dir, dataset.name, None, [target_bpp], [NO_RESULTS])
        return
    specs = {codec.label: spec for spec, codec, _ in codecs}
    store_crops(run_dir, results, dataset.name, ref, specs, target_bpps=[target_bpp],
                submit=lambda fn, *args: ex.submit(fn, *args).result())


def _progress(total: int, enabled: bool, name: str):
    from tqdm import tqdm

    return tqdm(total=total, unit="job", desc=f"elicbench {Path(name).name}", file=sys.stderr,
                disable=not enabled, dynamic_ncols=True, smoothing=0.1)
