"""Small shared helpers for the tests."""
import subprocess
import sys

TIMING = {"seconds", "eval_seconds", "samples_per_s", "elapsed"}


def strip_timing(history):
    return [{k: v for k, v in row.items() if k not in TIMING} for row in history]


def run_cli(*args, cwd=None, timeout=300):
    return subprocess.run([sys.executable, "-m", "archbench", *map(str, args)], capture_output=True, text=True,
                          cwd=cwd, timeout=timeout)
