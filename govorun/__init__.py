"""The ``govorun`` command line: one entry point for rendering, the bot and the worker."""
