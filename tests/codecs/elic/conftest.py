"""Fixtures for the ELIC tests: one random-init tiny model per session (no training needed for
exactness tests), made to behave like a trained one where it matters (``elic.testing.spread_scale_indices``)."""
from __future__ import annotations

import threading

import numpy as np
import pytest


def within(seconds: float, fn, *args):
    """Run ``fn(*args)`` in a daemon thread; fail the test if it takes longer than ``seconds``.

    A signal-based timeout would raise inside TensorFlow's Python internals and can leave its
    locks held; a watchdog thread only observes.
    """
    result: dict = {}

    def target():
        try:
            result["value"] = fn(*args)
        except BaseException as exc:  # re-raised in the test's thread
            result["error"] = exc

    thread = threading.Thread(target=target, daemon=True)
    thread.start()
    thread.join(seconds)
    if thread.is_alive():
        pytest.fail(f"{getattr(fn, '__name__', fn)} still running after {seconds} s (hang?)")
    if "error" in result:
        raise result["error"]
    return result.get("value")


@pytest.fixture(scope="session")
def elic_tf():
    from elicbench.tfenv import import_tf

    return import_tf()


@pytest.fixture(scope="session")
def elic_model_dir(elic_tf, tmp_path_factory):
    """A random-init, calibrated tiny model exported as a model directory (float32, no SavedModel)."""
    from elicbench.codecs.elic.export import export_model
    from elicbench.codecs.elic.testing import random_model

    model = random_model("tiny", seed=1234)
    out = tmp_path_factory.mktemp("elic-models") / "tiny-0.0016"
    return export_model(model, out, {"lambda": 0.0016, "steps": 0, "data": None,
                                     "note": "random init, calibrated indices"}, saved_model=False)


@pytest.fixture(scope="session")
def elic_runner(elic_model_dir):
    """The exported model loaded back; shared with the codec's per-process cache."""
    from elicbench.codecs.elic import codec
    from elicbench.codecs.elic.export import MODEL_JSON, load_model

    runner = load_model(elic_model_dir)
    key = (str(elic_model_dir.resolve()), (elic_model_dir / MODEL_JSON).stat().st_mtime_ns)
    codec._RUNNERS[key] = runner
    return runner


@pytest.fixture(scope="session")
def elic_tiny_model(elic_runner):
    """The loaded model itself (prepared for coding), so its traced functions are shared."""
    return elic_runner.model


@pytest.fixture(scope="session")
def odd_crop(photo):
    """333x517: neither side a multiple of 64 (nor even)."""
    return np.ascontiguousarray(photo(1)[:333, :517])


@pytest.fixture(scope="session")
def small_crop(photo):
    return np.ascontiguousarray(photo(23)[100:228, 200:392])


@pytest.fixture(scope="session")
def elic_within():
    return within
