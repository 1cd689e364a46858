"""Provenance: every note says it is AI-made, visibly and invisibly.

* :class:`VisibleMark` draws the "ИИ"/"AI" badge on each frame, inside the round note's circle.
* :func:`embed` hides the job id in the photo once per note, before animation, so every frame
  inherits it at no per-frame cost; :func:`extract` and :func:`verify_file` read it back from
  frames or from a video file (what ``govorun verify FILE`` runs).
* :class:`NoteSigner` signs each finished note with C2PA Content Credentials;
  :func:`read_credentials` validates them.
"""

from inference.provenance.credentials import (
    CredentialsReport,
    IdentityError,
    NoteSigner,
    SigningIdentity,
    issue_identity,
    read_credentials,
)
from inference.provenance.mark import LABELS, BadgeStyle, VisibleMark
from inference.provenance.watermark import (
    FrameMarker,
    embed,
    extract,
    keep_face_clean,
    verify_file,
)

__all__ = [
    "LABELS",
    "BadgeStyle",
    "CredentialsReport",
    "FrameMarker",
    "IdentityError",
    "NoteSigner",
    "SigningIdentity",
    "VisibleMark",
    "embed",
    "extract",
    "issue_identity",
    "keep_face_clean",
    "read_credentials",
    "verify_file",
]
