"""A redis-server of the tests' own, on a free loopback port."""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
import time
from dataclasses import dataclass

from tests.support.net import free_port
from tests.support.servers import stop_process


@dataclass
class RedisServer:
    host: str
    port: int
    process: subprocess.Popen[bytes]

    @property
    def url(self) -> str:
        return f"redis://{self.host}:{self.port}/0"

    def stop(self) -> None:
        stop_process(self.process)


def find_redis_server() -> str | None:
    return shutil.which("redis-server")


def redis_binary() -> str:
    """redis-server's path; the test skips without it, or fails when BACKENDKIT_REQUIRE_REDIS is set (as in CI)."""
    import pytest

    binary = find_redis_server()
    if binary is None:
        message = "redis-server is not on PATH (install it, e.g. apt-get install redis-server)"
        if os.environ.get("BACKENDKIT_REQUIRE_REDIS", "") not in ("", "0"):
            pytest.fail(f"BACKENDKIT_REQUIRE_REDIS is set but {message}")
        pytest.skip(message)
    return binary


def start_redis(
    binary: str, *, port: int | None = None, timeout: float = 10.0, extra: tuple[str, ...] = ()
) -> RedisServer:
    """Start redis-server with no persistence on a free (or the given) port; wait until it answers PING."""
    import redis

    port = port if port is not None else free_port()
    workdir = tempfile.mkdtemp(prefix="backendkit-redis-")
    args = [binary, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no", "--dir", workdir]
    args += extra
    process = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    server = RedisServer("127.0.0.1", port, process)
    client = redis.Redis(host="127.0.0.1", port=port, socket_timeout=0.5, socket_connect_timeout=0.5)
    deadline = time.monotonic() + timeout
    try:
        while True:
            if process.poll() is not None:
                raise RuntimeError(f"redis-server exited with {process.returncode} before answering")
            try:
                if client.ping():
                    return server
            except redis.exceptions.ConnectionError:
                if time.monotonic() > deadline:
                    server.stop()
                    raise
                time.sleep(0.02)
    finally:
        client.close()


@dataclass
class RedisCluster:
    nodes: list[RedisServer]

    @property
    def startup_nodes(self) -> list[tuple[str, int]]:
        return [(node.host, node.port) for node in self.nodes]

    def stop(self) -> None:
        for node in self.nodes:
            node.stop()


def start_cluster(binary: str, *, masters: int = 3, timeout: float = 20.0) -> RedisCluster:
    """A Redis Cluster of ``masters`` primaries on loopback, no replicas: slots split evenly, nodes met, state ok."""
    import redis

    nodes: list[RedisServer] = []
    buses: list[str] = []
    try:
        for _ in range(masters):
            # The bus port is its own free port (by default it is port + 10000, which may be taken or > 65535).
            bus = str(free_port())
            buses.append(bus)
            options = ("--cluster-enabled", "yes", "--cluster-port", bus, "--cluster-node-timeout", "2000")
            nodes.append(start_redis(binary, extra=options))
        clients = [redis.Redis(host=n.host, port=n.port, socket_timeout=2) for n in nodes]
        per_node = 16384 // masters
        for i, client in enumerate(clients):
            first, last = i * per_node, 16383 if i == masters - 1 else (i + 1) * per_node - 1
            client.execute_command("CLUSTER", "ADDSLOTSRANGE", first, last)
        for node, bus in zip(nodes[1:], buses[1:], strict=True):
            clients[0].execute_command("CLUSTER", "MEET", node.host, node.port, bus)
        deadline = time.monotonic() + timeout
        while not all(b"cluster_state:ok" in c.execute_command("CLUSTER", "INFO") for c in clients):
            if time.monotonic() > deadline:
                raise RuntimeError("the Redis Cluster did not reach cluster_state:ok")
            time.sleep(0.05)
        for client in clients:
            client.close()
        return RedisCluster(nodes)
    except BaseException:
        for node in nodes:
            node.stop()
        raise
