"""The examples served as the README and the docs serve them: real processes, real servers."""
