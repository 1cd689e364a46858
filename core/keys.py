"""Every Redis key Govorun writes, declared once: its shape, whom it names and how long it lives.

Modules build keys only through these declarations. ``/delete`` erases exactly the keys
declared ``erase=True`` for a user (:func:`user_keys`), and a test scans Redis after a full
session for keys that match no declaration, so a new per-user key cannot slip past ``/delete``
by being spelled differently.

``names`` says what identifies the key: ``user`` (a raw Telegram id, erased by ``/delete``),
``user_ref`` (the salted hash: bans, quota windows and the audit log outlive ``/delete`` on
purpose, without the id), ``job`` (a job id, from which the user cannot be read back) or
``none``. A job's arq keys are named by the job but carry the user's text and id
(``carries_user``): ``/delete`` finds them through the user's job index (:data:`USER_JOBS`).

``ttl`` is what the README's privacy table repeats (tests/test_privacy_docs.py keeps the two
in step).
"""

from __future__ import annotations

import fnmatch
import time
from dataclasses import dataclass
from typing import Literal

PREFIX = "govorun"
DAY_S = 24 * 3600

Names = Literal["user", "user_ref", "job", "none"]


@dataclass(frozen=True)
class Key:
    """One kind of key. ``shape`` is a ``str.format`` template; its fields are the parts."""

    shape: str
    names: Names
    ttl: str  # how long it lives, in words (what the README's privacy section repeats)
    erase: bool = False  # /delete removes it (only for keys that name the user)
    # Named by a job, but holds the user's text and id: /delete removes it too, found through
    # the user's job index (USER_JOBS), not by a pattern.
    carries_user: bool = False

    def __call__(self, **parts: object) -> str:
        return self.shape.format(**parts)

    def glob(self) -> str:
        """The SCAN pattern matching every key of this kind."""
        out, depth = [], 0
        for char in self.shape:
            if char == "{":
                depth += 1
                if depth == 1:
                    out.append("*")
            elif char == "}":
                depth -= 1
            elif depth == 0:
                out.append(char)
        return "".join(out)


# --- keys that name a user: erased by /delete -------------------------------------------------
PHOTO = Key(f"{PREFIX}:photo:{{user_id}}", "user", "BOT_PHOTO_TTL_HOURS", erase=True)
PHOTO_CANDIDATE = Key(
    f"{PREFIX}:photo:{{user_id}}:candidate", "user", "BOT_PHOTO_TTL_HOURS", erase=True
)
PHOTO_CANDIDATE_META = Key(
    f"{PREFIX}:photo:{{user_id}}:candidate:meta", "user", "BOT_PHOTO_TTL_HOURS", erase=True
)
PHOTO_BY_PERMISSION = Key(
    f"{PREFIX}:photo:{{user_id}}:permission", "user", "BOT_PHOTO_TTL_HOURS", erase=True
)
PREFERENCES = Key(f"{PREFIX}:prefs:{{user_id}}", "user", "until /delete", erase=True)
VERIFIED_FACE = Key(f"{PREFIX}:verified:{{user_id}}", "user", "until /delete", erase=True)
# A voice message (kept like the photo) and a photo sent for a face check only (/verify, admin
# tools: deleted once checked); keyed by the user, so /delete's patterns find them.
AUDIO = Key(f"{PREFIX}:audio:{{user_id}}:{{job_id}}", "user", "BOT_PHOTO_TTL_HOURS", erase=True)
BLOB = Key(
    f"{PREFIX}:blob:{{user_id}}:{{job_id}}",
    "user",
    "until its check ends, at most 10 min",
    erase=True,
)
# The arq job ids (renders and photo checks) of the user, so /delete finds their arq keys.
USER_JOBS = Key(f"{PREFIX}:jobs-of:{{user_id}}", "user", "1 day after the latest job", erase=True)
PERMISSIONS_TODAY = Key(f"{PREFIX}:permission:{{user_id}}:{{day}}", "user", "2 days", erase=True)
FLOOD = Key(f"{PREFIX}:flood:{{user_id}}", "user", "QUOTA_FLOOD_WINDOW_S", erase=True)
FLOOD_WARNED = Key(
    f"{PREFIX}:flood:{{user_id}}:warned", "user", "QUOTA_FLOOD_WINDOW_S", erase=True
)
# aiogram's FSM storage (RedisStorage's default key builder): the conversation's state.
FSM = Key("fsm:{chat_id}:{user_id}:{part}", "user", "until /delete", erase=True)
# A photo being checked: the text the user sends meanwhile waits here for the check to pass.
PHOTO_CHECK = Key(
    f"{PREFIX}:photo:{{user_id}}:checking",
    "user",
    "while the photo is checked (BOT_CHECK_TIMEOUT_S + 1 min at most)",
    erase=True,
)
# The running job's marker names the user, but a running job must be able to finish (or
# cancel) cleanly: the worker removes it when the job ends, or it lapses.
ACTIVE_JOB = Key(f"{PREFIX}:active:{{user_id}}", "user", "the job, at most QUOTA_ACTIVE_TTL_S")

# --- keys that carry a salted hash of the user: kept after /delete, without the id ---------
BAN = Key(f"{PREFIX}:ban:{{ref}}", "user_ref", "the ban's length")
QUOTA_WINDOW = Key(f"{PREFIX}:quota:{{ref}}", "user_ref", "1 day")
AUDIT = Key(f"{PREFIX}:audit", "user_ref", "the newest million entries")

# --- keys of one job ---------------------------------------------------------------------------
REQUEST = Key(f"{PREFIX}:request:{{job_id}}", "job", "1 day")
DELIVERED = Key(f"{PREFIX}:delivered:{{job_id}}", "job", "7 days")
DELIVERED_NOTE = Key(f"{PREFIX}:delivered:{{job_id}}:{{index}}", "job", "7 days")
JOB_RECORD = Key(f"{PREFIX}:jobrec:{{job_id}}", "job", "90 days")
# A job /delete caught running: its result is dropped the moment arq stores it.
ERASED_JOB = Key(f"{PREFIX}:erased:{{job_id}}", "job", "until the job ends, at most 1 day")
# Which worker runs a try of the job (``hostname-pid``). A try that ends by itself removes it;
# one left behind tells the next try that its worker died or stopped: the job was moved.
JOB_OWNER = Key(f"{PREFIX}:owner:{{job_id}}", "job", "the try, or 1 day when its worker died")

# --- the service's own -------------------------------------------------------------------------
QUEUE = Key(f"{PREFIX}:queue", "none", "arq's render queue")
CHECK_QUEUE = Key(f"{PREFIX}:checks", "none", "arq's photo-check queue")
HEALTH = Key("{queue}:health-check:{host}", "none", "arq's health check interval")
ACTIVE_JOBS = Key(f"{PREFIX}:jobs:active", "none", "queued and running job ids")
BLOCKLIST = Key(f"{PREFIX}:blocklist", "none", "until /unblockface")
WORKERS = Key(
    f"{PREFIX}:workers:{{worker}}", "none", "3 heartbeats (WORKER_LEASE_S × 0.6), renewed by each"
)
SIGNING_IDENTITY = Key(f"{PREFIX}:c2pa:identity", "none", "for good")
DAILY_COUNTER = Key(f"{PREFIX}:stats:{{name}}:{{day}}", "none", "for good")
# arq's own keys for each job: the job (its arguments), its result, its in-progress marker.
# The job and its result carry the user's text and id: /delete removes them (USER_JOBS), and
# the bot drops a photo check's result (a face descriptor) as soon as it has read it.
ARQ_JOB = Key("arq:job:{job_id}", "job", "until the job ends", carries_user=True)
ARQ_RESULT = Key("arq:result:{job_id}", "job", "WORKER_KEEP_RESULT_S", carries_user=True)
# arq would keep it for the job's whole time budget; here it is a lease of WORKER_LEASE_S,
# renewed while the job runs (worker.liveness).
ARQ_IN_PROGRESS = Key("arq:in-progress:{job_id}", "job", "while the job runs")
ARQ_RETRY = Key("arq:retry:{job_id}", "job", "while the job runs")

REGISTRY: tuple[Key, ...] = tuple(v for v in globals().values() if isinstance(v, Key))


def today() -> str:
    return time.strftime("%Y%m%d", time.gmtime())


def user_keys(user_id: int) -> list[str]:
    """SCAN patterns of every key ``/delete`` erases for ``user_id``."""
    return [key.shape.format_map(_UserOnly(user_id)) for key in REGISTRY if key.erase]


class _UserOnly(dict[str, str]):
    """Fills ``user_id`` and leaves every other part a glob."""

    def __init__(self, user_id: int) -> None:
        super().__init__()
        self.user_id = str(user_id)

    def __missing__(self, name: str) -> str:
        return self.user_id if name == "user_id" else "*"


def declared(key: str) -> Key | None:
    """The declaration a key found in Redis belongs to, if any (the most specific one)."""
    matches = [spec for spec in REGISTRY if fnmatch.fnmatchcase(key, spec.glob())]
    return max(matches, key=lambda spec: len(spec.glob().replace("*", "")), default=None)
