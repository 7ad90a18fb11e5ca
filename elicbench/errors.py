"""The errors elicbench raises on purpose, in one hierarchy.

- :class:`UserError`: bad usage or input (an unknown codec, a missing run directory, a corrupt
  manifest ...). The message says what is wrong and how to fix it; ``elicbench`` prints it and
  exits 2, a notebook gets the exception.
- :class:`JobError`: one job failed: a codec on an image (:class:`CodecError`) or an image that
  cannot be read. It becomes the ``error`` column of that result row and the run goes on; it
  never ends a command by itself.

Every module defines its specific errors as subclasses of these (keeping a built-in base such
as ``ValueError`` where callers catch that), so the command line maps exceptions to exit codes
in one place (``cli.exit_code_for``) without importing the modules that define them.
"""
from __future__ import annotations


class ElicbenchError(Exception):
    """Base of every error elicbench raises on purpose."""


class UserError(ElicbenchError):
    """Bad usage or input; the message says what to do (exit code 2 on the command line)."""


class JobError(ElicbenchError):
    """One job failed (an expected failure, reported without a traceback): an ``error`` result row."""


class CodecError(JobError):
    """A codec failed on one image (a corrupt file, an image it cannot code ...)."""
