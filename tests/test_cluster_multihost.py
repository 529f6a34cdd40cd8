"""cairn across machines: a small network of its own (Linux network namespaces joined by a
bridge, with addresses this test assigns), a dask scheduler in one namespace, two workers
in two others, an S3 server (moto) in a fourth and the client in a fifth. The client counts
words over s3:// and over the store at a revision on the workers, then one worker process
is killed mid-computation (tests/cluster/multihost_client.py).

Needs root (to make namespaces); skipped with the reason otherwise. No traffic leaves the
namespaces: every address used is one assigned here.
"""

import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

pytest.importorskip("distributed")
pytest.importorskip("moto")

HERE = Path(__file__).parent
HOSTS = ["sched", "w1", "w2", "s3", "client"]


def _ip(*args, check=True):
    return subprocess.run(["ip", *args], capture_output=True, text=True, check=check)


def _can_make_namespaces() -> str | None:
    if os.geteuid() != 0:
        return "making network namespaces needs root"
    if shutil.which("ip") is None:
        return "the ip command (iproute2) is not installed"
    probe = f"cairn-probe-{os.getpid()}"
    made = _ip("netns", "add", probe, check=False)
    if made.returncode != 0:
        return f"network namespaces cannot be made here: {made.stderr.strip()}"
    _ip("netns", "del", probe, check=False)
    return None


class Network:
    """Namespaces ``<tag>-<host>`` on one bridge (in its own namespace ``<tag>-sw``), host i
    at 10.213.<net>.<i+1>/24."""

    def __init__(self) -> None:
        self.tag = f"cairn{os.getpid() % 100000}"
        self.net = os.getpid() % 250 + 1
        self.spaces: list[str] = []
        self.address: dict[str, str] = {}

    def ns(self, host: str) -> str:
        return f"{self.tag}-{host}"

    def build(self) -> None:
        switch = self.ns("sw")
        _ip("netns", "add", switch)
        self.spaces.append(switch)
        _ip("-n", switch, "link", "add", "br0", "type", "bridge")
        _ip("-n", switch, "link", "set", "br0", "up")
        for i, host in enumerate(HOSTS):
            space = self.ns(host)
            _ip("netns", "add", space)
            self.spaces.append(space)
            inside, outside = f"ch{self.net}x{i}", f"cs{self.net}x{i}"
            _ip("link", "add", inside, "type", "veth", "peer", "name", outside)
            _ip("link", "set", inside, "netns", space)
            _ip("link", "set", outside, "netns", switch)
            _ip("-n", switch, "link", "set", outside, "master", "br0", "up")
            address = f"10.213.{self.net}.{i + 1}"
            _ip("-n", space, "addr", "add", f"{address}/24", "dev", inside)
            _ip("-n", space, "link", "set", inside, "up")
            _ip("-n", space, "link", "set", "lo", "up")
            self.address[host] = address

    def popen(self, host: str, args: list, env: dict, **kwargs) -> subprocess.Popen:
        return subprocess.Popen(["ip", "netns", "exec", self.ns(host), *args], env=env,
                                **kwargs)

    def remove(self) -> None:
        for space in reversed(self.spaces):
            _ip("netns", "del", space, check=False)


def _wait_for_port(net: Network, host: str, port: int, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    probe = f"import socket; socket.create_connection(('{net.address[host]}', {port}), 2)"
    while time.monotonic() < deadline:
        ok = subprocess.run(["ip", "netns", "exec", net.ns("client"), sys.executable, "-c",
                             probe], capture_output=True)
        if ok.returncode == 0:
            return
        time.sleep(0.3)
    raise TimeoutError(f"nothing listens on {net.address[host]}:{port}")


def test_word_counts_over_s3_and_the_store_on_workers_of_other_hosts(tmp_path):
    reason = _can_make_namespaces()
    if reason:
        pytest.skip(reason)
    net = Network()
    procs: list[subprocess.Popen] = []
    files: list = []
    try:
        net.build()
        env = {**os.environ, "AWS_ACCESS_KEY_ID": "cairn-test", "AWS_SECRET_ACCESS_KEY": "x",
               "AWS_DEFAULT_REGION": "us-east-1",
               "AWS_ENDPOINT_URL": f"http://{net.address['s3']}:9000",
               "CAIRN_AUTOCOMPACT": "0", "PYTHONUNBUFFERED": "1"}
        for var in ("AWS_PROFILE", "AWS_SESSION_TOKEN", "HTTP_PROXY", "HTTPS_PROXY"):
            env.pop(var, None)
        logs = tmp_path / "logs"
        logs.mkdir()

        def start(host, name, args):
            out = open(logs / f"{name}.log", "w")
            files.append(out)
            procs.append(net.popen(host, args, env, stdout=out, stderr=subprocess.STDOUT))

        start("s3", "s3", [sys.executable, "-m", "moto.server", "-H", net.address["s3"],
                           "-p", "9000"])
        start("sched", "scheduler", [sys.executable, "-m", "distributed.cli.dask_scheduler",
                                     "--host", net.address["sched"], "--port", "8786",
                                     "--no-dashboard"])
        _wait_for_port(net, "s3", 9000)
        _wait_for_port(net, "sched", 8786)
        scheduler = f"tcp://{net.address['sched']}:8786"
        for host in ("w1", "w2"):
            start(host, host, [sys.executable, "-m", "distributed.cli.dask_worker", scheduler,
                               "--host", net.address[host], "--nthreads", "1",
                               "--no-dashboard", "--death-timeout", "60"])
        work = tmp_path / "client"
        work.mkdir()
        client = net.popen("client", [sys.executable, str(HERE / "cluster" /
                                                          "multihost_client.py"),
                                      scheduler, "corpus", str(work)],
                           env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        procs.append(client)
        out, err = client.communicate(timeout=600)
        if client.returncode != 0:
            tails = {p.name: p.read_text()[-2000:] for p in logs.iterdir()}
            pytest.fail(f"the client failed:\n{err[-4000:]}\n{tails}")
        seen = json.loads(out.strip().splitlines()[-1])
    finally:
        for p in procs:
            if p.poll() is None:
                p.kill()
        for p in procs:
            try:
                p.wait(timeout=30)
            except subprocess.TimeoutExpired:
                pass
        for f in files:
            f.close()
        net.remove()

    workers = {net.address["w1"], net.address["w2"]}
    assert {w.split("//")[1].rsplit(":", 1)[0] for w in seen["workers"]} == workers
    assert seen["s3_on_cluster"] == seen["s3_on_threads"] and seen["s3_on_cluster"]
    assert len(seen["s3_task_workers"]) == 2  # the scans ran on both other hosts
    assert seen["store_on_cluster"] == seen["store_expected"]
    assert seen["after_kill"] == [x * x for x in range(24)]
    assert seen["killed_pid"] not in seen["pids_after"]  # the kill happened, mid-run
    assert not any(net.ns(h) in _ip("netns", "list").stdout for h in HOSTS)
