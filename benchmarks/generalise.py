"""Do archbench's recipes hold up on data they were not made on? The best neural model per data set
against the best baseline and against the published figures.

    PYTHONPATH=src python benchmarks/generalise.py [--data-dir ../shared/data] [--sets ItalyPowerDemand ...]
        [--models fcn resnet1d inceptiontime] [--seeds 0] [--threads 1]

Data (none of it used to choose a recipe):
- the UCR sets kept aside while the series recipes were chosen (ItalyPowerDemand, JapaneseVowels; the
  recipes were chosen on GunPoint, BasicMotions and ArrowHead's validation splits, docs/measurements.md;
  PickupGestureWiimoteZ from aeon's package data, with --data-dir there);
- "made:waves", generated here: three classes of noisy periodic shapes (sine, square, sawtooth) with
  random phase and period, 60 train / 300 test series of length 96, written as a UCR .ts pair.

Each neural model trains with its default recipe; the model is picked by validation accuracy (mean over
seeds), never by test; its test accuracy is printed beside MiniRocket's (the baseline) and the published
test accuracy of FCN / ResNet / InceptionTime / MiniRocket where one exists. Long: minutes per set on a CPU.
"""
from __future__ import annotations

import argparse
import statistics
import tempfile
from pathlib import Path

import numpy as np

from archbench.config import TrainConfig
from archbench.data import load_data
from archbench.experiment.run import train

# Published test accuracy (%), for comparison only: FCN and ResNet from Wang et al. (2017, Table 2,
# 1 - error) for the univariate sets and Fawaz et al. (2019) for JapaneseVowels; InceptionTime from
# Fawaz et al. (2020); MiniRocket from Dempster et al. (2021). None: not reported there.
PUBLISHED = {
    "ItalyPowerDemand": {"fcn": 97.0, "resnet1d": 96.0},
    "GunPoint": {"fcn": 100.0, "resnet1d": 99.3},
    "JapaneseVowels": {"fcn": 99.3, "resnet1d": 99.2},
}
HELD_OUT = ("ItalyPowerDemand", "JapaneseVowels", "made:waves")


def make_waves(folder: Path, seed: int = 123, n_train: int = 60, n_test: int = 300, length: int = 96) -> Path:
    """Three-class .ts pair (sine / square / sawtooth, random phase, period 16-40 steps, noise 0.3)."""
    rng = np.random.default_rng(seed)
    folder.mkdir(parents=True, exist_ok=True)
    t = np.arange(length)
    names = ("sine", "square", "saw")
    for split, n in (("TRAIN", n_train), ("TEST", n_test)):
        labels = rng.integers(0, 3, n)
        period = rng.uniform(16, 40, n)[:, None]
        phase = rng.uniform(0, 1, n)[:, None]
        u = (t[None, :] / period + phase) % 1.0  # (n, length) position in the cycle
        shapes = np.stack([np.sin(2 * np.pi * u), np.sign(np.sin(2 * np.pi * u)), 2 * u - 1])  # (3, n, length)
        x = shapes[labels, np.arange(n)] + 0.3 * rng.standard_normal((n, length))
        rows = [",".join(f"{v:.4f}" for v in row) + f":{names[c]}" for row, c in zip(x, labels)]
        head = (f"@problemName Waves\n@univariate true\n@equalLength true\n@seriesLength {length}\n"
                f"@classLabel true {' '.join(names)}\n@data\n")
        (folder / f"Waves_{split}.ts").write_text(head + "\n".join(rows) + "\n")
    return folder


def run_set(data: str, data_dir, models, seeds, threads: int):
    """{model: (mean val acc, mean test acc, [test accs])} for the neural models and MiniRocket."""
    bundle = load_data(data, data_dir=data_dir, seed=0)
    out = {}
    for model in [*models, "minirocket"]:
        vals, tests = [], []
        for seed in seeds:
            cfg = TrainConfig(model=model, data=data, data_dir=data_dir, seed=seed, threads=threads, progress="none")
            m = train(cfg, write=False, bundle=bundle).metrics
            vals.append(m["best_val_accuracy"])
            tests.append(m["test_accuracy"])
            if model == "minirocket":
                break  # one fit: its seed only draws the kernels' biases
        out[model] = (statistics.mean(vals), statistics.mean(tests), tests)
        print(f"  {model:<14} val {100 * out[model][0]:6.2f}%  test {', '.join(f'{100 * t:.2f}' for t in tests)}%",
              flush=True)
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data-dir", default="../shared/data")
    ap.add_argument("--sets", nargs="+", default=list(HELD_OUT))
    ap.add_argument("--models", nargs="+", default=["fcn", "resnet1d", "inceptiontime"])
    ap.add_argument("--seeds", nargs="+", type=int, default=[0])
    ap.add_argument("--threads", type=int, default=1)
    args = ap.parse_args()
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for name in args.sets:
            data = f"ucr:{make_waves(Path(tmp) / 'Waves')}" if name == "made:waves" else f"ucr:{name}"
            print(f"{name}:", flush=True)
            res = run_set(data, args.data_dir, args.models, args.seeds, args.threads)
            best = max(args.models, key=lambda m: res[m][0])  # chosen on validation
            pub = PUBLISHED.get(name, {})
            rows.append((name, best, 100 * res[best][1], 100 * res["minirocket"][1],
                         ", ".join(f"{k} {v:.1f}" for k, v in pub.items()) or "-"))
    print("\n| data | best neural (by validation) | its test % | MiniRocket test % | published test % |")
    print("|---|---|---|---|---|")
    for name, best, acc, base, pub in rows:
        print(f"| {name} | {best} | {acc:.2f} | {base:.2f} | {pub} |")


if __name__ == "__main__":
    main()
