"""Analysis of run results: RD curves, Bjøntegaard-delta metrics, published reference curves."""
from .bdrate import BDResult, PerImageBD, bd_quality, bd_rate, bootstrap_mean_ci, per_image_bd
from .curves import Curve, complete_images, image_curves, rd_curves
from .reference import RefCurve, UnknownReferenceError, reference_curve, reference_curves
from .runs import Run, RunDirError, combined_results, find_runs, load_run

__all__ = [
    "BDResult", "Curve", "PerImageBD", "RefCurve", "Run", "RunDirError", "UnknownReferenceError",
    "bd_quality", "bd_rate", "bootstrap_mean_ci", "combined_results", "complete_images", "find_runs",
    "image_curves", "load_run", "per_image_bd", "rd_curves", "reference_curve", "reference_curves",
]
