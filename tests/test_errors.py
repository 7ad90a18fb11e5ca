"""One error hierarchy (issue 12): every error elicbench raises on purpose derives from
``elicbench.errors``, and the command line maps it to an exit code in one place."""
from __future__ import annotations

import importlib
import inspect
import pkgutil
import subprocess
import sys

import pytest

import elicbench
from elicbench import cli
from elicbench.errors import CodecError, ElicbenchError, JobError, UserError

#: Not errors of elicbench's hierarchy, on purpose: a metric that has no value for an image
#: (a NaN in that column, not a failure) and a private retry signal that never leaves its module.
NOT_IN_HIERARCHY = {"elicbench.metrics.common.MetricUndefined", "elicbench.datasets.download._TransientError"}


def _package_exceptions() -> list[type[BaseException]]:
    found = {}
    for info in pkgutil.walk_packages(elicbench.__path__, "elicbench."):
        module = importlib.import_module(info.name)  # TensorFlow itself is imported lazily, not here
        for _, obj in inspect.getmembers(module, inspect.isclass):
            if issubclass(obj, BaseException) and obj.__module__.startswith("elicbench"):
                found[f"{obj.__module__}.{obj.__qualname__}"] = obj
    return [cls for name, cls in sorted(found.items()) if name not in NOT_IN_HIERARCHY]


def test_every_error_of_the_package_is_in_the_hierarchy():
    classes = _package_exceptions()
    assert len(classes) > 15  # the walk found the modules' errors, not nothing
    outside = [f"{c.__module__}.{c.__qualname__}" for c in classes
               if not issubclass(c, (ElicbenchError, Warning))]
    assert outside == []


def test_user_errors_and_job_errors_are_apart():
    from elicbench.codecs.base import BadCodecInput, CodecUnavailable
    from elicbench.datasets.base import DatasetError, ImageLoadError

    for cls in (BadCodecInput, CodecUnavailable, DatasetError):
        assert issubclass(cls, UserError) and not issubclass(cls, JobError)
    for cls in (CodecError, ImageLoadError):
        assert issubclass(cls, JobError) and not issubclass(cls, UserError)


@pytest.mark.parametrize("exc, code", [
    (UserError("x"), 2), (FileNotFoundError("x"), 2), (CodecError("x"), None), (RuntimeError("x"), None),
])
def test_exit_code_for(exc, code):
    assert cli.exit_code_for(exc) == code


def test_a_user_error_from_deep_in_the_library_exits_2_with_its_message(tmp_path):
    bad = tmp_path / "run"
    bad.mkdir()
    (bad / "results.csv").write_text("not,a,results,file\n1,2,3,4\n")
    (bad / "manifest.json").write_text("{not json")
    proc = subprocess.run([sys.executable, "-m", "elicbench.cli", "check", "--baseline", str(bad)],
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 2, proc.stderr
    assert proc.stderr.startswith("elicbench check: error: ") and "manifest.json" in proc.stderr
    assert "Traceback" not in proc.stderr
