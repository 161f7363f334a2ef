"""``archbench lr-find`` and ``--lr auto``: the range test of ``train/lr_find.py`` on a fresh model, and its study directory.

Everything is seeded from cfg.seed (weights, batch order, dropout), so the same config gives the
same suggestion; the global random state is restored afterwards and the model is thrown away.
"""
from __future__ import annotations

import copy
import math
import os
import sys
import time
from pathlib import Path
from typing import Any, Dict, Optional

import torch
import torch.distributed as dist

from ..config import TrainConfig
from ..errors import UsageError
from ..files import atomic_write_text, csv_text, write_json
from ..rundir import marker, open_out_dir
from ..train.loop import Trainer
from ..train.lr_find import range_test, smooth, suggest
from ..train.runtime import Runtime, resolve_device, rng_state, set_rng_state
from ..viz.lr_find import plot_lr_find
from .resolve import prepare, resolve_config, use_channels_last

SUGGEST_STEPS = 80


def _runtime(cfg: TrainConfig) -> Runtime:
    return Runtime(device=resolve_device(cfg.device, int(os.environ.get("LOCAL_RANK", "0"))), precision="fp32")


def lr_find(cfg: TrainConfig, overrides: Optional[Dict[str, Any]] = None, start: float = 1e-6, end: float = 1.0,
            steps: int = 100, out_dir: Optional[Path] = None) -> Dict[str, Any]:
    """Run the range test on a fresh model; with ``out_dir`` write lr_find.png/.csv/.json there.

    Returns {"lrs", "losses", "smoothed", "suggestion", "steepest", "min_lr", "method", "stopped_early",
    "seconds", "model", "data"}.
    """

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
    bundle, model, entry = prepare(cfg, rt)  # seeds everything from cfg.seed, builds a fresh model
    if rt.precision == "fp16":  # fp16 needs a gradient scaler whose skipped steps would blur the curve
        rt.precision = "fp32"
    trainer = Trainer(model, bundle, cfg, rt, channels_last=use_channels_last(cfg, rt, bundle, entry.family))
    return range_test(trainer, start, end, steps)


def suggest_lr(cfg: TrainConfig, steps: int = SUGGEST_STEPS) -> float:
    """The lr that ``train(--lr auto)`` uses: the range test's suggestion, the same on every rank."""

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
    open_out_dir(out_dir, "lr-find")
    title = f"Learning-rate range test: {cfg.model} on {cfg.data}"
    write_json(out_dir / "archbench.json", marker("lr-find", title))
    rows = [[i, f"{lr:.6g}", f"{loss:.6f}", f"{s:.6f}"]
            for i, (lr, loss, s) in enumerate(zip(result["lrs"], result["losses"], result["smoothed"]))]
    atomic_write_text(out_dir / "lr_find.csv", csv_text(["step", "lr", "loss", "smoothed"], rows))
    write_json(out_dir / "lr_find.json", {**result, "config": cfg.to_dict()})
    plot_lr_find(result, out_dir / "lr_find.png", title)
    caption = (f"Training loss while the learning rate grows exponentially from {result['start']:g} to "
               f"{result['end']:g}. Flat on the left: the rate is too small to learn; the loss falls fastest "
               f"at the suggested rate {result['suggestion']:.3g} ({'steepest descent' if result['method'] == 'steepest' else 'minimum / 10'}) "
               f"and blows up past {result['min_lr']:.3g}. Pick a rate on the falling slope, well left of the minimum.")
    write_json(out_dir / "figures.json", [{"file": "lr_find.png", "title": "Learning-rate range test", "caption": caption}])

