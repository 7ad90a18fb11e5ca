"""Damaged model directories (issue 13, item 6): a truncated or corrupt ``weights.npz`` and a
``lambda`` that is not a positive number give a CodecUnavailable naming the file, never a bare
zipfile/zlib error or a model that runs at the wrong rate point."""
from __future__ import annotations

import random
import shutil

import pytest

from elicbench.codecs.base import CodecUnavailable


@pytest.fixture()
def model_copy(elic_model_dir, tmp_path):
    copy = tmp_path / "models" / "tiny-copy"
    shutil.copytree(elic_model_dir, copy)
    return copy


def test_truncated_weights_name_the_file(model_copy):
    from elicbench.codecs.elic.export import load_model, read_native_weights

    weights = model_copy / "weights.npz"
    data = weights.read_bytes()
    rng = random.Random(13)
    cuts = [0, 1, 3, 30, len(data) // 2, len(data) - 100, len(data) - 22, len(data) - 1]
    cuts += rng.sample(range(len(data)), 8)
    for n in cuts:
        weights.write_bytes(data[:n])
        for load in (load_model, read_native_weights):
            with pytest.raises(CodecUnavailable) as err:
                load(model_copy)
            message = str(err.value)
            assert str(weights) in message and "truncated or corrupt" in message, (n, message)


def test_corrupt_weights_name_the_file(model_copy):
    """Bytes flipped inside the archive: a zip CRC error, a zlib error or the model-id check."""
    from elicbench.codecs.elic.export import read_native_weights

    weights = model_copy / "weights.npz"
    data = weights.read_bytes()
    rng = random.Random(14)
    for _ in range(12):
        bad = bytearray(data)
        bad[rng.randrange(len(bad))] ^= 0xFF
        weights.write_bytes(bytes(bad))
        with pytest.raises(CodecUnavailable) as err:
            read_native_weights(model_copy)
        assert str(weights) in str(err.value)


def _set_lambda(model_dir, value_json: str) -> None:
    path = model_dir / "elic.json"
    text = path.read_text()
    assert text.count('"lambda": 0.0016') == 1
    path.write_text(text.replace('"lambda": 0.0016', f'"lambda": {value_json}'))


@pytest.mark.parametrize("value", ["true", "false", '"0.0016"', "0", "-0.0016", "NaN", "Infinity", "[0.0016]"])
def test_lambda_must_be_a_positive_number(model_copy, value):
    from elicbench.codecs import get_codec
    from elicbench.codecs.elic.export import load_model, read_model_info

    _set_lambda(model_copy, value)
    for read in (read_model_info, load_model):
        with pytest.raises(CodecUnavailable, match="lambda must be a positive number") as err:
            read(model_copy)
        assert str(model_copy / "elic.json") in str(err.value)
    # the codec does not run it at some rate point either
    with pytest.raises(CodecUnavailable, match="lambda must be a positive number"):
        get_codec("elic")(models=str(model_copy.parent))


def test_numeric_lambdas_still_load(model_copy):
    from elicbench.codecs.elic.export import read_model_info

    original = (model_copy / "elic.json").read_text()
    for value, expected in (("0.0075", 0.0075), ("1", 1)):
        (model_copy / "elic.json").write_text(original)
        _set_lambda(model_copy, value)
        assert read_model_info(model_copy)["lambda"] == expected
