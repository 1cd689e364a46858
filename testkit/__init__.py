"""Real stand-ins at the edges, shared by the tests and the benchmarks: a fake Telegram Bot API
server, a throwaway Redis, the whole bot + worker stack, face fixtures and quality measures.
Not part of the installed package."""
