"""The one place where TensorFlow is configured and imported.

The range coder needs the decoder to recompute exactly the encoder's means and scale indices; the
exact fixed-point path (codecs/elic/exact.py) guarantees that whatever the kernels and thread
count. What the settings below still change is the float32 pixel transforms g_a and g_s, i.e.
which symbols the encoder picks and the decoded pixels (within one level). So they are fixed
here, before TF is imported, and recorded (``settings()``) in every manifest and in every ELIC
file's header (its numerics profile):

- ``TF_ENABLE_ONEDNN_OPTS``: oneDNN kernels give different floats from Eigen's. A file encoded
  with one decodes under the other to the same latents (tested). A decoder still refuses it by
  default (``strict_profile=False`` decodes it), because its pixels may differ by a level from the
  encoder's reconstruction. We default to ``0`` (Eigen): ``1`` made `full` 8 % (encode) and 11 %
  (decode) faster on this project's CPU, not enough to change every recorded file
  (docs/elic-speed.md); a user may export it.
- TF32 is turned off: Ampere/Hopper GPUs would otherwise use 10-bit-mantissa matmuls.
- ``TF_CPP_MIN_LOG_LEVEL=3`` keeps start-up noise off the user's terminal.

Nothing here imports TensorFlow at module import time: ``list``, ``report`` and ``plot`` stay fast.
"""
from __future__ import annotations

import os
from typing import Any

DEFAULTS = {
    "TF_CPP_MIN_LOG_LEVEL": "3",
    "TF_ENABLE_ONEDNN_OPTS": "0",
}

_tf = None


def apply_environment() -> dict[str, str]:
    """Set the TF environment variables (keeping any the user set) and return them."""
    for key, value in DEFAULTS.items():
        os.environ.setdefault(key, value)
    return {key: os.environ[key] for key in DEFAULTS}


def import_tf():
    """Import TensorFlow (+ tensorflow-compression's ops) configured for exact coding."""
    global _tf
    if _tf is not None:
        return _tf
    apply_environment()
    import tensorflow as tf
    import tensorflow_compression  # noqa: F401  (registers the range-coding ops)

    threads = os.environ.get("ELICBENCH_THREADS")
    if threads:
        try:  # only possible before TF's runtime starts; harmless to skip afterwards
            tf.config.threading.set_intra_op_parallelism_threads(int(threads))
            tf.config.threading.set_inter_op_parallelism_threads(1)
        except RuntimeError:
            pass
    tf.config.experimental.enable_tensor_float_32_execution(False)
    # One set of traced functions per loaded model is by design; TF's Python logger would warn
    # about "retracing" on every run with five models.
    tf.get_logger().setLevel("ERROR")
    _tf = tf
    return tf


def onednn_enabled() -> bool:
    return os.environ.get("TF_ENABLE_ONEDNN_OPTS", DEFAULTS["TF_ENABLE_ONEDNN_OPTS"]) not in ("0", "false", "False")


def settings(import_now: bool = False) -> dict[str, Any]:
    """What the manifest records. Versions/devices only when TF is (or may be) imported."""
    out: dict[str, Any] = {"env": apply_environment(), "tf32": False}
    if _tf is None and not import_now:
        return out
    tf = import_tf()
    from importlib.metadata import version

    out["tensorflow"] = tf.__version__
    out["tensorflow_compression"] = version("tensorflow-compression")
    out["tensorflow_probability"] = version("tensorflow-probability")
    out["gpus"] = [d.name for d in tf.config.list_physical_devices("GPU")]
    return out
