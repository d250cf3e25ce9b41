"""The list backend: pagination of a sequence in memory, by the rules the database backends follow.

Pure, so it lives with the pagination core (``backendkit.pagination._core.sequence``); this is where to
import it from.
"""

from __future__ import annotations

from backendkit.pagination._core.sequence import paginate_sequence, sort_rows

__all__ = ["paginate_sequence", "sort_rows"]
