"""ELIC model: structure, training forward, SCCTX pieces, and exact range coding."""
from __future__ import annotations

import numpy as np
import pytest

from elicbench.codecs.elic.config import PRESETS


def count_params(model) -> int:
    return int(sum(np.prod(v.shape) for v in model.model_weights()))


def test_full_preset_has_about_35_6_million_parameters(elic_tf):
    from elicbench.codecs.elic.model import build_model

    model = build_model(PRESETS["full"])
    parts = {name: int(sum(np.prod(v.shape) for v in getattr(model, name).weights))
             for name in ("g_a", "g_s", "h_a", "h_s", "scctx")}
    # docs/elic-design.md §3: g_a 7.34 M, g_s 7.34 M, h_a 4.20 M, h_s 8.14 M, contexts + EP 8.59 M -> 35.6 M
    assert parts["g_a"] == pytest.approx(7.34e6, rel=0.01)
    assert parts["g_s"] == pytest.approx(7.34e6, rel=0.01)
    assert parts["h_a"] == pytest.approx(4.20e6, rel=0.01)
    assert parts["h_s"] == pytest.approx(8.14e6, rel=0.01)
    assert parts["scctx"] == pytest.approx(4.91e6 + 2.13e6 + 1.55e6, rel=0.01)
    assert count_params(model) == pytest.approx(35.6e6, rel=0.01)


def test_training_forward_and_gradients(elic_tf, elic_tiny_model):
    tf = elic_tf
    x = tf.random.stateless_uniform([2, 64, 128, 3], seed=[1, 2], maxval=255.0)
    with tf.GradientTape() as tape:
        out = elic_tiny_model(x, training=True)
        loss = out["bpp"] + 0.01 * out["mse"]
    assert out["x_hat"].shape == x.shape
    for key in ("bits", "bits_y", "bits_z"):
        assert out[key].shape == (2,)
    np.testing.assert_allclose(out["bits"].numpy(), (out["bits_y"] + out["bits_z"]).numpy(), rtol=1e-6)
    assert float(out["bpp"]) == pytest.approx(float(tf.reduce_mean(out["bits"])) / (64 * 128), rel=1e-6)
    assert float(out["mse"]) == pytest.approx(float(tf.reduce_mean((x - out["x_hat"]) ** 2)), rel=1e-5)
    grads = tape.gradient(loss, elic_tiny_model.trainable_variables)
    missing = [v.name for v, g in zip(elic_tiny_model.trainable_variables, grads) if g is None]
    assert not missing, f"no gradient for {missing}"
    # the prior of z is trained too
    assert any("hyper_prior" in v.name or "matrix" in v.name for v in elic_tiny_model.trainable_variables)


def test_validation_forward_rounds(elic_tf, elic_tiny_model):
    x = elic_tf.random.stateless_uniform([1, 64, 64, 3], seed=[3, 4], maxval=255.0)
    a = elic_tiny_model(x, training=False)
    b = elic_tiny_model(x, training=False)
    np.testing.assert_array_equal(a["bits"].numpy(), b["bits"].numpy())  # no noise
    assert float(a["bits"][0]) > 0


def test_demux_mux_and_anchor_parity(elic_tf):
    from elicbench.codecs.elic.checkerboard import demux, mux

    tf = elic_tf
    t = tf.reshape(tf.range(2 * 4 * 6 * 3, dtype=tf.float32), [2, 4, 6, 3])
    anchors, non_anchors = demux(t)
    assert anchors.shape == non_anchors.shape == (2, 2, 6, 3)
    np.testing.assert_array_equal(mux(anchors, non_anchors).numpy(), t.numpy())
    rows, cols = np.indices((4, 6))
    odd = ((rows + cols) % 2 == 1)[None, :, :, None]
    np.testing.assert_array_equal(mux(anchors, None).numpy(), np.where(odd, t.numpy(), 0))


def test_spatial_context_reads_only_anchors(elic_tf, elic_tiny_model):
    """Changing non-anchor inputs must not change the context at non-anchor positions."""
    tf = elic_tf
    from elicbench.codecs.elic.checkerboard import demux, mux

    layer = elic_tiny_model.scctx.spatial_context[4]
    g = elic_tiny_model.config.groups[4]
    a = tf.random.stateless_normal([1, 8, 16, g], seed=[5, 6])
    n1 = tf.random.stateless_normal([1, 8, 16, g], seed=[7, 8])
    n2 = tf.random.stateless_normal([1, 8, 16, g], seed=[9, 10])
    _, out1 = demux(layer(mux(a, n1)))
    _, out2 = demux(layer(mux(a, n2)))
    np.testing.assert_array_equal(out1.numpy(), out2.numpy())
    # ... but anchors do matter
    _, out3 = demux(layer(mux(a * 2.0, n1)))
    assert not np.array_equal(out1.numpy(), out3.numpy())


def test_exact_parameter_path_matches_the_float_network(elic_tf, elic_tiny_model):
    tf = elic_tf
    from elicbench.codecs.elic.checkerboard import demux

    m = elic_tiny_model
    k, g = 3, m.config.groups[3]
    decoded = [tf.round(tf.random.stateless_normal([1, 8, 12, c], seed=[11, i]) * 3.0) for i, c in
               enumerate(m.config.groups[:k])]
    z_hat = tf.round(tf.random.stateless_normal([1, 2, 3, m.config.hyper_channels], seed=[12, 0]) * 2.0)
    # Inputs of every layer are rounded to 2^-16: a few 1e-4 after three layers of fan-in ~1600.
    psi_f = m.h_s(z_hat)
    psi_x = m.coder.exact_path.hyper_synthesis(z_hat)
    np.testing.assert_allclose(psi_x.numpy(), psi_f.numpy(), atol=1e-3)
    psi_a, _ = demux(psi_f)
    psi_xa, _ = demux(psi_x)
    ch_f, _ = m.scctx.channel_features(k, decoded)
    ch_x, _ = m.coder.exact_path.channel_features(k, decoded)
    np.testing.assert_allclose(ch_x.numpy(), ch_f.numpy(), atol=1e-3)
    mu_f, idx_f = m.scctx.params(k, ch_f, None, psi_a)
    mu_x, idx_x = m.coder.exact_path.params(k, ch_x, None, psi_xa)
    np.testing.assert_allclose(mu_x.numpy(), mu_f.numpy(), atol=3e-3)
    floored = np.floor(np.clip(idx_f.numpy(), 0, 63))
    assert np.mean(idx_x.numpy() == floored) > 0.99
    assert mu_x.shape == (1, 4, 12, g) and idx_x.dtype == tf.float32
    assert 5 < np.unique(idx_x.numpy()).size  # the calibrated model uses many scales



@pytest.mark.parametrize("k", [0, 2, 4])
def test_exact_path_checkerboard_passes_do_the_plain_sums(elic_tf, elic_tiny_model, k):
    """The block-form spatial context and the anchor pass without the zero Φ_sp inputs (issue 15)
    give, bit for bit, what the masked conv on the full grid and the zero-padded inputs give."""
    tf = elic_tf
    from elicbench.codecs.elic.checkerboard import demux

    m = elic_tiny_model
    path, g = m.coder.exact_path, m.config.groups[k]
    # Wide values (and odd half-integers) so that rounding anywhere would show.
    anchors = tf.random.stateless_normal([1, 6, 20, g], seed=[21, k], dtype=tf.float64) * 40.0 + 0.5
    plain = path.spatial_features_full_grid(k, anchors)
    fast = path.spatial_features(k, anchors)
    assert fast.shape == plain.shape == (1, 6, 20, 2 * g)
    np.testing.assert_array_equal(fast.numpy(), plain.numpy())
    assert np.abs(plain.numpy()).max() > 1  # not all zeros

    psi = tf.round(tf.random.stateless_normal([1, 12, 20, m.config.hyper_out], seed=[22, k],
                                              dtype=tf.float64) * 2 ** 18) / 2 ** 16
    psi_a, _ = demux(psi)
    ch = None if k == 0 else tf.random.stateless_normal([1, 6, 20, 2 * g], seed=[23, k], dtype=tf.float64) * 5
    mu, index = path.params(k, ch, None, psi_a)
    zeros = tf.zeros([1, 6, 20, 2 * g], tf.float64)
    parts = ([ch] if ch is not None else []) + [zeros, psi_a]
    out = path.run(path.param_layers[k], tf.concat(parts, axis=-1))
    mu_plain, index_plain = tf.split(out, 2, axis=-1)
    np.testing.assert_array_equal(mu.numpy(), tf.cast(mu_plain, tf.float32).numpy())
    np.testing.assert_array_equal(
        index.numpy(), np.floor(np.clip(index_plain.numpy(), 0, m.config.num_scales - 1)).astype(np.float32))

@pytest.mark.parametrize("crop", ["small_crop", "odd_crop"])
def test_coding_round_trip_latents_are_exact(elic_tf, elic_tiny_model, crop, request):
    tf = elic_tf
    m = elic_tiny_model
    image = request.getfixturevalue(crop)
    h, w = image.shape[:2]
    out = m.compress(tf.constant(image))
    assert len(out) == 2 + 2 * m.config.num_groups
    np.testing.assert_array_equal(out[0].numpy(), [h, w])
    decoded = m.decompress(*out).numpy()
    assert decoded.shape == image.shape and decoded.dtype == np.uint8
    np.testing.assert_array_equal(m.decompress(*out).numpy(), decoded)

    _, y, z = m.coder.analyse(tf.constant(image))
    z_string, anchors, non_anchors, y_hat_encoder = m.coder.encode_latents(y, z)
    assert [s.numpy()[0] for s in anchors + non_anchors] == [s.numpy()[0] for s in out[2:]]
    padded = tf.constant([-(-h // 64) * 64, -(-w // 64) * 64])
    y_hat_decoder = m.coder.decode_latents(padded, z_string, anchors, non_anchors)
    np.testing.assert_array_equal(y_hat_decoder.numpy(), y_hat_encoder.numpy())
    # and the decoder's ŷ really is y quantised around the means
    assert np.max(np.abs(y_hat_encoder.numpy() - y.numpy())) <= 0.5 + 1e-4


def test_estimated_rate_matches_actual(elic_tf, elic_runner, photo):
    from elicbench.codecs.elic import container

    for n in (4, 15):
        image = np.ascontiguousarray(photo(n)[:256, :320])
        data = elic_runner.compress(image)
        raw_bits = 8 * sum(len(s) for s in container.unpack(data).strings)
        estimate = elic_runner.estimate_bits(image)
        assert raw_bits == pytest.approx(estimate, rel=0.03), (n, raw_bits, estimate)
        assert 8 * len(data) - raw_bits < 8 * 64  # container overhead


def test_checkpoint_round_trip(elic_tf, tmp_path):
    """The trainer checkpoints with tf.train.Checkpoint(model=...); a fresh model restores it."""
    from elicbench.codecs.elic.model import build_model

    tf = elic_tf
    a = build_model(PRESETS["tiny"])
    path = tf.train.Checkpoint(model=a).save(str(tmp_path / "ckpt"))
    b = build_model(PRESETS["tiny"])
    assert not np.array_equal(a.model_weights()[0].numpy(), b.model_weights()[0].numpy())
    tf.train.Checkpoint(model=b).restore(path).assert_existing_objects_matched()
    for va, vb in zip(a.model_weights(), b.model_weights()):
        np.testing.assert_array_equal(va.numpy(), vb.numpy())
