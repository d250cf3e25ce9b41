"""Where revoked tokens are remembered: in memory (one process) and in Redis (every process,
on the store kernel, ``backendkit.stores.redis``).

I/O at the edge of the feature: these modules import its pure core, never its shell.
"""
