"""The pure core of HTTP semantics: entity tags, dates, preconditions, deprecation, versions."""
