"""The bundled demo weights (``elicbench/data/elic-demo``): how trained models become them.

Each trained model directory is exported again with float16 weights and no SavedModel (the
package stays small: about 3.7 MB per tiny model), into ``DEST/tiny-NNNN`` where NNNN is λ·10⁴.
The exported model *is* the float16-rounded one (its model id and entropy tables are computed
from the rounded weights), its training facts are kept and marked ``demo``, which is how the
``elic`` codec names results "elic (demo weights)". The recipe is in the weights' MODEL_CARD.md.

    python -m elicbench.codecs.elic.demo DEST MODEL_DIR [MODEL_DIR ...]
"""
from __future__ import annotations

import argparse
import json
import shutil
import sys
from pathlib import Path
from typing import Sequence

from elicbench.codecs.elic.export import export_model, load_model
from elicbench.codecs.elic.modelfiles import MODEL_JSON, read_model_info


def demo_name(info: dict) -> str:
    """``tiny-0045`` for a tiny model trained at λ 0.0045 (λ·10⁴, four digits)."""
    return f"{info.get('preset') or 'elic'}-{info['lambda'] * 1e4:04.0f}"


def export_demo_weights(model_dirs: Sequence[str | Path], dest_root: str | Path) -> list[Path]:
    """Export each trained model in ``model_dirs`` as demo weights under ``dest_root``; returns
    the new model directories (an existing one of the same name is replaced)."""
    dest_root = Path(dest_root)
    out_dirs = []
    for src in map(Path, model_dirs):
        info = read_model_info(src)
        out = dest_root / demo_name(info)
        runner = load_model(src)
        meta = dict(info.get("training") or {}, demo=True, trained_as=src.name)
        meta.update({"lambda": info["lambda"], "steps": info.get("steps"), "data": info.get("data")})
        if out.exists():
            shutil.rmtree(out)
        export_model(runner.model, out, meta, dtype="float16", saved_model=False)
        out_dirs.append(out)
    return out_dirs


def main(argv: Sequence[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m elicbench.codecs.elic.demo",
                                description="Export trained ELIC models as demo weights (float16, no SavedModel).")
    p.add_argument("dest", type=Path, help="e.g. elicbench/data/elic-demo")
    p.add_argument("models", nargs="+", type=Path, metavar="MODEL_DIR", help="trained model directories")
    a = p.parse_args(argv)
    for out in export_demo_weights(a.models, a.dest):
        print(out, json.loads((out / MODEL_JSON).read_text())["model_id"])
    return 0


if __name__ == "__main__":
    sys.exit(main())
