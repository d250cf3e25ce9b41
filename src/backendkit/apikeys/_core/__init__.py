"""The API keys' pure core: the key record, the check of a presented key, the bounded cache (time passed in)."""
