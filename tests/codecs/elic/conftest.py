"""Fixtures for the ELIC tests: one random-init tiny model per session (no training needed for
exactness tests), made to behave like a trained one where it matters (see ``calibrate``)."""
from __future__ import annotations

import signal
from contextlib import contextmanager

import numpy as np
import pytest


def calibrate(model, gain: float = 30.0, offset: float = 20.0) -> None:
    """Spread the scale indices over the table like a trained model's.

    At random init the index head outputs ~0 everywhere, so every symbol is coded with the
    narrowest Gaussian and index rounding is never exercised; scaling the index half of the last
    parameter-aggregation layer gives indices spread over 0..63 and rates near the likelihoods.
    """
    tf = pytest.importorskip("tensorflow")
    for ep, g in zip(model.scctx.param_aggregation, model.config.groups):
        layer = ep.layers[-1]
        layer.kernel.assign(tf.concat([layer.kernel[..., :g], layer.kernel[..., g:] * gain], -1))
        layer.bias.assign(tf.concat([layer.bias[:g], layer.bias[g:] + offset], 0))


@contextmanager
def deadline(seconds: int):
    """Fail (instead of hanging) if the block runs longer than ``seconds``."""
    def fire(signum, frame):
        raise TimeoutError(f"took longer than {seconds} s")

    old = signal.signal(signal.SIGALRM, fire)
    signal.alarm(seconds)
    try:
        yield
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, old)


@pytest.fixture(scope="session")
def elic_tf():
    from elicbench.tfenv import import_tf

    return import_tf()


@pytest.fixture(scope="session")
def elic_tiny_model(elic_tf):
    from elicbench.codecs.elic.config import PRESETS
    from elicbench.codecs.elic.model import build_model

    elic_tf.random.set_seed(1234)
    model = build_model(PRESETS["tiny"])
    calibrate(model)
    model.prepare_for_coding()
    return model


@pytest.fixture(scope="session")
def elic_model_dir(elic_tiny_model, tmp_path_factory):
    """The session model exported as a model directory (float32 weights, no SavedModel)."""
    from elicbench.codecs.elic.export import export_model

    out = tmp_path_factory.mktemp("elic-models") / "tiny-0.0016"
    return export_model(elic_tiny_model, out, {"lambda": 0.0016, "steps": 0, "data": None,
                                               "note": "random init, calibrated indices"},
                        saved_model=False)


@pytest.fixture(scope="session")
def elic_runner(elic_model_dir):
    from elicbench.codecs.elic.export import load_model

    return load_model(elic_model_dir)


@pytest.fixture(scope="session")
def odd_crop(kodak_image):
    """333x517: neither side a multiple of 64 (nor even)."""
    return np.ascontiguousarray(kodak_image(1)[:333, :517])


@pytest.fixture(scope="session")
def small_crop(kodak_image):
    return np.ascontiguousarray(kodak_image(23)[100:228, 200:392])
