"""What a finished run writes beside its weights: costs, layer summary, predictions, forecast scores."""
from __future__ import annotations

import sys
from pathlib import Path
from typing import Any, Dict

import torch

from ..config import TrainConfig
from ..data.base import DataBundle, example_input
from ..data.timeseries import forecast_metrics, naive_forecast, seasonal_naive_forecast
from ..files import atomic_write_text, csv_text, write_json
from ..models.cost import measure_costs
from ..models.summary import layer_summary, summary_markdown
from ..train.loop import Trainer
from ..train.runtime import Runtime
from ..train.scores import classification_scores, regression_scores


def measure_run_costs(trainer: Trainer, bundle: DataBundle, rt: Runtime, weights: Path) -> Dict[str, Any]:
    """Parameters, FLOPs per sample, latency at batch 1, throughput, peak memory, weights size."""

    test = bundle.test
    x = bundle.take_batch(test, torch.arange(min(len(test), 512)), rt.device)[0]
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
    device = next(model.parameters()).device
    rows = layer_summary(model.eval(), example_input(bundle).to(device))
    atomic_write_text(run_dir / "summary.md", "# Layers\n\n" + summary_markdown(rows))


def forecast_scores(test: Dict[str, Any], bundle: DataBundle) -> Dict[str, Any]:
    """Test MAE/RMSE in the series' own units, beside the naive and seasonal-naive forecasts."""
    if bundle.kind == "table":  # in the file's units (the loader standardised the target)
        return table_regression_scores(test, bundle)
    if bundle.kind != "forecast":
        return {"test_mae": test["mae"], "test_rmse": test["rmse"]}

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


def save_extras(bundle: DataBundle, run_dir: Path) -> None:
    vocab = bundle.extras.get("vocab")
    if vocab is not None and hasattr(vocab, "to_json"):
        atomic_write_text(run_dir / "vocab.json", vocab.to_json())
    if "scaler" in bundle.extras:
        write_json(run_dir / "scaler.json", [float(v) for v in bundle.extras["scaler"]])
    if "encoder" in bundle.extras:  # own tables: what turns new rows into features
        write_json(run_dir / "table_encoder.json", {**bundle.extras["encoder"],
                                                    "target_scale": bundle.extras.get("target_scale")})


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


def classification_scores_of(targets, predictions, bundle: DataBundle) -> Dict[str, float]:
    """test_balanced_accuracy and test_macro_f1 beside accuracy (small and imbalanced data)."""
    return {f"test_{k}": v for k, v in classification_scores(targets, predictions, bundle.num_classes).items()}


def table_regression_scores(test: Dict[str, Any], bundle: DataBundle) -> Dict[str, float]:
    """test_mae, test_rmse, test_r2 of a run's test outputs (N, 1), in the table file's units."""
    mu, sd = bundle.extras.get("target_scale", (0.0, 1.0))
    scores = regression_scores(test["outputs"].double() * sd + mu, test["targets"].double() * sd + mu)
    return {f"test_{k}": v for k, v in scores.items()}
