"""Model directories, runners, the container around real streams, the ``elic`` codec, and the
reference-signature SavedModel loader."""
from __future__ import annotations

import json
import random

import numpy as np
import pytest

from elicbench.codecs.base import BadCodecInput, CodecError, CodecUnavailable
from elicbench.codecs.elic import container


# --- model directories --------------------------------------------------------------------------
def test_model_directory_contents(elic_model_dir, elic_tiny_model):
    info = json.loads((elic_model_dir / "elic.json").read_text())
    assert info["format"] == "elicbench-elic-model" and info["kind"] == "native"
    assert info["lambda"] == 0.0016 and info["preset"] == "tiny" and info["steps"] == 0
    assert info["training"]["note"].startswith("random init")
    assert len(info["model_id"]) == 32
    assert info["params"] == sum(int(np.prod(v.shape)) for v in elic_tiny_model.model_weights())
    assert info["weights"]["dtype"] == "float32" and info["saved_model"] is None


def test_loaded_model_codes_like_the_original(elic_tf, elic_runner, elic_tiny_model, odd_crop):
    data = elic_runner.compress(odd_crop)
    stream = container.unpack(data)
    assert (stream.height, stream.width) == odd_crop.shape[:2]
    assert stream.model_id.hex() == elic_runner.model_id
    out = elic_tiny_model.compress(elic_tf.constant(odd_crop))
    assert list(stream.strings) == [t.numpy()[0] for t in out[1:]]
    decoded = elic_runner.decompress(data)
    np.testing.assert_array_equal(decoded, elic_tiny_model.decompress(*out).numpy())
    assert elic_runner.lmbda == 0.0016 and elic_runner.config.preset == "tiny"


def elic_tiny_model_id(model) -> str:
    from elicbench.codecs.elic.export import model_id

    return model_id(model.config, [v.numpy() for v in model.model_weights()], model.coding_tables()).hex()


def test_float16_export_is_compact_and_self_consistent(elic_tiny_model, tmp_path):
    from elicbench.codecs.elic.export import export_model, load_model

    path = export_model(elic_tiny_model, tmp_path / "fp16", {"lambda": 0.0032}, dtype="float16", saved_model=False)
    size = (path / "weights.npz").stat().st_size
    assert size < 5e6 and size < 2.2 * sum(int(np.prod(v.shape)) for v in elic_tiny_model.model_weights())
    info = json.loads((path / "elic.json").read_text())
    assert info["weights"]["dtype"] == "float16"
    # the id describes the rounded weights, and loading verifies it
    runner = load_model(path)
    assert runner.model_id == info["model_id"] != elic_tiny_model_id(elic_tiny_model)
    with pytest.raises(ValueError, match="dtype"):
        export_model(elic_tiny_model, tmp_path / "bad", {}, dtype="int8", saved_model=False)


def test_tampered_weights_are_refused(elic_model_dir, tmp_path):
    import shutil

    from elicbench.codecs.elic.export import load_model

    copy = tmp_path / "tampered"
    shutil.copytree(elic_model_dir, copy)
    with np.load(copy / "weights.npz") as npz:
        arrays = dict(npz)
    arrays["w0005"] = arrays["w0005"] + 1e-3
    np.savez(copy / "weights.npz", **arrays)
    with pytest.raises(CodecUnavailable, match="does not match"):
        load_model(copy)
    with pytest.raises(CodecUnavailable, match="not an ELIC model directory"):
        load_model(tmp_path)


# --- decoding refusals and corrupt data ---------------------------------------------------------
@pytest.fixture(scope="module")
def encoded(elic_runner, small_crop):
    return elic_runner.compress(small_crop)


def test_other_model_is_refused(elic_runner, encoded):
    stream = container.unpack(encoded)
    other = container.pack(container.ELICStream(
        profile=stream.profile, model_id=bytes(16), height=stream.height, width=stream.width, strings=stream.strings))
    with pytest.raises(CodecError) as err:
        elic_runner.decompress(other)
    assert "0" * 32 in str(err.value) and elic_runner.model_id in str(err.value)


def test_other_numerics_profile_is_refused_unless_allowed(elic_runner, encoded, small_crop):
    stream = container.unpack(encoded)
    flipped = container.pack(container.ELICStream(
        profile=stream.profile ^ container.PROFILE_ONEDNN, model_id=stream.model_id,
        height=stream.height, width=stream.width, strings=stream.strings))
    with pytest.raises(CodecError) as err:
        elic_runner.decompress(flipped)
    message = str(err.value)
    assert "oneDNN on" in message and "oneDNN off" in message
    np.testing.assert_array_equal(elic_runner.decompress(flipped, strict_profile=False),
                                  elic_runner.decompress(encoded))


def test_corrupt_files_raise_codec_error_quickly(elic_runner, encoded, elic_within):
    rng = random.Random(1)
    cuts = [0, 3, 10, 22, 25, len(encoded) // 2, len(encoded) - 1]
    flips = [rng.randrange(len(encoded)) for _ in range(8)]
    variants = [encoded[:n] for n in cuts]
    for i in flips:
        bad = bytearray(encoded)
        bad[i] ^= 0x20
        variants.append(bytes(bad))

    def decode_all():
        errors = 0
        for data in variants:
            try:
                elic_runner.decompress(data)
            except CodecError:
                errors += 1
        return errors

    assert elic_within(60, decode_all) == len(variants)


def test_garbage_strings_behind_a_valid_header_never_hang(elic_runner, encoded, elic_within):
    """Range-coded garbage with a valid header and CRC (as if the encoder had a bug): the decoder
    must fail with CodecError or return an image of the right shape, within a bounded time."""
    stream = container.unpack(encoded)
    rng = np.random.default_rng(2)
    variants = []
    for trial in range(4):
        strings = [rng.integers(0, 256, len(s), dtype=np.uint8).tobytes() if trial % 2 == 0
                   else s[: len(s) // 2] for s in stream.strings]
        variants.append(container.pack(container.ELICStream(stream.profile, stream.model_id, stream.height,
                                                            stream.width, tuple(strings))))

    def decode_all():
        for data in variants:
            try:
                image = elic_runner.decompress(data)
            except CodecError as exc:
                assert "corrupt" in str(exc)
            else:
                assert image.shape == (stream.height, stream.width, 3) and image.dtype == np.uint8

    elic_within(120, decode_all)


def test_header_claiming_a_huge_image_is_refused(elic_runner, encoded):
    """Too few bytes for the claimed size (every symbol costs >= 0.00035 bits) -> no decode attempt."""
    stream = container.unpack(encoded)
    tiny_strings = tuple(s[:1] for s in stream.strings)
    huge = container.pack(container.ELICStream(stream.profile, stream.model_id, 8192, 8192, tiny_strings))
    with pytest.raises(CodecError, match="cannot code"):
        elic_runner.decompress(huge)


def test_wrong_string_count_and_bad_images(elic_runner, encoded):
    stream = container.unpack(encoded)
    short = container.pack(container.ELICStream(stream.profile, stream.model_id, stream.height, stream.width,
                                                stream.strings[:-1]))
    with pytest.raises(CodecError, match="strings"):
        elic_runner.decompress(short)
    with pytest.raises(CodecError, match="uint8"):
        elic_runner.compress(np.zeros((8, 8, 3), np.float32))
    with pytest.raises(CodecError, match="uint8"):
        elic_runner.compress(np.zeros((8, 8), np.uint8))


def test_tiny_images_pad_and_crop(elic_runner):
    image = np.full((1, 3, 3), 200, np.uint8)
    assert elic_runner.decompress(elic_runner.compress(image)).shape == (1, 3, 3)


# --- the codec ----------------------------------------------------------------------------------
def test_codec_finds_models_and_codes(elic_model_dir, small_crop, tmp_path):
    from elicbench.codecs import get_codec

    cls = get_codec("elic")
    codec = cls(models=str(elic_model_dir.parent))
    assert codec.qualities() == [0.0016]
    info = codec.quality_info(0.0016)
    assert info["model_id"] and info["preset"] == "tiny" and info["params"] > 1e6
    assert codec.describe()["models"][0]["model_id"] == info["model_id"]
    data = codec.encode(small_crop, 0.0016)
    assert codec.decode(data).shape == small_crop.shape
    with pytest.raises(BadCodecInput, match="0.0016"):
        codec.encode(small_crop, 0.0032)
    # one model directory works as well
    assert cls(models=str(elic_model_dir)).qualities() == [0.0016]
    # a file from a model that is not in use names both
    stream = container.unpack(data)
    foreign = container.pack(container.ELICStream(stream.profile, b"\x01" * 16, stream.height, stream.width,
                                                  stream.strings))
    with pytest.raises(CodecError, match="01010101.*not among"):
        codec.decode(foreign)


def test_codec_without_models_says_how_to_get_some(tmp_path, monkeypatch):
    from elicbench.codecs import get_codec

    cls = get_codec("elic")
    with pytest.raises(CodecUnavailable, match="elicbench train"):
        cls(models=str(tmp_path))
    monkeypatch.setenv("ELICBENCH_MODELS", str(tmp_path))
    avail = cls.availability()
    assert not avail and "elicbench train" in avail.reason and "--elic-models" in avail.reason


def test_models_option_makes_the_codec_available(elic_model_dir, tmp_path, monkeypatch):
    """The runner asks ``availability_for(settings)`` when the defaults have no models."""
    from elicbench.codecs import get_codec
    from elicbench.runner import prepare_codec

    cls = get_codec("elic")
    monkeypatch.setenv("ELICBENCH_MODELS", str(tmp_path))
    assert not cls.availability()
    assert cls.availability_for({"models": str(elic_model_dir)})
    assert not cls.availability_for({"models": str(tmp_path)})
    _, codec, qualities = prepare_codec("elic", {"models": str(elic_model_dir)})
    assert qualities == [0.0016] and codec.settings["models"] == str(elic_model_dir)


def test_duplicate_lambdas_are_refused(elic_model_dir, tmp_path):
    import shutil

    from elicbench.codecs import get_codec

    shutil.copytree(elic_model_dir, tmp_path / "a")
    shutil.copytree(elic_model_dir, tmp_path / "b")
    with pytest.raises(BadCodecInput, match="both have lambda 0.0016"):
        get_codec("elic")(models=str(tmp_path))


# --- reference-signature SavedModels -------------------------------------------------------------
@pytest.mark.slow  # saving traces compress/decompress, loading traces them again (~30 s)
def test_reference_savedmodel_round_trip(elic_tf, elic_tiny_model, tmp_path, odd_crop):
    from elicbench.codecs.elic.export import load_model
    from elicbench.codecs.elic.reference import export_reference_savedmodel, write_reference_info

    path = export_reference_savedmodel(elic_tiny_model, tmp_path / "reference")
    raw = elic_tf.saved_model.load(str(path))
    padded = np.pad(odd_crop, ((0, 384 - 333), (0, 576 - 517), (0, 0)), mode="edge")
    out = raw.compress(elic_tf.constant(padded))
    assert len(out) == 14
    assert [tuple(t.numpy()) for t in out[:3]] == [(384, 576), (24, 36), (6, 9)]
    assert all(t.dtype == elic_tf.string and t.shape == (1,) for t in out[3:])

    runner = load_model(path)  # no elic.json: recognised as a reference SavedModel
    assert runner.kind == "reference" and runner.num_strings == 11 and runner.lmbda is None
    data = runner.compress(odd_crop)
    decoded = runner.decompress(data)
    assert decoded.shape == odd_crop.shape
    native = elic_tiny_model.decompress(*elic_tiny_model.compress(elic_tf.constant(odd_crop))).numpy()
    np.testing.assert_array_equal(decoded, native)

    write_reference_info(path, 0.0075)
    from elicbench.codecs import get_codec

    codec = get_codec("elic")(models=str(path))
    assert codec.qualities() == [0.0075] and codec.quality_info(0.0075)["kind"] == "reference"
    assert codec.decode(codec.encode(odd_crop, 0.0075)).shape == odd_crop.shape
