"""A real Redis for tests: DIGEST_TEST_REDIS_URL when set, else a private redis-server on a free port (stoppable).

The shared one has its own variable: REDIS_URL is the bot's setting, and a shell that has it set for the bot must
not point the suite at that Redis.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import tempfile
import time
from pathlib import Path

import redis


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class PrivateRedis:
    """redis-server with nothing on disk; stop() and start() again on the same port to simulate an outage.

    `dump`: an RDB file the server loads at start (a copy: the file itself is never written)."""

    def __init__(self, dump: Path | None = None) -> None:
        binary = shutil.which("redis-server")
        if binary is None:
            raise RuntimeError(
                "redis-server is not installed: apt-get install redis-server, or set DIGEST_TEST_REDIS_URL"
            )
        self.binary = binary
        self.port = free_port()
        self.dir = tempfile.mkdtemp(prefix="digest-redis-")
        if dump is not None:
            shutil.copyfile(dump, Path(self.dir) / "dump.rdb")
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        args = [
            self.binary,
            "--port",
            str(self.port),
            "--bind",
            "127.0.0.1",
            "--save",
            "",
            "--appendonly",
            "no",
            "--dir",
            self.dir,
            "--protected-mode",
            "no",
        ]
        self.proc = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.2) as sock:
                    sock.sendall(b"PING\r\n")
                    if sock.recv(16).startswith(b"+PONG"):
                        return
            except OSError:
                time.sleep(0.05)
        raise RuntimeError(f"redis-server did not start on port {self.port}")

    def stop(self) -> None:
        if self.proc is not None:
            self.proc.terminate()
            self.proc.wait(timeout=10)
            self.proc = None

    def close(self) -> None:
        self.stop()
        shutil.rmtree(self.dir, ignore_errors=True)


def free_cluster_port() -> int:
    """A free port whose cluster bus port (port + 10000) is free too."""
    while True:
        port = free_port()
        if port + 10000 > 65535:
            continue
        with socket.socket() as sock:
            try:
                sock.bind(("127.0.0.1", port + 10000))
            except OSError:
                continue
        return port


class PrivateRedisCluster:
    """A Redis Cluster of three masters (no replicas) on free ports, nothing on disk: what DIGEST_REDIS_CLUSTER
    deployments run on, made with the same two tools an operator uses (redis-server, redis-cli --cluster create)."""

    def __init__(self, masters: int = 3) -> None:
        binary, cli = shutil.which("redis-server"), shutil.which("redis-cli")
        if binary is None or cli is None:
            raise RuntimeError("redis-server and redis-cli are not installed: apt-get install redis-server")
        self.binary, self.cli = binary, cli
        self.dir = tempfile.mkdtemp(prefix="digest-redis-cluster-")
        self.ports = [free_cluster_port() for _ in range(masters)]
        self.procs: list[subprocess.Popen[bytes]] = []

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.ports[0]}/0"

    def start(self) -> None:
        for port in self.ports:
            node_dir = Path(self.dir) / str(port)
            node_dir.mkdir()
            args = [self.binary, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"]
            args += ["--dir", str(node_dir), "--protected-mode", "no", "--cluster-enabled", "yes"]
            args += ["--cluster-config-file", "nodes.conf", "--cluster-node-timeout", "5000"]
            self.procs.append(subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
        for port in self.ports:
            self._wait(port, lambda out: out.startswith("PONG"), "PING")
        nodes = [f"127.0.0.1:{port}" for port in self.ports]
        subprocess.run(
            [self.cli, "--cluster", "create", *nodes, "--cluster-replicas", "0", "--cluster-yes"],
            check=True,
            capture_output=True,
            timeout=60,
        )
        for port in self.ports:  # every node agrees that all 16,384 slots are served
            self._wait(port, lambda out: "cluster_state:ok" in out, "CLUSTER", "INFO")

    def _wait(self, port: int, ready, *command: str) -> None:  # type: ignore[no-untyped-def]
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            result = subprocess.run(
                [self.cli, "-p", str(port), *command], capture_output=True, text=True, timeout=10, check=False
            )
            if result.returncode == 0 and ready(result.stdout):
                return
            time.sleep(0.1)
        raise RuntimeError(f"redis cluster node {port} is not ready ({' '.join(command)})")

    def close(self) -> None:
        for proc in self.procs:
            proc.terminate()
        for proc in self.procs:
            proc.wait(timeout=10)
        shutil.rmtree(self.dir, ignore_errors=True)


def shared_redis_url() -> str | None:
    return os.environ.get("DIGEST_TEST_REDIS_URL") or None


def keys_under(url: str, prefix: str) -> list[bytes]:
    client = redis.Redis.from_url(url)
    try:
        return list(client.scan_iter(match=f"{prefix}*", count=1000))
    finally:
        client.close()


def delete_keys(url: str, prefix: str) -> None:
    """Delete every key that starts with `prefix` (prefixes are per test, so nothing else matches)."""
    keys = keys_under(url, prefix)
    client = redis.Redis.from_url(url)
    try:
        for start in range(0, len(keys), 1000):
            client.delete(*keys[start : start + 1000])
    finally:
        client.close()
