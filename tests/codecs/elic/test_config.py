"""ELIC configuration and import cost (no TensorFlow needed)."""
from __future__ import annotations

import subprocess
import sys

import pytest

from elicbench.codecs.elic.config import PAPER_LAMBDAS, PRESETS, ELICConfig, get_preset


def test_presets_are_consistent():
    full, tiny = PRESETS["full"], PRESETS["tiny"]
    assert (full.N, full.M, full.groups) == (192, 320, (16, 16, 32, 64, 192))
    assert full.hyper_out == 2 * full.M and tiny.hyper_out == 2 * tiny.M
    assert sum(tiny.groups) == tiny.M and tiny.num_groups == full.num_groups == 5
    # uneven groups growing in size, as in the paper
    assert list(tiny.groups) == sorted(tiny.groups) and tiny.groups[-1] > tiny.groups[0]


def test_round_trip_through_dict():
    for cfg in PRESETS.values():
        again = ELICConfig.from_dict(cfg.to_dict())
        assert again == cfg and isinstance(again.groups, tuple)


def test_bad_configs_are_refused():
    with pytest.raises(ValueError, match="sum to"):
        ELICConfig(M=320, groups=(16, 16, 32, 64, 100))
    with pytest.raises(ValueError, match="unknown ELIC config field"):
        ELICConfig.from_dict({**PRESETS["tiny"].to_dict(), "depth": 3})
    with pytest.raises(ValueError, match="unknown ELIC preset 'huge'"):
        get_preset("huge")


def test_scale_table_is_log_spaced_0_11_to_256():
    table = PRESETS["full"].scale_table()
    assert len(table) == 64
    assert table[0] == pytest.approx(0.11) and table[-1] == pytest.approx(256.0)
    ratios = [b / a for a, b in zip(table, table[1:])]
    assert max(ratios) == pytest.approx(min(ratios)) == pytest.approx(1.1310, abs=1e-3)


def test_paper_lambdas():
    assert PAPER_LAMBDAS == (0.0004, 0.0008, 0.0016, 0.0032, 0.0075, 0.015, 0.03, 0.045)


def test_importing_the_codec_does_not_import_tensorflow():
    # The model's own modules import TF at their top; the codec and the modules that find, read and
    # check model files import them only when a model is used (tests/test_architecture.py).
    code = ("import sys, elicbench.codecs as c; c.get_codec('elic'); "
            "import elicbench.codecs.elic.export, elicbench.codecs.elic.reference, elicbench.codecs.elic.runner, "
            "elicbench.codecs.elic.modelfiles, elicbench.codecs.elic.container, elicbench.codecs.elic.tiling; "
            "print('tensorflow' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "False"
