"""Chunked bodies under gunicorn, which reads them itself: whole up to the examples' 1 MiB, a 413 past it.

gunicorn declares no ``Content-Length`` for a chunked body and marks its input as ended
by the server (``wsgi.input_terminated``). Flask read such a body up to the limit and
stopped there without a word: a body whose first MiB was valid JSON made a task of it
(201), and two bodies under one idempotency key that differed only past the first MiB
replayed each other. Django read no such body at all (an empty body, 422).
"""

from __future__ import annotations

import json
import socket
import threading
import uuid
from typing import Any

import pytest

from examples._tasks import MAX_BODY_SIZE
from tests.support.net import Reply, request
from tests.support.servers import gunicorn

pytestmark = pytest.mark.socket

APPS = {"flask-gunicorn": "examples.flask_app:app", "django-gunicorn-wsgi": "examples.django_app.wsgi:application"}


def send_chunked(
    port: int, body: bytes, headers: dict[str, str] | None = None, chunk: int = 65536, path: str = "/tasks"
) -> Reply:
    """POST ``path`` with a chunked body over a raw socket; the answer is read while the body is still going out.

    A server that refuses a body stops reading it and may close the connection under the
    sender: the answer it sent first is what counts.
    """
    given = {name.lower() for name in headers or {}}
    lines = [
        f"POST {path} HTTP/1.1",
        f"Host: 127.0.0.1:{port}",
        *(["Content-Type: application/json"] if "content-type" not in given else []),
        "Transfer-Encoding: chunked",
        "Connection: close",
        *(f"{name}: {value}" for name, value in (headers or {}).items()),
    ]
    with socket.create_connection(("127.0.0.1", port), timeout=30) as sock:
        sock.sendall(("\r\n".join(lines) + "\r\n\r\n").encode("latin-1"))

        def send_body() -> None:
            try:
                for start in range(0, len(body), chunk):
                    part = body[start : start + chunk]
                    sock.sendall(b"%x\r\n%s\r\n" % (len(part), part))
                sock.sendall(b"0\r\n\r\n")
            except OSError:
                pass  # (the server answered and closed: the answer is read below)

        sender = threading.Thread(target=send_body)
        sender.start()
        received = b""
        try:
            while data := sock.recv(65536):
                received += data
        except ConnectionResetError:
            pass
        sender.join(timeout=30)
    return parse(received)


def parse(raw: bytes) -> Reply:
    head, _, body = raw.partition(b"\r\n\r\n")
    status_line, *fields = head.decode("latin-1").split("\r\n")
    headers = {}
    for field in fields:
        name, _, value = field.partition(":")
        headers[name.strip().lower()] = value.strip()
    if headers.get("transfer-encoding") == "chunked":
        body = unchunk(body)
    return Reply(int(status_line.split()[1]), headers, body)


def unchunk(data: bytes) -> bytes:
    out = b""
    while True:
        size_line, _, data = data.partition(b"\r\n")
        size = int(size_line, 16)
        if size == 0:
            return out
        out, data = out + data[:size], data[size + 2 :]


def task_body(title: str, size: int) -> bytes:
    """A body whose first ``MAX_BODY_SIZE`` bytes are a valid task (padded with JSON whitespace), ``size`` long."""
    start = json.dumps({"title": title, "priority": 2}).encode()
    first = start + b" " * (MAX_BODY_SIZE - len(start))
    return first[:size] if size <= MAX_BODY_SIZE else first + b"x" * (size - MAX_BODY_SIZE)


def error_code(reply: Reply) -> Any:
    return json.loads(reply.body)["error"]["code"]


@pytest.fixture(scope="module", params=sorted(APPS))
def port(request: pytest.FixtureRequest) -> Any:
    with gunicorn(APPS[request.param]) as port:
        yield port


def titles(port: int) -> list[str]:
    listed = json.loads(request(port, "GET", "/tasks?limit=100").body)["data"]
    return [task["title"] for task in listed]


@pytest.mark.parametrize(
    "size", [MAX_BODY_SIZE + 1, MAX_BODY_SIZE + 65536, 4 * MAX_BODY_SIZE], ids=["by-one", "by-a-chunk", "far"]
)
def test_a_chunked_body_over_the_limit_is_413(port: int, size: int) -> None:
    title = f"over {uuid.uuid4().hex}"
    reply = send_chunked(port, task_body(title, size))
    assert reply.status == 413, reply
    assert error_code(reply) == "PAYLOAD_TOO_LARGE"
    assert title not in titles(port)  # nothing was made of its first MiB


def test_a_chunked_body_at_the_limit_is_read_whole(port: int) -> None:
    title = f"at {uuid.uuid4().hex}"
    reply = send_chunked(port, task_body(title, MAX_BODY_SIZE))
    assert reply.status == 201, reply
    assert json.loads(reply.body)["title"] == title
    assert title in titles(port)


def test_a_key_never_replays_for_a_body_over_the_limit(port: int) -> None:
    # Two bodies over the limit, the same up to the limit: each refused, neither kept for the other.
    key = {"Idempotency-Key": f'"{uuid.uuid4().hex}"'}
    title = f"keyed {uuid.uuid4().hex}"
    first = send_chunked(port, task_body(title, MAX_BODY_SIZE) + b"x", key)
    second = send_chunked(port, task_body(title, MAX_BODY_SIZE) + b"yy", key)
    for reply in (first, second):
        assert (reply.status, error_code(reply)) == (413, "PAYLOAD_TOO_LARGE"), reply
        assert "idempotent-replayed" not in reply.headers
    # The key was never taken: the body at the limit runs under it, and a retry replays it...
    created = send_chunked(port, task_body(title, MAX_BODY_SIZE), key)
    assert created.status == 201, created
    again = send_chunked(port, task_body(title, MAX_BODY_SIZE), key)
    assert (again.status, again.headers.get("idempotent-replayed"), again.body) == (201, "true", created.body)
    # ...but not for a longer body that starts the same.
    longer = send_chunked(port, task_body(title, MAX_BODY_SIZE) + b"x", key)
    assert (longer.status, error_code(longer)) == (413, "PAYLOAD_TOO_LARGE"), longer
    assert "idempotent-replayed" not in longer.headers
    assert titles(port).count(title) == 1


# Django's multipart parser reads Content-Length bytes, and none without one: a chunked upload
# under gunicorn was parsed as an empty form (no fields, no files) and the view went on with it.
DJANGO_TEST_APP = "django.core.wsgi:get_wsgi_application()"


def multipart(fields: dict[str, str], files: dict[str, bytes], boundary: str = "bk-boundary") -> bytes:
    parts = [
        f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n{value}\r\n'.encode()
        for name, value in fields.items()
    ]
    for name, data in files.items():
        head = f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"; filename="{name}.bin"\r\n'
        parts.append(head.encode() + b"Content-Type: application/octet-stream\r\n\r\n" + data + b"\r\n")
    return b"".join(parts) + f"--{boundary}--\r\n".encode()


@pytest.fixture(scope="module")
def django_port() -> Any:
    env = {"DJANGO_SETTINGS_MODULE": "tests.conformance.django_settings"}
    with gunicorn(DJANGO_TEST_APP, env=env) as port:
        yield port


def test_a_chunked_upload_is_parsed_under_django_wsgi(django_port: int) -> None:
    body = multipart({"title": "chunked"}, {"attachment": b"\x00\x01" * 5000})
    headers = {"Content-Type": "multipart/form-data; boundary=bk-boundary"}
    reply = send_chunked(django_port, body, headers, path="/form-echo", chunk=4096)
    assert reply.status == 200, reply
    assert json.loads(reply.body) == {"fields": {"title": "chunked"}, "files": {"attachment": 10000}}


def test_a_chunked_upload_over_the_limit_is_413_under_django_wsgi(django_port: int) -> None:
    body = multipart({"title": "too big"}, {"attachment": b"x" * (MAX_BODY_SIZE + 1)})
    headers = {"Content-Type": "multipart/form-data; boundary=bk-boundary"}
    reply = send_chunked(django_port, body, headers, path="/form-echo")
    assert (reply.status, error_code(reply)) == (413, "PAYLOAD_TOO_LARGE"), reply


def test_a_chunked_csp_report_is_read_whole_or_refused(port: int) -> None:
    report = json.dumps({"csp-report": {"document-uri": "http://127.0.0.1/", "blocked-uri": "inline"}}).encode()
    headers = {"Content-Type": "application/csp-report"}
    taken = send_chunked(port, report, headers, chunk=16, path="/csp-report")
    assert (taken.status, taken.body) == (204, b"")
    over = send_chunked(port, report + b" " * 20_000, headers, chunk=4096, path="/csp-report")  # past 16 KiB
    assert (over.status, error_code(over)) == (413, "PAYLOAD_TOO_LARGE")
