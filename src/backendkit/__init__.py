"""backendkit: the backend patterns every web service re-writes, done once.

The top-level package holds only what every user needs; each feature lives in its
own subpackage (``backendkit.errors``, ``backendkit.context``) and each framework
in its own adapter (``backendkit.fastapi``, ``backendkit.flask``,
``backendkit.django``).
"""

from __future__ import annotations

from backendkit._extras import MissingExtraError
from backendkit._settings import Settings
from backendkit.errors import ConfigurationError

# A development version until the release is tagged (docs/releases.md): 0.1.0 will be the first release.
__version__ = "0.1.0.dev0"

__all__ = ["ConfigurationError", "MissingExtraError", "Settings", "__version__"]
