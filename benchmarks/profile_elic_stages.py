"""Per-stage profile of ELIC coding (issue 15; the table in docs/elic-speed.md came from this).

Run: ``python benchmarks/profile_elic_stages.py [full|tiny] [repeats]`` (ELICBENCH_DATA must hold
kodak/kodim01.png; ELICBENCH_THREADS, default 2). Each stage is its own traced tf.function, timed
after one warm-up call; medians in ms. Random seeded weights (``elic.testing.random_model``).
"""
import os, sys, time, statistics
os.environ.setdefault("ELICBENCH_THREADS", "2")
import numpy as np
from pathlib import Path
from PIL import Image
from elicbench.tfenv import import_tf
tf = import_tf()
from elicbench.codecs.elic.testing import random_model
from elicbench.codecs.elic.runner import NativeRunner
from elicbench.codecs.elic.checkerboard import demux

preset = sys.argv[1] if len(sys.argv) > 1 else "full"
R = int(sys.argv[2]) if len(sys.argv) > 2 else 3
img = np.asarray(Image.open(os.path.join(os.environ["ELICBENCH_DATA"], "kodak", "kodim01.png")).convert("RGB"))
model = random_model(preset, 0)
runner = NativeRunner(Path("x"), model, bytes(16), {"preset": preset})
m = model; cfg = m.config; P = m.coder.exact_path

def timeit(name, fn, *a):
    fn(*a)
    ts = []
    for _ in range(R):
        t = time.perf_counter(); out = fn(*a)
        if hasattr(out, "numpy"): out.numpy()
        ts.append(time.perf_counter() - t)
    print(f"{name:40s} {statistics.median(ts)*1000:8.1f} ms")
    return out

data = timeit("TOTAL compress", runner.compress, img)
timeit("TOTAL decompress", runner.decompress, data)
x = img.astype(np.float32)[None]
y = timeit("g_a (analysis_fn)", m.coder.analysis_fn, x)
zs, zhat = timeit("h_a + z encode (encode_z_fn)", m.coder.encode_z_fn, y)
ha = tf.function(m.h_a); timeit("  h_a only", ha, y)
psi = timeit("h_s exact (hyper_synthesis_fn)", m.coder.hyper_synthesis_fn, zhat)
psi = tf.constant(psi)
strs = timeit("encode_groups_fn (ctx+EP+rc)", m.coder.encode_groups_fn, y, psi)
yhat_dec = timeit("decode_groups_fn (unguarded)", m.coder.decode_groups_fn, psi, *strs)
timeit("g_s (synthesis_fn)", m.coder.synthesis_fn, yhat_dec)
# per group pieces
psi_a, psi_n = demux(psi)
groups = tf.split(y, list(cfg.groups), axis=-1)
yh = tf.split(yhat_dec, list(cfg.groups), axis=-1)
for k, g in enumerate(cfg.groups):
    dec = yh[:k]
    if k:
        f = tf.function(lambda *d, k=k: P.channel_features(k, list(d)))
        ch_a, ch_n = timeit(f"  g{k} ({g}) g_ch", f, *dec)
    else:
        ch_a = ch_n = None
    fp = tf.function(lambda a, p, k=k: P.params(k, a, None, p)) if k else tf.function(lambda p, k=k: P.params(k, None, None, p))
    mu_a, idx_a = timeit(f"  g{k} EP anchors", fp, *( [ch_a, psi_a] if k else [psi_a]))
    ya, yn = demux(groups[k])
    fc = tf.function(lambda v, i, mu: m.coder.y_coder.compress(v, i, loc=mu))
    timeit(f"  g{k} rc encode anchors", fc, ya, idx_a, mu_a)
    yah = tf.round(ya - mu_a) + mu_a
    fs = tf.function(lambda a, k=k: P.spatial_features(k, a))
    sp = timeit(f"  g{k} g_sp", fs, yah)
    fp2 = tf.function(lambda a, s, p, k=k: P.params(k, a, s, p)) if k else tf.function(lambda s, p, k=k: P.params(k, None, s, p))
    timeit(f"  g{k} EP non-anchors", fp2, *( [ch_n, sp, psi_n] if k else [sp, psi_n]))
