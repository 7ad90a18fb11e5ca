"""The ``elicbench`` command: a thin layer over the library (each command is one library call).

Exit codes: 0 success; 1 a check failed or some jobs failed (reported); 2 bad usage or input.
Heavy modules (TensorFlow, pandas, matplotlib) are imported inside the commands that need them.
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any, Sequence

from . import __version__
from .errors import UserError

EXIT_OK, EXIT_FAILED, EXIT_USAGE = 0, 1, 2


class UsageError(UserError):
    """A command-line argument that does not parse (beyond what argparse checks)."""


# ---- argument parsing helpers ------------------------------------------------------------------
def _csv_list(text: str) -> list[str]:
    items = [t.strip() for t in text.split(",") if t.strip()]
    if not items:
        raise argparse.ArgumentTypeError("expected a comma-separated list")
    return items


def _floats(text: str) -> list[float]:
    try:
        return [float(t) for t in _csv_list(text)]
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected numbers separated by commas, got {text!r}") from None


def _parse_qualities(items: Sequence[str]) -> dict[str, list[float]]:
    out: dict[str, list[float]] = {}
    for item in items or ():
        codec, sep, values = item.partition("=")
        if not sep or not codec or not values:
            raise UsageError(f"--qualities expects CODEC=v1,v2,... (got {item!r})")
        try:
            out[codec.strip()] = [float(v) for v in _csv_list(values)]
        except (ValueError, argparse.ArgumentTypeError):
            raise UsageError(f"--qualities {item!r}: values must be numbers") from None
    return out


def _parse_options(items: Sequence[str]) -> dict[str, dict[str, Any]]:
    out: dict[str, dict[str, Any]] = {}
    for item in items or ():
        lhs, sep, value = item.partition("=")
        codec, dot, key = lhs.partition(".")
        if not sep or not dot or not codec or not key:
            raise UsageError(f"--option expects CODEC.OPTION=VALUE, e.g. jpeg.subsampling=4:4:4 (got {item!r})")
        out.setdefault(codec.strip(), {})[key.strip()] = value.strip()
    return out


#: Shorthand flags for one codec's option: attribute of the parsed arguments -> (codec, option).
CODEC_OPTION_FLAGS = {"elic_models": ("elic", "models")}


def _codec_options(a: argparse.Namespace, only: Sequence[str] | None = None) -> dict[str, dict[str, Any]]:
    """-o CODEC.OPTION=VALUE settings plus the shorthand flags (``--elic-models DIR`` is
    ``-o elic.models=DIR``); a shorthand for a codec not in ``only`` is ignored, so
    ``run --codecs jpeg --elic-models models`` is not an error."""
    options = _parse_options(getattr(a, "option", []))
    for attr, (codec, option) in CODEC_OPTION_FLAGS.items():
        value = getattr(a, attr, None)
        if value and (only is None or codec in only):
            options.setdefault(codec, {})[option] = value
    return options


def _reference_names(dataset: str = "kodak") -> list[str]:
    """The shipped published curves (elicbench/data/reference/<dataset>/NAME.csv), read from the package
    data without importing the analysis modules (help must stay fast)."""
    from importlib import resources

    try:
        folder = resources.files("elicbench").joinpath("data", "reference", dataset)
        return sorted(e.name[:-4] for e in folder.iterdir() if e.name.endswith(".csv"))
    except (FileNotFoundError, NotADirectoryError):
        return []


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="elicbench",
        description="Benchmark learned image codecs (ELIC) against JPEG, WebP, AVIF and others: "
                    "real files, bpp, PSNR, MS-SSIM, timings, BD-rate tables and RD plots.",
        epilog="Exit codes: 0 success, 1 a check failed or some jobs failed, 2 bad usage or input.",
    )
    p.add_argument("--version", action="version", version=f"elicbench {__version__}")
    sub = p.add_subparsers(dest="command", metavar="COMMAND", required=True)

    r = sub.add_parser("run", help="encode+decode every image at every quality of every codec",
                       description="Encode and decode every image of a dataset at every quality of every "
                                   "codec, measure bpp (whole file), PSNR, PSNR-Y, MS-SSIM, encode/decode "
                                   "time, and write a run directory (results.csv, summary.csv, manifest.json, "
                                   "and visual/: the crops of the report's visual comparison).")
    r.add_argument("--dataset", required=True, metavar="NAME_OR_DIR",
                   help="kodak, clic, sample (bundled, no network) or a directory of images")
    r.add_argument("--codecs", required=True, type=_csv_list, metavar="A,B,...",
                   help="codecs to run, e.g. jpeg,webp,avif,elic (see `elicbench list`)")
    r.add_argument("--qualities", action="append", default=[], metavar="CODEC=v1,v2,...",
                   help="quality sweep for one codec (repeatable); default: the codec's own sweep")
    r.add_argument("-o", "--option", action="append", default=[], metavar="CODEC.OPTION=VALUE",
                   help="a codec setting, e.g. jpeg.subsampling=4:4:4, avif.speed=4 (repeatable); "
                        "non-default settings become part of the codec's label")
    r.add_argument("--elic-models", metavar="DIR",
                   help="directory of ELIC model directories, or one model directory; short for "
                        "-o elic.models=DIR (default: $ELICBENCH_MODELS, else the demo weights)")
    r.add_argument("--metrics", type=_csv_list, default=None, metavar="M1,M2,...",
                   help="quality metrics to measure, one results column each (default: psnr,psnr_y,ms_ssim); e.g. "
                        "psnr,ms_ssim,ssimulacra2,psnr_hvs_m,ciede2000 (see `elicbench list`)")
    r.add_argument("--limit", type=int, metavar="N", help="only the first N images (sorted by name)")
    r.add_argument("--out", type=Path, metavar="DIR", help="run directory (default: reports/<dataset>-<timestamp>)")
    r.add_argument("--jobs", type=int, metavar="N", help="parallel worker processes (default: all cores)")
    r.add_argument("--resume", action="store_true",
                   help="continue the run in --out: skip finished jobs, re-run failed ones")
    r.add_argument("--repeats", type=int, default=1, metavar="N",
                   help="timing repeats per job; the median is recorded (default 1)")
    r.add_argument("--target-bpp", type=_floats, metavar="B1,B2,...",
                   help="rate matching: per image and codec, the quality whose bpp is closest to each target")
    r.add_argument("--scheduler", metavar="ADDRESS",
                   help="run the jobs on a Dask cluster, e.g. tcp://127.0.0.1:8786 (pip install 'elicbench[dask]')")
    r.add_argument("--no-progress", action="store_true", help="no progress bar")
    r.add_argument("--offline", action="store_true", help="never download a dataset")
    r.add_argument("--no-visual", action="store_true",
                   help="store no crops for the report's visual comparison (by default, after the jobs, one image "
                        "is coded once more per codec at its rate point closest to 0.5 bpp and a crop kept in visual/)")

    # The shipped published curves, named in the help of report and plot alike.
    refs = _reference_names()
    with_ref_help = f"add published reference curves: {', '.join(refs) or 'none found'}"
    refs_epilog = ("Published reference curves (Kodak means, not measured here; where each comes from: "
                   f"elicbench/data/reference/kodak/SOURCE.md): {', '.join(refs) or 'none found'}. "
                   "Use them as --with-ref NAME,...")
    rep = sub.add_parser("report", help="BD-rate / BD-quality tables (Markdown, CSV, HTML)",
                         description="BD-rate and BD-quality of every codec against an anchor, from one or "
                                     "more run directories. Prints the Markdown table on stdout and writes, "
                                     "into --out (default: the first RUN_DIR): bdrate.csv (the table), "
                                     "report.md (the Markdown report), report.html (self-contained: tables, "
                                     "RD and timing plots, manifest summary, visual comparison) and "
                                     "visual_<dataset>.png (the comparison crops; not with --no-visual).",
                         epilog=refs_epilog + " or --anchor ref:NAME.")
    rep.add_argument("runs", nargs="+", type=Path, metavar="RUN_DIR",
                     help="a run directory, or a folder holding run directories")
    rep.add_argument("--anchor", metavar="CODEC|ref:NAME",
                     help="anchor codec label, or a published curve such as ref:vtm (default: jpeg)")
    rep.add_argument("--metric", default="psnr", metavar="NAME",
                     help="quality axis: psnr (default; mean of per-image PSNR, images coded losslessly left out "
                          "and named), ms_ssim_db, psnr_pooled (PSNR of the MSE pooled over all pixels, "
                          "which counts lossless images; no published curves), or any measured metric, e.g. "
                          "ssimulacra2, psnr_hvs_m, ciede2000 (lower is better: BD-rate is still the rate change "
                          "at equal quality); `elicbench list` names them all")
    rep.add_argument("--method", choices=["pchip", "akima", "cubic"], default="pchip",
                     help="interpolation: pchip (JVET CTC, default), akima, cubic (classic Bjøntegaard)")
    rep.add_argument("--with-ref", type=_csv_list, default=[], metavar="NAME,...", help=with_ref_help)
    rep.add_argument("--out", type=Path, metavar="DIR",
                     help="where bdrate.csv, report.md, report.html and visual_<dataset>.png go "
                          "(default: the first RUN_DIR)")
    rep.add_argument("--target-bpp", type=float, default=0.5, metavar="BPP",
                     help="bpp of the visual comparison (default 0.5): the crops the runs stored at it (`run` stores "
                          "them at 0.5; `elicbench visual RUN_DIR --target-bpp BPP` makes others)")
    rep.add_argument("--no-visual", action="store_true", help="skip the visual comparison")

    vis = sub.add_parser("visual", help="code one image again per codec and store the crops the report shows",
                         description="For a finished run (e.g. one written before runs stored crops): pick one "
                                     "image (the first every codec coded), code it once more with each codec of the "
                                     "run (as its manifest records them) at the rate point whose measured bpp on "
                                     "that image is closest to each target, and store the window with the most "
                                     "detail of each decoded image in RUN_DIR/visual/ (PNG files and index.json), "
                                     "where `elicbench report` reads them.")
    vis.add_argument("runs", nargs="+", type=Path, metavar="RUN_DIR",
                     help="a run directory, or a folder holding run directories")
    vis.add_argument("--target-bpp", type=_floats, default=[0.5], metavar="B1,B2,...",
                     help="target bpp of the crops (default 0.5); crops stored at other targets are kept")
    vis.add_argument("--crop", type=int, default=256, metavar="PX", help="size of the crops in pixels (default 256)")
    vis.add_argument("--image", metavar="NAME", help="which image (default: the first, by name, every codec coded)")
    vis.add_argument("-o", "--option", action="append", default=[], metavar="CODEC.OPTION=VALUE",
                     help="change a codec setting the manifest records, e.g. elic.models=DIR (repeatable)")

    pl = sub.add_parser("plot", help="RD curves and time-vs-bpp plots (PNG + SVG)",
                        description="For every run under the given paths: bpp vs PSNR, bpp vs MS-SSIM dB, "
                                    "encode/decode time vs bpp, one figure per metric and dataset, PNG and SVG.",
                        epilog=refs_epilog)
    pl.add_argument("paths", nargs="+", type=Path, metavar="RUNS_DIR_OR_RUN_DIR")
    pl.add_argument("--out", type=Path, metavar="DIR", help="output directory (default: <first path>/plots)")
    pl.add_argument("--with-ref", type=_csv_list, default=[], metavar="NAME,...", help=with_ref_help)

    ch = sub.add_parser("check", help="re-run a baseline and fail on bitrate/quality regressions",
                        description="Re-run exactly what a baseline run recorded (images, codecs, settings, "
                                    "qualities), compare row by row and per-codec BD-rate, print a diff, "
                                    "exit 1 on regression.")
    ch.add_argument("--baseline", required=True, type=Path, metavar="DIR", help="a run directory to compare with")
    ch.add_argument("--update", action="store_true", help="rewrite the baseline with the new results, on purpose")
    ch.add_argument("--out", type=Path, metavar="DIR", help="where to keep the new run (default: a temp dir)")
    ch.add_argument("--bytes-tolerance", type=float, default=None, metavar="FRACTION",
                    help="allowed relative size change for non-deterministic codecs (default 0.01)")
    ch.add_argument("--psnr-tolerance", type=float, default=None, metavar="DB", help="default 0.01 dB")
    ch.add_argument("--ms-ssim-tolerance", type=float, default=None, metavar="ABS", help="default 1e-4")
    ch.add_argument("--bdrate-tolerance", type=float, default=None, metavar="PERCENT", help="default 0.5 %%")
    ch.add_argument("--metric", default="psnr", metavar="NAME",
                    help="the quality axis of the BD-rate comparison (default psnr; any metric the baseline measured)")
    ch.add_argument("--jobs", type=int, metavar="N", help="parallel workers (default: all cores)")
    ch.add_argument("-o", "--option", action="append", default=[], metavar="CODEC.OPTION=VALUE",
                    help="change a codec setting the baseline recorded, e.g. elic.models=DIR (repeatable)")
    ch.add_argument("--elic-models", metavar="DIR", help="ELIC models; short for -o elic.models=DIR")
    ch.add_argument("--no-progress", action="store_true")

    t = sub.add_parser("train", help="train an ELIC model and export a model directory",
                       formatter_class=argparse.ArgumentDefaultsHelpFormatter,
                       description="Train ELIC (GPU when present; several GPUs via MirroredStrategy) on the "
                                   "images in --data, resumable after a kill, and export the model into --out. "
                                   "Train each rate point into models/NAME, then `elicbench run --elic-models "
                                   "models`. Preset defaults: full = 1,000,000 steps, batch 16, 256 px, lr 1e-4; "
                                   "tiny = 20,000 steps, batch 8, 128 px, lr 1e-3 with 200 warm-up steps.")
    t.add_argument("--data", required=True, type=Path, metavar="DIR", help="directory of training images")
    t.add_argument("--lambda", dest="lmbda", required=True, metavar="L",
                   help="rate-distortion trade-off (0..255 MSE scale), e.g. 0.0032, or a paper rate point q1..q8")
    t.add_argument("--out", required=True, type=Path, metavar="DIR",
                   help="the model directory, e.g. models/tiny-q5 (the model files; checkpoints and logs in "
                        "DIR/training/; the same command resumes)")
    t.add_argument("--preset", choices=["full", "tiny"], default="full", help="model size")
    t.add_argument("--steps", type=int, metavar="N", help="total training steps (default: the preset's)")
    t.add_argument("--batch-size", type=int, metavar="N", help="default: the preset's")
    t.add_argument("--patch-size", type=int, metavar="PX", help="random crop size, a multiple of 64 "
                                                                 "(default: the preset's)")
    t.add_argument("--learning-rate", type=float, metavar="LR", help="peak learning rate (default: the preset's)")
    t.add_argument("--warmup-steps", type=int, metavar="N",
                   help="linear learning-rate warm-up (default: the preset's)")
    t.add_argument("--lr-decay-at", type=float, default=0.9, metavar="FRACTION",
                   help="multiply the learning rate by 0.1 after this fraction of --steps")
    t.add_argument("--init-from", type=Path, metavar="MODEL_DIR",
                   help="start from this model's weights (same preset), e.g. to fine-tune a base model to a new λ")
    t.add_argument("--mixed-precision", action="store_true", help="mixed_float16 training (coding stays float32)")
    t.add_argument("--max-minutes", type=float, metavar="MIN", help="stop, checkpoint and export after this wall time")
    t.add_argument("--seed", type=int, default=0, help="fixes the initial weights and the patch order")
    t.add_argument("--no-progress", action="store_true", help="no progress bar or log lines")

    sub.add_parser("list", help="codecs (available or why not, versions, default qualities) and datasets")

    f = sub.add_parser("fetch", help="download a dataset into the cache, verifying SHA-256")
    f.add_argument("name", choices=["kodak", "clic"])
    f.add_argument("--force", action="store_true", help="download again even if present")
    return p


# ---- commands ----------------------------------------------------------------------------------
def cmd_run(a: argparse.Namespace) -> int:
    from .runner import RunConfig, run_benchmark

    options = _codec_options(a, only=a.codecs)
    cfg = RunConfig(dataset=a.dataset, codecs=a.codecs, qualities=_parse_qualities(a.qualities),
                    options=options, limit=a.limit, out=a.out, jobs=a.jobs, resume=a.resume,
                    repeats=a.repeats, target_bpp=a.target_bpp, scheduler=a.scheduler,
                    progress=not a.no_progress, command=["elicbench", *sys.argv[1:]], download=not a.offline)
    if a.metrics is not None:
        cfg.metrics = a.metrics
    if a.no_visual:
        cfg.visual_bpp = None
    outcome = run_benchmark(cfg)
    print(_run_summary(outcome))
    return EXIT_OK if outcome.ok else EXIT_FAILED


def _run_summary(outcome) -> str:
    lines = [f"run directory: {outcome.run_dir}",
             f"jobs: {outcome.planned} planned, {outcome.skipped} already done, {outcome.completed} run "
             f"in {outcome.wall_s:.1f} s, {len(outcome.failures)} failed"]
    if outcome.interrupted:
        lines.append("interrupted: finished jobs are saved; continue with --resume --out " + str(outcome.run_dir))
    if outcome.failures:
        lines.append("failures:")
        for row in outcome.failures[:20]:
            q = row.get("quality")
            lines.append(f"  {row['image']} {row['codec']} q={q}: {row['error']}")
        if len(outcome.failures) > 20:
            lines.append(f"  ... and {len(outcome.failures) - 20} more (see results.csv, column error)")
    else:
        import pandas as pd

        summary = outcome.run_dir / "summary.csv"
        if summary.exists():
            df = pd.read_csv(summary)
            names = _display_names(outcome.run_dir)
            df["codec"] = [names.get(c, c) for c in df["codec"]]  # e.g. 'elic (demo weights)'
            cols = ["codec", "quality", "n_images", "bpp", "psnr", "ms_ssim_db", "encode_s", "decode_s"]
            lines.append(df[cols].to_string(index=False, float_format=lambda v: f"{v:.4g}"))
            lossless = int(df["n_psnr_inf"].sum()) if "n_psnr_inf" in df else 0
            if lossless:  # README, "Lossless rows"
                lines.append(f"psnr: mean over images with a finite PSNR; {lossless} row(s) coded losslessly (PSNR "
                             "infinite) are left out of it (summary.csv: n_psnr_inf, and psnr_pooled, which counts them)")
            from .analysis.runs import DEMO_NOTE, is_demo_name

            demo = sorted({n for n in df["codec"] if is_demo_name(n)})
            if demo:
                lines.append(f"{', '.join(demo)}: {DEMO_NOTE}")
    return "\n".join(lines)


def _display_names(run_dir: Path) -> dict[str, str]:
    """{codec label: the name a reader sees} from the run's manifest (see analysis.runs.series_name)."""
    from .analysis.runs import series_name
    from .manifest import read_manifest
    from .results import MANIFEST_FILE

    try:
        codecs = read_manifest(run_dir / MANIFEST_FILE).get("codecs") or {}
    except Exception:  # the summary is still worth printing without names
        return {}
    return {label: series_name(label, info if isinstance(info, dict) else None) for label, info in codecs.items()}


def cmd_report(a: argparse.Namespace) -> int:
    from .analysis.runs import find_runs
    from .report import build_report

    runs = find_runs(a.runs)
    if not runs:
        raise UsageError(f"no run directories (with results.csv) under {', '.join(map(str, a.runs))}")
    report = build_report(runs, anchor=a.anchor, metric=a.metric, method=a.method, with_ref=a.with_ref,
                          out_dir=a.out, visual_bpp=None if a.no_visual else a.target_bpp)
    print(report.markdown)
    for path in report.files:
        print(f"wrote {path}", file=sys.stderr)
    return EXIT_OK


def cmd_visual(a: argparse.Namespace) -> int:
    from .analysis.runs import find_runs
    from .crops import crops_for_run

    if a.crop < 16:
        raise UsageError(f"--crop must be at least 16 pixels (got {a.crop})")
    if any(t <= 0 for t in a.target_bpp):
        raise UsageError("--target-bpp values must be positive")
    options = _parse_options(a.option)
    for run in find_runs(a.runs):
        stored = crops_for_run(run.path, target_bpps=a.target_bpp, crop=a.crop, image=a.image, options=options)
        for target in a.target_bpp:
            made = stored.at(target)
            shown = ", ".join(f"{t.codec} {t.quality}" for t in made.tiles) or "no codec"
            print(f"{run.path}: {stored.image or '-'} at {target:g} bpp: {shown} ({made.seconds:.1f} s)")
            for note in made.notes:
                print(f"  note: {note}")
    return EXIT_OK


def cmd_plot(a: argparse.Namespace) -> int:
    from .analysis.runs import find_runs
    from .report.plot import plot_runs

    runs = find_runs(a.paths)
    if not runs:
        raise UsageError(f"no run directories (with results.csv) under {', '.join(map(str, a.paths))}")
    out = a.out or (a.paths[0] / "plots")
    for path in plot_runs(runs, out, with_ref=a.with_ref):
        print(path)
    return EXIT_OK


def cmd_check(a: argparse.Namespace) -> int:
    from .check import Tolerances, check_baseline

    tol = Tolerances.from_args(bytes_rel=a.bytes_tolerance, psnr_db=a.psnr_tolerance,
                               ms_ssim=a.ms_ssim_tolerance, bdrate_pct=a.bdrate_tolerance)
    result = check_baseline(a.baseline, tolerances=tol, update=a.update, out=a.out, jobs=a.jobs,
                            options=_codec_options(a), progress=not a.no_progress, metric=a.metric)
    print(result.text)
    return EXIT_OK if result.passed else EXIT_FAILED


def cmd_train(a: argparse.Namespace) -> int:
    from .codecs.elic.train import parse_lambda, train

    model_dir = train(a.data, parse_lambda(a.lmbda), a.out, preset=a.preset, steps=a.steps,
                      batch_size=a.batch_size, patch_size=a.patch_size, learning_rate=a.learning_rate,
                      warmup_steps=a.warmup_steps, lr_decay_at=a.lr_decay_at, init_from=a.init_from,
                      mixed_precision=a.mixed_precision, max_minutes=a.max_minutes, seed=a.seed,
                      progress=not a.no_progress)
    print(f"model exported to {model_dir}")
    return EXIT_OK


def cmd_list(a: argparse.Namespace) -> int:
    from .listing import render_listing

    print(render_listing())
    return EXIT_OK


def cmd_fetch(a: argparse.Namespace) -> int:
    from .datasets import fetch_dataset

    path = fetch_dataset(a.name, force=a.force)
    print(f"{a.name}: {path}")
    return EXIT_OK


COMMANDS = {"run": cmd_run, "report": cmd_report, "visual": cmd_visual, "plot": cmd_plot, "check": cmd_check,
            "train": cmd_train, "list": cmd_list, "fetch": cmd_fetch}


def exit_code_for(exc: BaseException) -> int | None:
    """The one place exceptions become exit codes: 2 for bad usage or input, None to re-raise.

    Library modules raise subclasses of ``elicbench.errors.UserError`` for what a user can fix;
    a missing file or folder a user named (``FileNotFoundError``) is one too.
    """
    from .errors import UserError

    return EXIT_USAGE if isinstance(exc, (UserError, FileNotFoundError)) else None


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return COMMANDS[args.command](args)
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    except Exception as exc:
        code = exit_code_for(exc)
        if code is None:
            raise
        print(f"elicbench {args.command}: error: {exc}", file=sys.stderr)
        return code


if __name__ == "__main__":
    sys.exit(main())
