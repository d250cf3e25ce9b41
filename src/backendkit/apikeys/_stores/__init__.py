"""Where API key records are kept: the protocol and the memory store here; Redis and SQL stores beside it."""
