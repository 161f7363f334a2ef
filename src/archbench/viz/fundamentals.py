"""Deep learning fundamentals (the notebook's Part 1, sections 1.3-1.10), computed and drawn.

Each `*_table`/`*_demo` function below does one section's computation with torch and returns plain
tensors / numpy arrays / rows, so tests can check the numbers; `write_fundamentals` runs them all,
draws the figures (fundamentals_plots.py) and writes the tables. Shapes:

    activation_table     x (N,) -> {name: (f(x) (N,), f'(x) (N,))}, f' by autograd
    loss_table           the notebook's example predictions -> one row per loss
    loss_curves          {loss: {label: (x (N,), loss (N,))}}
    optimizer_paths      {optimizer: {"path": (steps+1, 2), "loss": (steps+1,)}} on Rosenbrock
    init_weights         {init: (out*in,)} weights of one 100x100 Linear layer
    activation_spread    {nonlinearity: {init: (depth,)}} std of the activations after each layer
    dropout_demo         x, train(x), eval(x), each (rows, cols)
    dropout_rates        one row per p: zero fraction and survivor scale over many units
    penalty_table        L1/L2 penalties of the notebook's 10-20-2 model + sparse linear regression fits
    normalization_stats  BatchNorm per-feature and LayerNorm per-sample mean/std before/after
    lr_schedules         {schedule: (epochs,)} learning rate at the start of each epoch
    data_split           the 70/15/15 random split: one row per split

Everything is seeded (torch.Generator where an API takes one, a forked global RNG where it does not),
so two runs write identical tables and figures.
"""
from __future__ import annotations

import contextlib
import csv
import json
import math
import sys
import time
from datetime import datetime, timezone
from pathlib import Path

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

SEED = 0


@contextlib.contextmanager
def _seeded(seed: int):
    """Seed the global RNG for APIs without a generator argument, leaving the caller's RNG untouched."""
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        yield


@contextlib.contextmanager
def _one_thread():
    """Every tensor here is tiny: a second intra-op thread only adds sync cost (10x slower on a busy box)."""
    n = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(n)


# ---------------------------------------------------------------------------------------------- 1.3
ACTIVATIONS = {
    "Sigmoid": torch.sigmoid,
    "Tanh": torch.tanh,
    "ReLU": F.relu,
    "LeakyReLU (0.1)": lambda x: F.leaky_relu(x, 0.1),
    "ELU": F.elu,
    "GELU": F.gelu,
    "Softplus": F.softplus,
    "Swish/SiLU": F.silu,
}


@torch.enable_grad()  # autograd is the point, even if the caller is under no_grad
def activation_table(x: torch.Tensor | None = None):
    """(x, {name: (f(x), f'(x))}) for each activation; element-wise, so d(sum f)/dx is f'(x) per element."""
    x = torch.linspace(-5, 5, 401) if x is None else x.detach().float()
    out = {}
    for name, fn in ACTIVATIONS.items():
        xr = x.clone().requires_grad_(True)
        y = fn(xr)
        (dy,) = torch.autograd.grad(y.sum(), xr)
        out[name] = (y.detach(), dy)
    return x, out


# ---------------------------------------------------------------------------------------------- 1.4
def loss_examples() -> dict[str, tuple[torch.Tensor, torch.Tensor]]:
    """The notebook's sample (prediction, target) pairs, one per loss."""
    return {
        "BCE": (torch.tensor([0.9, 0.2, 0.8, 0.1]), torch.tensor([1.0, 0.0, 1.0, 0.0])),
        "MSE": (torch.tensor([2.5, 0.0, 2.1, 1.6]), torch.tensor([3.0, -0.5, 2.0, 1.5])),
        "MAE": (torch.tensor([2.5, 0.0, 2.1, 1.6]), torch.tensor([3.0, -0.5, 2.0, 1.5])),
        "Cross-entropy": (torch.tensor([[2.0, 1.0, 0.1], [0.5, 2.0, 0.3]]), torch.tensor([0, 1])),
    }


LOSSES = {
    "BCE": (nn.BCELoss(), "binary classification", "nn.BCELoss (sigmoid outputs)"),
    "MSE": (nn.MSELoss(), "regression", "nn.MSELoss"),
    "MAE": (nn.L1Loss(), "regression", "nn.L1Loss"),
    "Cross-entropy": (nn.CrossEntropyLoss(), "multi-class classification", "nn.CrossEntropyLoss (raw logits)"),
}


def _as_json(t: torch.Tensor) -> str:
    return json.dumps((t.double().round(decimals=6) if t.is_floating_point() else t).tolist())


def loss_table() -> list[dict]:
    rows = []
    for name, (pred, target) in loss_examples().items():
        fn, task, module = LOSSES[name]
        rows.append({"loss": name, "task": task, "module": module, "value": float(fn(pred, target)),
                     "predictions": _as_json(pred), "targets": _as_json(target)})
    return rows


def loss_curves(n: int = 301) -> dict[str, dict[str, tuple[np.ndarray, np.ndarray]]]:
    """Each loss of one example against the prediction (per-element losses, reduction='none')."""
    p = torch.linspace(1e-3, 1 - 1e-3, n)
    err = torch.linspace(-3, 3, n)
    z = torch.linspace(-4, 6, n)
    # cross-entropy: vary the true class's logit, keep the notebook's other two logits [1.0, 0.1]
    logits = torch.stack([z, torch.full_like(z, 1.0), torch.full_like(z, 0.1)], dim=1)
    return {
        "BCE": {"target = 1": (p.numpy(), F.binary_cross_entropy(p, torch.ones_like(p), reduction="none").numpy()),
                "target = 0": (p.numpy(), F.binary_cross_entropy(p, torch.zeros_like(p), reduction="none").numpy())},
        "MSE": {"(pred - target)^2": (err.numpy(), F.mse_loss(err, torch.zeros_like(err), reduction="none").numpy())},
        "MAE": {"|pred - target|": (err.numpy(), F.l1_loss(err, torch.zeros_like(err), reduction="none").numpy())},
        "Cross-entropy": {"logits [z, 1.0, 0.1], class 0": (
            z.numpy(), F.cross_entropy(logits, torch.zeros(n, dtype=torch.long), reduction="none").numpy())},
    }


# ---------------------------------------------------------------------------------------------- 1.5
def rosenbrock(x, y):
    """Rosenbrock's banana valley: global minimum 0 at (1, 1). Works on tensors and numpy arrays."""
    return (1 - x) ** 2 + 100 * (y - x ** 2) ** 2


OPTIMIZERS = {  # the notebook's settings; every path ends nearer (1, 1) than (-1, 1)
    "SGD": (torch.optim.SGD, {"lr": 1e-3}),
    "SGD + momentum": (torch.optim.SGD, {"lr": 1e-3, "momentum": 0.9}),
    "Adam": (torch.optim.Adam, {"lr": 1e-2}),
    "RMSprop": (torch.optim.RMSprop, {"lr": 1e-2}),
}
ROSENBROCK_START = (-1.0, 1.0)
ROSENBROCK_MIN = (1.0, 1.0)


@torch.enable_grad()
@_one_thread()
def optimizer_paths(start: tuple[float, float] = ROSENBROCK_START, steps: int = 1000,
                    optimizers: dict | None = None) -> dict[str, dict[str, np.ndarray]]:
    out = {}
    for name, (cls, kw) in (optimizers or OPTIMIZERS).items():
        p = torch.tensor(start, dtype=torch.float32, requires_grad=True)
        opt = cls([p], **kw)
        path, losses = np.empty((steps + 1, 2)), np.empty(steps + 1)
        for i in range(steps):
            opt.zero_grad()
            loss = rosenbrock(p[0], p[1])
            path[i], losses[i] = p.detach().numpy(), loss.item()
            loss.backward()
            opt.step()
        path[steps] = p.detach().numpy()
        losses[steps] = float(rosenbrock(*path[steps]))
        out[name] = {"path": path, "loss": losses}
    return out


def optimizer_table(paths: dict[str, dict[str, np.ndarray]]) -> list[dict]:
    rows = []
    for name, r in paths.items():
        (x0, y0), (x1, y1) = r["path"][0], r["path"][-1]
        hparams = OPTIMIZERS[name][1] if name in OPTIMIZERS else {}
        rows.append({"optimizer": name, "hparams": json.dumps(hparams), "steps": len(r["path"]) - 1,
                     "start_x": x0, "start_y": y0, "end_x": x1, "end_y": y1,
                     "start_distance": math.dist((x0, y0), ROSENBROCK_MIN),
                     "end_distance": math.dist((x1, y1), ROSENBROCK_MIN),
                     "start_loss": r["loss"][0], "end_loss": r["loss"][-1]})
    return rows


# ---------------------------------------------------------------------------------------------- 1.6
INITS = {
    "Uniform [-1, 1]": lambda w, g: nn.init.uniform_(w, -1, 1, generator=g),
    "Normal (0, 1)": lambda w, g: nn.init.normal_(w, 0, 1, generator=g),
    "Xavier uniform": lambda w, g: nn.init.xavier_uniform_(w, generator=g),
    "Xavier normal": lambda w, g: nn.init.xavier_normal_(w, generator=g),
    "Kaiming uniform (He)": lambda w, g: nn.init.kaiming_uniform_(w, mode="fan_in", nonlinearity="relu", generator=g),
    "Kaiming normal (He)": lambda w, g: nn.init.kaiming_normal_(w, mode="fan_in", nonlinearity="relu", generator=g),
}


def init_weights(in_features: int = 100, out_features: int = 100, seed: int = SEED) -> dict[str, np.ndarray]:
    g = torch.Generator().manual_seed(seed)
    return {name: fn(torch.empty(out_features, in_features), g).flatten().numpy() for name, fn in INITS.items()}


@_one_thread()
def activation_spread(depth: int = 10, width: int = 256, batch: int = 512,
                      seed: int = SEED) -> dict[str, dict[str, np.ndarray]]:
    """Std of the activations after each of `depth` bias-free layers, for each init and nonlinearity.

    The same input batch and the same generator seed per init, so only the init's scale differs.
    """
    x0 = torch.randn(batch, width, generator=torch.Generator().manual_seed(seed))
    out = {}
    for act_name, act in (("tanh", torch.tanh), ("relu", F.relu)):
        out[act_name] = {}
        for name, fn in INITS.items():
            g = torch.Generator().manual_seed(seed + 1)
            h, stds = x0, []
            for _ in range(depth):
                h = act(h @ fn(torch.empty(width, width), g).T)
                stds.append(h.std().item())
            out[act_name][name] = np.array(stds)
    return out


# ---------------------------------------------------------------------------------------------- 1.7
def dropout_demo(p: float = 0.5, shape: tuple[int, int] = (8, 16), seed: int = SEED) -> dict[str, torch.Tensor]:
    """nn.Dropout on an all-ones input (as in the notebook), in train and in eval mode."""
    x = torch.ones(shape)
    drop = nn.Dropout(p)
    with _seeded(seed):
        train = drop.train()(x)
    return {"input": x, "train": train, "eval": drop.eval()(x), "p": p}


@_one_thread()
def dropout_rates(ps=(0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9), n: int = 100_000,
                  seed: int = SEED) -> list[dict]:
    rows = []
    x = torch.ones(n)
    with _seeded(seed):
        for p in ps:
            y = F.dropout(x, p, training=True)
            kept = y[y != 0]
            rows.append({"p": p, "zero_fraction": float((y == 0).float().mean()),
                         "survivor_value": float(kept.mean()), "expected_scale": 1 / (1 - p),
                         "output_mean": float(y.mean())})
    return rows


class RegularizedModel(nn.Module):
    """The notebook's 10-20-2 MLP with its L1/L2 penalty terms (1.7)."""

    def __init__(self, input_size: int = 10, hidden_size: int = 20, output_size: int = 2):
        super().__init__()
        self.fc1 = nn.Linear(input_size, hidden_size)
        self.fc2 = nn.Linear(hidden_size, output_size)

    def forward(self, x):
        return self.fc2(F.relu(self.fc1(x)))

    def l1_penalty(self, lam: float) -> torch.Tensor:
        return lam * sum(p.abs().sum() for p in self.parameters())

    def l2_penalty(self, lam: float) -> torch.Tensor:
        return lam * sum(p.pow(2).sum() for p in self.parameters())


NEAR_ZERO = 1e-3  # |w| below this counts as "driven to zero"


@torch.enable_grad()
@_one_thread()
def sparse_regression(n: int = 200, d: int = 40, steps: int = 300, lam_l1: float = 0.3, lam_l2: float = 0.05,
                      noise: float = 0.5, seed: int = SEED) -> dict:
    """Fit y = X w* + noise (only the first 5 of d weights non-zero) with no penalty, L2 and L1.

    Full-batch SGD with a cosine-decayed step, so L1's sub-gradient zig-zag around 0 dies out and the
    irrelevant weights settle at ~0; L2 only shrinks every weight by the same factor.
    """
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(n, d, generator=g)
    w_true = torch.zeros(d)
    w_true[:5] = torch.tensor([3.0, -2.0, 1.5, -1.0, 0.5])
    y = x @ w_true + noise * torch.randn(n, generator=g)
    fits = {}
    for name, lam in (("none", 0.0), ("L2", lam_l2), ("L1", lam_l1)):
        w = torch.zeros(d, requires_grad=True)
        opt = torch.optim.SGD([w], lr=0.1)
        sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=steps)
        for _ in range(steps):
            opt.zero_grad()
            penalty = lam * (w.abs().sum() if name == "L1" else w.pow(2).sum())
            (F.mse_loss(x @ w, y) + penalty).backward()
            opt.step()
            sched.step()
        w = w.detach()
        fits[name] = {"lambda": lam, "weights": w.numpy(), "data_loss": float(F.mse_loss(x @ w, y)),
                      "penalty": float(lam * (w.abs().sum() if name == "L1" else w.pow(2).sum()))}
    return {"w_true": w_true.numpy(), "fits": fits}


def penalty_table(lam: float = 0.01, seed: int = SEED, fit: dict | None = None) -> list[dict]:
    """Rows for regularization.csv: the notebook's MLP penalties, then the sparse-regression fits."""
    with _seeded(seed):
        model = RegularizedModel()
    g = torch.Generator().manual_seed(seed)
    x, y = torch.randn(32, 10, generator=g), torch.randint(0, 2, (32,), generator=g)
    with torch.no_grad():
        base = float(F.cross_entropy(model(x), y))
        l1, l2 = float(model.l1_penalty(lam)), float(model.l2_penalty(lam))
    n_params = sum(p.numel() for p in model.parameters())
    rows = [{"model": "MLP 10-20-2 (untrained)", "penalty": name, "lambda": lam if name != "none" else 0.0,
             "data_loss": base, "penalty_value": pen, "total_loss": base + pen, "weights": n_params,
             "near_zero": "", "max_irrelevant_abs": ""}
            for name, pen in (("none", 0.0), ("L1", l1), ("L2", l2))]
    fit = fit or sparse_regression(seed=seed)
    irrelevant = fit["w_true"] == 0
    for name, f in fit["fits"].items():
        w = f["weights"]
        rows.append({"model": f"linear {len(w)}->1 (trained)", "penalty": name, "lambda": f["lambda"],
                     "data_loss": f["data_loss"], "penalty_value": f["penalty"],
                     "total_loss": f["data_loss"] + f["penalty"], "weights": len(w),
                     "near_zero": int((np.abs(w) < NEAR_ZERO).sum()),
                     "max_irrelevant_abs": float(np.abs(w[irrelevant]).max())})
    return rows


# ---------------------------------------------------------------------------------------------- 1.8
def normalization_stats(seed: int = SEED) -> dict:
    """BatchNorm1d (train mode) on a (256, 6) batch whose features have very different scales, and
    LayerNorm on (8, 32) samples with different scales; std is the population std (what the layers use)."""
    g = torch.Generator().manual_seed(seed)
    shift = torch.tensor([5.0, -3.0, 10.0, 0.0, 2.0, -8.0])
    scale = torch.tensor([10.0, 2.0, 5.0, 1.0, 0.5, 3.0])
    x_bn = torch.randn(256, 6, generator=g) * scale + shift
    x_ln = torch.randn(8, 32, generator=g) * torch.linspace(1, 10, 8)[:, None] + 5 * torch.randn(8, 1, generator=g)
    with torch.no_grad():
        y_bn = nn.BatchNorm1d(6).train()(x_bn)
        y_ln = nn.LayerNorm(32)(x_ln)
    return {"bn": (x_bn, y_bn), "ln": (x_ln, y_ln)}


def normalization_table(stats: dict) -> list[dict]:
    rows = []
    for kind, dim, unit in (("bn", 0, "feature"), ("ln", 1, "sample")):
        x, y = stats[kind]
        for i in range(x.shape[1 - dim]):
            xi, yi = x.select(1 - dim, i), y.select(1 - dim, i)
            rows.append({"norm": "BatchNorm1d" if kind == "bn" else "LayerNorm", "unit": f"{unit} {i}",
                         "mean_before": float(xi.mean()), "std_before": float(xi.std(unbiased=False)),
                         "mean_after": float(yi.mean()), "std_after": float(yi.std(unbiased=False))})
    return rows


# ---------------------------------------------------------------------------------------------- 1.9
def plateau_val_loss(epochs: int = 100, seed: int = SEED) -> np.ndarray:
    """A synthetic validation loss: fast improvement, then a noisy plateau around 0.2."""
    e = torch.arange(epochs, dtype=torch.float32)
    noise = torch.randn(epochs, generator=torch.Generator().manual_seed(seed))
    return (0.2 + 0.8 * torch.exp(-e / 12) + 0.01 * noise).numpy()


def lr_schedules(epochs: int = 100, lr: float = 0.1, seed: int = SEED) -> dict[str, np.ndarray]:
    """The learning rate at the start of each epoch for the notebook's six schedulers."""
    sched = torch.optim.lr_scheduler
    makers = {
        "StepLR (step 30, gamma 0.1)": lambda o: sched.StepLR(o, step_size=30, gamma=0.1),
        "ExponentialLR (gamma 0.95)": lambda o: sched.ExponentialLR(o, gamma=0.95),
        "CosineAnnealingLR": lambda o: sched.CosineAnnealingLR(o, T_max=epochs),
        "ReduceLROnPlateau (patience 10)": lambda o: sched.ReduceLROnPlateau(o, patience=10),
        "OneCycleLR (max 0.1)": lambda o: sched.OneCycleLR(o, max_lr=0.1, total_steps=epochs),
        "CosineAnnealingWarmRestarts (T0 20)": lambda o: sched.CosineAnnealingWarmRestarts(o, T_0=20),
    }
    val = plateau_val_loss(epochs, seed)
    out = {}
    for name, make in makers.items():
        opt = torch.optim.SGD([nn.Parameter(torch.zeros(1))], lr=lr)
        s = make(opt)
        lrs = []
        for epoch in range(epochs):
            lrs.append(opt.param_groups[0]["lr"])
            if epoch == epochs - 1:
                break  # OneCycleLR may not step past total_steps
            opt.step()  # no gradients: a no-op that keeps the scheduler's call-order check quiet
            s.step(float(val[epoch])) if isinstance(s, sched.ReduceLROnPlateau) else s.step()
        out[name] = np.array(lrs)
    return out


# ---------------------------------------------------------------------------------------------- 1.10
def data_split(n: int = 1000, fractions=(0.7, 0.15, 0.15), seed: int = 42,
               batch_size: int = 32) -> list[dict]:
    """The notebook's synthetic 1000 x 10 binary data set, split with random_split (seeded)."""
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(n, 10, generator=g)
    y = torch.randint(0, 2, (n,), generator=g)
    sizes = [int(fractions[0] * n), int(fractions[1] * n)]
    sizes.append(n - sum(sizes))
    parts = torch.utils.data.random_split(torch.utils.data.TensorDataset(x, y), sizes,
                                          generator=torch.Generator().manual_seed(seed))
    rows = []
    for name, part in zip(("train", "val", "test"), parts):
        yi = y[torch.tensor(part.indices)]
        rows.append({"split": name, "size": len(part), "fraction": len(part) / n,
                     "class_0": int((yi == 0).sum()), "class_1": int((yi == 1).sum()),
                     "class_1_fraction": float(yi.float().mean()),
                     "batches": math.ceil(len(part) / batch_size)})
    return rows


# ---------------------------------------------------------------------------------------------- output
def _fmt(v):
    return f"{v:.6g}" if isinstance(v, float) else v


def write_csv(path: Path, rows: list[dict]) -> None:
    with open(path, "w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=list(rows[0]))
        w.writeheader()
        w.writerows({k: _fmt(v) for k, v in r.items()} for r in rows)


def markdown_table(rows: list[dict], columns: list[str] | None = None) -> str:
    columns = columns or list(rows[0])
    lines = ["| " + " | ".join(columns) + " |", "|" + "---|" * len(columns)]
    lines += ["| " + " | ".join(str(_fmt(r[c])) for c in columns) + " |" for r in rows]
    return "\n".join(lines)


def _version() -> str:
    try:
        from archbench import __version__
        return str(__version__)
    except Exception:  # noqa: BLE001 - the package may be imported from a bare source tree
        return "0"


def write_fundamentals(out_dir: str | Path, progress: bool = True) -> Path:
    """Compute every Part 1 figure and table into out_dir; returns out_dir.

    Writes the PNGs listed in figures.json, losses/optimizers/regularization/normalization/data_split
    .csv, fundamentals.md (all tables) and archbench.json.
    """
    with _one_thread():
        return _write(Path(out_dir), progress)


def _write(out: Path, progress: bool) -> Path:
    from . import fundamentals_plots as plots

    from ..train.run import open_out_dir

    open_out_dir(out, "fundamentals")
    figures: list[dict] = []
    t0 = time.perf_counter()

    def done(file: str, title: str, caption: str) -> None:
        figures.append({"file": file, "title": title, "caption": caption})
        if progress:
            print(f"fundamentals: {file} ({time.perf_counter() - t0:.1f}s)", file=sys.stderr)

    x, acts = activation_table()
    plots.draw_activations(out / "activations.png", x, acts)
    done("activations.png", "Activation functions and their derivatives",
         "Sigmoid and tanh derivatives vanish for |x| > 3 (saturation, vanishing gradients); ReLU's derivative is "
         "a hard 0/1 step, LeakyReLU keeps 0.1 on the left; GELU and Swish dip slightly below zero and have smooth "
         "derivatives that overshoot 1. Derivatives are computed by autograd.")

    losses = loss_table()
    write_csv(out / "losses.csv", losses)
    plots.draw_losses(out / "losses.png", loss_curves(), loss_examples(), losses)
    done("losses.png", "Loss functions",
         "BCE and cross-entropy explode as a confident prediction becomes wrong; MSE grows quadratically so large "
         "errors dominate, MAE linearly (robust to outliers). Dots are the notebook's example predictions.")

    paths = optimizer_paths()
    opt_rows = optimizer_table(paths)
    write_csv(out / "optimizers.csv", opt_rows)
    plots.draw_optimizers(out / "optimizers.png", paths, rosenbrock, ROSENBROCK_MIN)
    done("optimizers.png", "Optimisers on the Rosenbrock function",
         "Same start (-1, 1), 1000 steps each. Momentum and Adam reach the minimum (1, 1); plain SGD falls into the "
         "curved valley quickly and then crawls along its nearly flat floor; RMSprop's normalised steps get close "
         "but keep a fixed-size zig-zag.")

    plots.draw_init_histograms(out / "initialisations.png", init_weights())
    done("initialisations.png", "Weight initialisation: distributions of one 100x100 layer",
         "Uniform[-1,1] and Normal(0,1) ignore the layer's width and are ~10x too wide; Xavier scales by "
         "sqrt(2/(fan_in+fan_out)), Kaiming by sqrt(2/fan_in), so both stay narrow and Kaiming is sqrt(2) wider.")

    plots.draw_activation_spread(out / "init_activation_spread.png", activation_spread())
    done("init_activation_spread.png", "Activation scale through a 10-layer network per initialisation",
         "With ReLU, Kaiming keeps the activation std flat across depth, Xavier halves the variance per layer "
         "and the unscaled inits blow up exponentially; with tanh the unscaled inits saturate (std near 1, so "
         "gradients vanish), Xavier's std shrinks layer by layer and Kaiming's larger gain holds it steady.")

    drop = dropout_demo()
    rates = dropout_rates()
    plots.draw_dropout(out / "dropout.png", drop, rates)
    done("dropout.png", "Dropout in train vs eval mode",
         "In train mode about p of the units are zeroed and the survivors are scaled by 1/(1-p) (2.0 for p = 0.5), "
         "so the expected output equals the input; in eval mode dropout is the identity.")

    fit = sparse_regression()
    reg_rows = penalty_table(fit=fit)
    write_csv(out / "regularization.csv", reg_rows)
    plots.draw_regularization(out / "regularization.png", fit, NEAR_ZERO)
    done("regularization.png", "L1 vs L2 regularisation on a sparse linear problem",
         "Only the first 5 of 40 true weights are non-zero. L1 drives the other 35 to ~0 (a constant pull toward "
         "zero) while L2 only shrinks every weight proportionally and leaves small non-zero noise weights.")

    norm = normalization_stats()
    norm_rows = normalization_table(norm)
    write_csv(out / "normalization.csv", norm_rows)
    plots.draw_normalization(out / "normalization.png", norm)
    done("normalization.png", "BatchNorm vs LayerNorm",
         "BatchNorm makes every feature (column) mean 0 / std 1 across the batch; LayerNorm makes every sample "
         "(row) mean 0 / std 1 across its features, independently of the batch.")

    lrs = lr_schedules()
    plots.draw_lr_schedules(out / "lr_schedules.png", lrs, plateau_val_loss())
    done("lr_schedules.png", "Learning-rate schedules (100 epochs, base lr 0.1)",
         "Step and exponential decay drop the rate on a fixed timetable; ReduceLROnPlateau waits for the "
         "validation loss (dashed) to stop improving; OneCycle warms up to max_lr then anneals far below the "
         "start; warm restarts jump back to the base rate every 20 epochs.")

    split_rows = data_split()
    write_csv(out / "data_split.csv", split_rows)
    plots.draw_data_split(out / "data_split.png", split_rows)
    done("data_split.png", "Train / validation / test split (70/15/15, seed 42)",
         "A random split of 1000 samples gives 700/150/150; the class balance of each split is close to, but "
         "not exactly, the whole set's, which stratified splitting would fix.")

    _write_later_parts(out, done)

    (out / "figures.json").write_text(json.dumps(figures, indent=2) + "\n")
    (out / "archbench.json").write_text(json.dumps({
        "type": "fundamentals", "title": "Deep learning fundamentals",
        "created": datetime.now(timezone.utc).isoformat(timespec="seconds"), "version": _version()}, indent=2) + "\n")
    _write_markdown(out / "fundamentals.md", figures, losses, opt_rows, rates, reg_rows, norm_rows, lrs, split_rows)
    if progress:
        print(f"fundamentals: wrote {len(figures)} figures to {out} ({time.perf_counter() - t0:.1f}s)", file=sys.stderr)
    return out


def _write_later_parts(out: Path, done) -> None:
    """Figures of the notebook's later parts that need no trained model (before, only `explain` of a
    trained run drew the convolution demo and the positional encoding)."""
    from ..models.transformer import positional_encoding
    from .attention_concept import attention_concept, attention_rows, draw_attention_concept
    from .explain_images import conv_pooling_demo, plot_conv_pooling_demo
    from .explain_sequence import plot_positional_encoding

    plot_conv_pooling_demo(conv_pooling_demo(), out / "conv_pooling.png")
    done("conv_pooling.png", "Convolution and pooling (the notebook's 3.1)",
         "Each 3x3 edge filter responds (+/-) only where the white square's edges run across it; 2x2 max pooling "
         "keeps each block's largest value, average pooling its mean.")
    plot_positional_encoding(positional_encoding(50, 64), out / "positional_encoding.png",
                             "50 positions, d_model 64 (the transformer's defaults on seq-sum)")
    done("positional_encoding.png", "Sinusoidal positional encoding (the notebook's 7.1)",
         "Each row is a position, each column a dimension: low dimensions oscillate fast, high ones slowly, so "
         "every position gets a distinct pattern and nearby positions similar ones.")
    concept = attention_concept()
    write_csv(out / "attention_concept.csv", attention_rows(concept))
    draw_attention_concept(out / "attention_concept.png", concept)
    done("attention_concept.png", 'Attention for the query "sat" (the notebook\'s 6.1)',
         "Softmax turns raw relevance scores into weights that are positive and sum to 1; it keeps their order but "
         "not their ratios, and multiplying the scores (as large dot products do) sharpens the weights toward one "
         "word, which is why attention divides its scores by sqrt(d_k).")


def _write_markdown(path: Path, figures, losses, opt_rows, rates, reg_rows, norm_rows, lrs, split_rows) -> None:
    lr_rows = [{"schedule": k, "epoch 0": v[0], "epoch 25": v[25], "epoch 50": v[50], "epoch 99": v[-1],
                "max": float(v.max()), "argmax": int(v.argmax())} for k, v in lrs.items()]
    sections = [
        "# Deep learning fundamentals\n",
        "## Loss functions (1.4)\n", markdown_table(losses, ["loss", "task", "module", "value"]),
        "\n## Optimisers on Rosenbrock (1.5)\n",
        markdown_table(opt_rows, ["optimizer", "hparams", "steps", "end_x", "end_y", "start_distance",
                                  "end_distance", "end_loss"]),
        "\n## Dropout (1.7)\n", markdown_table(rates),
        "\n## L1 / L2 regularisation (1.7)\n",
        f"`near_zero` counts weights with |w| < {NEAR_ZERO:g}.\n\n" + markdown_table(reg_rows),
        "\n## Normalisation (1.8)\n", "Population std (as the layers normalise).\n\n" + markdown_table(norm_rows),
        "\n## Learning-rate schedules (1.9)\n", markdown_table(lr_rows),
        "\n## Data split (1.10)\n", markdown_table(split_rows),
        "\n## Figures\n", "\n".join(f"- **{f['title']}** (`{f['file']}`): {f['caption']}" for f in figures),
    ]
    path.write_text("\n".join(sections) + "\n")
