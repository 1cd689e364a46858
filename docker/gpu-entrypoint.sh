#!/bin/sh
# The GPU worker's entry point. Before the worker starts, fetch the weights its neural engines
# need into MODELS_DIR (a volume): SadTalker's checkpoints and Silero v5 (MIT). The first start
# downloads them (about 1 GB); later starts find them present and verified. The opt-in model
# (non-commercial Silero v4) is never fetched here: `govorun models download NAME`.
# Any other command (`models list`, `render ...`, `doctor`) runs without the download.
set -eu

if [ "${1:-}" = worker ]; then
    # A failed download does not keep the worker down: RENDER_ANIMATOR/RENDER_TTS_ENGINE=auto
    # fall back to warp and eSpeak NG (the start-up log says which engines it loaded), and the
    # next start tries again.
    if ! govorun models download --engine sadtalker --engine silero; then
        echo "gpu-entrypoint: model download failed; starting with the engines available" >&2
    fi
fi
exec govorun "$@"
