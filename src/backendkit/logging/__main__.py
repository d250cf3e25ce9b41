"""``python -m backendkit.logging {uvicorn,gunicorn}``: a server's logging configuration as a JSON file.

For servers whose command line takes a file rather than a Python object::

    python -m backendkit.logging uvicorn > log.json
    uvicorn app:app --workers 2 --log-config log.json

    python -m backendkit.logging gunicorn --profile ecs > log.json
    gunicorn app:app --log-config-json log.json
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence

from backendkit.logging._servers import gunicorn_logconfig_dict, uvicorn_log_config

BUILDERS = {"uvicorn": uvicorn_log_config, "gunicorn": gunicorn_logconfig_dict}


def main(argv: Sequence[str] | None = None) -> int:
    """Write the configuration ``argv`` asks for to standard output; 0, or 2 for bad arguments."""
    parser = argparse.ArgumentParser(
        prog="python -m backendkit.logging", description="Write a server's JSON logging configuration."
    )
    parser.add_argument("server", choices=sorted(BUILDERS), help="the server the configuration is for")
    parser.add_argument("--level", default="INFO", help="the root logger's level (default: INFO)")
    parser.add_argument("--profile", default="default", choices=["default", "ecs", "gcp", "otel"])
    parser.add_argument("--gcp-project", default=None, help="the project id for trace links (gcp profile)")
    args = parser.parse_args(argv)
    config = BUILDERS[args.server](args.level, profile=args.profile, gcp_project=args.gcp_project)
    sys.stdout.write(json.dumps(config, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
