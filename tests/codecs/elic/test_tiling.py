"""Tiled transforms: the plan covers the image, the halo covers the receptive field, and tiled
coding gives the result of the whole image (up to float rounding)."""
from __future__ import annotations

import numpy as np
import pytest

from elicbench.codecs.base import BadCodecInput, CodecError
from elicbench.codecs.elic import container, tiling


@pytest.mark.parametrize("blocks, tile", [(1, 4), (7, 2), (22, 16), (32, 16), (33, 16), (5, 0)])
def test_split_blocks_covers_evenly(blocks, tile):
    parts = tiling.split_blocks(blocks, tile)
    assert parts[0][0] == 0 and parts[-1][1] == blocks
    assert all(a[1] == b[0] for a, b in zip(parts, parts[1:]))
    sizes = [stop - start for start, stop in parts]
    assert max(sizes) - min(sizes) <= 1
    if tile:
        assert max(sizes) <= tile
        assert len(parts) == -(-blocks // tile)
    else:
        assert parts == [(0, blocks)]


def test_plan_crops_add_the_halo_inside_the_image():
    tiles = tiling.plan(2048, 1408, 1024, 160, unit=64)
    assert len(tiles) == 4
    rows = sorted({(r.core_start, r.core_stop, r.crop_start, r.crop_stop) for r, _ in tiles})
    cols = sorted({(c.core_start, c.core_stop, c.crop_start, c.crop_stop) for _, c in tiles})
    assert rows == [(0, 1024, 0, 1184), (1024, 2048, 864, 2048)]
    assert cols == [(0, 704, 0, 864), (704, 1408, 544, 1408)]  # 22 blocks split 11 + 11
    with pytest.raises(ValueError, match="blocks"):
        tiling.plan(100, 64, 64, 0, unit=64)


def test_spans_move_between_grids_only_on_whole_units():
    span = tiling.Span(64, 128, 32, 160)  # pixels
    assert span.scaled(1, tiling.LATENT_STRIDE) == tiling.Span(4, 8, 2, 10)  # latents
    assert tiling.Span(4, 8, 2, 10).scaled(tiling.LATENT_STRIDE) == span
    with pytest.raises(ValueError, match="whole units"):
        tiling.Span(8, 16, 0, 24).scaled(1, tiling.LATENT_STRIDE)


@pytest.mark.parametrize("tile", [-64, 1, 100, 1000])
def test_bad_tile_sizes_are_refused(tile):
    with pytest.raises(ValueError, match="multiple of 64"):
        tiling.check_tile(tile)


def test_receptive_radius_of_the_presets(elic_tf):
    """Hand-computed: g_a of `full` reads 147 pixels around an output (-> 160-pixel halo), g_s 9
    latents, h_s 2 z samples (the tests below show these are the least that give the whole result)."""
    from elicbench.codecs.elic.config import PRESETS
    from elicbench.codecs.elic.transforms import (analysis_transform, hyper_synthesis_transform,
                                                  synthesis_transform)

    full = PRESETS["full"]
    g_a, g_s, h_s = analysis_transform(full), synthesis_transform(full), hyper_synthesis_transform(full)
    g_a.build((None, None, None, 3))
    g_s.build((None, None, None, full.M))
    h_s.build((None, None, None, full.hyper_channels))
    assert tiling.input_radius(g_a.layers) == 147
    assert tiling.analysis_halo(g_a.layers) == 160
    assert tiling.synthesis_halo(g_s.layers) == 9
    assert tiling.input_radius(h_s.layers) == 2


def test_unknown_layers_are_refused(elic_tf):
    keras = elic_tf.keras
    with pytest.raises(ValueError, match="receptive field"):
        tiling.input_radius([keras.layers.DepthwiseConv2D(3)])
    with pytest.raises(ValueError, match="same"):
        tiling.input_radius([keras.layers.Conv2D(4, 3, padding="valid")])


def _tiled_analysis(model, x, tile, halo):
    s = tiling.LATENT_STRIDE
    y = np.zeros((1, x.shape[1] // s, x.shape[2] // s, model.config.M), np.float32)
    return tiling.apply(model.coder.analysis_fn, x, tiling.plan(x.shape[1], x.shape[2], tile, halo, unit=64), y, divisor=s)


def test_tiled_analysis_equals_the_whole_image_and_needs_its_halo(elic_tiny_model, photo):
    model = elic_tiny_model
    x = photo(5)[:384, :576].astype(np.float32)[None]
    whole = model.coder.analysis_fn(x).numpy()
    tiled = _tiled_analysis(model, x, 128, model.coder.analysis_halo)
    np.testing.assert_allclose(tiled, whole, rtol=0, atol=1e-5 * np.abs(whole).max())
    # Without the halo the crops' zero padding leaks into the kept part: far off.
    assert np.abs(_tiled_analysis(model, x, 128, 0) - whole).max() > 0.05 * np.abs(whole).max()


def test_tiled_hyper_synthesis_is_exact(elic_tiny_model):
    """The exact path in tiles gives the whole-image Ψ bit for bit (and needs its halo)."""
    model = elic_tiny_model
    assert model.coder.hyper_synthesis_halo == 2  # 3x3 s1 (1), 5x5 up2 (2), 5x5 up2 (2): z samples
    # Random integers stand in for ẑ: a random-init h_a gives z ≈ 0, which would make Ψ trivial.
    z_hat = np.random.default_rng(7).integers(-4, 5, (1, 6, 8, model.config.hyper_channels)).astype(np.float32)
    whole = model.coder.hyper_synthesis_tiled(z_hat, 0)
    assert whole.shape == (1, 24, 32, model.config.hyper_out) and whole.dtype == np.float64
    assert np.abs(whole).max() > 0
    np.testing.assert_array_equal(model.coder.hyper_synthesis_tiled(z_hat, 128), whole)
    np.testing.assert_array_equal(model.coder.hyper_synthesis_tiled(z_hat, 64), whole)
    halo = model.coder.hyper_synthesis_halo
    try:
        model.coder.hyper_synthesis_halo = halo - 1  # one z sample short: tile borders differ
        assert not np.array_equal(model.coder.hyper_synthesis_tiled(z_hat, 64), whole)
    finally:
        model.coder.hyper_synthesis_halo = halo


def _tiled_synthesis(model, y_hat, halo):
    s = tiling.LATENT_STRIDE
    out = np.zeros((1, y_hat.shape[1] * s, y_hat.shape[2] * s, 3), np.float32)
    tiles = tiling.plan(y_hat.shape[1], y_hat.shape[2], 64, halo, unit=64 // s)
    return tiling.apply(model.g_s, y_hat, tiles, out, factor=s)


def test_tiled_synthesis_needs_exactly_its_halo(elic_tiny_model):
    """With the computed halo, 64-pixel tiles give the whole-image g_s output; one latent less does not."""
    model = elic_tiny_model
    y_hat = np.random.default_rng(1).normal(0, 3, (1, 12, 16, model.config.M)).astype(np.float32)
    whole = model.g_s(y_hat).numpy()
    tol = 1e-5 * np.abs(whole).max()
    np.testing.assert_allclose(_tiled_synthesis(model, y_hat, model.coder.synthesis_halo), whole, rtol=0, atol=tol)
    assert np.abs(_tiled_synthesis(model, y_hat, model.coder.synthesis_halo - 1) - whole).max() > 100 * tol


def test_tiled_coding_gives_the_whole_image_result(elic_runner, elic_tiny_model, odd_crop):
    whole = elic_runner.compress(odd_crop, tile=0)
    tiled = elic_runner.compress(odd_crop, tile=128)
    assert container.unpack(whole).tile == 0
    assert container.unpack(tiled).tile == 128
    # Same latents (the tiled y differs from the whole y only in float rounding).
    assert container.unpack(tiled).strings == container.unpack(whole).strings
    a, b = elic_runner.decompress(whole), elic_runner.decompress(tiled)
    assert a.shape == b.shape == odd_crop.shape
    assert np.abs(a.astype(int) - b).max() <= 1
    assert np.mean(a != b) < 1e-3
    # The decoder follows the file: decoding twice gives the same pixels.
    np.testing.assert_array_equal(elic_runner.decompress(tiled), b)


def test_an_image_within_one_tile_writes_an_untiled_file(elic_runner, small_crop):
    assert elic_runner.compress(small_crop, tile=256) == elic_runner.compress(small_crop, tile=0)
    assert container.unpack(elic_runner.compress(small_crop, tile=64)).tile == 64


def test_codec_tile_option(elic_model_dir, odd_crop):
    from elicbench.codecs import get_codec

    codec = get_codec("elic")(models=str(elic_model_dir), tile="128")
    assert codec.settings["tile"] == 128 and codec.label == "elic[tile=128]"
    data = codec.encode(odd_crop, codec.qualities()[0])
    assert container.unpack(data).tile == 128
    assert codec.decode(data).shape == odd_crop.shape
    assert get_codec("elic")(models=str(elic_model_dir)).settings["tile"] == 1024
    with pytest.raises(BadCodecInput, match="multiple of 64"):
        get_codec("elic")(models=str(elic_model_dir), tile="100")


def test_images_above_the_size_limit_fail_clearly(elic_model_dir, odd_crop):
    from elicbench.codecs import get_codec

    small = get_codec("elic")(models=str(elic_model_dir), max_megapixels="0.1")
    assert small.label == "elic"  # the limit does not change any output
    with pytest.raises(CodecError, match=r"517x333 \(0.2 MP\) is above .*max_megapixels=0.1"):
        small.encode(odd_crop, small.qualities()[0])
    unlimited = get_codec("elic")(models=str(elic_model_dir), max_megapixels="0")
    assert unlimited.decode(unlimited.encode(odd_crop, unlimited.qualities()[0])).shape == odd_crop.shape
    with pytest.raises(BadCodecInput, match="max_megapixels"):
        get_codec("elic")(models=str(elic_model_dir), max_megapixels="-1")
