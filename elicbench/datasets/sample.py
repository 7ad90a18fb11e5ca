"""A few colour photographs bundled with scikit-image, so that a first run needs no network.

They are read straight from the installed package's ``skimage/data`` directory (files that ship in the
wheel, not ones scikit-image fetches with pooch). Chosen: the lossless (PNG) colour photographs of
at least 161 px on each side, the smallest size MS-SSIM's 5 scales accept. rocket.jpg and
hubble_deep_field.jpg are left out because they are JPEG files: their JPEG artefacts would favour the
JPEG codec.
"""
from __future__ import annotations

import importlib.util
from importlib import metadata
from pathlib import Path

from .base import Dataset, DatasetError
from .catalog import DATASETS, Location, NamedDataset, image_refs

SAMPLE_FILES = ("astronaut.png", "chelsea.png", "coffee.png", "motorcycle_left.png")


def skimage_data_dir() -> Path | None:
    spec = importlib.util.find_spec("skimage")
    if spec is None or not spec.submodule_search_locations:
        return None
    return Path(next(iter(spec.submodule_search_locations))) / "data"


@DATASETS.register("sample")
class SampleDataset(NamedDataset):
    description = "4 colour photographs bundled with scikit-image (astronaut, chelsea, coffee, motorcycle_left); no network"

    def locate(self) -> Location | None:
        root = skimage_data_dir()
        if root is None:
            return None
        try:
            version = metadata.version("scikit-image")
        except metadata.PackageNotFoundError:
            version = "unknown version"
        missing = [n for n in SAMPLE_FILES if not (root / n).is_file()]
        return Location(root, f"scikit-image {version} bundled data", in_cache=False, missing=missing)

    def load(self, location: Location) -> Dataset:
        if location.missing:
            raise DatasetError(f"{location.source} at {location.root} lacks {', '.join(location.missing)}; "
                               "reinstall scikit-image (pip install --force-reinstall scikit-image==0.26.0)")
        paths = [location.root / n for n in SAMPLE_FILES]
        return Dataset("sample", image_refs("sample", paths), location.source, location.root)

    def origin(self) -> str:
        return "ships with scikit-image (no download)"

    def fetch(self, *, force: bool = False, progress: bool = True) -> Path:
        return self.resolve().root

    def resolve(self, *, download: bool = True, progress: bool = True) -> Dataset:
        location = self.locate()
        if location is None:
            raise DatasetError("the sample dataset needs scikit-image, which is not installed "
                               "(pip install scikit-image==0.26.0)")
        return self.load(location)  # raises when files are missing
