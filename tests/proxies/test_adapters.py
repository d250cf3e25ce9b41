"""One client address for every piece, on every framework: rate-limit keys, idempotency scopes, the log and
``get_client_ip()`` all follow the one ``trusted_proxies`` setting.

Before it, the idempotency scope and the log used the socket peer while a rate limit could read
``X-Forwarded-For``: two clients behind one proxy shared an idempotency scope, and the second got the
first's response replayed.
"""

from __future__ import annotations

from typing import Any

import pytest
from django.core.exceptions import ImproperlyConfigured
from django.test import override_settings

from backendkit import ConfigurationError
from backendkit.proxies import TrustedProxies
from tests.proxies.apps import FLAVOURS, PEER, App, Reply, serve
from tests.support.logs import LineCatcher

pytestmark = pytest.mark.parametrize("flavour", FLAVOURS)

PROXY = ["192.0.2.0/24"]  # the test clients' peer, 192.0.2.10, is the proxy


def logged_client(log_lines: LineCatcher, reply: Reply) -> Any:
    [line] = [
        x
        for x in log_lines.lines
        if x["logger"] == "backendkit.access" and x.get("request_id") == reply.headers["x-request-id"]
    ]
    return line.get("client_ip")


def seen(app: App, log_lines: LineCatcher, headers: dict[str, str], *, peer: str = PEER) -> tuple[Any, ...]:
    """Who ``GET /who`` was, for each piece: get_client_ip(), the rate-limit key, the access line."""
    reply = app.get(headers, peer=peer)
    assert reply.status == 200, reply
    return reply.body["client"], app.keys[-1], logged_client(log_lines, reply)


def test_two_clients_behind_one_trusted_proxy_are_two_clients_everywhere(flavour: str, log_lines: LineCatcher) -> None:
    with serve(flavour, PROXY) as app:
        a = {"X-Forwarded-For": "10.9.0.1"}
        b = {"X-Forwarded-For": "10.9.0.2"}
        assert seen(app, log_lines, a) == ("10.9.0.1", "ip:10.9.0.1", "10.9.0.1")
        assert seen(app, log_lines, b) == ("10.9.0.2", "ip:10.9.0.2", "10.9.0.2")
        first = app.pay("k-1", a)
        other = app.pay("k-1", b)  # the same key from another client: its own request
        again = app.pay("k-1", a)
    assert (first.status, first.body) == (201, {"run": 1})
    assert (other.status, other.body, other.headers.get("idempotent-replayed")) == (201, {"run": 2}, None)
    assert (again.status, again.body, again.headers.get("idempotent-replayed")) == (201, {"run": 1}, "true")
    assert logged_client(log_lines, other) == "10.9.0.2"


def test_without_trusted_proxies_no_header_moves_the_client(flavour: str, log_lines: LineCatcher) -> None:
    victim, attacker = "198.51.100.2", "198.51.100.3"
    posing = {"X-Forwarded-For": victim, "Forwarded": f"for={victim}"}
    with serve(flavour) as app:
        assert seen(app, log_lines, posing, peer=attacker) == (attacker, f"ip:{attacker}", attacker)
        first = app.pay("k-1", peer=victim)
        posed = app.pay("k-1", posing, peer=attacker)  # the victim's key, and its address in the headers
        again = app.pay("k-1", peer=victim)
    assert (first.body, posed.body, posed.headers.get("idempotent-replayed")) == ({"run": 1}, {"run": 2}, None)
    assert (again.body, again.headers.get("idempotent-replayed")) == ({"run": 1}, "true")


def test_a_number_of_hops(flavour: str, log_lines: LineCatcher) -> None:
    with serve(flavour, 2) as app:
        two = {"X-Forwarded-For": "203.0.113.50, 10.9.0.1, 172.16.0.9"}
        assert seen(app, log_lines, two, peer="198.51.100.1") == ("10.9.0.1", "ip:10.9.0.1", "10.9.0.1")
        assert seen(app, log_lines, {}) == (PEER, f"ip:{PEER}", PEER)  # no header: the peer


def test_proxies_that_write_forwarded(flavour: str, log_lines: LineCatcher) -> None:
    with serve(flavour, TrustedProxies(PROXY, header="Forwarded")) as app:
        headers = {"Forwarded": 'for="[2001:db8:1:2::5]:4711";proto=https', "X-Forwarded-For": "10.9.0.1"}
        assert seen(app, log_lines, headers) == ("2001:db8:1:2::5", "ip:2001:db8:1:2::/64", "2001:db8:1:2::5")


@pytest.mark.parametrize(
    "hostile",
    [
        {"X-Forwarded-For": "not-an-ip"},
        {"X-Forwarded-For": "\x01\x02, ::::"},
        {"X-Forwarded-For": "[2001:db8::1"},
        {"X-Forwarded-For": ", , ,"},
        {"X-Forwarded-For": "9" * 5000},
        {"X-Forwarded-For": ", ".join(["192.0.2.1"] * 2000)},  # more trusted hops than are ever walked
        {"X-Forwarded-For": "1.2.3.4, unknown"},
    ],
)
def test_hostile_headers_behind_a_trusted_proxy_leave_the_peer(
    flavour: str, log_lines: LineCatcher, hostile: dict[str, str]
) -> None:
    with serve(flavour, PROXY) as app:
        assert seen(app, log_lines, hostile) == (PEER, f"ip:{PEER}", PEER)


def test_a_setting_that_is_no_list_of_proxies_is_refused(flavour: str) -> None:
    if flavour.startswith("django"):
        from backendkit.django._state import get_state

        with override_settings(BACKENDKIT={"TRUSTED_PROXIES": "*"}), pytest.raises(ImproperlyConfigured, match="'\\*'"):
            get_state()
        return
    with pytest.raises(ConfigurationError, match="TRUSTED_PROXIES"), serve(flavour, ["10.0.0.0/8", "proxy.internal"]):
        pass
