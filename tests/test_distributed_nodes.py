"""DDP across nodes: two `archbench train --nnodes 2 --rdzv-endpoint 127.0.0.1:PORT` commands, standing
for two machines, meet at torchrun's c10d rendezvous on the loopback address and train one model."""
import json
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow
ROOT = Path(__file__).resolve().parents[1]
LOOPBACK = ("127.0.0.1", "::ffff:127.0.0.1", "::1")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_two_nodes_meet_at_a_c10d_rendezvous_on_loopback(tmp_path, loopback_net):
    psutil = pytest.importorskip("psutil")
    env = {**os.environ, "PYTHONPATH": str(ROOT / "src"), "GLOO_SOCKET_IFNAME": "lo"}
    endpoint = f"127.0.0.1:{free_port()}"
    args = [*loopback_net.prefix, sys.executable, "-m", "archbench", "train", "mlp", "--data", "digits", "--epochs",
            "2", "--batch-size", "64", "--threads", "1", "--precision", "fp32", "--device", "cpu", "--progress", "none",
            "--nnodes", "2", "--rdzv-endpoint", endpoint]
    nodes = [subprocess.Popen(args + ["--out", str(tmp_path / f"node{k}")], env=env, stdout=subprocess.DEVNULL,
                              stderr=subprocess.PIPE, text=True) for k in range(2)]
    seen, peers = set(), set()
    end = time.monotonic() + 240
    while any(n.poll() is None for n in nodes) and time.monotonic() < end:
        if loopback_net.prefix:  # every socket of the private network: both "machines", agents, stores, ranks
            rows = loopback_net.sockets()
            seen |= {local for state, local, _ in rows if state == "0A"}
            peers |= {remote for state, _, remote in rows if state != "0A"}
        else:  # this machine's own network: the sockets of the two commands and their children
            pids = set()
            for n in nodes:
                try:
                    p = psutil.Process(n.pid)
                    pids |= {p.pid} | {c.pid for c in p.children(recursive=True)}
                except psutil.NoSuchProcess:
                    pass
            conns = [c for c in psutil.net_connections("inet") if c.pid in pids]
            seen |= {c.laddr.ip for c in conns if c.status == "LISTEN"}
            peers |= {c.raddr.ip for c in conns if c.raddr}
        time.sleep(0.2)
    errs = [n.communicate(timeout=30)[1] for n in nodes]
    assert all(n.returncode == 0 for n in nodes), errs
    # gloo (GLOO_SOCKET_IFNAME=lo) listens on loopback; torch's TCPStore (the rendezvous and rank stores)
    # binds the wildcard address and has no option to narrow it: in the private network the wildcard
    # holds loopback alone, and every connection made is to loopback
    assert seen and seen <= set(LOOPBACK) | {"::", "0.0.0.0"}, seen
    assert peers and peers <= set(LOOPBACK), peers
    if loopback_net.prefix:
        assert {a for _, a in loopback_net.addresses()} == {"127.0.0.1", "::1"}
    written = [d for d in (tmp_path / "node0", tmp_path / "node1") if (d / "metrics.json").is_file()]
    assert len(written) == 1  # global rank 0 alone writes, on its own node
    m = json.loads((written[0] / "metrics.json").read_text())
    assert m["world_size"] == 2 and 0.5 < m["test_accuracy"] <= 1
