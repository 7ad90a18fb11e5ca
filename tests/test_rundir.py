"""Run directories as places: one run at a time (an OS lock), --out that is not ours is refused,
and pool workers end with the run's main process. Real `elicbench run` subprocesses on a tiny
dataset made here (jpeg, small PNGs), so each test takes a few seconds."""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from elicbench.cli import main
from elicbench.jobs import job_key
from elicbench.results import read_rows
from elicbench.rundir import LOCK_FILE, is_run_dir

TESTS = Path(__file__).resolve().parent


@pytest.fixture(scope="module")
def tiny(tmp_path_factory) -> Path:
    """Four 96x128 noisy gradients: real images, milliseconds per jpeg job."""
    d = tmp_path_factory.mktemp("tiny")
    rng = np.random.default_rng(0)
    ramp = np.linspace(0, 200, 128)[None, :, None]
    for i in range(4):
        im = np.clip(ramp + rng.normal(0, 20, (96, 128, 3)), 0, 255).astype(np.uint8)
        Image.fromarray(im).save(d / f"im{i}.png")
    return d


def _cli(*argv: str) -> list[str]:
    return [sys.executable, "-m", "elicbench.cli", *argv]


def _run_args(tiny: Path, out: Path, qualities: str = "10,50") -> list[str]:
    return ["run", "--dataset", str(tiny), "--codecs", "jpeg", "--qualities", f"jpeg={qualities}",
            "--jobs", "1", "--no-progress", "--out", str(out)]


def _wait_for_holder(out: Path, pid: int, timeout: float = 60.0) -> None:
    """Until the process ``pid`` has taken the run directory's lock (and written itself into it)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if json.loads((out / LOCK_FILE).read_text() or "null").get("pid") == pid:
                return
        except (OSError, ValueError, AttributeError):
            pass
        time.sleep(0.01)
    raise AssertionError(f"pid {pid} never took the lock of {out}")


def _assert_one_line_error(res, *needles: str) -> None:
    assert res.returncode == 2, res.stdout + res.stderr
    lines = res.stderr.strip().splitlines()
    assert len(lines) == 1, res.stderr
    assert "Traceback" not in res.stderr
    for n in needles:
        assert n in lines[0], lines[0]


def _keys(out: Path) -> list[tuple]:
    return [job_key(r) for r in read_rows(out / "results.csv")]


# ---- 1. one run per directory ------------------------------------------------------------------

ALL_Q = ",".join(str(q) for q in range(1, 101))


def test_second_run_and_resume_are_refused_while_a_run_holds_the_directory(tiny, tmp_path):
    out = tmp_path / "run"
    first = subprocess.run(_cli(*_run_args(tiny, out, "1")), capture_output=True, text=True)
    assert first.returncode == 0, first.stderr
    before = (out / "results.csv").read_text().splitlines()[1:]
    assert len(before) == 4

    # A long resume holds the directory; it is frozen once it holds the lock, so the two
    # intruders meet a live holder for certain.
    holder = subprocess.Popen(_cli(*_run_args(tiny, out, ALL_Q), "--resume"), stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True, start_new_session=True)
    try:
        _wait_for_holder(out, holder.pid)
        os.kill(holder.pid, signal.SIGSTOP)
        plain = subprocess.run(_cli(*_run_args(tiny, out, "30")), capture_output=True, text=True, timeout=60)
        resumed = subprocess.run(_cli(*_run_args(tiny, out, ALL_Q), "--resume"), capture_output=True, text=True,
                                 timeout=60)
        for res in (plain, resumed):
            _assert_one_line_error(res, "in use by another elicbench run", f"pid {holder.pid}", "--resume",
                                   "started ")
        os.kill(holder.pid, signal.SIGCONT)
        stdout, stderr = holder.communicate(timeout=120)
    finally:
        if holder.poll() is None:
            os.killpg(holder.pid, signal.SIGKILL)
            holder.wait()
    assert holder.returncode == 0, stderr
    keys = _keys(out)
    assert len(keys) == 400 and len(set(keys)) == 400  # every job once: nothing lost, nothing twice
    after = (out / "results.csv").read_text().splitlines()[1:]
    assert set(before) <= set(after)                     # the first run's rows are still there


def test_two_runs_started_together_write_each_job_once(tiny, tmp_path):
    out = tmp_path / "run"
    procs = [subprocess.Popen(_cli(*_run_args(tiny, out, "20,40,60,80")), stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True) for _ in range(2)]
    results = [(p.wait(timeout=120), p.stderr.read()) for p in procs]
    codes = sorted(rc for rc, _ in results)
    assert codes == [0, 2], results
    loser = next(err for rc, err in results if rc == 2)
    assert len(loser.strip().splitlines()) == 1 and "Traceback" not in loser
    keys = _keys(out)
    assert len(keys) == 16 and len(set(keys)) == 16


def test_a_killed_run_leaves_no_stale_lock(tiny, tmp_path):
    out = tmp_path / "run"
    subprocess.run(_cli(*_run_args(tiny, out, "1")), check=True, capture_output=True)
    proc = subprocess.Popen(_cli(*_run_args(tiny, out, ALL_Q), "--resume"), stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL, start_new_session=True)
    _wait_for_holder(out, proc.pid)
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()
    res = subprocess.run(_cli(*_run_args(tiny, out, ALL_Q), "--resume"), capture_output=True, text=True)
    assert res.returncode == 0, res.stderr
    keys = _keys(out)
    assert len(keys) == 400 and len(set(keys)) == 400


# ---- 2. --out that cannot or must not be used --------------------------------------------------

def _main_run(capsys, tiny, out, *extra):
    rc = main(["run", "--dataset", str(tiny), "--codecs", "jpeg", "--qualities", "jpeg=50", "--jobs", "1",
               "--no-progress", "--out", str(out), *extra])
    return rc, capsys.readouterr()


def _one_line(captured, *needles):
    lines = captured.err.strip().splitlines()
    assert len(lines) == 1, captured.err
    for n in needles:
        assert n in lines[0], lines[0]


def test_a_folder_that_is_not_a_run_directory_is_left_alone(capsys, tiny, tmp_path):
    d = tmp_path / "mine"
    d.mkdir()
    (d / "manifest.json").write_text("{}\n")
    (d / "notes.txt").write_text("my notes\n")
    for extra in ((), ("--resume",)):
        rc, cap = _main_run(capsys, tiny, d, *extra)
        assert rc == 2
    _one_line(cap)
    rc, cap = _main_run(capsys, tiny, d)
    _one_line(cap, "not empty", "not an elicbench run directory")
    assert sorted(p.name for p in d.iterdir()) == ["manifest.json", "notes.txt"]
    assert (d / "manifest.json").read_text() == "{}\n"
    # A results.csv that is not ours is not resumed (which would rewrite it) either.
    (d / "results.csv").write_text("name,score\nalice,3\n")
    rc, cap = _main_run(capsys, tiny, d, "--resume")
    assert rc == 2
    _one_line(cap, "not an elicbench run directory")
    assert (d / "results.csv").read_text() == "name,score\nalice,3\n"


def test_unusable_out_paths_are_one_line_errors(capsys, tiny, tmp_path):
    f = tmp_path / "file.txt"
    f.write_text("keep me\n")
    rc, cap = _main_run(capsys, tiny, f)
    assert rc == 2
    _one_line(cap, "is a file")
    rc, cap = _main_run(capsys, tiny, f / "sub")
    assert rc == 2
    _one_line(cap, "which is a file")
    assert f.read_text() == "keep me\n"
    if os.geteuid() == 0:
        unwritable = Path("/sys/elicbench-test-out")          # root may write anywhere else
    else:
        ro = tmp_path / "ro"
        ro.mkdir()
        ro.chmod(0o555)
        unwritable = ro / "run"
    rc, cap = _main_run(capsys, tiny, unwritable)
    assert rc == 2
    _one_line(cap, str(unwritable), "cannot")


def test_empty_and_new_folders_and_our_run_directories_are_accepted(capsys, tiny, tmp_path):
    empty = tmp_path / "empty"
    empty.mkdir()
    rc, cap = _main_run(capsys, tiny, empty)
    assert rc == 0, cap.err
    assert is_run_dir(empty)
    assert json.loads((empty / "manifest.json").read_text())["format"] == "elicbench-run"
    rc, cap = _main_run(capsys, tiny, tmp_path / "new" / "deeper")
    assert rc == 0, cap.err
    rc, cap = _main_run(capsys, tiny, empty, "--resume")
    assert rc == 0, cap.err


def test_run_directories_written_before_the_format_key_are_recognised(tmp_path):
    repo = Path(__file__).resolve().parent.parent
    assert is_run_dir(repo / "reports" / "baseline")
    only_results = tmp_path / "r"
    only_results.mkdir()
    (only_results / "results.csv").write_text("dataset,image,width,height,codec,quality,bytes,bpp\n")
    assert is_run_dir(only_results)
    assert not is_run_dir(tmp_path)


# ---- 4. workers end with their run -------------------------------------------------------------

def _children(pid: int) -> set[int]:
    out = set()
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == pid:
            out.add(int(stat.parent.name))
    return out


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state not in ("Z", "X")   # a zombie has exited (PID 1 may reap it late)


@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="needs /proc to find the workers")
def test_workers_exit_when_the_run_is_killed(tiny, tmp_path):
    code = ("import sys, fake_codecs\nfrom elicbench.cli import main\n"
            f"sys.exit(main({['run', '--dataset', str(tiny), '--codecs', 'test-slow', '--jobs', '2', '--no-progress', '--out', str(tmp_path / 'run')]!r}))")
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(TESTS), os.environ.get("PYTHONPATH", "")]),
           "ELICBENCH_TEST_SLOW_S": "60"}
    proc = subprocess.Popen([sys.executable, "-c", code], env=env, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL, start_new_session=True)
    workers: set[int] = set()
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and len(workers) < 2:
            workers = {p for p in _children(proc.pid) if _alive(p)}
            time.sleep(0.05)
        assert len(workers) == 2, workers
        time.sleep(0.5)  # the workers are in their first (sleeping) job
        os.kill(proc.pid, signal.SIGKILL)   # the main process only, as a careless `kill -9 PID` does
        proc.wait()
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline and any(_alive(p) for p in workers):
            time.sleep(0.05)
        survivors = [p for p in workers if _alive(p)]
        assert not survivors, f"workers {survivors} outlived the killed run"
    finally:
        for p in workers:
            if _alive(p):
                os.kill(p, signal.SIGKILL)
        if proc.poll() is None:
            proc.kill()
            proc.wait()
