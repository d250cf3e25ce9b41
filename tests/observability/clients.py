"""The three frameworks' test clients behind one call: send a request, get the status back."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from typing import Any

from tests.observability import apps

Send = Callable[..., int]
FRAMEWORKS = ("fastapi", "flask", "django")


@contextmanager
def client(framework: str) -> Iterator[Send]:
    """``send(method, path, headers=..., body=..., environ=...)``: the status of one request through ``framework``.

    ``environ`` sets WSGI environ (Django ``META``) keys as they are, past the client's own
    handling of headers (a hostile ``CONTENT_LENGTH``); on FastAPI it is sent as a raw header.
    """
    if framework == "fastapi":
        from fastapi.testclient import TestClient

        with TestClient(apps.fastapi_app()) as test_client:

            def send_asgi(
                method: str,
                path: str,
                *,
                headers: Mapping[str, str] | None = None,
                body: bytes | None = None,
                environ: Mapping[str, str] | None = None,
            ) -> int:
                sent: list[tuple[bytes, bytes]] = [(k.encode(), v.encode()) for k, v in (headers or {}).items()]
                if environ and "CONTENT_LENGTH" in environ:
                    sent.append((b"content-length", environ["CONTENT_LENGTH"].encode("utf-8")))
                return test_client.request(method, path, headers=sent, content=body).status_code

            yield send_asgi
        return
    if framework == "flask":
        test_client = apps.flask_app().test_client()

        def send_wsgi(
            method: str,
            path: str,
            *,
            headers: Mapping[str, str] | None = None,
            body: bytes | None = None,
            environ: Mapping[str, str] | None = None,
        ) -> int:
            return int(
                test_client.open(
                    path, method=method, headers=dict(headers or {}), data=body, environ_overrides=dict(environ or {})
                ).status_code
            )

        yield send_wsgi
        return
    from django.test import Client, override_settings

    with override_settings(ROOT_URLCONF="tests.observability.apps"):
        django_client = Client()

        def send_django(
            method: str,
            path: str,
            *,
            headers: Mapping[str, str] | None = None,
            body: bytes | None = None,
            environ: Mapping[str, str] | None = None,
        ) -> int:
            extra: dict[str, Any] = {f"HTTP_{k.upper().replace('-', '_')}": v for k, v in (headers or {}).items()}
            extra.update(environ or {})
            if body is not None:
                extra.setdefault("content_type", "application/octet-stream")
                return int(django_client.generic(method, path, body, **extra).status_code)
            return int(django_client.generic(method, path, **extra).status_code)

        yield send_django
