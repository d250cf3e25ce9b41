"""A redis-server of the tests' own, on a free loopback port."""

from __future__ import annotations

import shutil
import subprocess
import tempfile
import time
from dataclasses import dataclass

from tests.support.net import free_port


@dataclass
class RedisServer:
    host: str
    port: int
    process: subprocess.Popen[bytes]

    @property
    def url(self) -> str:
        return f"redis://{self.host}:{self.port}/0"

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(timeout=10)


def find_redis_server() -> str | None:
    return shutil.which("redis-server")


def start_redis(binary: str, *, port: int | None = None, timeout: float = 10.0) -> RedisServer:
    """Start redis-server with no persistence on a free (or the given) port; wait until it answers PING."""
    import redis

    port = port if port is not None else free_port()
    workdir = tempfile.mkdtemp(prefix="backendkit-redis-")
    args = [binary, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no", "--dir", workdir]
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
