"""The arq worker: renders queued notes and sends them back through the Bot API.

Modules: ``settings`` (timeouts), ``jobs`` (the arq functions), ``delivery`` (sending once),
``report`` (a job's log lines and metrics), ``status`` (what the user sees meanwhile),
``runner`` (queues, engines), ``liveness`` (the heartbeat and the leases on running jobs, so
a dead worker's job moves on within ``WORKER_LEASE_S``), ``signing`` (the C2PA identity),
``main`` (``run_worker()``), ``health`` (the container's health check, which imports no
engine).

Engines load once per process (``runner.load_engines``), shared by both queues. A job runs
its CPU-bound render in a thread so the event loop keeps the user informed (status edits,
chat action). arq runs a job at least once; the delivery key makes sending happen once: a
note is claimed by the try that uploads it and marked ``sent`` after the upload, and a re-run
skips what is sent (and sends again what a dead try was uploading).
"""
