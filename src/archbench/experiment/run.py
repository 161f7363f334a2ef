"""A run: resolve the config, load data, build the model, fit, evaluate, write the run directory.

Run directory (``--out DIR``, default ``runs/<model>-<data>-<time>``)::

    archbench.json        what this directory is (type "run")
    config.json           the resolved config, model architecture, data description, versions
    history.csv           one row per epoch, rewritten atomically each epoch
    checkpoint.safetensors  everything needed to resume (written every epoch, atomically)
    model.safetensors + model.json   the final (best) weights and what builds them
    metrics.json          test metrics, best epoch, time, speed, costs
    history.png, confusion.png, classification_report.txt, figures.json, report.html
"""
from __future__ import annotations

import os
import sys
import time
from pathlib import Path
from typing import Any, Callable, Dict, Optional

import torch

from ..baselines import BASELINES
from ..config import TrainConfig
from ..data.base import DataBundle
from ..files import lock_dir, release_dir, write_json, write_rows_csv
from ..report.html import build_report
from ..rundir import (
    check_resumable,
    default_run_dir,
    load_run,
    marker,
    open_out_dir,
    read_run_config,
    refuse_interrupted,
    versions,
)
from ..train.checkpoint import save_model
from ..train.evaluate import evaluate
from ..train.loop import CHECKPOINT, Trainer
from ..train.runtime import Runtime, init_distributed, resolve_device, set_threads
from ..viz.run_figures import write_run_figures
from .artefacts import (
    classification_scores_of,
    forecast_scores,
    measure_run_costs,
    open_tensorboard,
    save_extras,
    write_layer_summary,
    write_predictions,
)
from .baseline_run import train_baseline
from .baseline_runs import baseline_name, evaluate_baseline
from .lr_find import suggest_lr
from .resolve import prepare, resolve_config, use_channels_last
from .results import RunResult


def train(cfg: TrainConfig, overrides: Optional[Dict[str, Any]] = None, resume: Optional[Path] = None,
          write: bool = True, on_epoch: Optional[Callable[[Trainer], None]] = None,
          bundle: Optional[DataBundle] = None, replace_interrupted: bool = False) -> RunResult:
    """Train one model; write its run directory (rank 0) unless ``write`` is False.

    ``on_epoch(trainer)`` is called on rank 0 after every epoch (``trainer.history[-1]`` is the new
    row); raising from it stops the run (e.g. a tuner pruning a trial). ``bundle`` reuses data
    already loaded with the same data, data_seed and options (``archbench compare`` does).
    A new run refuses an ``out`` that holds an interrupted run (a checkpoint, no metrics), whose
    checkpoint it would replace, unless ``replace_interrupted`` (commands that rerun a whole grid).
    """
    if cfg.model in BASELINES:
        return train_baseline(cfg, overrides or {}, write, bundle)
    if resume is None:
        cfg = resolve_config(cfg, overrides)
    target = resume if resume is not None else cfg.out
    if write and target and int(os.environ.get("RANK", "0")) == 0:
        # after validation (a bad command touches nothing), before the checks of what OUT holds: a live
        # run's directory is refused naming its holder, not as "an interrupted run"
        lock_dir(Path(target))
    if resume is None and write and cfg.out and not replace_interrupted:
        refuse_interrupted(Path(cfg.out))
    set_threads(cfg.threads)
    rt = init_distributed(cfg.device)
    if cfg.lr == "auto":
        cfg.lr = suggest_lr(cfg)
    bundle, model, entry = prepare(cfg, rt, bundle)
    channels_last = use_channels_last(cfg, rt, bundle, entry.family)
    run_dir = Path(resume) if resume is not None else Path(cfg.out) if cfg.out else default_run_dir(cfg)
    writing = write and rt.is_main
    if writing:
        if resume is None:
            open_out_dir(run_dir, "run")
            write_json(run_dir / "archbench.json", marker("run", f"{cfg.model} on {cfg.data}"))
        config = {
            "train": cfg.to_dict(),
            "resolved": {"device": str(rt.device), "precision": rt.precision, "channels_last": channels_last,
                         "world_size": rt.world, "threads": torch.get_num_threads()},
            "model": model.arch, "data": bundle.describe(), "versions": versions(),
        }
        write_json(run_dir / "config.json", config)
        save_extras(bundle, run_dir)
    tb = open_tensorboard(cfg, run_dir) if writing else None

    user_on_epoch = on_epoch

    def on_epoch(tr: Trainer) -> None:
        if user_on_epoch is not None:
            user_on_epoch(tr)
        if not writing:
            return
        write_rows_csv(run_dir / "history.csv", tr.history)
        if tb is not None:
            for k, v in tr.history[-1].items():
                if k != "epoch" and isinstance(v, (int, float)):
                    tb.add_scalar(k, v, tr.history[-1]["epoch"])

    trainer = Trainer(model, bundle, cfg, rt, run_dir if write else None, on_epoch,
                      channels_last=channels_last)
    if resume is not None:
        ckpt = Path(resume) / CHECKPOINT
        trainer.resume(ckpt)
        if rt.is_main:
            print(f"resuming {run_dir} at epoch {trainer.epoch + 1}, step {trainer.step}", file=sys.stderr)
    if rt.is_main and cfg.progress != "none":
        print(f"training {cfg.model} on {cfg.data} ({len(bundle.train)} train / {len(bundle.val)} val / "
              f"{len(bundle.test)} test) on {rt.device} in {rt.precision}"
              + (f", {rt.world} processes" if rt.distributed else "")
              + (f" -> {run_dir}" if writing else ""), file=sys.stderr)
    t0 = time.perf_counter()
    history = trainer.fit()
    if tb is not None:
        tb.close()
    metrics: Dict[str, Any] = {}
    if rt.is_main:
        metrics = finish(trainer, cfg, rt, bundle, run_dir if writing else None)
    if rt.distributed:
        torch.distributed.barrier()
        torch.distributed.destroy_process_group()
    if writing:
        release_dir(run_dir)
    if rt.is_main and cfg.progress != "none":
        line = f"test accuracy {100 * metrics['test_accuracy']:.2f}%" if "test_accuracy" in metrics \
            else f"test mae {metrics.get('test_mae', float('nan')):.4f}"
        print(f"done in {time.perf_counter() - t0:.1f}s ({trainer.stop_reason}); {line}"
              + (f"; run directory {run_dir}" if writing else ""), file=sys.stderr)
    return RunResult(run_dir if writing else None, metrics, history, trainer.raw, bundle)


def finish(trainer: Trainer, cfg: TrainConfig, rt: Runtime, bundle: DataBundle, run_dir: Optional[Path]) -> Dict[str, Any]:
    """Evaluate the restored best model on the test split and write every artefact."""
    one = Runtime(device=rt.device, precision=rt.precision)  # test evaluation alone on rank 0
    test = evaluate(trainer.raw, bundle, bundle.test, one, trainer.eval_batch, outputs=True)
    history = trainer.history
    best = trainer.stopper.best_epoch
    metrics: Dict[str, Any] = {
        "model": cfg.model, "data": cfg.data, "seed": cfg.seed, "test_loss": test["loss"],
        "best_epoch": best + 1 if best >= 0 else None, "epochs_run": len(history),
        "train_seconds": round(trainer.train_seconds, 3), "stop_reason": trainer.stop_reason,
        "params": sum(p.numel() for p in trainer.raw.parameters()),
        # samples the steps actually saw (a run cut short by max_steps or a time limit ends mid-epoch),
        # over the pure training time of every epoch: each row's rate x its seconds is its sample count
        "samples_per_s": round(sum(r["samples_per_s"] * r["seconds"] for r in history)
                               / max(sum(r["seconds"] for r in history), 1e-9), 1),
        "precision": rt.precision, "device": str(rt.device), "world_size": rt.world,
    }
    if trainer.train_split.lengths is not None:  # text: real (unpadded) tokens per second of training
        metrics["tokens_per_s"] = round(metrics["samples_per_s"] * float(trainer.train_split.lengths.float().mean()), 1)
    if "accuracy" in test:
        metrics["test_accuracy"] = test["accuracy"]
        metrics["best_val_accuracy"] = max((r["val_acc"] for r in history), default=None)
        metrics.update(classification_scores_of(test["targets"], test["predictions"], bundle))
    else:
        metrics.update(forecast_scores(test, bundle))
    metrics["best_val_loss"] = min((r["val_loss"] for r in history), default=None)
    if cfg.target_accuracy is not None:
        metrics.update(target_accuracy=cfg.target_accuracy, time_to_target_s=trainer.time_to_target,
                       epoch_to_target=trainer.epoch_to_target)
    if run_dir is None:
        metrics["_test"] = test
        return metrics
    save_model(trainer.raw, run_dir)
    metrics.update(measure_run_costs(trainer, bundle, rt, run_dir / "model.safetensors"))
    write_layer_summary(trainer.raw, bundle, run_dir)
    write_rows_csv(run_dir / "history.csv", history)
    write_predictions(run_dir, test, bundle)
    figures = write_run_figures(run_dir, history, test, bundle, model=cfg.model, kept_epoch=metrics["best_epoch"],
                                label_smoothing=cfg.label_smoothing or 0.0)
    write_json(run_dir / "metrics.json", metrics)
    write_json(run_dir / "figures.json", figures)
    build_report(run_dir)
    metrics["_test"] = test
    return metrics


# ---------------------------------------------------------------- reading runs back


def resume_run(run_dir: Path, runtime: Optional[Dict[str, Any]] = None) -> Optional[RunResult]:
    """Continue an interrupted run from its checkpoint; ``runtime`` may change device, threads, progress.
    A finished run (it has metrics.json) is left as it is: None."""
    config = check_resumable(run_dir)
    if config is None:
        return None
    cfg = TrainConfig.from_dict({**config["train"], **(runtime or {})})
    return train(cfg, resume=Path(run_dir))


def evaluate_run(run_dir: Path, device: str = "auto") -> Dict[str, Any]:
    if baseline_name(read_run_config(run_dir)):  # a baseline run holds no weights: refit it
        return evaluate_baseline(Path(run_dir))
    dev = resolve_device(device)
    model, bundle, config = load_run(run_dir, device=str(dev))
    # evaluate in the precision the run was tested in, so the numbers match metrics.json
    precision = config.get("resolved", {}).get("precision", "fp32")
    if precision == "fp16" and dev.type != "cuda":
        precision = "fp32"
    rt = Runtime(device=dev, precision=precision)
    res = evaluate(model, bundle, bundle.test, rt, outputs=False)
    out = {"run": str(run_dir), "model": config["train"]["model"], "data": config["train"]["data"],
           "test_loss": res["loss"], "n": res["n"]}
    if "accuracy" in res:
        out["test_accuracy"] = res["accuracy"]
    else:
        out.update(test_mae=res["mae"], test_rmse=res["rmse"])
    return out
