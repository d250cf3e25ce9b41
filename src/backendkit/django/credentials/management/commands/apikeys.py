"""``python manage.py apikeys``: make, list, rotate and revoke API keys with the project's ``APIKeys``.

::

    python manage.py apikeys create --owner deploy-bot --roles deployer --expires-in 7776000
    python manage.py apikeys list [--owner deploy-bot] [--json]
    python manage.py apikeys rotate KEY_ID [--grace 86400]
    python manage.py apikeys revoke KEY_ID

``create`` and ``rotate`` print the new key as their last line, this once (only its
digest is stored); ``list`` shows no secret and no digest. Keys are made by the manager
of ``BACKENDKIT_API_KEYS`` (its prefix and pepper), on ``--database`` when given.
"""

from __future__ import annotations

import json
import time
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from backendkit.apikeys import DEFAULT_GRACE, APIKeys, KeyRecord
from backendkit.django.credentials._config import get_api_keys
from backendkit.django.credentials._display import key_status, utc
from backendkit.django.credentials.stores import DjangoKeyStore
from backendkit.errors import ConfigurationError
from backendkit.stores import StoreUnavailable


def _names(text: str) -> list[str]:
    return [name.strip() for name in text.split(",") if name.strip()]


class Command(BaseCommand):
    """The ``apikeys`` command: ``create``, ``list``, ``rotate`` and ``revoke``."""

    help = "Make, list, rotate and revoke API keys. A new key is printed once, as the last line."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--database", help="The database alias (by default, where the router writes API keys).")
        actions = parser.add_subparsers(dest="action", required=True, metavar="ACTION")
        create = actions.add_parser("create", help="Make a key and print it, once, as the last line.")
        create.add_argument("--owner", required=True, help="The subject the key authenticates.")
        create.add_argument("--name", default="", help='A label for people ("CI deploys").')
        create.add_argument("--roles", type=_names, default=[], help="Roles, separated by commas.")
        create.add_argument("--scopes", type=_names, default=[], help="Scopes, separated by commas.")
        create.add_argument("--expires-in", type=float, metavar="SECONDS", help="Lifetime (default: none).")
        create.add_argument("--prefix", help="The key's prefix (default: the manager's, bk_live_).")
        listing = actions.add_parser("list", help="List keys: no secret, no digest.")
        listing.add_argument("--owner", help="Only this owner's keys.")
        listing.add_argument("--json", action="store_true", help="One JSON object a line.")
        rotate = actions.add_parser("rotate", help="Replace a key; print the new one, once, as the last line.")
        rotate.add_argument("key_id")
        rotate.add_argument(
            "--grace", type=float, default=DEFAULT_GRACE, metavar="SECONDS", help="How long the old key keeps working."
        )
        revoke = actions.add_parser("revoke", help="Revoke a key now.")
        revoke.add_argument("key_id")

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            keys = self._keys(options)
            getattr(self, f"_{options['action']}")(keys, options)
        except StoreUnavailable as exc:
            raise CommandError(f"the database did not answer: {exc}") from exc
        except ConfigurationError as exc:
            raise CommandError(str(exc)) from exc

    @staticmethod
    def _keys(options: dict[str, Any]) -> APIKeys:
        keys = get_api_keys()
        database, prefix = options.get("database"), options.get("prefix")
        if database is None and prefix is None:
            return keys
        store = keys.store if database is None else DjangoKeyStore(using=database)
        return APIKeys(store, prefix=prefix or keys.format.prefix, pepper=keys.pepper, clock=keys.clock)

    def _create(self, keys: APIKeys, options: dict[str, Any]) -> None:
        try:
            made = keys.create(
                options["owner"],
                name=options["name"],
                roles=options["roles"],
                scopes=options["scopes"],
                expires_in=options["expires_in"],
            )
        except ValueError as exc:
            raise CommandError(str(exc)) from exc
        record = made.record
        self.stdout.write(
            f"Made API key {record.id} for {record.owner} (roles: {', '.join(record.roles) or '-'}; "
            f"scopes: {', '.join(record.scopes) or '-'}; expires: {utc(record.expires_at)})."
        )
        self.stdout.write("The key is shown this once; only its digest is kept:")
        self.stdout.write(made.key)

    def _list(self, keys: APIKeys, options: dict[str, Any]) -> None:
        now = time.time()
        records = keys.list(options["owner"])
        if options["json"]:
            for record in records:
                self.stdout.write(json.dumps({**record.public(), "status": key_status(record, now)}))
            return
        rows = [_row(record, now) for record in records]
        header = ("ID", "OWNER", "NAME", "ROLES", "SCOPES", "CREATED", "EXPIRES", "LAST USED", "STATUS")
        widths = [max(len(row[i]) for row in (header, *rows)) for i in range(len(header))]
        for row in (header, *rows):
            self.stdout.write("  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=False)).rstrip())

    def _rotate(self, keys: APIKeys, options: dict[str, Any]) -> None:
        key_id = options["key_id"]
        try:
            made = keys.rotate(key_id, grace=options["grace"])
        except KeyError:
            raise CommandError(f"no API key {key_id}") from None
        except ValueError as exc:
            raise CommandError(str(exc)) from exc
        old = keys.get(key_id)
        until = utc(old.expires_at if old is not None else None)
        self.stdout.write(f"API key {key_id} is replaced by {made.record.id}; {key_id} works until {until}.")
        self.stdout.write("The new key is shown this once; only its digest is kept:")
        self.stdout.write(made.key)

    def _revoke(self, keys: APIKeys, options: dict[str, Any]) -> None:
        key_id = options["key_id"]
        if not keys.revoke(key_id):
            raise CommandError(f"no API key {key_id}")
        self.stdout.write(f"API key {key_id} is revoked.")


def _row(record: KeyRecord, now: float) -> tuple[str, ...]:
    return (
        record.id,
        record.owner,
        record.name or "-",
        ",".join(record.roles) or "-",
        ",".join(record.scopes) or "-",
        utc(record.created_at),
        utc(record.expires_at),
        utc(record.last_used_at),
        key_status(record, now),
    )


__all__ = ["Command"]
