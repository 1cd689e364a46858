"""Consent, strict-mode verification and the append-only audit log (a Redis stream).

The audit log keeps who chose what for which photo, never the photo: the user as a salted
hash, the photo's sha256, a fingerprint of the face descriptor, the choice and the time.
"""

from __future__ import annotations

import hashlib
import json
import time
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from arq.connections import ArqRedis

from core import keys
from core.contract import user_ref
from inference import __version__

_AUDIT_MAX_LEN = 1_000_000


class Choice(StrEnum):
    ME = "me"
    PERMISSION = "permission"
    CANCEL = "cancel"


@dataclass(frozen=True)
class AuditEntry:
    user: str
    photo_sha256: str
    face: str
    choice: str
    outcome: str
    time: str
    version: str


def face_fingerprint(embedding: list[float]) -> str:
    """A short stable id of a face descriptor: enough to correlate entries, not to rebuild it."""
    coarse = ",".join(f"{v:.2f}" for v in embedding)
    return hashlib.sha256(coarse.encode()).hexdigest()[:16]


class ConsentLog:
    def __init__(self, redis: ArqRedis) -> None:
        self._redis = redis

    async def record(
        self, user_id: int, photo_sha256: str, embedding: list[float], choice: Choice, outcome: str
    ) -> None:
        entry: dict[Any, Any] = {
            "user": user_ref(user_id),
            "photo_sha256": photo_sha256,
            "face": face_fingerprint(embedding),
            "choice": choice.value,
            "outcome": outcome,
            "time": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
            "version": __version__,
        }
        await self._redis.xadd(keys.AUDIT(), entry, maxlen=_AUDIT_MAX_LEN, approximate=True)

    async def recent(self, user_id: int, count: int = 10) -> list[AuditEntry]:
        wanted = user_ref(user_id)
        entries = await self._redis.xrevrange(keys.AUDIT(), count=1000)
        found = []
        for _, fields in entries:
            decoded = {k.decode(): v.decode() for k, v in fields.items()}
            if decoded.get("user") == wanted:
                found.append(AuditEntry(**decoded))
            if len(found) >= count:
                break
        return found

    async def verified_face(self, user_id: int) -> list[float] | None:
        stored = await self._redis.get(keys.VERIFIED_FACE(user_id=user_id))
        return json.loads(stored) if stored else None

    async def set_verified_face(self, user_id: int, embedding: list[float]) -> None:
        await self._redis.set(keys.VERIFIED_FACE(user_id=user_id), json.dumps(embedding))

    async def use_permission(self, user_id: int, per_day: int) -> bool:
        """Count one use of the permission path today; False once the day's allowance is gone."""
        key = keys.PERMISSIONS_TODAY(user_id=user_id, day=keys.today())
        used = await self._redis.incr(key)
        await self._redis.expire(key, 2 * 24 * 3600)
        return int(used) <= per_day
