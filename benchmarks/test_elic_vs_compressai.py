"""elicbench's ELIC against CompressAI 1.2.8's ``Elic2022Official``, side by side (issue 15).

Both code the same image (kodim01, 768x512) with untrained weights (timing does not depend on
training; both write real bitstreams and decode them) on the same number of threads
(``ELICBENCH_THREADS``, default 2: TF intra-op threads here, ``torch.set_num_threads`` in the
peer). The peer runs in its own virtual environment (CompressAI + a CPU torch) as a long-lived
worker (``peer_compressai.py``), and each timed elicbench round is preceded by one peer call of
the same kind (pytest-benchmark's ``setup``), so both see the same machine load. One warm-up call
each is excluded (tracing, first-call allocations). ``extra_info`` holds both medians and the
ratio elicbench / CompressAI (issue 15's goal: <= 0.5).

Peer interpreter: ``ELICBENCH_PEER_PYTHON``, default ``/work/peer-venv/bin/python``; skipped with
the reason when it is missing or cannot import CompressAI. Set up the peer (about 3 minutes here):

    python3.11 -m venv /work/peer-venv
    /work/peer-venv/bin/pip install torch==2.13.0          # the local CPU wheel
    /work/peer-venv/bin/pip install --no-deps compressai==1.2.8
    /work/peer-venv/bin/pip install "numpy<2" scipy einops pytorch-msssim tqdm

Run: ``pytest benchmarks/test_elic_vs_compressai.py --benchmark-enable -s`` (``-k full``).
"""
from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from test_elic_speed import runner_for  # the same seeded random models (and cache) as the plain speed benchmark

THREADS = int(os.environ.setdefault("ELICBENCH_THREADS", "2"))
ROUNDS = int(os.environ.get("ELICBENCH_PEER_ROUNDS", "3"))
PEER_SCRIPT = Path(__file__).with_name("peer_compressai.py")
DEFAULT_PEER = Path("/work/peer-venv/bin/python")


def peer_python() -> str:
    configured = os.environ.get("ELICBENCH_PEER_PYTHON")
    if configured:
        if not Path(configured).is_file():
            pytest.skip(f"CompressAI peer not installed: ELICBENCH_PEER_PYTHON={configured} does not exist")
        return configured
    if DEFAULT_PEER.is_file():
        return str(DEFAULT_PEER)
    pytest.skip("CompressAI peer not installed: set ELICBENCH_PEER_PYTHON to a Python with compressai==1.2.8 "
                f"and a CPU torch (or create {DEFAULT_PEER.parent.parent}; see this file's docstring)")


class Peer:
    """The CompressAI worker: ``call('encode' | 'decode') -> seconds``."""

    def __init__(self, python: str, image_path: Path):
        self.proc = subprocess.Popen([python, str(PEER_SCRIPT), str(image_path), str(THREADS)],
                                     stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        line = self.proc.stdout.readline()
        if not line:
            last = (self.proc.stderr.read().strip().splitlines() or ["no error output"])[-1]
            code = self.proc.wait()
            pytest.skip(f"CompressAI peer ({python}) did not start (exit {code}): {last}")
        self.info = json.loads(line)
        self.times: dict[str, list[float]] = {"encode": [], "decode": []}
        self.bytes = 0

    def call(self, command: str) -> float:
        self.proc.stdin.write(command + "\n")
        self.proc.stdin.flush()
        line = self.proc.stdout.readline()
        if not line:
            raise RuntimeError(f"CompressAI peer died: {self.proc.stderr.read()[-1500:]}")
        answer = json.loads(line)
        self.bytes = answer["bytes"] or self.bytes
        return answer["seconds"]

    def close(self) -> None:
        if self.proc.poll() is None:
            self.proc.stdin.close()
            self.proc.wait(timeout=60)


@pytest.fixture(scope="module")
def image(kodak_image) -> np.ndarray:
    return kodak_image(1)


@pytest.fixture(scope="module")
def peer(image, tmp_path_factory):
    path = tmp_path_factory.mktemp("peer") / "image.npy"
    np.save(path, image)
    worker = Peer(peer_python(), path)
    worker.call("encode")  # warm-up (and a bitstream for the first decode)
    worker.call("decode")
    yield worker
    worker.close()


def side_by_side(benchmark, peer, command: str, target, args, preset: str) -> None:
    from elicbench.tfenv import import_tf, onednn_enabled

    tf = import_tf()
    peer_times: list[float] = []
    benchmark.pedantic(target, args=args, setup=lambda: peer_times.append(peer.call(command)),
                       rounds=ROUNDS, iterations=1)
    ours = benchmark.stats.stats.median if benchmark.stats else float("nan")
    theirs = statistics.median(peer_times)
    benchmark.extra_info.update(
        preset=preset, threads=THREADS, tf_intra_op_threads=tf.config.threading.get_intra_op_parallelism_threads(),
        onednn=onednn_enabled(), compressai_seconds=peer_times, compressai_median=theirs,
        compressai_bytes=peer.bytes, ratio=ours / theirs, peer=peer.info)
    print(f"\n{command} {preset}: elicbench {ours:.3f} s, CompressAI {theirs:.3f} s, ratio {ours / theirs:.2f} "
          f"({THREADS} threads, oneDNN {'on' if onednn_enabled() else 'off'})", file=sys.stderr)


@pytest.mark.parametrize("preset", ["full", "tiny"])
def test_encode_vs_compressai(benchmark, image, peer, preset):
    runner = runner_for(preset)
    data = runner.compress(image)  # warm-up: tracing
    assert runner.decompress(data).shape == image.shape
    side_by_side(benchmark, peer, "encode", runner.compress, (image,), preset)


@pytest.mark.parametrize("preset", ["full", "tiny"])
def test_decode_vs_compressai(benchmark, image, peer, preset):
    runner = runner_for(preset)
    data = runner.compress(image)
    runner.decompress(data)  # warm-up: tracing
    side_by_side(benchmark, peer, "decode", runner.decompress, (data,), preset)
