"""Encoder and decoder in different processes with different intra-op thread counts.

TF's float32 CPU convolutions sum in a thread-count dependent order (measured: 1 vs 2 threads
differ by ~1e-7 relative), which would desynchronise the range coder; the exact fixed-point
entropy-parameter path must make the decoder's latents bit-identical anyway.
"""
from __future__ import annotations

import os
import subprocess
import sys
import textwrap

import numpy as np
import pytest

SCRIPT = textwrap.dedent("""
    import sys
    import numpy as np
    from PIL import Image
    from elicbench.codecs.elic import container
    from elicbench.codecs.elic.export import load_model
    from elicbench.tfenv import import_tf

    tf = import_tf()
    mode, model_dir, kodak, out, profiles = sys.argv[1:6]
    runner = load_model(model_dir)
    m = runner.model
    images = {
        "odd": np.asarray(Image.open(f"{kodak}/kodim01.png").convert("RGB"))[:333, :517],
        "portrait": np.asarray(Image.open(f"{kodak}/kodim04.png").convert("RGB")),
    }
    result = {}
    for name, image in images.items():
        image = np.ascontiguousarray(image)
        h, w = image.shape[:2]
        padded = tf.constant([-(-h // 64) * 64, -(-w // 64) * 64])
        if mode == "encode":
            data = runner.compress(image)
            open(f"{out}/{name}.elic", "wb").write(data)
            _, y, z = m.coder.analyse(tf.constant(image))
            y_hat = m.coder.encode_latents(y, z)[3]
        else:
            data = open(f"{out}/{name}.elic", "rb").read()
            strings = [tf.constant([s]) for s in container.unpack(data).strings]
            g = m.config.num_groups
            y_hat = m.coder.decode_latents(padded, strings[0], strings[1:1 + g], strings[1 + g:])
        result[name + "_y_hat"] = y_hat.numpy()
        # Across profiles (oneDNN on/off) on purpose; otherwise the decoder must accept the file as is.
        result[name + "_image"] = runner.decompress(data, strict_profile=profiles == "same")
    np.savez(f"{out}/{mode}.npz", **result)
""")


def run(mode: str, threads: int, model_dir, kodak_dir, out, onednn: str, profiles: str) -> None:
    env = dict(os.environ, ELICBENCH_THREADS=str(threads), TF_ENABLE_ONEDNN_OPTS=onednn)
    proc = subprocess.run([sys.executable, "-c", SCRIPT, mode, str(model_dir), str(kodak_dir), str(out), profiles],
                          env=env, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]


@pytest.mark.slow  # two fresh processes, each importing TF and tracing the model (~20 s each)
@pytest.mark.parametrize("encoder_onednn,decoder_onednn", [("0", "0"), ("1", "0")],
                         ids=["same-kernels", "oneDNN-encoder-Eigen-decoder"])
def test_decoder_with_other_thread_count_reproduces_latents(elic_model_dir, kodak_dir, tmp_path,
                                                            encoder_onednn, decoder_onednn):
    profiles = "same" if encoder_onednn == decoder_onednn else "crossed"
    run("encode", 1, elic_model_dir, kodak_dir, tmp_path, encoder_onednn, profiles)
    run("decode", 2, elic_model_dir, kodak_dir, tmp_path, decoder_onednn, profiles)
    enc = np.load(tmp_path / "encode.npz")
    dec = np.load(tmp_path / "decode.npz")
    for name in ("odd", "portrait"):
        np.testing.assert_array_equal(dec[name + "_y_hat"], enc[name + "_y_hat"])
        # Pixels come from g_s in float32, whose sums differ with the thread count and the kernels
        # (Eigen or oneDNN): at most one level.
        diff = np.abs(dec[name + "_image"].astype(int) - enc[name + "_image"].astype(int))
        assert diff.max() <= 1 and diff.mean() < 1e-3
