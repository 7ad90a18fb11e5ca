"""ELIC training: the loop learns, resumes from its checkpoint after a signal, exports a usable
model, and refuses Kodak as training data.

One small model is trained once for the module and shared by the tests marked slow: tracing the
training step of the ELIC graph costs tens of seconds of CPU, and each train() call traces once
(about 100 s of CPU in all for the fixture and the export round trip on two cores).
"""
from __future__ import annotations

import csv
import dataclasses
import json
import os
import shutil
import signal
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

DATA = Path(os.environ["ELICBENCH_DATA"])  # tests/conftest.py sets the default
KODAK_DIR = DATA / "kodak"

needs_kodak = pytest.mark.skipif(not (KODAK_DIR / "kodim05.png").is_file(),
                                 reason=f"needs the Kodak images in {KODAK_DIR} (set ELICBENCH_DATA)")

INTERRUPT_AT = 6
TOTAL_STEPS = 18
LAMBDA = 0.0075


def micro_config():
    """The tiny preset's structure (5 uneven groups, attention, hyperprior) at a fraction of its width."""
    from elicbench.codecs.elic.config import PRESETS

    return dataclasses.replace(
        PRESETS["tiny"], N=16, M=32, groups=(4, 4, 8, 16), hyper_channels=16, h_a_widths=(24, 16),
        h_s_widths=(24, 32), hyper_out=64, channel_context_widths=(16, 16))


def state_dir(out_dir: Path) -> Path:
    """Where a run keeps its checkpoints and log: ``--out/training`` (the model is ``--out`` itself)."""
    return out_dir / "training"


def read_log(out_dir: Path, split: str) -> list[dict[str, float]]:
    with open(state_dir(out_dir) / "train_log.csv") as f:
        return [{k: float(v) if v not in ("", split) else v for k, v in row.items()}
                for row in csv.DictReader(f) if row["split"] == split]


@pytest.fixture(scope="module")
def train_dir(tmp_path_factory) -> Path:
    """$ELICBENCH_DATA/train when present (CI), else photographs that ship with scikit-image."""
    if (DATA / "train").is_dir():
        return DATA / "train"
    from skimage import data

    folder = tmp_path_factory.mktemp("photos")
    for name in ("astronaut", "coffee", "chelsea", "rocket"):
        Image.fromarray(getattr(data, name)()).save(folder / f"{name}.png")
    return folder


@pytest.fixture(scope="module")
def test_image() -> np.ndarray:
    """A photograph to code: kodim23 (CI), else scikit-image's astronaut."""
    if (KODAK_DIR / "kodim23.png").is_file():
        return np.asarray(Image.open(KODAK_DIR / "kodim23.png").convert("RGB"))
    from skimage import data

    return data.astronaut()


@pytest.fixture(scope="module")
def trained(tmp_path_factory, train_dir):
    """Train, get stopped by SIGINT after step INTERRUPT_AT, then resume the same call to TOTAL_STEPS."""
    from elicbench.codecs.elic import train as train_module
    from elicbench.tfenv import import_tf

    out_dir = tmp_path_factory.mktemp("elic-train")
    settings = dict(config=micro_config(), steps=TOTAL_STEPS, batch_size=4, patch_size=64, learning_rate=2e-3,
                    warmup_steps=0, log_every=1, checkpoint_every=1000, seed=3, progress=False, saved_model=False)

    original_update = train_module.Progress.update

    def update_then_signal(self, step, scalars):
        original_update(self, step, scalars)
        if step == INTERRUPT_AT:  # as if the user pressed Ctrl-C during this step
            signal.raise_signal(signal.SIGINT)

    mp = pytest.MonkeyPatch()
    mp.setattr(train_module.Progress, "update", update_then_signal)
    tf = import_tf()
    graph_options = tf.config.optimizer.get_experimental_options()
    # Grappler's graph rewrites cost seconds per trace and buy nothing for a few dozen steps.
    tf.config.optimizer.set_experimental_options({"disable_meta_optimizer": True})
    try:
        with pytest.raises(train_module.TrainingInterrupted) as stopped:
            train_module.train(train_dir, LAMBDA, out_dir, **settings)
        checkpoints_after_stop = sorted(p.name for p in (state_dir(out_dir) / "checkpoints").glob("ckpt-*.index"))
        mp.undo()
        model_dir = train_module.train(train_dir, LAMBDA, out_dir, **settings)
    finally:
        mp.undo()
        tf.config.optimizer.set_experimental_options({"disable_meta_optimizer": False, **graph_options})
    return {"out_dir": out_dir, "model_dir": Path(model_dir), "train_dir": train_dir, "stop_message": str(stopped.value),
            "checkpoints_after_stop": checkpoints_after_stop}


@pytest.mark.slow
def test_signal_saves_a_checkpoint_and_the_next_call_resumes_from_it(trained):
    assert f"step {INTERRUPT_AT}/{TOTAL_STEPS}" in trained["stop_message"]
    assert trained["checkpoints_after_stop"] == [f"ckpt-{INTERRUPT_AT}.index"]
    rows = read_log(trained["out_dir"], "train")
    # Every step exactly once: the resumed call went on from INTERRUPT_AT + 1, not from 1.
    assert [int(r["step"]) for r in rows] == list(range(1, TOTAL_STEPS + 1))
    # Each call validates first: the resumed call started from the trained weights, not a new model.
    validation = {int(r["step"]): r["loss"] for r in read_log(trained["out_dir"], "validation")}
    assert sorted(validation) == [0, INTERRUPT_AT, TOTAL_STEPS]
    assert validation[INTERRUPT_AT] < 0.8 * validation[0]
    assert (state_dir(trained["out_dir"]) / "checkpoints" / f"ckpt-{TOTAL_STEPS}.index").exists()
    # The model is exported into --out itself, where `run --elic-models PARENT` looks.
    assert trained["model_dir"] == trained["out_dir"] and (trained["out_dir"] / "elic.json").exists()


@pytest.mark.slow
def test_training_lowers_the_loss(trained):
    # Fixed validation crops with hard rounding (the per-step training loss swings with each batch's content).
    validation = {int(r["step"]): r for r in read_log(trained["out_dir"], "validation")}
    before, after = validation[0], validation[TOTAL_STEPS]
    assert after["loss"] < 0.5 * before["loss"], (before, after)
    assert after["psnr"] > before["psnr"] + 2
    assert 0 < after["bpp"] < 10 and after["psnr"] < 60


@pytest.mark.slow
def test_exported_model_records_the_run_and_round_trips_an_image(trained, test_image):
    from elicbench.codecs.elic.export import load_model

    info = json.loads((trained["model_dir"] / "elic.json").read_text())
    assert info["lambda"] == LAMBDA and info["steps"] == TOTAL_STEPS
    assert info["config"] == micro_config().to_dict()
    assert info["data"]["files"] == len(list(trained["train_dir"].glob("*.png")))
    assert len(info["data"]["sha256"]) == 64
    assert info["training"]["rate_point"] == "q5" and info["training"]["batch_size"] == 4
    assert info["training"]["final_validation"]["psnr"] > 0

    image = np.ascontiguousarray(test_image[:96, :160])
    runner = load_model(trained["model_dir"])
    data = runner.compress(image)
    assert isinstance(data, bytes) and len(data) > 0
    decoded = np.asarray(runner.decompress(data))
    assert decoded.shape == image.shape and decoded.dtype == np.uint8
    assert np.array_equal(np.asarray(runner.decompress(runner.compress(image))), decoded)
    mse = np.mean((decoded.astype(np.float64) - image) ** 2)
    assert 10 * np.log10(255 ** 2 / mse) > 10  # a real reconstruction, not noise


def test_seed_fixes_the_initial_weights(tmp_path, monkeypatch, train_dir):
    """Same seed, same initial model (whatever ran before in the process); another seed, another."""
    import hashlib
    import random

    from elicbench.codecs.elic import model as model_module
    from elicbench.codecs.elic import train as train_module

    build_model = model_module.build_model
    initial = []

    class Built(Exception):
        pass

    def build_and_stop(config):
        model = build_model(config)
        digest = hashlib.sha256()
        for v in sorted(model.variables, key=lambda v: v.name):
            digest.update(v.numpy().tobytes())
        initial.append(digest.hexdigest())
        raise Built  # the weights are all this test needs: skip tracing the training step

    monkeypatch.setattr(model_module, "build_model", build_and_stop)
    for seed in (3, 3, 4):
        random.random(), np.random.random()  # disturb the global generators between runs
        with pytest.raises(Built):
            train_module.train(train_dir, LAMBDA, tmp_path / f"run-{len(initial)}", config=micro_config(),
                               steps=1, batch_size=4, patch_size=64, seed=seed, progress=False)
    assert initial[0] == initial[1] != initial[2]


@needs_kodak
def test_refuses_to_train_on_kodak(tmp_path, train_dir):
    from elicbench.codecs.elic.data import TrainingDataError
    from elicbench.codecs.elic.train import train

    with pytest.raises(TrainingDataError, match="Kodak"):
        train(KODAK_DIR, LAMBDA, tmp_path / "run", config=micro_config(), steps=1, progress=False)
    # A Kodak image under another name is still recognised, by its SHA-256.
    disguised = tmp_path / "photos"
    disguised.mkdir()
    shutil.copy(train_dir / sorted(p.name for p in train_dir.glob("*.png"))[0], disguised / "a.png")
    shutil.copy(KODAK_DIR / "kodim05.png", disguised / "holiday.png")
    with pytest.raises(TrainingDataError, match="holiday.png"):
        train(disguised, LAMBDA, tmp_path / "run2", config=micro_config(), steps=1, progress=False)


def test_small_images_are_skipped_with_a_message(tmp_path):
    from elicbench.codecs.elic.data import TrainingDataError, scan_training_set

    rng = np.random.default_rng(0)
    for name, size in (("big.png", (160, 130)), ("small.png", (100, 300)), ("notes.txt", None)):
        if size is None:
            (tmp_path / name).write_text("not an image")
        else:
            Image.fromarray(rng.integers(0, 256, (size[1], size[0], 3), dtype=np.uint8)).save(tmp_path / name)
    messages = []
    found = scan_training_set(tmp_path, 128, warn=messages.append)
    assert [im.path.name for im in found.images] == ["big.png"]
    assert found.skipped == ("small.png (100x300)",)
    assert len(messages) == 1 and "small.png" in messages[0] and "128x128" in messages[0]
    with pytest.raises(TrainingDataError, match="at least 256x256"):
        scan_training_set(tmp_path, 256, warn=messages.append)
    with pytest.raises(TrainingDataError, match="does not exist"):
        scan_training_set(tmp_path / "missing", 128)


def test_lambda_names():
    from elicbench.codecs.elic.config import PAPER_LAMBDAS
    from elicbench.codecs.elic.train import TrainingError, rate_point_name, parse_lambda

    assert parse_lambda("q1") == PAPER_LAMBDAS[0]
    assert parse_lambda("Q8") == PAPER_LAMBDAS[7]
    assert parse_lambda("0.0032") == 0.0032
    assert parse_lambda(0.01) == 0.01
    assert rate_point_name(PAPER_LAMBDAS[3]) == "q4"
    assert rate_point_name(0.005) == "lambda0.005"
    for bad in ("q0", "q9", "-0.1", "0", "nan", "fast"):
        with pytest.raises(TrainingError):
            parse_lambda(bad)


@pytest.mark.slow
def test_a_run_directory_keeps_its_lambda(trained):
    from elicbench.codecs.elic.train import TrainingError, train

    with pytest.raises(TrainingError, match="different lambda"):
        train(trained["train_dir"], 0.03, trained["out_dir"], config=micro_config(), steps=TOTAL_STEPS, progress=False)


@pytest.mark.slow
def test_mixed_precision_trains_and_exports_a_float32_model(tmp_path, train_dir, test_image):
    """mixed_float16: finite losses that go down, the policy restored after, a float32 model that codes."""
    from elicbench.codecs.elic import train as train_module
    from elicbench.codecs.elic.export import load_model
    from elicbench.tfenv import import_tf

    tf = import_tf()
    model_dir = train_module.train(train_dir, LAMBDA, tmp_path / "mp", config=micro_config(), steps=8, batch_size=2,
                                   patch_size=64, learning_rate=2e-3, warmup_steps=0, log_every=1, checkpoint_every=1000, seed=3,
                                   progress=False, saved_model=False, mixed_precision=True)
    assert tf.keras.mixed_precision.global_policy().name == "float32"
    validation = read_log(tmp_path / "mp", "validation")
    assert all(np.isfinite(row["loss"]) for row in validation)
    assert validation[-1]["loss"] < validation[0]["loss"]
    info = json.loads((Path(model_dir) / "elic.json").read_text())
    assert info["training"]["mixed_precision"] is True
    runner = load_model(model_dir)
    assert all(w.dtype == tf.float32 for w in runner.model.model_weights())
    image = np.ascontiguousarray(test_image[:64, :128])
    assert runner.decompress(runner.compress(image)).shape == image.shape


def test_a_resumed_run_keeps_what_it_started_from(tmp_path):
    """The lineage is recorded by the run's first call: a resume without --init-from, or after the
    initial model was trained further, still exports where the run really started."""
    from elicbench.codecs.elic.config import get_preset
    from elicbench.codecs.elic.train import _check_run_identity

    demo = Path(__import__("elicbench").__path__[0]) / "data" / "elic-demo"
    init = tmp_path / "init"
    shutil.copytree(sorted(d for d in demo.iterdir() if (d / "elic.json").is_file())[0], init)
    first = json.loads((init / "elic.json").read_text())
    state = tmp_path / "run"
    state.mkdir()
    config = get_preset("tiny")
    started = _check_run_identity(state, config, 0.01, str(init))
    assert started == {"path": str(init), "model_id": first["model_id"], "lambda": first["lambda"],
                       "steps": first["steps"]}
    (init / "elic.json").write_text(json.dumps({**first, "model_id": "0" * 32, "steps": 99999}))  # trained on
    assert _check_run_identity(state, config, 0.01, None) == started
    assert _check_run_identity(state, config, 0.01, str(init)) == started
