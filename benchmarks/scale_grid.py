"""A 12-run comparison grid (mlp on digits, seeds 0..11, 1 epoch, 1 thread per run) run locally in one
process, and through a local Ray instance with 1 and with 2 CPUs (one or two runs at a time).

    RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER=0 PYTHONPATH=src python benchmarks/scale_grid.py OUT_DIR

Prints one Markdown row per set-up: wall seconds for the whole grid and the mean test accuracy (equal
in every row: the same runs, wherever they ran). On a small machine this measures the engine's
overhead (Ray's start-up, a fresh worker process per run, files sent back), not scale-out."""
import csv
import os
import sys
import time
from pathlib import Path

os.environ.setdefault("RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER", "0")  # before ray is imported: bind 127.0.0.1
os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")

from archbench.experiment.compare import compare
from archbench.experiment.plan import Plan

SETTINGS = {"threads": 1, "precision": "fp32", "batch_size": 64}


def grid(out: Path, **kw) -> float:
    plan = Plan(pairs=[("digits", "mlp")], seeds=list(range(12)), budget={"epochs": 1})
    t = time.perf_counter()
    compare(plan, dict(SETTINGS), out, log=lambda s: None, **kw)
    secs = time.perf_counter() - t
    accs = [float(r["test_accuracy"]) for r in csv.DictReader((out / "results.csv").open())]
    return secs, 100 * sum(accs) / len(accs)


def main(root: Path) -> None:
    rows = [("local, one process (--jobs 1)", *grid(root / "local"))]
    rows.append(("local, 2 processes (--jobs 2)", *grid(root / "jobs2", jobs=2)))
    import ray

    for cpus in (1, 2):
        t = time.perf_counter()
        ray.init(address="local", num_cpus=cpus, include_dashboard=False, _node_ip_address="127.0.0.1",
                 object_store_memory=80 * 1024 * 1024, log_to_driver=False)
        start = time.perf_counter() - t
        secs, acc = grid(root / f"ray{cpus}", cluster="ray")
        rows.append((f"Ray, {cpus} worker(s) (start-up {start:.1f} s not included)", secs, acc))
        ray.shutdown()
    print("| Set-up | Grid wall time (s) | Mean test acc (%) |\n|---|---|---|")
    for name, secs, acc in rows:
        print(f"| {name} | {secs:.1f} | {acc:.2f} |")


if __name__ == "__main__":
    main(Path(sys.argv[1] if len(sys.argv) > 1 else "runs/scale-grid"))
