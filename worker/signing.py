"""The workers' signing identity: the operator's, else one per installation, kept in Redis.

All workers of an installation share Redis, so they sign with one identity and a verifier has
one certificate to trust; whichever worker starts first issues it.
"""

from __future__ import annotations

from redis.asyncio import Redis

from core import keys
from inference import __version__
from inference.provenance import NoteSigner, SigningIdentity, issue_identity
from inference.provenance.credentials import operator_identity
from inference.settings import SigningSettings


async def installation_identity(redis: Redis) -> SigningIdentity:
    stored = await redis.get(keys.SIGNING_IDENTITY())
    if stored is None:
        await redis.set(keys.SIGNING_IDENTITY(), issue_identity().to_pem(), nx=True)
        stored = await redis.get(keys.SIGNING_IDENTITY())
    return SigningIdentity.from_pem(stored)


async def worker_signer(redis_url: str, settings: SigningSettings | None = None) -> NoteSigner:
    identity = operator_identity(settings or SigningSettings())
    if identity is None:
        redis = Redis.from_url(redis_url)
        try:
            identity = await installation_identity(redis)
        finally:
            await redis.aclose()
    return NoteSigner(identity, __version__)
