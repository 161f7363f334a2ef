"""Small shared helpers for the tests."""
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

TIMING = {"seconds", "eval_seconds", "samples_per_s", "elapsed"}
# a comparison row's measured costs: they differ between two runs of the same training
ROW_TIMING = {"train_seconds", "samples_per_s", "latency_ms_b1", "throughput_samples_s", "peak_rss_mb",
              "timing_cpu_share", "timing_disturbed", "run_dir"}


def strip_timing(history):
    return [{k: v for k, v in row.items() if k not in TIMING} for row in history]


def strip_row_timing(rows):
    return [{k: v for k, v in row.items() if k not in ROW_TIMING} for row in rows]


def wait_until_stopped(proc, timeout=120):
    """Wait until ``proc`` has stopped itself (ARCHBENCH_FAULT=stop:...): alive, holding what it holds."""
    end = time.monotonic() + timeout
    while Path(f"/proc/{proc.pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "T":
        assert proc.poll() is None, f"it ended (rc {proc.returncode}) before its planned stop"
        assert time.monotonic() < end, "it never reached its planned stop"
        time.sleep(0.05)


def cli(*args):
    """``archbench ARGS`` in this process, through the same ``main`` as the console script: for the
    commands that fail before they train, where a fresh interpreter (about 4 s of imports) would be
    most of the test. Gives back what run_cli does; the thread count and any directory locks the
    command took are restored, so the next test starts as it would in a new process."""
    import contextlib
    import io

    import torch

    from archbench.cli import main
    from archbench.files import held_dirs, release_dir

    out, err, threads, held = io.StringIO(), io.StringIO(), torch.get_num_threads(), set(held_dirs())
    argv = [str(a) for a in args]
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            code = main(argv)
        except SystemExit as e:  # argparse's errors and --help
            code = e.code if isinstance(e.code, int) else (0 if e.code is None else 1)
    for d in set(held_dirs()) - held:
        release_dir(d)
    torch.set_num_threads(threads)
    return subprocess.CompletedProcess(["archbench", *argv], code, out.getvalue(), err.getvalue())


def run_cli(*args, cwd=None, timeout=300, env=None, prefix=()):
    """``archbench ARGS`` in a fresh interpreter; ``env`` adds to (or overrides) this process's environment;
    ``prefix`` goes before the interpreter (``loopback_net``'s, to run it in a private network)."""
    return subprocess.run([*prefix, sys.executable, "-m", "archbench", *map(str, args)], capture_output=True, text=True,
                          cwd=cwd, timeout=timeout, env=None if env is None else {**os.environ, **env})


def start_and_kill_after_epoch(args, out, epoch=1, timeout=240, prefix=()):
    """Start `archbench ARGS --out OUT`, SIGKILL it (launcher and ranks) once its checkpoint holds `epoch`."""
    proc = subprocess.Popen([*prefix, sys.executable, "-m", "archbench", *args, "--out", str(out)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    from archbench.train.checkpoint import load_state

    t = time.time()
    ckpt = out / "checkpoint.safetensors"
    try:
        while time.time() - t < timeout:
            if ckpt.exists():
                try:
                    if load_state(ckpt)["epoch"] >= epoch:
                        break
                except Exception:
                    pass  # caught between rename and read: try again
            if proc.poll() is not None:
                break
            time.sleep(0.1)
    finally:
        os.killpg(proc.pid, signal.SIGKILL)  # the launcher and every rank
        proc.wait()
    assert not (out / "metrics.json").exists(), "finished before it could be killed"


class LoopbackNet:
    """A private network namespace whose only interface is loopback, held by a sleeping process:
    commands run in it with ``prefix`` (nsenter). torch's TCPStore (torchrun's rendezvous and rank
    stores) binds the wildcard address and has no option to narrow it; in here the wildcard holds
    nothing but 127.0.0.1 and ::1, so no test server is reachable from another address of the machine.
    Needs root, unshare, nsenter and ip; elsewhere ``prefix`` is empty and ``reason`` says why."""

    def __init__(self):
        self.prefix, self.holder, self.reason = [], None, ""
        missing = [t for t in ("unshare", "nsenter", "ip") if shutil.which(t) is None]
        if os.geteuid() != 0 or missing:
            self.reason = f"no private network namespace (needs root and {', '.join(missing) or 'unshare'})"
            return
        self.holder = subprocess.Popen(["unshare", "--net", "--", "sh", "-c", "ip link set lo up && exec sleep 86400"],
                                       stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        prefix = ["nsenter", f"--net=/proc/{self.holder.pid}/ns/net", "--"]
        end = time.monotonic() + 10
        while time.monotonic() < end and self.holder.poll() is None:
            up = subprocess.run([*prefix, "ip", "-o", "link", "show", "up"], capture_output=True, text=True)
            if up.returncode == 0 and " lo:" in up.stdout:
                self.prefix = prefix
                return
            time.sleep(0.05)
        self.reason = f"unshare --net failed: {(self.holder.stderr.read() if self.holder.poll() is not None else '')[:200]}"
        self.close()

    def addresses(self):
        """Every (interface, address) of the namespace."""
        out = subprocess.run([*self.prefix, "ip", "-o", "addr"], capture_output=True, text=True, check=True).stdout
        return {(line.split()[1], line.split()[3].split("/")[0]) for line in out.splitlines()}

    def sockets(self):
        """(state, local address, remote address) of every TCP socket in the namespace; state "0A" is LISTEN."""
        import ipaddress

        def addr(h):
            raw = bytes.fromhex(h.split(":")[0])
            raw = b"".join(raw[i:i + 4][::-1] for i in range(0, len(raw), 4))  # /proc prints 32-bit words
            ip = ipaddress.ip_address(raw)
            return str(getattr(ip, "ipv4_mapped", None) or ip)  # ::ffff:7f00:1 -> 127.0.0.1

        rows = []
        for name in ("tcp", "tcp6"):
            for line in Path(f"/proc/{self.holder.pid}/net/{name}").read_text().splitlines()[1:]:
                f = line.split()
                rows.append((f[3], addr(f[1]), addr(f[2])))
        return rows

    def close(self):
        if self.holder is not None and self.holder.poll() is None:
            self.holder.kill()
            self.holder.wait()
