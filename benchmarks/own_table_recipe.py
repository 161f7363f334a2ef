"""Choose the MLP's recipe for own tables (table:) on validation data, then check it on tables kept aside.

    PYTHONPATH=src python benchmarks/own_table_recipe.py [--seeds 0,1] [--threads 1]

Development tables (the choice is made here, on VALIDATION scores only): scikit-learn's bundled
breast-cancer table with 5% gaps and a category column (classification) and diabetes (regression),
as scripts/make_own_data.py writes them. Kept aside (never looked at while choosing): the wine table
(3 classes) and an imbalanced make_classification table (85/15, 600 rows, 20 features, a category
column and gaps). For each candidate the score per development table is mean validation accuracy
(classification) or minus mean validation MSE on the standardised target (regression), over seeds;
the candidate with the best sum of ranks wins (tied scores share their mean rank; tied sums go
to the earlier candidate). Then the winner,
gradient boosting and logistic/linear regression are scored on the kept-aside tables' test splits.
Prints markdown tables for docs/measurements.md.
"""
from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "scripts"))

from archbench.config import TrainConfig  # noqa: E402
from archbench.experiment.run import train  # noqa: E402
from archbench.files import atomic_write_text, csv_text  # noqa: E402

CANDIDATES = {  # name -> settings over the table recipe in models/mlp.py (optimizer, epochs, patience, batch)
    "A 256-128 d0.2 lr1e-3 wd1e-4": dict(hidden_sizes=[256, 128], dropout=0.2, lr=1e-3, weight_decay=1e-4),
    "B 64-64 d0.1 lr1e-3 wd1e-4": dict(hidden_sizes=[64, 64], dropout=0.1, lr=1e-3, weight_decay=1e-4),
    "C 256-128 d0.2 lr3e-3 wd1e-4": dict(hidden_sizes=[256, 128], dropout=0.2, lr=3e-3, weight_decay=1e-4),
    "D 512-256 d0.3 lr1e-3 wd1e-3": dict(hidden_sizes=[512, 256], dropout=0.3, lr=1e-3, weight_decay=1e-3),
}


def kept_aside_tables(out: Path) -> dict:
    from sklearn.datasets import load_wine, make_classification

    rng = np.random.default_rng(1)
    x, y = make_classification(n_samples=600, n_features=20, n_informative=6, weights=[0.85, 0.15], random_state=3)
    cells = x.round(4).astype(object)
    cells[rng.random(cells.shape) < 0.05] = ""
    cat = np.where(x[:, 0] > 0, "hi", "lo")
    atomic_write_text(out / "imbalanced.csv", csv_text([f"f{i}" for i in range(20)] + ["group", "target"],
                                                       [list(r) + [c, int(t)] for r, c, t in zip(cells, cat, y)]))
    d = load_wine()
    atomic_write_text(out / "wine.csv", csv_text(list(d.feature_names) + ["cultivar"],
                                                 [list(r) + [f"c{t}"] for r, t in zip(d.data.round(4), d.target)]))
    return {"wine": f"table:{out / 'wine.csv'}:cultivar", "imbalanced": f"table:{out / 'imbalanced.csv'}:target"}


def run(model: str, data: str, seed: int, threads: int, extra=None) -> dict:
    cfg = TrainConfig(model=model, data=data)
    return train(cfg, {"seed": seed, "threads": threads, "progress": "none", **(extra or {})}, write=False).metrics


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--seeds", default="0,1")
    ap.add_argument("--threads", type=int, default=1)
    args = ap.parse_args()
    seeds = [int(s) for s in args.seeds.split(",")]
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        import make_own_data

        make_own_data.tables(tmp, np.random.default_rng(0))
        dev = {"cancer": f"table:{tmp / 'cancer.csv'}:diagnosis", "diabetes": f"table:{tmp / 'diabetes.csv'}:progression"}
        scores = {}
        print("| Candidate | cancer val acc (%) | diabetes val MSE (standardised) |\n|---|---|---|")
        for name, extra in CANDIDATES.items():
            acc = np.mean([run("mlp", dev["cancer"], s, args.threads, extra)["best_val_accuracy"] for s in seeds])
            mse = np.mean([run("mlp", dev["diabetes"], s, args.threads, extra)["best_val_loss"] for s in seeds])
            scores[name] = (acc, -mse)
            print(f"| {name} | {100 * acc:.2f} | {mse:.4f} |", flush=True)
        from scipy.stats import rankdata

        names = list(CANDIDATES)
        ranks = {n: 0.0 for n in names}
        for j in range(2):  # tied scores share their mean rank
            for n, r in zip(names, rankdata([-scores[n][j] for n in names], method="average")):
                ranks[n] += float(r)
        best = min(names, key=lambda n: (ranks[n], names.index(n)))
        print(f"\nchosen on validation: {best}\n")
        held = kept_aside_tables(tmp)
        print("| Kept-aside table | Model | Test acc (%) | Balanced acc (%) | Macro-F1 (%) |\n|---|---|---|---|---|")
        for tname, data in held.items():
            plan = [("mlp", CANDIDATES[best]), ("hgb", None), ("linear", None)]
            if tname == "imbalanced":  # the same, with the loss weighted by inverse class frequency
                plan += [("mlp", {**CANDIDATES[best], "class_weights": "balanced"}),
                         ("hgb", {"class_weights": "balanced"}), ("linear", {"class_weights": "balanced"})]
            for model, extra in plan:
                ms = [run(model, data, s, args.threads, extra) for s in seeds]
                cols = [np.array([m[k] for m in ms]) * 100 for k in
                        ("test_accuracy", "test_balanced_accuracy", "test_macro_f1")]
                label = model + (" balanced" if extra and "class_weights" in extra else "")
                print(f"| {tname} | {label} | " + " | ".join(f"{c.mean():.2f} ± {c.std(ddof=1) if len(c) > 1 else 0:.2f}"
                                                             for c in cols) + " |", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
