"""Training an ELIC model: ``elicbench train`` calls :func:`train`.

Loss = bpp + λ·MSE, with MSE on the 0..255 scale, so the paper's λ values transfer unchanged
(see ``PAPER_LAMBDAS``; ``q1``..``q8`` name them). Adam with global gradient-norm clipping 1.0
and one step decay of the learning rate (×0.1 at 90 % of the steps by default).

The loop is a custom ``tf.function`` step run through a ``tf.distribute`` strategy:
``MirroredStrategy`` when more than one GPU is visible, the default strategy otherwise (one GPU
or the CPU). ``mixed_precision=True`` trains under the ``mixed_float16`` policy with loss
scaling; the exported model is always rebuilt in float32, because coding must run in float32
for the range coder to decode bit-exactly. Rates, the MSE and the loss are taken in float32
(a float16 sum of bits or of squared 0..255 errors overflows); steps whose float16 gradients
overflow are skipped by the dynamic loss scale, as usual.

``out_dir`` *is* the model directory: the exported model (``elic.json``, ``weights.npz``,
``saved_model/``) is written there, so ``run --elic-models PARENT`` finds it, and the training
state lives beside it in ``out_dir/training/``: ``checkpoints/`` (written every
``checkpoint_every`` steps, on SIGTERM/SIGINT, on the time limit and at the end; a later call
with the same ``out_dir`` resumes from the newest one), ``logs/`` (TensorBoard),
``train_log.csv`` and ``run.json``. Runs started by older versions (state directly in
``out_dir``, model in ``out_dir/model/``) resume where they are.

``init_from`` starts a new run from another model's weights (same preset), e.g. to fine-tune
one shared base model to each rate point instead of training each from scratch.
"""
from __future__ import annotations

import json
import math
import os
import re
import signal
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from elicbench.codecs.elic.data import TrainingDataError, scan_training_set, training_batches, validation_batch
from elicbench.codecs.elic.trainlog import Progress, StopSignals, TrainingLog
from elicbench.errors import UserError
from elicbench.tfenv import import_tf

# Defaults per preset: (steps, batch size, patch size). "full" follows the paper's setting
# (batch 16, 256x256 crops; the reference trains 1 M steps); "tiny" is sized for a CPU or a
# short GPU run.
PRESET_TRAINING = {
    "full": {"steps": 1_000_000, "batch_size": 16, "patch_size": 256, "learning_rate": 1e-4, "warmup_steps": 0},
    # tiny: 1e-3 measured far ahead of 1e-4 at CPU budgets (README, Training); the warm-up keeps
    # the first steps of a cold start from blowing up the rate.
    "tiny": {"steps": 20_000, "batch_size": 8, "patch_size": 128, "learning_rate": 1e-3, "warmup_steps": 200},
}
DEFAULT_DECAY_AT = 0.9
RUN_IDENTITY_FILE = "run.json"
TRAINING_STATE_DIR = "training"
LEGACY_MODEL_DIR = "model"  # where versions before the single-directory layout exported


class TrainingError(UserError, RuntimeError):
    """Training cannot go on (diverged, bad settings); the message says what to do."""


class TrainingInterrupted(TrainingError):
    """Stopped by SIGINT/SIGTERM after saving a checkpoint; the same call resumes."""


# ---------------------------------------------------------------------------------------------
# Rate points

def _paper_lambdas() -> tuple[float, ...]:
    from elicbench.codecs.elic.config import PAPER_LAMBDAS

    return tuple(float(v) for v in PAPER_LAMBDAS)


def parse_lambda(value: str | float) -> float:
    """A λ given as a number (``0.0032``) or as a paper rate point ``q1``..``q8`` (lowest rate first)."""
    if isinstance(value, str):
        text = value.strip()
        match = re.fullmatch(r"[qQ](\d+)", text)
        if match:
            lambdas = _paper_lambdas()
            index = int(match.group(1))
            if not 1 <= index <= len(lambdas):
                raise TrainingError(f"rate point {text!r} does not exist; use q1..q{len(lambdas)} "
                                    f"(λ = {', '.join(f'{v:g}' for v in lambdas)}) or a number")
            return lambdas[index - 1]
        try:
            value = float(text)
        except ValueError:
            raise TrainingError(f"λ must be a positive number or a paper rate point q1..q8, got {text!r}") from None
    lmbda = float(value)
    if not (math.isfinite(lmbda) and lmbda > 0):
        raise TrainingError(f"λ must be a positive number, got {value!r}")
    return lmbda


def rate_point_name(lmbda: float) -> str:
    """``q1``..``q8`` for the paper's λ values, else ``lambda<value>`` (e.g. ``lambda0.005``)."""
    for index, paper in enumerate(_paper_lambdas(), start=1):
        if math.isclose(lmbda, paper, rel_tol=1e-6):
            return f"q{index}"
    return f"lambda{lmbda:g}"


# ---------------------------------------------------------------------------------------------
# Helpers

def _hardware(tf) -> dict[str, Any]:
    from elicbench.manifest import cpu_model

    gpus = []
    for device in tf.config.list_physical_devices("GPU"):
        details = tf.config.experimental.get_device_details(device)
        gpus.append(details.get("device_name", device.name))
    return {"cpu": cpu_model(), "cpu_count": os.cpu_count(), "gpus": gpus,
            "threads": os.environ.get("ELICBENCH_THREADS") or "default"}


def _choose_strategy(tf):
    gpus = tf.config.list_logical_devices("GPU")
    if len(gpus) > 1:
        return tf.distribute.MirroredStrategy()
    return tf.distribute.get_strategy()


def _rate_and_distortion(tf, x, out):
    """(bpp, MSE) in float32. The MSE is taken from ``x_hat`` here rather than from the model's
    ``mse``: under mixed_float16 a float16 mean of squared 0..255 errors overflows."""
    bpp = tf.cast(out["bpp"], tf.float32)
    mse = tf.reduce_mean(tf.math.squared_difference(x, tf.cast(out["x_hat"], tf.float32)))
    return bpp, mse


def _warmup_then_step_decay(tf, peak: float, warmup_steps: int, decay_at: int, factor: float):
    """Learning rate at optimizer step s: linear ramp to ``peak`` over ``warmup_steps``, then
    ``peak`` until ``decay_at``, then ``peak * factor`` (a function of the step alone, so a
    resumed run continues on the same curve)."""

    class WarmupThenStepDecay(tf.keras.optimizers.schedules.LearningRateSchedule):
        def __call__(self, step):
            step = tf.cast(step, tf.float32)
            ramp = tf.minimum(1.0, (step + 1.0) / float(max(1, warmup_steps)))
            return tf.where(step < float(decay_at), peak * ramp, peak * factor)

        def get_config(self):
            return {"peak": peak, "warmup_steps": warmup_steps, "decay_at": decay_at, "factor": factor}

    return WarmupThenStepDecay()


def _describe_init(path: str | os.PathLike) -> dict[str, Any]:
    """What a fine-tuned model started from (recorded in its elic.json)."""
    from elicbench.codecs.elic.export import read_model_info

    info = read_model_info(path)
    return {"path": str(path), "model_id": info.get("model_id"), "lambda": info.get("lambda"),
            "steps": info.get("steps")}


def training_layout(out_dir: Path) -> tuple[Path, Path]:
    """(state directory, model directory) of a training run in ``out_dir``.

    Today's layout: the model in ``out_dir`` itself, the state in ``out_dir/training``. A run
    begun by an older elicbench (``checkpoints/`` directly in ``out_dir``) keeps its layout, so
    that it resumes; its model stays in ``out_dir/model``, which ``find_models`` also reads.
    """
    if (out_dir / "checkpoints").is_dir() and not (out_dir / TRAINING_STATE_DIR).exists():
        return out_dir, out_dir / LEGACY_MODEL_DIR
    return out_dir / TRAINING_STATE_DIR, out_dir


def _check_run_identity(state_dir: Path, config, lmbda: float, init_from: str | None) -> dict[str, Any] | None:
    """``run.json`` pins a run directory to one model config and λ, so a resume never mixes them.

    Returns what the run started from (``--init-from`` of its first call: path, model id, λ, steps),
    recorded then, so that a resumed call, with or without ``--init-from``, exports the true lineage
    even if that model has been trained further since."""
    out_dir = state_dir
    path = out_dir / RUN_IDENTITY_FILE
    identity = {"config": config.to_dict(), "lambda": lmbda}
    if not path.exists():
        started_from = None if init_from is None else _describe_init(init_from)
        path.write_text(json.dumps({**identity, "init_from": started_from}, indent=2) + "\n")
        return started_from
    saved = json.loads(path.read_text())
    if saved.get("lambda") != lmbda or saved.get("config") != identity["config"]:
        differences = [key for key in ("lambda", "config") if saved.get(key) != identity[key]]
        raise TrainingError(
            f"{out_dir} holds a training run with a different {' and '.join(differences)} "
            f"(saved in {path}: λ={saved.get('lambda')}, preset {saved.get('config', {}).get('preset')!r}). "
            "Resume it with the same settings, or train into a new --out directory.")
    started_from = saved.get("init_from")
    if isinstance(started_from, str):  # run.json of an older version: the path alone
        started_from = {"path": started_from}
    return started_from


# ---------------------------------------------------------------------------------------------
# Training, in its parts: settings -> data -> model and state -> loop -> export

@dataclass(frozen=True)
class TrainingSettings:
    """Everything that decides a training run, resolved from the preset's defaults and checked."""

    config: Any                  # ELICConfig
    lmbda: float
    steps: int
    batch_size: int
    patch_size: int
    learning_rate: float
    warmup_steps: int
    decay_at: int                # optimizer step where the learning rate is multiplied by decay_factor
    decay_factor: float
    mixed_precision: bool
    seed: int

    @property
    def preset(self) -> str:
        return self.config.preset


def resolve_settings(lmbda, *, preset: str = "tiny", config=None, steps=None, batch_size=None, patch_size=None,
                     learning_rate=None, warmup_steps=None, lr_decay_steps=None, lr_decay_at: float = DEFAULT_DECAY_AT,
                     lr_decay_factor: float = 0.1, mixed_precision: bool = False, seed: int = 0) -> TrainingSettings:
    """The preset's defaults filled in and every value checked (``TrainingError`` names a bad one)."""
    from elicbench.codecs.elic.config import PRESETS

    lmbda = parse_lambda(lmbda)
    if config is None:
        if preset not in PRESETS:
            raise TrainingError(f"unknown preset {preset!r}; choose one of {', '.join(sorted(PRESETS))}")
        config = PRESETS[preset]
    defaults = PRESET_TRAINING.get(config.preset, PRESET_TRAINING["tiny"])
    steps = int(steps if steps is not None else defaults["steps"])
    batch_size = int(batch_size if batch_size is not None else defaults["batch_size"])
    patch_size = int(patch_size if patch_size is not None else defaults["patch_size"])
    learning_rate = float(learning_rate if learning_rate is not None else defaults["learning_rate"])
    warmup_steps = int(warmup_steps if warmup_steps is not None else defaults["warmup_steps"])
    if not 0 < lr_decay_at <= 1:
        raise TrainingError(f"the decay point is a fraction of the steps in (0, 1], got {lr_decay_at}")
    for name, value in (("steps", steps), ("batch_size", batch_size)):
        if value < 1:
            raise TrainingError(f"{name} must be at least 1, got {value}")
    if patch_size < 64 or patch_size % 64:
        raise TrainingError(f"patch size must be a multiple of 64 (the model downsamples by 64), got {patch_size}")
    if not (learning_rate > 0):
        raise TrainingError(f"learning rate must be positive, got {learning_rate}")
    if warmup_steps < 0:
        raise TrainingError(f"warm-up steps must be 0 or more, got {warmup_steps}")
    decay_at = int(lr_decay_steps if lr_decay_steps is not None else round(lr_decay_at * steps))
    return TrainingSettings(config, lmbda, steps, batch_size, patch_size, learning_rate, warmup_steps, decay_at,
                            float(lr_decay_factor), bool(mixed_precision), int(seed))


def _initial_weights(init_from, config):
    """The weights of ``init_from`` (a model directory of the same architecture), or None."""
    if init_from is None:
        return None
    from elicbench.codecs.elic.export import read_native_weights

    init_config, weights = read_native_weights(init_from)
    if init_config != config:
        raise TrainingError(f"--init-from {init_from} is a {init_config.preset!r} model with another "
                            f"architecture than preset {config.preset!r}; start from a model of the same preset")
    return weights


@dataclass
class _TrainingState:
    """The model, its optimizer and what a checkpoint holds, created under the strategy's scope."""

    model: Any
    optimizer: Any
    schedule: Any
    step: Any                    # tf.Variable: optimizer steps taken
    seconds: Any                 # tf.Variable: training wall time over all calls
    checkpoint: Any
    manager: Any


def _build_state(tf, s: TrainingSettings, strategy, state_dir: Path, initial_weights,
                 keep_checkpoints: int) -> _TrainingState:
    """Build the model and optimizer, then restore the newest checkpoint, or start from
    ``initial_weights`` (``--init-from``), or from ``s.seed``'s initialisation."""
    from elicbench.codecs.elic.model import build_model

    # ``seed`` fixes the weight init as well as the patch order: Keras seeds unseeded
    # initializers from Python's ``random``, so it must be seeded with numpy and TF.
    tf.keras.utils.set_random_seed(s.seed)
    with strategy.scope():
        model = build_model(s.config)
        schedule = _warmup_then_step_decay(tf, s.learning_rate, s.warmup_steps, s.decay_at, s.decay_factor)
        optimizer = tf.keras.optimizers.Adam(learning_rate=schedule, global_clipnorm=1.0)
        if s.mixed_precision:
            optimizer = tf.keras.mixed_precision.LossScaleOptimizer(optimizer)
        step = tf.Variable(0, dtype=tf.int64, trainable=False, name="step")
        seconds = tf.Variable(0.0, dtype=tf.float64, trainable=False, name="train_seconds")
        # Create every variable before a checkpoint is restored into them.
        model(tf.zeros([1, s.patch_size, s.patch_size, 3]), training=True)
        optimizer.build(model.trainable_variables)
    checkpoint = tf.train.Checkpoint(model=model, optimizer=optimizer, step=step, train_seconds=seconds)
    manager = tf.train.CheckpointManager(checkpoint, str(state_dir / "checkpoints"), max_to_keep=keep_checkpoints)
    if manager.latest_checkpoint:
        checkpoint.restore(manager.latest_checkpoint).assert_existing_objects_matched()
    elif initial_weights is not None:
        model.set_model_weights(initial_weights)
    return _TrainingState(model, optimizer, schedule, step, seconds, checkpoint, manager)


def _step_functions(tf, s: TrainingSettings, strategy, state: _TrainingState):
    """(train_step, validate): one optimizer step over a distributed batch, and the loss of a
    validation batch with hard rounding; both return {'loss', 'bpp', 'mse'} tensors."""
    model, optimizer = state.model, state.optimizer
    lmbda = tf.constant(s.lmbda, tf.float32)
    replicas = strategy.num_replicas_in_sync
    variables = model.trainable_variables

    def replica_step(batch):
        with tf.GradientTape() as tape:
            out = model(batch, training=True)
            bpp, mse = _rate_and_distortion(tf, batch, out)
            loss = bpp + lmbda * mse
            # Gradients are summed over replicas, so each contributes its share of the mean.
            replica_loss = loss / replicas
            if s.mixed_precision:
                replica_loss = optimizer.get_scaled_loss(replica_loss)
        grads = tape.gradient(replica_loss, variables)
        if s.mixed_precision:
            grads = optimizer.get_unscaled_gradients(grads)
        optimizer.apply_gradients(zip(grads, variables))
        return {"loss": loss, "bpp": bpp, "mse": mse}

    # autograph=False: the step has no tensor-dependent Python control flow, and skipping
    # autograph's source conversion of Keras/TFP code shortens the first (tracing) step.
    @tf.function(autograph=False)
    def train_step(batch):
        per_replica = strategy.run(replica_step, args=(batch,))
        return {k: strategy.reduce(tf.distribute.ReduceOp.MEAN, v, axis=None) for k, v in per_replica.items()}

    @tf.function(autograph=False)
    def validate(images):
        bpp, mse = _rate_and_distortion(tf, images, model(images, training=False))
        return {"loss": bpp + lmbda * mse, "bpp": bpp, "mse": mse}

    return train_step, validate


@dataclass
class _LoopOutcome:
    step: int
    stop_reason: str
    final_train: dict[str, float]
    final_validation: dict[str, float]


def _loop(s: TrainingSettings, state: _TrainingState, train_step, run_validation, batches, log: TrainingLog,
          *, log_every: int, checkpoint_every: int, validate_every: int, max_minutes: float | None,
          state_dir: Path) -> _LoopOutcome:
    """Step from the checkpoint's step to ``s.steps``: log every ``log_every`` steps, validate and
    checkpoint on their schedules, stop cleanly on a signal or the time limit."""
    start_step = int(state.step.numpy())
    step = start_step
    started = time.monotonic()
    deadline = started + max_minutes * 60 if max_minutes else None
    seconds_before = float(state.seconds.numpy())
    window: dict[str, list[float]] = {"loss": [], "bpp": [], "mse": []}
    window_start = started
    last_train: dict[str, float] = {}
    stop_reason = "completed" if start_step < s.steps else "already complete"
    with StopSignals() as stop:
        while step < s.steps:
            values = {k: float(v) for k, v in train_step(next(batches)).items()}
            if not all(math.isfinite(v) for v in values.values()):
                raise TrainingError(
                    f"training diverged at step {step + 1} (loss {values['loss']}, bpp {values['bpp']}, "
                    f"mse {values['mse']}). The last good checkpoint is kept in {state_dir / 'checkpoints'}; "
                    "lower the learning rate (--learning-rate) or λ and run again to resume from it.")
            step += 1
            state.step.assign(step)
            state.seconds.assign(seconds_before + time.monotonic() - started)
            for k in window:
                window[k].append(values[k])
            log.step(step, values)
            if step % log_every == 0 or step == s.steps:
                now = time.monotonic()
                n = len(window["loss"])
                last_train = log.train_window(step, {k: sum(v) / n for k, v in window.items()},
                                              learning_rate=float(state.schedule(step - 1)),
                                              steps_per_s=n / max(1e-9, now - window_start),
                                              elapsed_s=float(state.seconds.numpy()))
                window = {k: [] for k in window}
                window_start = now
            if step % validate_every == 0 and step < s.steps:
                run_validation(step)
            if step % checkpoint_every == 0:
                state.manager.save(checkpoint_number=step)
            if stop.received is not None:
                state.manager.save(checkpoint_number=step)
                name = signal.Signals(stop.received).name
                raise TrainingInterrupted(
                    f"training stopped by {name} at step {step}/{s.steps}; checkpoint saved in "
                    f"{state_dir / 'checkpoints'}. Run the same command again to resume.")
            if deadline is not None and time.monotonic() >= deadline:
                stop_reason = f"time limit ({max_minutes:g} min)"
                log.message(f"elicbench train: time limit of {max_minutes:g} min reached at step "
                            f"{step}/{s.steps}; saving and exporting (run again to continue)")
                break
        if state.manager.latest_checkpoint is None or not state.manager.latest_checkpoint.endswith(f"-{step}"):
            state.manager.save(checkpoint_number=step)
        final_validation = run_validation(step)
    return _LoopOutcome(step, stop_reason, last_train, final_validation)


def _model_facts(s: TrainingSettings, outcome: _LoopOutcome, state: _TrainingState, *, training_set,
                 validation_set, validation_dir, started_from: dict[str, Any] | None, hardware: dict[str, Any],
                 replicas: int) -> dict[str, Any]:
    """What the exported model's elic.json records about how it was trained."""
    return {
        "demo": False,
        "preset": s.preset,
        "config": s.config.to_dict(),
        "lambda": s.lmbda,
        "rate_point": rate_point_name(s.lmbda),
        "steps": outcome.step,
        "steps_requested": s.steps,
        "stop_reason": outcome.stop_reason,
        "batch_size": s.batch_size,
        "patch_size": s.patch_size,
        "learning_rate": s.learning_rate,
        "warmup_steps": s.warmup_steps,
        "init_from": started_from,
        "lr_decay_step": s.decay_at,
        "lr_decay_factor": s.decay_factor,
        "global_clipnorm": 1.0,
        "mixed_precision": s.mixed_precision,
        "seed": s.seed,
        "data": {"dir": str(training_set.root), "files": len(training_set.images),
                 "skipped_small": list(training_set.skipped), "sha256": training_set.sha256},
        "validation_data": str(validation_set.root) if validation_dir else "centre crops of the training images",
        "hardware": hardware,
        "replicas": replicas,
        "train_seconds": round(float(state.seconds.numpy()), 1),
        "final_train": outcome.final_train,
        "final_validation": outcome.final_validation,
    }


def train(
    data_dir: str | os.PathLike,
    lmbda: str | float,
    out_dir: str | os.PathLike,
    *,
    preset: str = "tiny",
    config=None,
    steps: int | None = None,
    batch_size: int | None = None,
    patch_size: int | None = None,
    learning_rate: float | None = None,
    warmup_steps: int | None = None,
    lr_decay_steps: int | None = None,
    lr_decay_at: float = DEFAULT_DECAY_AT,
    lr_decay_factor: float = 0.1,
    mixed_precision: bool = False,
    validation_dir: str | os.PathLike | None = None,
    seed: int = 0,
    progress: bool = True,
    log_every: int = 50,
    checkpoint_every: int = 500,
    validate_every: int | None = None,
    max_minutes: float | None = None,
    keep_checkpoints: int = 3,
    export_meta: dict[str, Any] | None = None,
    weights_dtype: str = "float32",
    saved_model: bool = True,
    init_from: str | os.PathLike | None = None,
) -> Path:
    """Train (or resume training) an ELIC model and export it; returns the exported model directory.

    ``lmbda``: a number or a paper rate point ``q1``..``q8``. ``preset`` picks the model size
    (``full`` = the paper's model, ``tiny`` = a small demo model) and the default steps, batch
    and patch size; ``config`` (an ``ELICConfig``) overrides the preset's model. ``steps`` is the
    total: a resumed run continues from its checkpoint's step up to it. ``lr_decay_steps`` is
    the step where the learning rate is multiplied by ``lr_decay_factor`` (default: 90 % of
    ``steps``); ``warmup_steps`` ramps it up linearly from zero first. ``init_from`` (a model
    directory of the same preset) gives the initial weights of a new run instead of ``seed``.
    ``max_minutes`` stops this call after that much wall time, saves a checkpoint and
    exports what it has (call again to continue). Validation (hard rounding, fixed centre crops
    of ``validation_dir`` or of the training images) runs every ``validate_every`` steps
    (default: ``checkpoint_every``) and at the end. ``weights_dtype`` ("float32" or "float16")
    and ``saved_model`` are passed to ``export_model``; ``export_meta`` adds to the recorded facts.
    ``seed`` fixes the initial weights and the order of the training patches.
    """
    s = resolve_settings(lmbda, preset=preset, config=config, steps=steps, batch_size=batch_size,
                         patch_size=patch_size, learning_rate=learning_rate, warmup_steps=warmup_steps,
                         lr_decay_steps=lr_decay_steps, lr_decay_at=lr_decay_at, lr_decay_factor=lr_decay_factor,
                         mixed_precision=mixed_precision, seed=seed)
    for name, value in (("log_every", log_every), ("checkpoint_every", checkpoint_every)):
        if value < 1:
            raise TrainingError(f"{name} must be at least 1, got {value}")
    initial_weights = _initial_weights(init_from, s.config)
    validate_every = int(validate_every or checkpoint_every)

    # Data first: bad input (Kodak, missing files) is reported without TensorFlow's start-up cost.
    say = Progress(progress, 0, s.steps).message if progress else (lambda message: None)
    training_set = scan_training_set(data_dir, s.patch_size, warn=say)
    validation_set = (scan_training_set(validation_dir, s.patch_size, purpose="validation", warn=say)
                      if validation_dir else training_set)
    tf = import_tf()
    from elicbench.codecs.elic.export import export_model

    validation_images = validation_batch(validation_set, patch_size=s.patch_size)
    state_dir, model_dir = training_layout(Path(out_dir).expanduser())
    state_dir.mkdir(parents=True, exist_ok=True)
    started_from = _check_run_identity(state_dir, s.config, s.lmbda, None if init_from is None else str(init_from))

    strategy = _choose_strategy(tf)
    replicas = strategy.num_replicas_in_sync
    if s.batch_size % replicas:
        raise TrainingError(f"batch size {s.batch_size} must be divisible by the number of GPUs ({replicas})")

    previous_policy = tf.keras.mixed_precision.global_policy()
    if s.mixed_precision:
        tf.keras.mixed_precision.set_global_policy("mixed_float16")
    try:
        state = _build_state(tf, s, strategy, state_dir, initial_weights, keep_checkpoints)
        train_step, validate = _step_functions(tf, s, strategy, state)
        start_step = int(state.step.numpy())
        log = TrainingLog(tf, state_dir, Progress(progress, start_step, s.steps))
        if start_step >= s.steps:
            log.message(f"elicbench train: checkpoint in {state_dir / 'checkpoints'} is already at step "
                        f"{start_step} >= {s.steps}; exporting it")
        elif start_step:
            log.message(f"elicbench train: resuming from step {start_step} ({state.manager.latest_checkpoint})")

        def run_validation(step: int) -> dict[str, float]:
            values = {k: float(v) for k, v in validate(validation_images).items()}
            return log.validation(step, values, elapsed_s=float(state.seconds.numpy()))

        batches = training_batches(training_set, batch_size=s.batch_size, patch_size=s.patch_size,
                                   seed=s.seed, start_step=start_step)
        batches = iter(strategy.experimental_distribute_dataset(batches))
        if start_step < s.steps:
            run_validation(start_step)  # where this call starts: untrained, initialised or restored
        try:
            outcome = _loop(s, state, train_step, run_validation, batches, log, log_every=log_every,
                            checkpoint_every=checkpoint_every, validate_every=validate_every,
                            max_minutes=max_minutes, state_dir=state_dir)
        finally:
            log.close()
        meta = _model_facts(s, outcome, state, training_set=training_set, validation_set=validation_set,
                            validation_dir=validation_dir, started_from=started_from, hardware=_hardware(tf),
                            replicas=replicas)
        meta.update(export_meta or {})
    finally:
        tf.keras.mixed_precision.set_global_policy(previous_policy)

    # export_model rebuilds the model under the (restored) float32 policy: coding never runs in float16.
    return Path(export_model(state.model, model_dir, meta, dtype=weights_dtype, saved_model=saved_model))


__all__ = [
    "PRESET_TRAINING", "TrainingDataError", "TrainingError", "TrainingInterrupted", "TrainingSettings",
    "rate_point_name", "parse_lambda", "resolve_settings", "train",
]
