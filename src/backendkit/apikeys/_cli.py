"""``python -m backendkit.apikeys``: make, list, rotate and revoke API keys from a shell.

::

    python -m backendkit.apikeys --store URL create --owner NAME [--name N] [--roles R,...] [--scopes S,...]
                                                    [--expires-in SECONDS] [--prefix bk_live_]
    python -m backendkit.apikeys --store URL list [--owner NAME] [--json]
    python -m backendkit.apikeys --store URL rotate KEY_ID [--grace SECONDS]
    python -m backendkit.apikeys --store URL revoke KEY_ID

``--store`` is a Redis URL (``redis://...``) or a SQLAlchemy URL (``sqlite:///keys.db``,
``postgresql+psycopg://...``; the table is created when missing). ``create`` and
``rotate`` print the new key alone on standard output, its last line, this once;
what it is for (its id, and that it is not shown again) goes to standard error
first, so ``KEY=$(python -m backendkit.apikeys ... create ...)`` holds just the key.
``list`` never shows a secret or a digest. The pepper the digests are keyed with,
if the service uses one, is read from ``BACKENDKIT_APIKEYS_PEPPER``.

Exit status: 0 done; 1 no such key, or refused (rotating a revoked or expired
key); 2 a usage error (arguments, store URL, pepper); 3 the store could not be reached.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from collections.abc import Mapping, Sequence
from datetime import datetime, timezone
from typing import TextIO

from backendkit.apikeys._core.record import KeyRecord
from backendkit.apikeys._keys import DEFAULT_GRACE, APIKeys, NewKey
from backendkit.apikeys._stores.memory import KeyStore
from backendkit.apikeys._url import store_from_url
from backendkit.errors import ConfigurationError
from backendkit.stores import StoreUnavailable

PEPPER_ENV = "BACKENDKIT_APIKEYS_PEPPER"
OK, REFUSED, USAGE, STORE_DOWN = 0, 1, 2, 3
_SHOWN_ONCE = "This is the only time the key is shown: store it now (only its digest is kept)."


def _names(text: str) -> tuple[str, ...]:
    names = tuple(name.strip() for name in text.split(",") if name.strip())
    for name in names:
        if any(ch.isspace() for ch in name):
            raise argparse.ArgumentTypeError(f"a name has no white space: {name!r}")
    return names


def _seconds(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        value = -1.0
    if not 0 <= value < float("inf"):
        raise argparse.ArgumentTypeError(f"a number of seconds, not {text!r}")
    return value


def parser() -> argparse.ArgumentParser:
    """The command line's arguments."""
    top = argparse.ArgumentParser(
        prog="python -m backendkit.apikeys",
        description="Make, list, rotate and revoke API keys.",
        epilog=f"The pepper digests are keyed with, if any, is read from {PEPPER_ENV}. "
        "Exit status: 0 done, 1 no such key or refused, 2 usage, 3 the store could not be reached.",
    )
    top.add_argument(
        "--store", required=True, metavar="URL", help="redis://... or a SQLAlchemy URL (sqlite:///keys.db)"
    )
    commands = top.add_subparsers(dest="command", required=True, metavar="COMMAND")

    create = commands.add_parser("create", help="make a key (printed once, as the last line)")
    create.add_argument("--owner", required=True, help="the subject the key authenticates as")
    create.add_argument("--name", default="", help="a label for people")
    create.add_argument("--roles", type=_names, default=(), metavar="R,...", help="roles the key grants")
    create.add_argument("--scopes", type=_names, default=(), metavar="S,...", help="scopes the key grants")
    create.add_argument("--expires-in", type=_seconds, metavar="SECONDS", help="lifetime (default: none)")
    create.add_argument("--prefix", default="bk_live_", help="the key's prefix (default: bk_live_)")

    listing = commands.add_parser("list", help="the keys (never a secret or a digest)")
    listing.add_argument("--owner", help="only this owner's keys")
    listing.add_argument("--json", action="store_true", help="one JSON object per key and line")

    rotate = commands.add_parser("rotate", help="replace a key; the old one works for the grace period")
    rotate.add_argument("key_id")
    rotate.add_argument(
        "--grace", type=_seconds, default=DEFAULT_GRACE, metavar="SECONDS", help="default: 86400 (a day)"
    )

    revoke = commands.add_parser("revoke", help="end a key now")
    revoke.add_argument("key_id")
    return top


def _when(seconds: float | None) -> str:
    if seconds is None:
        return "never"
    return datetime.fromtimestamp(seconds, timezone.utc).isoformat(timespec="seconds").replace("+00:00", "Z")


def _state(record: KeyRecord, now: float) -> str:
    state = record.refusal(now) or "active"
    return state if record.rotated_to is None else f"{state}, rotated to {record.rotated_to}"


class _Run:
    """One command: its arguments, the store, and where it writes."""

    def __init__(self, args: argparse.Namespace, store: KeyStore, pepper: str | None, out: TextIO, err: TextIO):
        self.args, self.store, self.pepper, self.out, self.err = args, store, pepper, out, err

    def say(self, text: str) -> None:
        print(text, file=self.err, flush=True)  # before the key, even when both streams are one terminal

    def show(self, made: NewKey) -> None:
        self.say(_SHOWN_ONCE)
        print(made.key, file=self.out, flush=True)

    def create(self) -> int:
        args = self.args
        keys = APIKeys(self.store, prefix=args.prefix, pepper=self.pepper)
        made = keys.create(args.owner, name=args.name, roles=args.roles, scopes=args.scopes, expires_in=args.expires_in)
        record = made.record
        self.say(
            f"Made API key {record.id} for {record.owner} (roles: {','.join(record.roles) or 'none'}; "
            f"scopes: {','.join(record.scopes) or 'none'}; expires: {_when(record.expires_at)})."
        )
        self.show(made)
        return OK

    def list(self) -> int:
        now = time.time()
        records = self.store.list(self.args.owner)
        if self.args.json:
            for record in records:
                print(json.dumps({**record.public(), "state": _state(record, now)}), file=self.out)
            return OK
        if not records:
            self.say("No keys.")
            return OK
        rows: list[tuple[str, ...]] = [
            ("ID", "OWNER", "NAME", "ROLES", "SCOPES", "CREATED", "EXPIRES", "LAST USED", "STATE")
        ]
        for r in records:
            roles, scopes = ",".join(r.roles) or "-", ",".join(r.scopes) or "-"
            last = _when(r.last_used_at) if r.last_used_at is not None else "-"
            dates = (_when(r.created_at), _when(r.expires_at), last)
            rows.append((r.id, r.owner, r.name or "-", roles, scopes, *dates, _state(r, now)))
        widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
        for row in rows:
            print("  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip(), file=self.out)
        return OK

    def rotate(self) -> int:
        key_id = self.args.key_id
        keys = APIKeys(self.store, pepper=self.pepper)  # (rotate() keeps the old key's prefix)
        try:
            made = keys.rotate(key_id, grace=self.args.grace)
        except KeyError:  # unknown, or gone since rotate() read it (a Redis key that expired meanwhile)
            self.say(f"No API key {key_id}.")
            return REFUSED
        except ValueError as exc:
            self.say(f"Not rotated: {exc}.")
            return REFUSED
        self.say(
            f"Made API key {made.record.id} for {made.record.owner} to replace {key_id}, "
            f"which keeps working until {_when(time.time() + self.args.grace)} at the latest."
        )
        self.show(made)
        return OK

    def revoke(self) -> int:
        old = self.store.get(self.args.key_id)
        if old is None or not self.store.revoke(old.id, time.time()):
            self.say(f"No API key {self.args.key_id}.")
            return REFUSED
        if old.revoked_at is not None:
            print(f"API key {old.id} was revoked already, at {_when(old.revoked_at)}.", file=self.out)
        else:
            print(f"Revoked API key {old.id} (owner {old.owner}).", file=self.out)
        return OK


def main(
    argv: Sequence[str] | None = None,
    *,
    stdout: TextIO | None = None,
    stderr: TextIO | None = None,
    environ: Mapping[str, str] | None = None,
) -> int:
    """Run the command line on ``argv`` (``sys.argv[1:]``); the exit status."""
    out, err = stdout or sys.stdout, stderr or sys.stderr
    try:
        args = parser().parse_args(argv)
    except SystemExit as exc:  # argparse has written the usage and its complaint
        return exc.code if isinstance(exc.code, int) else USAGE
    pepper = (os.environ if environ is None else environ).get(PEPPER_ENV) or None
    try:
        store = store_from_url(args.store)
    except (ConfigurationError, ImportError) as exc:  # a bad URL, or the extra its store needs is missing
        print(f"error: {exc}", file=err)
        return USAGE
    except StoreUnavailable as exc:
        print(f"error: the store could not be reached ({exc})", file=err)
        return STORE_DOWN
    run = _Run(args, store, pepper, out, err)
    try:
        command: int = getattr(run, args.command)()
        return command
    except (ConfigurationError, ValueError) as exc:  # a bad pepper, prefix, owner, name...
        print(f"error: {exc}", file=err)
        return USAGE
    except StoreUnavailable as exc:
        print(f"error: the store could not be reached ({exc})", file=err)
        return STORE_DOWN
    finally:
        close = getattr(store, "close", None)
        if close is not None:
            close()


__all__ = ["PEPPER_ENV", "main", "parser"]
