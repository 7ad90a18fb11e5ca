"""The train -> run -> check path, through the real CLI, with the commands README shows.

The commands are read from README's "Train your own model, then benchmark it" block, so README and
this test cannot drift apart. Only the scale changes: 2 training steps on 64x64 crops instead of
thousands, one image per run, and a folder of test images in place of Kodak where Kodak is absent.
"""
from __future__ import annotations

import csv
import json
import os
import re
import shlex
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

REPO = Path(__file__).resolve().parents[3]
BEGIN, END = "<!-- train-run-path: begin -->", "<!-- train-run-path: end -->"


def readme_commands() -> list[str]:
    text = (REPO / "README.md").read_text()
    block = text[text.index(BEGIN) + len(BEGIN):text.index(END)]
    return [line.strip() for line in block.splitlines() if line.strip().startswith(("elicbench", "ELICBENCH_"))]


def scaled_down(command: str, dataset: str) -> tuple[dict[str, str], list[str]]:
    """(environment additions, argv) of a README command, at test scale."""
    words = shlex.split(command)
    env = {}
    while "=" in words[0]:
        key, value = words.pop(0).split("=", 1)
        env[key] = value
    assert words[0] == "elicbench", command
    verb = words[1]
    if "--steps" in words:
        words[words.index("--steps") + 1] = "2"
    if verb == "train":
        words += ["--batch-size", "2", "--patch-size", "64", "--no-progress"]
    if verb == "run":
        words[words.index("--dataset") + 1] = dataset
        words += ["--limit", "1", "--jobs", "1", "--no-progress"]
    if verb == "check":
        words += ["--jobs", "1", "--no-progress"]
    # The console script pip installed beside this interpreter: what a user types.
    return env, [str(Path(sys.executable).with_name("elicbench")), *words[1:]]


def training_photos(folder: Path) -> None:
    """Three photographs that ship with scikit-image (not Kodak), as a user's training folder."""
    from skimage import data

    folder.mkdir()
    for name in ("astronaut", "coffee", "chelsea"):
        Image.fromarray(getattr(data, name)()).save(folder / f"{name}.png")


def test_readme_shows_the_whole_path():
    commands = readme_commands()
    verbs = [shlex.split(c)[1] if c.startswith("elicbench") else shlex.split(c)[2] for c in commands]
    assert verbs == ["train", "train", "run", "run", "run", "check"], commands
    assert any("--init-from" in c for c in commands)
    assert any(c.startswith("ELICBENCH_MODELS=") for c in commands)


@pytest.mark.slow
def test_train_then_run_then_check_as_readme_shows(tmp_path):
    training_photos(tmp_path / "photos")
    kodak = Path(os.environ["ELICBENCH_DATA"]) / "kodak"
    if (kodak / "kodim01.png").exists():
        dataset = "kodak"
    else:  # a fresh clone: one image the test makes, coded like Kodak's
        from skimage import data

        (tmp_path / "images").mkdir()
        Image.fromarray(np.ascontiguousarray(data.rocket()[:192, :256])).save(tmp_path / "images" / "rocket.png")
        dataset = "images"

    for command in readme_commands():
        env, argv = scaled_down(command, dataset)
        done = subprocess.run(argv, cwd=tmp_path, env={**os.environ, **env}, capture_output=True, text=True,
                              timeout=900)
        assert done.returncode == 0, f"{command}\n{done.stdout}\n{done.stderr}"

    # train exported each model into --out itself, with its state below it
    for name in ("tiny-0045", "tiny-0130"):
        model = tmp_path / "models" / name
        assert (model / "elic.json").exists() and (model / "weights.npz").exists()
        assert (model / "training" / "train_log.csv").exists()
    info = json.loads((tmp_path / "models" / "tiny-0130" / "elic.json").read_text())
    assert "tiny-0045" in json.dumps(info["training"]["init_from"])

    def elic_rows(run: str) -> list[dict[str, str]]:
        with open(tmp_path / "reports" / run / "results.csv") as f:
            rows = [r for r in csv.DictReader(f) if r["codec"] == "elic"]
        assert all(not r.get("error") for r in rows), rows
        return rows

    assert sorted(float(r["quality"]) for r in elic_rows("mine")) == [0.0045, 0.013]
    assert [float(r["quality"]) for r in elic_rows("one-model")] == [0.013]
    assert sorted(float(r["quality"]) for r in elic_rows("from-env")) == [0.0045, 0.013]
    manifest = json.loads((tmp_path / "reports" / "mine" / "manifest.json").read_text())
    assert manifest["codecs"]["elic"]["display_name"] == "elic (tiny)"
    assert not re.search(r"demo", manifest["codecs"]["elic"]["display_name"])
