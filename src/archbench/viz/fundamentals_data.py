"""The numbers behind the notebook's Part 1 (1.3-1.10): activations, losses, optimiser paths, initialisations, dropout, L1/L2, normalisation, schedules, the data split. Seeded; no drawing."""
from __future__ import annotations

import contextlib
import json
import math

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
    """Every tensor here is tiny: a second intra-op thread only adds sync cost (much slower on a busy machine)."""
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
