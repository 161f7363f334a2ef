"""Training-step time of seq-sum's rnn and gru with models/scan.py against torch's own CPU path.

Both variants live in one process and take turns (rounds of 20 steps), so a machine whose speed
drifts affects both alike; prints the median and every round in ms per step.

    python benchmarks/cpu_scan.py [--models rnn,gru] [--rounds 9] [--threads 2]
"""
import argparse
import statistics
import time

import torch

import archbench.models.cells as cells
from archbench.config import TrainConfig
from archbench.experiment.resolve import prepare, resolve_config
from archbench.train.loop import Trainer
from archbench.train.runtime import init_distributed

SCAN = cells.scan_applies


def trainer(model: str) -> Trainer:
    cfg = resolve_config(TrainConfig(model=model, data="seq-sum"), {"draw": "notebook"})
    rt = init_distributed("cpu")
    bundle, net, _ = prepare(cfg, rt)
    tr = Trainer(net, bundle, cfg, rt, None, log=lambda s: None)
    tr._acc_loss = torch.zeros((), dtype=torch.float64)  # the running sums fit() sets up per epoch
    tr._acc_hit = torch.zeros((), dtype=torch.float64)
    tr._acc_n = 0
    return tr


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--models", default="rnn,gru")
    ap.add_argument("--rounds", type=int, default=9)
    ap.add_argument("--threads", type=int, default=2)
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    print("| model | with scan (ms/step) | torch's path (ms/step) | rounds, scan / torch |")
    print("|---|---|---|---|")
    for model in args.models.split(","):
        runs = {True: trainer(model), False: trainer(model)}
        batches = runs[True].epoch_batches(0)
        times = {True: [], False: []}
        for r in range(args.rounds + 1):  # round 0 warms up
            for use, tr in runs.items():
                cells.scan_applies = SCAN if use else (lambda *a: False)
                t0 = time.perf_counter()
                for i in range(20):
                    tr.train_step(batches[i % len(batches)])
                if r:
                    times[use].append(1000 * (time.perf_counter() - t0) / 20)
        cells.scan_applies = SCAN
        med = {k: statistics.median(v) for k, v in times.items()}
        rounds = " / ".join(", ".join(f"{x:.1f}" for x in times[k]) for k in (True, False))
        print(f"| {model} | {med[True]:.1f} | {med[False]:.1f} | {rounds} |")


if __name__ == "__main__":
    main()
