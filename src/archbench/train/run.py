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

import inspect
import platform
import sys
import time
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Callable, Dict, List, Optional

import torch

from .. import __version__
from ..config import TrainConfig, apply_recipe, dumps, read_json_object, route, validate
from ..data import dataset_entry, load_data
from ..data.base import DataBundle
from ..errors import CheckpointError, UsageError
from ..models import build_model, check_fits, model_entry
from ..registry import check_types
from ..files import atomic_write_text, csv_text, write_json, write_rows_csv  # noqa: F401 - re-exported
from .checkpoint import load_model, save_model
from .loop import CHECKPOINT, Trainer, evaluate
from .runtime import Runtime, init_distributed, resolve_precision, seed_everything, set_threads


@dataclass
class RunResult:
    run_dir: Optional[Path]
    metrics: Dict[str, Any]
    history: List[Dict[str, Any]]
    model: torch.nn.Module
    bundle: DataBundle


def resolve_config(cfg: TrainConfig, overrides: Optional[Dict[str, Any]] = None) -> TrainConfig:
    """Apply --set style overrides and the model's recipe; validate everything."""
    entry = model_entry(cfg.model)
    data = dataset_entry(cfg.data)
    route(cfg, overrides or {}, entry.hparams(), data.options())
    check_types(cfg.model_args, inspect.signature(entry.cls.__init__))
    check_types(cfg.data_args, inspect.signature(data.loader))
    if data.kind not in entry.kinds:
        raise UsageError(f"model {cfg.model!r} does not take {data.kind} data ({cfg.data}); it takes: {', '.join(entry.kinds)}")
    apply_recipe(cfg, entry.recipe_for(cfg.data, data.kind), entry.hparams())
    validate(cfg)
    return cfg


def run_state(run_dir: Path) -> Optional[str]:
    """"finished" (it wrote metrics.json), "interrupted" (a checkpoint and no metrics) or None."""
    if (Path(run_dir) / "metrics.json").is_file():
        return "finished"
    return "interrupted" if (Path(run_dir) / CHECKPOINT).is_file() else None


def refuse_interrupted(out: Path) -> None:
    if run_state(out) == "interrupted":
        raise UsageError(f"{out} holds an interrupted run: continue it with `archbench train --resume {out}`, "
                         f"or choose another --out (a new run there would replace its checkpoint)")


def default_run_dir(cfg: TrainConfig) -> Path:
    safe = "".join(c if c.isalnum() or c in "-_." else "_" for c in cfg.data.split("/")[-1])[:40]
    stamp = datetime.now().strftime("%Y%m%d-%H%M%S")
    base = Path("runs") / f"{cfg.model}-{safe}-{stamp}"
    path, i = base, 1
    while path.exists():
        path, i = Path(f"{base}-{i}"), i + 1
    return path


def versions() -> Dict[str, str]:
    return {"archbench": __version__, "torch": torch.__version__, "python": platform.python_version(),
            "platform": platform.platform()}


def marker(kind: str, title: str) -> Dict[str, Any]:
    return {"type": kind, "title": title, "created": datetime.now(timezone.utc).isoformat(timespec="seconds"),
            "version": __version__}


def open_out_dir(out: Path, kind: str, create: bool = True) -> Path:
    """Create OUT for an archbench KIND directory ("run", "explain", ...). Refuses a file, and a folder
    that already holds another kind's outputs: `explain RUN --out RUN` would replace the run's
    report and marker and leave a run that `evaluate` no longer recognises. The same kind is rewritten.
    create=False only checks, so that a command can refuse before its work rather than after it."""
    out = Path(out)
    if out.exists() and not out.is_dir():
        raise UsageError(f"--out {out} is a file, not a folder")
    marker_file = out / "archbench.json"
    if marker_file.is_file():
        try:
            held = read_json_object(marker_file).get("type")
        except CheckpointError:
            held = "unreadable"
        if held != kind:
            raise UsageError(f"--out {out} already holds an archbench {held} directory; choose another folder")
    if not create:
        return out
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise UsageError(f"cannot create --out {out}: {e.strerror or e}") from None
    return out


def prepare(cfg: TrainConfig, rt: Runtime, bundle: Optional[DataBundle] = None):
    """Data and model for a resolved config (deterministic for cfg.data_seed and cfg.seed)."""
    if bundle is None:
        bundle = load_data(cfg.data, data_dir=cfg.data_dir, seed=cfg.data_seed, **cfg.data_args)
    entry = model_entry(cfg.model)
    check_fits(entry, bundle.meta(), cfg.data)
    seed_everything(cfg.seed)
    model = build_model(cfg.model, bundle.meta(), **cfg.model_args)
    rt.precision = resolve_precision(cfg.precision, rt.device, entry.family, cfg.model, bundle.kind)
    return bundle, model, entry


def use_channels_last(cfg: TrainConfig, rt: Runtime, bundle: DataBundle, family: str) -> bool:
    if cfg.channels_last is not None:
        return bool(cfg.channels_last)
    # channels-last pays on GPUs and for bf16 convolutions on CPUs (oneDNN's blocked kernels)
    return bundle.kind == "image" and family in ("cnn", "resnet") and (rt.device.type == "cuda" or rt.precision == "bf16")


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
    if resume is None and write and cfg.out and not replace_interrupted:
        refuse_interrupted(Path(cfg.out))
    if resume is None:
        cfg = resolve_config(cfg, overrides)
    set_threads(cfg.threads)
    rt = init_distributed(cfg.device)
    if cfg.lr == "auto":
        from .lr_find import suggest_lr

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
    if rt.is_main and cfg.progress != "none":
        line = f"test accuracy {100 * metrics['test_accuracy']:.2f}%" if "test_accuracy" in metrics \
            else f"test mae {metrics.get('test_mae', float('nan')):.4f}"
        print(f"done in {time.perf_counter() - t0:.1f}s ({trainer.stop_reason}); {line}"
              + (f"; run directory {run_dir}" if writing else ""), file=sys.stderr)
    return RunResult(run_dir if writing else None, metrics, history, trainer.raw, bundle)


BASELINES = {"bow": "bag-of-words baseline: word 1-2-gram TF-IDF + logistic regression (text data)"}


def train_baseline(cfg: TrainConfig, overrides: Dict[str, Any], write: bool = True,
                   bundle: Optional[DataBundle] = None) -> RunResult:
    """A non-neural baseline as a run directory of its own (metrics, predictions, confusion matrix)."""
    from ..baselines import run_bow

    data = dataset_entry(cfg.data)
    route(cfg, {k: v for k, v in overrides.items() if k in ("seed", "data_dir", "data_seed", "progress", "threads")},
          {}, data.options())
    if data.kind != "text":
        raise UsageError(f"model 'bow' takes text data; {cfg.data} is {data.kind}")
    set_threads(cfg.threads)
    if bundle is None:
        bundle = load_data(cfg.data, data_dir=cfg.data_dir, seed=cfg.data_seed, **cfg.data_args)
    res = run_bow(bundle, seed=cfg.seed)
    metrics = {"model": "bow", "data": cfg.data, "seed": cfg.seed, "test_accuracy": res["test_accuracy"],
               "best_val_accuracy": res["val_accuracy"], "test_loss": res["test_loss"], "epochs_run": 1,
               "best_epoch": 1, "train_seconds": round(res["train_seconds"], 3),
               # parameters of a linear model: one weight per feature and class, plus biases
               "params": (res["params"]["features"] + 1) * max(bundle.num_classes - 1, 1), "settings": res["params"]}
    run_dir = Path(cfg.out) if cfg.out else default_run_dir(cfg)
    if write:
        open_out_dir(run_dir, "run")
        write_json(run_dir / "archbench.json", marker("run", f"bow on {cfg.data}"))
        write_json(run_dir / "config.json", {"train": cfg.to_dict(), "model": {"name": "bow", "summary": BASELINES["bow"]},
                                             "data": bundle.describe(), "versions": versions()})
        test = {"predictions": res["predictions"], "probabilities": res["probabilities"], "targets": bundle.test.y}
        write_predictions(run_dir, test, bundle)
        from ..viz.history import plot_confusion

        plot_confusion(bundle.test.y, res["predictions"], bundle.class_names, run_dir / "confusion.png")
        write_json(run_dir / "figures.json", [{"file": "confusion.png", "title": "Confusion matrix (test)",
                                               "caption": "The baseline every neural model must beat."}])
        write_json(run_dir / "metrics.json", metrics)
        build_report_quietly(run_dir)
    if cfg.progress != "none":
        print(f"bow on {cfg.data}: test accuracy {100 * res['test_accuracy']:.2f}% in {res['train_seconds']:.1f}s",
              file=sys.stderr)
    return RunResult(run_dir if write else None, metrics, [], None, bundle)


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
    build_report_quietly(run_dir)
    metrics["_test"] = test
    return metrics


def measure_run_costs(trainer: Trainer, bundle: DataBundle, rt: Runtime, weights: Path) -> Dict[str, Any]:
    """Parameters, FLOPs per sample, latency at batch 1, throughput, peak memory, weights size."""
    from .cost import measure_costs

    test = bundle.test
    idx = torch.arange(min(len(test), 512))
    x = test.x[idx]
    if test.lengths is not None:
        from ..data.base import trim_padding

        x = trim_padding(x, test.lengths[idx])
    x = bundle.preprocess(x.to(rt.device))
    try:
        with rt.autocast():
            costs = measure_costs(trainer.raw.eval(), x, weights_path=weights, latency_repeats=30)
    except Exception as e:  # a cost we cannot measure must not lose a finished run
        print(f"warning: cost measurement failed ({type(e).__name__}: {e})", file=sys.stderr)
        return {"weights_mb": round(weights.stat().st_size / 1e6, 4)}
    return {k: costs[k] for k in ("flops_per_sample", "latency_ms_b1", "throughput_samples_s", "weights_mb",
                                  "peak_rss_mb", "peak_cuda_mb", "timing_threads", "timing_cpu_share",
                                  "timing_disturbed") if k in costs}


def write_layer_summary(model: torch.nn.Module, bundle: DataBundle, run_dir: Path) -> None:
    from ..models.summary import summary_markdown, layer_summary
    from ..models.summary_cli import example_input

    device = next(model.parameters()).device
    rows = layer_summary(model.eval(), example_input(bundle).to(device))
    atomic_write_text(run_dir / "summary.md", "# Layers\n\n" + summary_markdown(rows))


def forecast_scores(test: Dict[str, Any], bundle: DataBundle) -> Dict[str, Any]:
    """Test MAE/RMSE in the series' own units, beside the naive and seasonal-naive forecasts."""
    if bundle.kind != "forecast":
        return {"test_mae": test["mae"], "test_rmse": test["rmse"]}
    from ..data.timeseries import forecast_metrics, naive_forecast, seasonal_naive_forecast

    target = test["targets"]
    out = {f"test_{k}": v for k, v in forecast_metrics(test["outputs"], target, bundle).items()}
    for name, fn in (("naive", naive_forecast), ("seasonal_naive", seasonal_naive_forecast)):
        for k, v in forecast_metrics(fn(bundle, split="test"), target, bundle).items():
            out[f"{name}_{k}"] = v
    out["beats_seasonal_naive"] = bool(out["test_rmse"] < out["seasonal_naive_rmse"])
    return out


def write_predictions(run_dir: Path, test: Dict[str, Any], bundle: DataBundle) -> None:
    """Per-example test predictions (for paired significance tests between runs)."""
    if "predictions" in test:
        header = ["index", "target", "prediction", "confidence"]
        conf = test["probabilities"].max(1).values
        body = [[i, t, p, f"{c:.6f}"] for i, (t, p, c) in
                enumerate(zip(test["targets"].tolist(), test["predictions"].tolist(), conf.tolist()))]
    else:
        # abs_error in the scaled units the model trains in; abs_error_series in the series' own units
        # (the forecast table's), which the comparison's paired test reports
        header = ["index", "abs_error", "abs_error_series"]
        err = (test["outputs"] - test["targets"]).abs().mean(1)
        std = float(bundle.extras["scaler"][1]) if "scaler" in bundle.extras else 1.0
        body = [[i, f"{e:.6f}", f"{e * std:.6g}"] for i, e in enumerate(err.tolist())]
    atomic_write_text(run_dir / "predictions.csv", csv_text(header, body))


def write_run_figures(run_dir: Path, history, test, bundle: DataBundle, model: str = "model",
                      kept_epoch: Optional[int] = None, label_smoothing: float = 0.0) -> List[Dict[str, str]]:
    from ..viz.history import plot_confusion, plot_history
    from ..viz.report_text import classification_report_text

    caption = ("Loss and accuracy per epoch. Validation loss rising while training loss falls is overfitting; "
               "the marker shows the epoch whose weights were kept.")
    if label_smoothing:
        caption += (f" Training loss is against targets smoothed by {label_smoothing:g} (label smoothing), "
                    "validation loss against the true labels, so the curves sit apart by design.")
    figures = [{"file": "history.png", "title": "Training history", "caption": caption}]
    plot_history(history, run_dir / "history.png", kept_epoch=kept_epoch, label_smoothing=label_smoothing)
    if "predictions" in test:
        plot_confusion(test["targets"], test["predictions"], bundle.class_names, run_dir / "confusion.png")
        figures.append({"file": "confusion.png", "title": "Confusion matrix (test)",
                        "caption": "Rows are true classes, columns predictions; off-diagonal cells show which "
                                   "classes the model confuses."})
        text, table = classification_report_text(test["targets"], test["predictions"], bundle.class_names)
        atomic_write_text(run_dir / "classification_report.txt", text)
        write_json(run_dir / "classification_report.json", table)
    if bundle.kind == "forecast" and "outputs" in test:
        from ..viz.forecast import forecast_figure

        figures.append(forecast_figure(bundle, test["outputs"], run_dir, model=model))
    from ..viz.show import PREVIEWS, write_preview

    if bundle.kind in PREVIEWS:  # what the data looks like, last: the results come first on the page
        figures.append(write_preview(bundle, run_dir))
    return figures


def save_extras(bundle: DataBundle, run_dir: Path) -> None:
    vocab = bundle.extras.get("vocab")
    if vocab is not None and hasattr(vocab, "to_json"):
        atomic_write_text(run_dir / "vocab.json", vocab.to_json())
    if "scaler" in bundle.extras:
        write_json(run_dir / "scaler.json", [float(v) for v in bundle.extras["scaler"]])


def open_tensorboard(cfg: TrainConfig, run_dir: Path):
    if not cfg.tensorboard:
        return None
    try:
        from torch.utils.tensorboard import SummaryWriter
    except ImportError:
        print("tensorboard is not installed (pip install 'archbench[tensorboard]'); history.csv is still written",
              file=sys.stderr)
        return None
    return SummaryWriter(str(run_dir / "tensorboard"))


def build_report_quietly(directory: Path) -> None:
    try:
        from ..report.html import build_report
    except ImportError:
        return
    build_report(directory)


# ---------------------------------------------------------------- reading runs back

def read_run_config(run_dir: Path) -> Dict[str, Any]:
    run_dir = Path(run_dir)
    if not run_dir.is_dir():
        raise CheckpointError(f"{run_dir} is not a directory")
    marker_path, cfg_path = run_dir / "archbench.json", run_dir / "config.json"
    try:
        kind = read_json_object(marker_path).get("type")
        config = read_json_object(cfg_path)
    except FileNotFoundError:
        raise CheckpointError(f"{run_dir} is not an archbench run directory (no archbench.json/config.json)") from None
    if kind != "run":
        raise CheckpointError(f"{run_dir} is an archbench {kind} directory, not a run" if kind
                              else f"{marker_path} is damaged (it names no directory type)")
    if not isinstance(config.get("train"), dict):
        raise CheckpointError(f"{cfg_path} is damaged (no training settings)")
    return config


def check_resumable(run_dir: Path) -> Optional[Dict[str, Any]]:
    """The config.json of the interrupted run in RUN_DIR; None, after saying so, when it is finished."""
    config = read_run_config(run_dir)
    state = run_state(run_dir)
    if state is None:
        raise CheckpointError(f"{run_dir} has no {CHECKPOINT} to resume from")
    if state == "finished":
        stop = read_json_object(Path(run_dir) / "metrics.json").get("stop_reason", "finished")
        print(f"{run_dir} is finished ({stop}): nothing to resume; start a new run to train longer", file=sys.stderr)
        return None
    return config


def resume_run(run_dir: Path, runtime: Optional[Dict[str, Any]] = None) -> Optional[RunResult]:
    """Continue an interrupted run from its checkpoint; ``runtime`` may change device, threads, progress.
    A finished run (it has metrics.json) is left as it is: None."""
    config = check_resumable(run_dir)
    if config is None:
        return None
    cfg = TrainConfig.from_dict({**config["train"], **(runtime or {})})
    return train(cfg, resume=Path(run_dir))


def load_run(run_dir: Path, device: str = "cpu"):
    """(model, bundle, config) of a finished run: weights from model.safetensors."""
    config = read_run_config(run_dir)
    cfg = TrainConfig.from_dict(config["train"])
    bundle = load_data(cfg.data, data_dir=cfg.data_dir, seed=cfg.data_seed, **cfg.data_args)
    model = load_model(Path(run_dir), device=device)
    return model, bundle, config


def evaluate_run(run_dir: Path, device: str = "auto") -> Dict[str, Any]:
    from .runtime import resolve_device

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
