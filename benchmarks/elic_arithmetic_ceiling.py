"""How fast can `full` ELIC's pixel transforms be on this machine? (issue 15; docs/elic-speed.md).

Counts the multiply-adds of g_a and g_s on a 768x512 image (TensorFlow's graph profiler), times each
transform alone, and times a large float32 matrix product (4096^3) with TensorFlow and with numpy:
the matrix product is the best arithmetic rate the machine gives, and a direct convolution doing
the same multiply-adds cannot run faster than it. Random seeded weights, as the other benchmarks.

Run: ``python benchmarks/elic_arithmetic_ceiling.py`` (ELICBENCH_THREADS, default 2; set
TF_ENABLE_ONEDNN_OPTS=1 for oneDNN kernels). CompressAI's side, run by the peer's own Python (see
test_elic_vs_compressai.py for its venv): ``$PEER_PYTHON benchmarks/peer_compressai.py --transforms``.
"""
import os

os.environ.setdefault("ELICBENCH_THREADS", "2")
os.environ.setdefault("OPENBLAS_NUM_THREADS", os.environ["ELICBENCH_THREADS"])
import numpy as np  # noqa: E402

from elicbench.tfenv import import_tf  # noqa: E402

tf = import_tf()
from elicbench.codecs.elic.testing import random_model  # noqa: E402
from timing import median_seconds  # noqa: E402  (benchmarks/timing.py)

HEIGHT, WIDTH = 512, 768


def multiply_adds(fn, spec) -> float:
    """Multiply-adds of one call, from the traced graph (the profiler counts 2 flops per MAC)."""
    graph = tf.function(fn).get_concrete_function(spec).graph
    options = tf.compat.v1.profiler.ProfileOptionBuilder.float_operation()
    options["output"] = "none"
    return tf.compat.v1.profiler.profile(graph=graph, options=options).total_float_ops / 2


def main() -> None:
    model = random_model("full", 0)
    latent = model.config.M
    x_spec = tf.TensorSpec([1, HEIGHT, WIDTH, 3], tf.float32)
    y_spec = tf.TensorSpec([1, HEIGHT // 16, WIDTH // 16, latent], tf.float32)
    macs_a = multiply_adds(model.g_a, x_spec)
    macs_s = multiply_adds(model.g_s, y_spec)
    g_a, g_s = tf.function(model.g_a), tf.function(model.g_s)
    x = tf.random.uniform(x_spec.shape, 0, 255, seed=1)
    y = tf.random.uniform(y_spec.shape, -5, 5, seed=2)
    t_a = median_seconds(lambda: g_a(x).numpy(), rounds=5, warm_up=True)
    t_s = median_seconds(lambda: g_s(y).numpy(), rounds=5, warm_up=True)
    n = 4096
    a, b = tf.random.uniform([n, n], seed=3), tf.random.uniform([n, n], seed=4)
    matmul = tf.function(tf.linalg.matmul)
    t_tf = median_seconds(lambda: matmul(a, b).numpy(), rounds=5, warm_up=True)
    an, bn = a.numpy(), b.numpy()
    t_np = median_seconds(lambda: an @ bn, rounds=5, warm_up=True)
    print(f"TensorFlow {tf.__version__}, oneDNN {os.environ.get('TF_ENABLE_ONEDNN_OPTS', '0')}, "
          f"{os.environ['ELICBENCH_THREADS']} threads")
    print(f"g_a: {macs_a / 1e9:.1f} GMAC in {t_a:.3f} s = {macs_a / t_a / 1e9:.1f} GMAC/s")
    print(f"g_s: {macs_s / 1e9:.1f} GMAC in {t_s:.3f} s = {macs_s / t_s / 1e9:.1f} GMAC/s")
    print(f"float32 matrix product {n}^3: TensorFlow {n ** 3 / t_tf / 1e9:.1f} GMAC/s, "
          f"numpy {n ** 3 / t_np / 1e9:.1f} GMAC/s")


if __name__ == "__main__":
    main()
