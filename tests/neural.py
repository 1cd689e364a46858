"""The neural engines' packages, for the tests that need them.

`make test` installs them (torch's CPU build, silero-stress, SadTalker's network code) and sets
``GOVORUN_NEURAL=required``, so that there a missing package fails the run instead of quietly
skipping the tests that need it. A plain ``pytest`` in a default install skips them.
"""

from __future__ import annotations

import importlib
import importlib.util
import os
from pathlib import Path
from types import ModuleType

import pytest


def need(module: str, reason: str) -> ModuleType:
    """``module`` imported, or the calling test module skipped with ``reason``."""
    if os.environ.get("GOVORUN_NEURAL") == "required":
        return importlib.import_module(module)
    return pytest.importorskip(module, reason=reason)


def package_folder(package: str, reason: str) -> Path:
    """Where ``package`` is installed, found without importing it (or a skip, as ``need``)."""
    spec = importlib.util.find_spec(package)
    if spec is None or not spec.submodule_search_locations:
        if os.environ.get("GOVORUN_NEURAL") == "required":
            raise ModuleNotFoundError(f"{package} is not installed: {reason}")
        pytest.skip(reason, allow_module_level=True)
    return Path(next(iter(spec.submodule_search_locations)))
