"""`elicbench list` (a determinism column, how to get a missing dataset) and `report --help` (its
outputs and the reference curves --with-ref accepts), both without importing TensorFlow."""
from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from importlib import resources

import pytest

from elicbench.cli import main


def _cli(*argv: str, env: dict[str, str] | None = None, prelude: str = "") -> subprocess.CompletedProcess:
    """The CLI in a fresh interpreter; fails if it imported TensorFlow or numba (the metrics' compiled
    loops load it at their first call)."""
    code = textwrap.dedent(f"""
        import sys
        {prelude}
        from elicbench.cli import main
        try:
            code = main({list(argv)!r})
        except SystemExit as exc:  # --help
            code = exc.code
        assert "tensorflow" not in sys.modules, "imported TensorFlow"
        assert "numba" not in sys.modules, "imported numba"
        sys.exit(code)
    """)
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120,
                          env={**os.environ, **(env or {})})


@pytest.fixture
def no_datasets(tmp_path, monkeypatch):
    """No $ELICBENCH_DATA and an empty cache: kodak and clic are nowhere."""
    monkeypatch.delenv("ELICBENCH_DATA", raising=False)
    monkeypatch.setenv("ELICBENCH_CACHE", str(tmp_path / "cache"))
    return tmp_path / "cache"


def _codec_rows(out: str) -> dict[str, str]:
    """codec name -> its determinism cell, read under the column header."""
    lines = out.splitlines()
    header = next(line for line in lines if "deterministic" in line and "summary" in line)
    start = header.index("deterministic")
    rows = {}
    for line in lines[lines.index(header) + 1:]:
        if not line.startswith("  ["):
            if not line.startswith("        "):
                break
            continue
        rows[line[7:].split()[0]] = line[start:].split()[0]
    return rows


def test_list_has_a_determinism_column(capsys, no_datasets):
    from elicbench.codecs import CODECS

    assert main(["list"]) == 0
    out = capsys.readouterr().out
    rows = _codec_rows(out)
    assert {"jpeg", "webp", "avif", "elic"} <= set(rows)
    for name, cell in rows.items():
        assert cell == ("yes" if CODECS.get(name).deterministic else "no"), name
    assert "`elicbench check` requires identical bytes" in out


def test_a_non_deterministic_codec_says_no(no_datasets):
    prelude = textwrap.dedent("""
        from elicbench.codecs import Codec, QualityScale, register_codec

        @register_codec("zz-noisy")
        class Noisy(Codec):
            extension = "bin"
            quality_scale = QualityScale("quality", 0, 100)
            default_qualities = (50,)
            summary = "a codec whose output varies"
            deterministic = False
            def encode(self, image, quality): return b""
            def decode(self, data): return None
    """)
    res = _cli("list", prelude=prelude.replace("\n", "\n        "))
    assert res.returncode == 0, res.stderr
    assert _codec_rows(res.stdout)["zz-noisy"] == "no"
    assert _codec_rows(res.stdout)["jpeg"] == "yes"


def test_list_says_how_to_get_a_missing_dataset(capsys, no_datasets):
    assert main(["list"]) == 0
    out = capsys.readouterr().out.splitlines()
    for name in ("kodak", "clic"):
        state = out[out.index(next(line for line in out if line.startswith(f"  {name} "))) + 1]
        assert state.strip().startswith("not present:")
        assert f"`elicbench fetch {name}`" in state and f"ELICBENCH_DATA=DIR with the files in DIR/{name}/" in state
        assert "https://" in state


def test_list_names_an_incomplete_cache(capsys, no_datasets, tmp_path):
    from elicbench.datasets.kodak import KodakDataset

    cache = no_datasets / "kodak"
    cache.mkdir(parents=True)
    (cache / "kodim01.png").write_bytes(b"present")
    assert main(["list"]) == 0
    out = capsys.readouterr().out
    assert f"incomplete at {cache} (cache): {len(KodakDataset().expected_files()) - 1} file(s) missing" in out
    assert "`elicbench fetch kodak`" in out


def test_report_help_names_its_outputs_and_the_reference_curves():
    res = _cli("report", "--help")
    assert res.returncode == 0, res.stderr
    text = " ".join(res.stdout.split())          # argparse wraps lines
    for output in ("bdrate.csv", "report.md", "report.html", "visual_<dataset>.png"):
        assert output in text
    assert "--out (default: the first RUN_DIR)" in text
    shipped = sorted(e.name[:-4] for e in resources.files("elicbench").joinpath("data", "reference", "kodak").iterdir()
                     if e.name.endswith(".csv"))
    assert len(shipped) >= 5
    assert f"add published reference curves: {', '.join(shipped)}" in text
    assert "SOURCE.md" in text and "--anchor ref:NAME" in text


def _elic_block(out: str) -> str:
    """The lines of the elic row of `elicbench list` (up to the next codec)."""
    lines = out.splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith("  [") and line[7:].split()[0] == "elic")
    end = next((i for i in range(start + 1, len(lines)) if lines[i].startswith("  [")), len(lines))
    return " ".join(" ".join(lines[start:end]).split())


def test_list_says_elic_defaults_to_the_demo_weights(capsys, no_datasets, monkeypatch):
    monkeypatch.delenv("ELICBENCH_MODELS", raising=False)
    assert main(["list"]) == 0
    block = _elic_block(capsys.readouterr().out)
    assert "default models: the demo weights (" in block and "tiny models trained on a CPU: not the paper's ELIC" in block
    assert "results name them 'elic (demo weights)'" in block and "--elic-models DIR" in block


def test_list_names_a_users_models(capsys, no_datasets, monkeypatch, tmp_path):
    import json
    import shutil

    from elicbench.codecs.elic.codec import DEMO_MODELS

    model = tmp_path / "models" / "mine"
    shutil.copytree(sorted(DEMO_MODELS.glob("*/elic.json"))[0].parent, model)  # any demo model
    info = json.loads((model / "elic.json").read_text())
    info["training"]["demo"] = False
    info["name"] = "my-elic"
    (model / "elic.json").write_text(json.dumps(info))
    monkeypatch.setenv("ELICBENCH_MODELS", str(tmp_path / "models"))
    assert main(["list"]) == 0
    block = _elic_block(capsys.readouterr().out)
    assert "demo weights" not in block
    assert f"models: $ELICBENCH_MODELS ({tmp_path / 'models'}); results name them 'elic (my-elic)'" in block


def test_plot_help_lists_the_shipped_reference_curves():
    res = _cli("plot", "--help")
    assert res.returncode == 0, res.stderr
    text = " ".join(res.stdout.split())
    shipped = sorted(e.name[:-4] for e in resources.files("elicbench").joinpath("data", "reference", "kodak").iterdir()
                     if e.name.endswith(".csv"))
    assert f"add published reference curves: {', '.join(shipped)}" in text
    assert "SOURCE.md" in text and "not measured here" in text
