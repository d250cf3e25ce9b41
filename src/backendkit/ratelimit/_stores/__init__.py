"""Where rate-limit state lives: in memory (one process) and in Redis (every process, on the
store kernel, ``backendkit.stores.redis``), with the Lua twin of the step functions.

I/O at the edge of the feature: these modules import its pure core, never its shell.
"""
