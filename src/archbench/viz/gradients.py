"""The vanishing-gradient study (the notebook's 4.3, done so the numbers mean something).

One forward/backward in train mode on ``n`` training samples, from zeroed gradients, cuDNN off (its
RNN backward refuses eval mode and is not needed here). Two measurements:

    per parameter   ||dL/dW||, mean |dL/dW|, ||W||                               table
    per time step   mean over samples of ||dL/dx_t|| over features   (T,)     x (B, T, F) float input;
                    text: the embedding output (B, T, E), averaged over real tokens only

A plain RNN's per-step gradient falls off geometrically toward early steps (each step multiplies by
W_hh^T diag(tanh')); an LSTM's cell path and a GRU's update gate carry it much further.

    gradient_study(model, bundle, n=256, seed=0) -> dict
    write_gradient_study({label: study}, out_dir) -> gradients.csv, gradients_per_step.csv,
        gradients.md, gradients_per_step.png, gradients_params.png, figures.json, archbench.json
"""
from __future__ import annotations

import math
from pathlib import Path
from typing import Any, Dict, List, Optional

import torch
import torch.nn as nn
import torch.nn.functional as F

from ..data.base import DataBundle, trim_padding
from ..errors import ArchbenchError
from ..files import atomic_write_text, csv_text, write_json
from ..rundir import marker, open_out_dir
from .canvas import plt  # Figure objects: the user's backend is left alone


def _model_name(model: nn.Module) -> str:
    arch = getattr(model, "arch", None)
    return arch["name"] if isinstance(arch, dict) and "name" in arch else type(model).__name__


def gradient_study(model: nn.Module, bundle: DataBundle, n: int = 256, seed: int = 0) -> Dict[str, Any]:
    """Gradient norms per parameter and per input time step, from one seeded training batch."""
    device = next(model.parameters()).device
    g = torch.Generator().manual_seed(seed)
    idx = torch.randperm(len(bundle.train), generator=g)[: max(1, n)]
    batch = bundle.train.take(idx)
    x = trim_padding(batch.x, batch.lengths)
    x = bundle.preprocess(x.to(device))
    y = batch.y.to(device)
    if x.dim() < 2:
        raise ArchbenchError(f"the gradient study needs sequence input (B, T[, F]); {bundle.name} gives {tuple(x.shape)}")

    captured: Dict[str, torch.Tensor] = {}
    hook = None
    real: Optional[torch.Tensor] = None  # (B, T) steps that count (text: real tokens)
    if x.is_floating_point():
        x = x.detach().clone().requires_grad_(True)
        captured["input"] = x
    else:
        embed = next((m for m in model.modules() if isinstance(m, nn.Embedding)), None)
        if embed is None:
            raise ArchbenchError(f"model {_model_name(model)!r} takes token ids but has no embedding to study")
        real = x != 0

        def keep(mod, args, out):
            if "input" not in captured:  # the first call is the input's embedding
                out.retain_grad()
                captured["input"] = out

        hook = embed.register_forward_hook(keep)

    was_training = model.training
    model.zero_grad(set_to_none=True)  # a study after training must not add to stale gradients
    model.train()
    devices = [device.index if device.index is not None else torch.cuda.current_device()] if device.type == "cuda" else []
    try:
        # same dropout masks on every call (the study is repeatable), without disturbing the caller's RNG
        with torch.random.fork_rng(devices=devices), torch.backends.cudnn.flags(enabled=False):
            torch.manual_seed(seed)
            out = model(x)
            if bundle.task == "regression":
                loss = F.mse_loss(out.float(), y.float().view_as(out))
            else:
                loss = F.cross_entropy(out.float(), y)
            loss.backward()
    finally:
        if hook is not None:
            hook.remove()
        model.train(was_training)

    grad = captured["input"].grad
    if grad is None:
        raise ArchbenchError(f"no gradient reached the input of {_model_name(model)!r}")
    step_norm = grad.detach().float().flatten(2).norm(dim=-1) if grad.dim() > 2 else grad.detach().float().abs()
    if real is not None:
        w = real.float()
        per_step = (step_norm * w).sum(0) / w.sum(0).clamp_min(1)
    else:
        per_step = step_norm.mean(0)
    per_step = per_step.cpu().tolist()

    params = []
    for name, p in model.named_parameters():
        if p.grad is None:  # not on the path to this loss (e.g. unused embedding rows are zero, not None)
            continue
        gr = p.grad.detach().float()
        params.append({
            "parameter": name, "shape": list(p.shape), "numel": p.numel(),
            "grad_norm": gr.norm().item(), "grad_mean_abs": gr.abs().mean().item(),
            "param_norm": p.detach().float().norm().item(),
        })
    model.zero_grad(set_to_none=True)

    tenth = max(1, len(per_step) // 10)
    early = sum(per_step[:tenth]) / tenth
    late = sum(per_step[-tenth:]) / tenth
    return {
        "model": _model_name(model), "data": bundle.name, "n": int(x.shape[0]), "steps": len(per_step),
        "loss": float(loss.item()), "per_step": per_step, "params": params,
        "first_step": per_step[0], "last_step": per_step[-1],
        "early_late_ratio": early / late if late > 0 else float("nan"),
    }


# ------------------------------------------------------------------------ writing


def _fmt(v: float) -> str:
    return "n/a" if v is None or (isinstance(v, float) and math.isnan(v)) else f"{v:.3g}"


def _csv(rows: List[Dict[str, Any]], cols: List[str]) -> str:
    return csv_text(cols, [[r.get(c, "") for c in cols] for r in rows])


def _plot_per_step(results: Dict[str, Dict[str, Any]], path: Path) -> None:
    fig, ax = plt.subplots(figsize=(9, 5))
    for label, r in results.items():
        v = torch.tensor(r["per_step"], dtype=torch.float64)
        v[v <= 0] = float("nan")  # log scale: steps no gradient reached are left out
        ax.plot(range(1, len(v) + 1), v.numpy(), label=label, lw=1.8)
    ax.set_yscale("log")
    ax.set_xlabel("time step (1 = first input)")
    ax.set_ylabel("mean ||dL / dx_t||")
    ax.set_title("Gradient reaching each time step's input")
    ax.grid(True, which="both", alpha=0.3)
    ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=130)
    plt.close(fig)


def _plot_params(results: Dict[str, Dict[str, Any]], path: Path) -> None:
    items = list(results.items())
    ncols = 1 if len(items) <= 2 else 2
    rows = [items[i:i + ncols] for i in range(0, len(items), ncols)]
    heights = [max(2.0, 0.2 * max(len(r["params"]) for _, r in row) + 1.0) for row in rows]
    fig, axes = plt.subplots(len(rows), ncols, figsize=(8 * ncols, sum(heights)),
                             gridspec_kw={"height_ratios": heights}, squeeze=False)
    for ax in axes.flat[len(items):]:
        ax.axis("off")
    for ax, (label, r) in zip(axes.flat, items):
        names = [p["parameter"] for p in r["params"]]
        vals = [max(p["grad_norm"], 1e-30) for p in r["params"]]
        ax.barh(range(len(vals)), vals, color="#4c72b0")
        ax.set_yticks(range(len(vals)))
        ax.set_yticklabels(names, fontsize=7)
        ax.invert_yaxis()
        ax.set_xscale("log")
        ax.set_xlabel("||dL / dW||")
        ax.set_title(f"{label}: gradient norm per parameter (loss {r['loss']:.3f})", fontsize=10)
        ax.grid(True, axis="x", which="both", alpha=0.3)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def write_gradient_study(results: Dict[str, Dict[str, Any]], out_dir, setup: str = "") -> Path:
    """Tables, figures and the directory's manifest for {label: gradient_study(...)}; ``setup`` is one
    sentence saying how the models were built (gradients.md states it)."""

    out = Path(out_dir)
    open_out_dir(out, "gradients")
    if not results:
        raise ArchbenchError("the gradient study has no models to write")

    rows = [{"model": label, **p, "shape": "x".join(map(str, p["shape"]))}
            for label, r in results.items() for p in r["params"]]
    atomic_write_text(out / "gradients.csv",
                      _csv(rows, ["model", "parameter", "shape", "numel", "grad_norm", "grad_mean_abs", "param_norm"]))
    steps = [{"model": label, "step": t + 1, "grad_norm": v}
             for label, r in results.items() for t, v in enumerate(r["per_step"])]
    atomic_write_text(out / "gradients_per_step.csv", _csv(steps, ["model", "step", "grad_norm"]))

    data = sorted({r["data"] for r in results.values()})
    md = ["# Gradient study", "",
          f"One training-mode forward/backward on {next(iter(results.values()))['n']} training samples of "
          f"{', '.join(data)}, from zeroed gradients. `first/last` is the mean gradient over the first tenth of the "
          "time steps divided by that over the last tenth: far below 1 means the loss barely reaches early inputs "
          "(vanishing gradient).", *([setup, ""] if setup else [""]),
          "| model | loss | steps | grad at first step | grad at last step | first/last |", "|---|---|---|---|---|---|"]
    for label, r in results.items():
        md.append(f"| {label} | {r['loss']:.4f} | {r['steps']} | {_fmt(r['first_step'])} | {_fmt(r['last_step'])} "
                  f"| {_fmt(r['early_late_ratio'])} |")
    for label, r in results.items():
        md += ["", f"## {label}", "", "| parameter | shape | grad norm | mean abs grad | param norm |",
               "|---|---|---|---|---|"]
        md += [f"| {p['parameter']} | {'x'.join(map(str, p['shape']))} | {_fmt(p['grad_norm'])} | "
               f"{_fmt(p['grad_mean_abs'])} | {_fmt(p['param_norm'])} |" for p in r["params"]]
    atomic_write_text(out / "gradients.md", "\n".join(md) + "\n")

    _plot_per_step(results, out / "gradients_per_step.png")
    _plot_params(results, out / "gradients_params.png")
    figures = [
        {"file": "gradients_per_step.png", "title": "Gradient per time step",
         "caption": "Size of the loss gradient with respect to each time step's input, log scale. A line that "
                    "drops by orders of magnitude toward step 1 is a vanishing gradient: the model cannot learn "
                    "from early inputs (a plain RNN). LSTM and GRU lines stay flat much longer."},
        {"file": "gradients_params.png", "title": "Gradient per parameter",
         "caption": "Gradient norm of every weight tensor, log scale. Layers far from the loss with much smaller "
                    "gradients than those near it learn slowly; the recurrent weights (weight_hh) of a plain RNN "
                    "are the usual suspects."},
    ]
    write_json(out / "figures.json", figures)
    models = ", ".join(results)
    write_json(out / "archbench.json", marker("gradients", f"Gradient study: {models}"))
    return out
