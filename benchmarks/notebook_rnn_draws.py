"""The notebook's RNN recipe against archbench's `rnn`, paired on the same draws of seq-sum.

One run on one draw cannot tell two recipes apart: a test error is 0.13 points of 750 sequences, and
the notebook's own test set is a single draw. This trains both on each seeded draw (the same 3,500
training and 750 test sequences for both), once per seed (the notebook's side seeds torch with it
before building its model, archbench's is `--seed`), and prints each pair, the means and the wins.

The notebook's recipe, from its Part 4 (rewritten here, not imported): a two-layer tanh `nn.RNN`,
hidden size 64, dropout 0.3 between the layers, the last step's output into a linear layer; Adam at
lr 1e-3, `ReduceLROnPlateau(patience=5, factor=0.5)` on validation loss, 30 epochs, batch 64,
early stopping with patience 10 whose restore is a no-op (its shallow copy), so the last weights are
tested. archbench's side is `archbench train rnn --data seq-sum --set data_seed=D --threads 1`.
Draws 0-9 took about 6 minutes on one core (2026-11-26, Intel Xeon, 2 cores, torch 2.14.1, commit 99dbaae).

    python benchmarks/notebook_rnn_draws.py                 # draws 0-9
    python benchmarks/notebook_rnn_draws.py --draws notebook --seeds 0,1,2,3   # the notebook's own draw, 4 seeds
"""
import argparse
import statistics
import time

import torch
from torch import nn
from torch.utils.data import DataLoader, TensorDataset

from archbench import TrainConfig, train_model
from archbench.data import load_data


class NotebookRNN(nn.Module):
    def __init__(self, hidden_size=64, num_layers=2, dropout=0.3):
        super().__init__()
        self.rnn = nn.RNN(1, hidden_size, num_layers, batch_first=True, dropout=dropout, nonlinearity="tanh")
        self.fc = nn.Linear(hidden_size, 2)

    def forward(self, x):  # (B, T, 1) -> (B, 2)
        return self.fc(self.rnn(x)[0][:, -1])


def evaluate(model, loader):
    """The notebook's evaluate: mean of the batches' losses, and accuracy (%)."""
    model.eval()
    loss = correct = 0.0
    with torch.inference_mode():
        for x, y in loader:
            out = model(x)
            loss += nn.functional.cross_entropy(out, y).item()
            correct += (out.argmax(1) == y).sum().item()
    return loss / len(loader), correct / len(loader.dataset)


def notebook_recipe(bundle, seed):
    """Test accuracy (fraction) of the notebook's RNN cells on BUNDLE, the model seeded with SEED."""
    loader = lambda split, shuffle=False: DataLoader(TensorDataset(split.x, split.y), batch_size=64, shuffle=shuffle)
    train, val, test = loader(bundle.train, shuffle=True), loader(bundle.val), loader(bundle.test)
    torch.manual_seed(seed)
    model = NotebookRNN()
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    sched = torch.optim.lr_scheduler.ReduceLROnPlateau(opt, patience=5, factor=0.5)
    best, wait = float("inf"), 0
    for _ in range(30):
        model.train()
        for x, y in train:
            opt.zero_grad()
            nn.functional.cross_entropy(model(x), y).backward()
            opt.step()
        val_loss = evaluate(model, val)[0]
        sched.step(val_loss)
        best, wait = (val_loss, 0) if val_loss <= best else (best, wait + 1)
        if wait >= 10:
            break
    return evaluate(model, test)[1]


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--draws", default="0,1,2,3,4,5,6,7,8,9",
                    help="seq-sum data seeds, comma-separated; 'notebook' is the notebook's own sequences and split")
    ap.add_argument("--seeds", default="0", help="model seeds, comma-separated (default 0)")
    args = ap.parse_args()
    torch.set_num_threads(1)
    rows = []
    print("| data seed | seed | notebook's recipe | archbench rnn | seconds (notebook / archbench) |\n|---|---|---|---|---|")
    for d in args.draws.split(","):
        data = {"draw": "notebook"} if d == "notebook" else {"seed": int(d)}
        bundle = load_data("seq-sum", **data)
        for seed in map(int, args.seeds.split(",")):
            t0 = time.perf_counter()
            nb = notebook_recipe(bundle, seed)
            t1 = time.perf_counter()
            cfg = TrainConfig(model="rnn", data="seq-sum", seed=seed, threads=1, progress="none",
                              **({"data_args": {"draw": "notebook"}} if d == "notebook" else {"data_seed": int(d)}))
            ab = train_model(cfg, bundle=bundle, write=False).metrics["test_accuracy"]
            rows.append((nb, ab))
            print(f"| {d} | {seed} | {100 * nb:.2f} | {100 * ab:.2f} | {t1 - t0:.0f} / {time.perf_counter() - t1:.0f} |",
                  flush=True)
    nb_mean, ab_mean = (100 * statistics.mean(c) for c in zip(*rows))
    wins = sum(ab > nb for nb, ab in rows)
    ties = sum(ab == nb for nb, ab in rows)
    print(f"\nmean test accuracy: notebook's recipe {nb_mean:.2f}%, archbench {ab_mean:.2f}% "
          f"({ab_mean - nb_mean:+.2f} points); archbench higher in {wins} of {len(rows)} pairs, equal in {ties}")


if __name__ == "__main__":
    main()
