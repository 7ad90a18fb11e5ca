"""Making demo weights from a trained model (``python -m elicbench.codecs.elic.demo``)."""
from __future__ import annotations

import json
import subprocess
import sys

import numpy as np

from elicbench.codecs.elic.modelfiles import MODEL_JSON, WEIGHTS_FILE


def test_a_trained_model_becomes_float16_demo_weights_the_codec_names_as_such(elic_model_dir, tmp_path, small_crop):
    proc = subprocess.run([sys.executable, "-m", "elicbench.codecs.elic.demo", str(tmp_path), str(elic_model_dir)],
                          capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr
    out = tmp_path / "tiny-0016"                       # λ 0.0016 -> λ·10⁴
    info = json.loads((out / MODEL_JSON).read_text())
    source = json.loads((elic_model_dir / MODEL_JSON).read_text())
    assert info["training"]["demo"] is True and info["training"]["trained_as"] == elic_model_dir.name
    assert info["lambda"] == source["lambda"] and info["saved_model"] is None
    assert info["model_id"] != source["model_id"]      # the float16-rounded model is another model
    assert info["model_id"] in proc.stdout
    with np.load(out / WEIGHTS_FILE) as weights:
        assert {weights[k].dtype for k in weights.files if weights[k].dtype.kind == "f"} == {np.dtype("float16")}

    from elicbench.codecs.elic.codec import ELICCodec

    codec = ELICCodec(models=str(tmp_path))
    assert codec.is_demo and codec.display_name == "elic (demo weights)"
    data = codec.encode(small_crop, 0.0016)
    decoded = codec.decode(data)
    assert decoded.shape == small_crop.shape and decoded.dtype == np.uint8
