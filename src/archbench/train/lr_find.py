"""The learning-rate range test (Smith 2015, "Cyclical learning rates"; fastai's ``lr_find``).

Train a fresh copy of the model for ``steps`` optimiser steps while the learning rate grows
exponentially from ``start`` to ``end``: lr_i = start * (end / start) ** (i / (steps - 1)).
The loss first barely moves (lr too small), then falls fast, then blows up (lr too large).
The raw per-batch loss is noisy, so it is smoothed with a bias-corrected exponential moving
average; the test stops once the smoothed loss exceeds 4x its minimum.

Suggestion: the lr where the smoothed loss falls fastest per decade of lr (the steepest negative
slope d loss / d log10 lr), looked for only before the minimum -- the minimum itself is already
on the edge of divergence. The slope is taken over a window of a tenth of a decade on each side,
which makes it insensitive to single noisy batches. When the curve has no usable descent (the
minimum comes within the first few steps) the suggestion falls back to min_lr / 10.

Everything is seeded from cfg.seed (weights, batch order, dropout), so the same config gives the
same suggestion; the global random state is restored afterwards and the model is thrown away.
"""
from __future__ import annotations

import copy
import csv
import io
import math
import os
import sys
import time
from pathlib import Path
from typing import Any, Dict, List, Optional

import numpy as np
import torch
import torch.nn as nn

from ..config import TrainConfig
from ..data.base import batch_indices, trim_padding
from ..errors import UsageError
from .loop import derive_seed, is_regression
from .optim import build_optimizer
from .runtime import Runtime, resolve_device, rng_state, set_rng_state

BETA = 0.9  # EMA of the loss: about a 10-step window (0.98 lags 50 steps, half of a 100-step test)
DIVERGE = 4.0  # stop once the smoothed loss exceeds this multiple of its minimum
SKIP = 3  # first steps ignored when looking for the descent (bias-corrected EMA of 1-3 points)
SUGGEST_STEPS = 80


def smooth(losses: List[float], beta: float = BETA) -> List[float]:
    """Exponential moving average with bias correction (so early values are not pulled to 0)."""
    out, avg = [], 0.0
    for i, v in enumerate(losses):
        avg = beta * avg + (1 - beta) * v
        out.append(avg / (1 - beta ** (i + 1)))
    return out


def suggest(lrs: List[float], smoothed: List[float]) -> Dict[str, Any]:
    """{"suggestion", "steepest", "min_lr", "method"} from a (possibly early-stopped) curve."""
    s = np.asarray(smoothed, dtype=np.float64)
    logs = np.log10(np.asarray(lrs, dtype=np.float64))
    i_min = int(np.nanargmin(s))
    min_lr = float(lrs[i_min])
    steepest = None
    if i_min > SKIP + 1:
        per_decade = (len(lrs) - 1) / max(logs[-1] - logs[0], 1e-12) if len(lrs) > 1 else 1.0
        k = max(1, int(round(0.1 * per_decade)))  # +-0.1 decade
        idx = np.arange(SKIP, i_min)
        lo, hi = np.clip(idx - k, 0, i_min), np.clip(idx + k, 0, i_min)
        slope = (s[hi] - s[lo]) / np.maximum(logs[hi] - logs[lo], 1e-12)
        if np.isfinite(slope).any() and np.nanmin(slope) < 0:
            steepest = float(lrs[int(idx[int(np.nanargmin(slope))])])
    if steepest is not None:
        return {"suggestion": steepest, "steepest": steepest, "min_lr": min_lr, "method": "steepest"}
    fallback = max(min_lr / 10, float(lrs[0]))
    return {"suggestion": fallback, "steepest": None, "min_lr": min_lr, "method": "min/10"}


def _runtime(cfg: TrainConfig) -> Runtime:
    return Runtime(device=resolve_device(cfg.device, int(os.environ.get("LOCAL_RANK", "0"))), precision="fp32")


def lr_find(cfg: TrainConfig, overrides: Optional[Dict[str, Any]] = None, start: float = 1e-6, end: float = 1.0,
            steps: int = 100, out_dir: Optional[Path] = None) -> Dict[str, Any]:
    """Run the range test on a fresh model; with ``out_dir`` write lr_find.png/.csv/.json there.

    Returns {"lrs", "losses", "smoothed", "suggestion", "steepest", "min_lr", "method", "stopped_early",
    "seconds", "model", "data"}.
    """
    from .run import resolve_config

    if not (0 < start < end) or not all(map(math.isfinite, (start, end))):
        raise UsageError(f"the lr range needs 0 < start < end, got start={start:g}, end={end:g}")
    if not isinstance(steps, int) or steps < 10:
        raise UsageError(f"the lr range test needs at least 10 steps, got {steps!r}")
    cfg = copy.deepcopy(cfg)
    if cfg.lr == "auto":
        cfg.lr = 1e-3  # placeholder: the range test ignores it
    overrides = dict(overrides or {})
    if overrides.get("lr") == "auto":
        overrides["lr"] = 1e-3
    cfg = resolve_config(cfg, overrides)
    rt = _runtime(cfg)
    saved_rng, saved_threads = rng_state(rt.device), torch.get_num_threads()
    if cfg.threads:
        torch.set_num_threads(int(cfg.threads))
    t0 = time.perf_counter()
    try:
        lrs, losses = _range_test(cfg, rt, start, end, steps)
    finally:  # leave the caller's random streams and threads as they were
        set_rng_state(saved_rng, rt.device)
        torch.set_num_threads(saved_threads)
    smoothed = smooth(losses)
    result: Dict[str, Any] = {"lrs": lrs, "losses": losses, "smoothed": smoothed, **suggest(lrs, smoothed),
                              "stopped_early": len(lrs) < steps, "seconds": round(time.perf_counter() - t0, 3),
                              "model": cfg.model, "data": cfg.data, "start": start, "end": end, "steps": steps}
    if out_dir is not None:
        write_lr_find(Path(out_dir), result, cfg)
    return result


def _range_test(cfg: TrainConfig, rt: Runtime, start: float, end: float, steps: int):
    from .run import prepare

    bundle, model, _ = prepare(cfg, rt)  # seeds everything from cfg.seed, builds a fresh model
    if rt.precision == "fp16":  # fp16 needs a gradient scaler whose skipped steps would blur the curve
        rt.precision = "fp32"
    model = model.to(rt.device).train()
    split = bundle.train.to(rt.device) if rt.device.type == "cuda" else bundle.train
    opt = build_optimizer(cfg.optimizer, model.parameters(), start, cfg.weight_decay, cfg.momentum)
    loss_fn = nn.MSELoss() if is_regression(bundle) else nn.CrossEntropyLoss(label_smoothing=cfg.label_smoothing)
    lengths = None if split.lengths is None else split.lengths.cpu()
    torch.manual_seed(derive_seed(cfg.seed, 0, 0, 11))  # dropout stream of the test
    ratio = end / start
    lrs: List[float] = []
    losses: List[float] = []
    best, avg = math.inf, 0.0
    batches: List[torch.Tensor] = []
    epoch = 0
    for i in range(steps):
        if not batches:  # next seeded epoch of batches (small data sets cycle)
            g = torch.Generator().manual_seed(derive_seed(cfg.seed, epoch, 0, 10))
            batches = batch_indices(len(split), cfg.batch_size, g, shuffle=True, drop_last=True, lengths=lengths)
            epoch += 1
        idx = batches.pop(0).to(split.x.device)
        x, y = split.x[idx].to(rt.device), split.y[idx].to(rt.device)
        if split.lengths is not None:
            x = trim_padding(x, split.lengths[idx])
        x = bundle.preprocess(x)
        lr = start * ratio ** (i / (steps - 1))
        for group in opt.param_groups:
            group["lr"] = lr
        opt.zero_grad(set_to_none=True)
        with rt.autocast():
            out = model(x)
        loss = loss_fn(out.float(), y)
        value = float(loss.detach())
        if not math.isfinite(value):
            break
        loss.backward()
        if cfg.grad_clip:
            nn.utils.clip_grad_norm_(model.parameters(), cfg.grad_clip)
        opt.step()
        lrs.append(lr)
        losses.append(value)
        avg = BETA * avg + (1 - BETA) * value
        s = avg / (1 - BETA ** len(losses))  # the same as smooth(losses)[-1]
        best = min(best, s)
        if i > SKIP and s > DIVERGE * best:
            break
    if len(losses) < 2:
        raise UsageError(f"the lr range test diverged at once (lr {start:g}); try a smaller start")
    return lrs, losses


def suggest_lr(cfg: TrainConfig, steps: int = SUGGEST_STEPS) -> float:
    """The lr that ``train(--lr auto)`` uses: the range test's suggestion, the same on every rank."""
    import torch.distributed as dist

    distributed = dist.is_available() and dist.is_initialized() and dist.get_world_size() > 1
    if not distributed:
        return _suggest_and_say(cfg, steps)
    shared = [None, None]  # rank 0 runs the test alone: [lr, error message]
    if dist.get_rank() == 0:
        try:
            shared[0] = _suggest_and_say(cfg, steps)
        except Exception as e:  # tell the other ranks instead of leaving them waiting
            shared[1] = str(e).splitlines()[0] if str(e) else type(e).__name__
            dist.broadcast_object_list(shared, src=0)
            raise
    dist.broadcast_object_list(shared, src=0)
    if shared[1] is not None:
        raise UsageError(f"--lr auto: the range test failed on rank 0: {shared[1]}")
    return float(shared[0])


def _suggest_and_say(cfg: TrainConfig, steps: int) -> float:
    res = lr_find(cfg, steps=steps)
    lr = float(res["suggestion"])
    if cfg.progress != "none":
        print(f"lr auto: range test ({len(res['lrs'])} steps, {res['seconds']:.1f}s) suggests {lr:.3g} "
              f"(loss minimum at {res['min_lr']:.3g})", file=sys.stderr)
    return lr


# ---------------------------------------------------------------- writing

def write_lr_find(out_dir: Path, result: Dict[str, Any], cfg: TrainConfig) -> None:
    from .run import marker, write_json
    from .checkpoint import atomic_write_text

    from .run import open_out_dir

    open_out_dir(out_dir, "lr-find")
    title = f"Learning-rate range test: {cfg.model} on {cfg.data}"
    write_json(out_dir / "archbench.json", marker("lr-find", title))
    buf = io.StringIO()
    w = csv.writer(buf)
    w.writerow(["step", "lr", "loss", "smoothed"])
    for i, (lr, l, s) in enumerate(zip(result["lrs"], result["losses"], result["smoothed"])):
        w.writerow([i, f"{lr:.6g}", f"{l:.6f}", f"{s:.6f}"])
    atomic_write_text(out_dir / "lr_find.csv", buf.getvalue())
    write_json(out_dir / "lr_find.json", {**result, "config": cfg.to_dict()})
    plot_lr_find(result, out_dir / "lr_find.png", title)
    caption = (f"Training loss while the learning rate grows exponentially from {result['start']:g} to "
               f"{result['end']:g}. Flat on the left: the rate is too small to learn; the loss falls fastest "
               f"at the suggested rate {result['suggestion']:.3g} ({'steepest descent' if result['method'] == 'steepest' else 'minimum / 10'}) "
               f"and blows up past {result['min_lr']:.3g}. Pick a rate on the falling slope, well left of the minimum.")
    write_json(out_dir / "figures.json", [{"file": "lr_find.png", "title": "Learning-rate range test", "caption": caption}])


def plot_lr_find(result: Dict[str, Any], path: Path, title: str) -> None:
    from ..figures import plt  # Figure objects: the user's backend is left alone

    lrs, sm = result["lrs"], result["smoothed"]
    fig, ax = plt.subplots(figsize=(7, 4.2), dpi=130)
    ax.plot(lrs, result["losses"], color="0.75", lw=0.8, label="loss per batch")
    ax.plot(lrs, sm, color="C0", lw=2, label="smoothed loss")
    ax.set_xscale("log")
    lo, hi = min(sm), max(sm[: max(2, sm.index(min(sm)) + 1)])
    ax.set_ylim(lo - 0.1 * (hi - lo + 1e-9), hi + 0.35 * (hi - lo + 1e-9))
    sug = result["suggestion"]
    y_sug = float(np.interp(math.log10(sug), np.log10(lrs), sm))
    ax.axvline(sug, color="C3", ls="--", lw=1)
    ax.plot([sug], [y_sug], "o", color="C3", ms=7, zorder=3)
    ax.annotate(f"suggested lr {sug:.2g}", (sug, y_sug), xytext=(12, 18), textcoords="offset points", color="C3",
                fontsize=10, arrowprops=dict(arrowstyle="->", color="C3"))
    ax.axvline(result["min_lr"], color="0.4", ls=":", lw=1, label=f"minimum at lr {result['min_lr']:.2g}")
    ax.set_xlabel("learning rate (log scale)")
    ax.set_ylabel("training loss")
    ax.set_title(title, fontsize=11)
    ax.legend(loc="upper left", fontsize=8)
    ax.grid(alpha=0.3)
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)
