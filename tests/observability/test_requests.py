"""RequestStart and RequestEnd through each framework's own test client: what every request tells observers."""

from __future__ import annotations

import pytest

from backendkit.observability import observe
from tests.observability.clients import FRAMEWORKS, client
from tests.support.observing import RecordingObserver

pytestmark = pytest.mark.parametrize("framework", FRAMEWORKS)


def test_a_matched_request_tells_its_route_status_sizes_and_duration(framework: str) -> None:
    seen = RecordingObserver()
    with client(framework) as send, observe(seen):
        assert send("GET", "/items/7?q=secret") == 200
        assert send("POST", "/upload", body=b"x" * 123) == 200
    (item, upload) = seen.starts
    assert (item.path, item.scheme, item.request_size) == ("/items/7", "http", None)
    assert (upload.path, upload.request_size) == ("/upload", 123)
    (token_a, end_a), (token_b, end_b) = seen.ends
    assert (token_a, token_b) == (0, 1)  # each end gets back what its start returned
    assert (end_a.method, end_a.route, end_a.status) == ("GET", "/items/{item_id}", 200)
    assert (end_a.excluded, end_a.failed) == (False, False)
    assert end_a.response_size in (len(b'{"id":7}'), len(b'{"id": 7}'))
    assert end_a.duration > 0
    assert (end_b.method, end_b.route, end_b.status, end_b.request_size) == ("POST", "/upload", 200, 123)
    assert end_b.response_size is not None
    assert end_b.response_size > 0


def test_an_unmatched_path_has_no_route(framework: str) -> None:
    seen = RecordingObserver()
    with client(framework) as send, observe(seen):
        assert send("GET", "/no/such/path/4711") == 404
    (end,) = seen.finished
    assert (end.route, end.status, end.excluded) == (None, 404, False)
    assert seen.starts[0].path == "/no/such/path/4711"


@pytest.mark.parametrize("declared", ["-1", "1e3", "٣", " 12", "+5", "0x10", "1" * 30, ""])
def test_a_hostile_content_length_is_no_size_and_no_error(framework: str, declared: str) -> None:
    seen = RecordingObserver()
    with client(framework) as send, observe(seen):
        assert send("GET", "/items/1", environ={"CONTENT_LENGTH": declared}) in (200, 400, 413)
    (start,) = seen.starts
    (end,) = seen.finished
    assert start.request_size is None
    assert end.request_size is None


def test_the_default_probe_paths_are_not_observed_at_all(framework: str) -> None:
    seen = RecordingObserver()
    with client(framework) as send, observe(seen):
        for path in ("/livez", "/readyz", "/startupz", "/healthz"):
            assert send("GET", path) == 200
    assert seen.starts == []
    assert seen.ends == []


def test_probes_at_the_paths_they_were_given_are_not_observed(framework: str) -> None:
    seen = RecordingObserver()
    with client(framework) as send, observe(seen):
        assert send("GET", "/probe/ready") == 200
        assert send("GET", "/items/2") == 200
    (item,) = seen.finished
    assert (item.route, item.excluded) == ("/items/{item_id}", False)
    assert len(seen.starts) == 1


def test_a_probe_under_an_unseen_prefix_is_observed_and_marked_excluded(framework: str) -> None:
    seen = RecordingObserver()
    with client(framework) as send, observe(seen):
        assert send("GET", "/ops/readyz") == 200
        assert send("GET", "/items/2") == 200
    probe, item = seen.finished
    assert (probe.route, probe.status, probe.excluded) == ("/ops/readyz", 200, True)
    assert item.excluded is False


def test_probes_are_measured_like_any_request_when_asked(framework: str) -> None:
    seen = RecordingObserver()
    with client(framework) as send, observe(seen, probes=True):
        assert send("GET", "/readyz") == 200
        assert send("GET", "/probe/live") == 200
    default, moved = seen.finished
    assert (default.route, default.excluded) == ("/readyz", False)
    assert (moved.route, moved.excluded) == ("/probe/live", False)


def test_other_excluded_paths_are_not_observed(framework: str) -> None:
    seen = RecordingObserver()
    with client(framework) as send, observe(seen, exclude_paths=["/items/3"]):
        assert send("GET", "/items/3") == 200
        assert send("GET", "/readyz") == 200  # the probes are still left out
        assert send("GET", "/items/4") == 200
    assert [end.route for end in seen.finished] == ["/items/{item_id}"]
    seen.clear()
    with client(framework) as send, observe(seen, exclude_paths=["/items/3"], probes=True):
        assert send("GET", "/items/3") == 200  # still left out: probes=True does not undo exclude_paths
        assert send("GET", "/readyz") == 200
    assert [end.route for end in seen.finished] == ["/readyz"]


def test_nothing_is_observed_once_the_observation_is_closed(framework: str) -> None:
    seen = RecordingObserver()
    with client(framework) as send:
        with observe(seen):
            assert send("GET", "/items/5") == 200
        assert send("GET", "/items/6") == 200
    assert len(seen.starts) == len(seen.ends) == 1
