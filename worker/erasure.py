"""``/delete`` of a user whose job was running: the job finishes, its arq result goes.

arq stores a job's result (its arguments too: the user's text and id) only after the job has
returned, so the bot cannot delete it then; it marks the job (``keys.ERASED_JOB``) and this
hook, which arq runs once the result is stored, deletes it.
"""

from __future__ import annotations

from typing import Any

from core import keys
from worker.context import JobContext


async def drop_erased_result(ctx: dict[str, Any]) -> None:
    """arq's ``after_job_end`` for both queues."""
    context = JobContext.of(ctx)
    if await context.redis.delete(keys.ERASED_JOB(job_id=context.job_id)):
        await context.redis.delete(keys.ARQ_RESULT(job_id=context.job_id))
