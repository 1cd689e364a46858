"""The shared kernel of the bot and the worker: their contract, the Redis key registry, quotas,
settings read once, logs, metrics and the Bot API client. It imports no bot, worker or CLI code,
and of the render pipeline only its error codes and limits."""
