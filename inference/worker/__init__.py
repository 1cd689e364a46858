"""The arq worker: renders queued notes and sends them back through the Bot API.

Modules: ``settings`` (timeouts), ``jobs`` (the arq functions), ``delivery`` (sending once),
``report`` (a job's log lines and metrics), ``status`` (what the user sees meanwhile),
``runner`` (queues, engines, heartbeat).

Engines load once per process (``runner.load_engines``), shared by both queues. A job runs
its CPU-bound render in a thread so the event loop keeps the user informed (status edits,
chat action). arq runs a job at least once; the delivery key makes sending happen once: a
note is marked ``sending`` before the upload and ``sent`` after it, and a re-run skips what
is marked.
"""

from inference.worker.jobs import check_photo, render_note
from inference.worker.runner import create_workers, load_engines, run_workers
from inference.worker.settings import WorkerSettings, function_timeout, job_timeout

__all__ = [
    "WorkerSettings",
    "check_photo",
    "create_workers",
    "function_timeout",
    "job_timeout",
    "load_engines",
    "render_note",
    "run_workers",
]
