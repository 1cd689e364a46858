"""Where SadTalker's code lives (SADTALKER_HOME) and the check that it is really there."""

from __future__ import annotations

from pathlib import Path

_CONFIGS = ("facerender.yaml", "auido2pose.yaml", "auido2exp.yaml", "similarity_Lm3D_all.mat")


class SadTalkerUnavailable(RuntimeError):
    """SadTalker's code is not where SADTALKER_HOME says (the message names what is missing)."""


def check_home(home: Path | None) -> Path:
    """``home/src/config``, or an error naming the missing file and how to get it."""
    if home is None:
        raise SadTalkerUnavailable("SADTALKER_HOME is not set (see docker/Dockerfile.gpu)")
    config = home / "src" / "config"
    for name in _CONFIGS:  # upstream's spelling: "auido"
        if not (config / name).is_file():
            raise SadTalkerUnavailable(
                f"SadTalker's code not found: {config / name} is missing. Set SADTALKER_HOME to "
                "a checkout of OpenTalker/SadTalker (see docker/Dockerfile.gpu for the commit)."
            )
    return config
