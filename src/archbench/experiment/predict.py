"""Predict with a trained run: images, texts, series rows, forecasts past the end of a series, and
the bag-of-words baseline; rows out as JSON or CSV. Each kind's inputs are read in predict_inputs."""
from __future__ import annotations

import json
from pathlib import Path
from typing import Dict, List, Optional

import numpy as np
import torch

from ..data.timeseries import base_forecast, read_csv_column
from ..errors import DataError, UsageError
from ..files import atomic_write_text, rows_csv_text
from ..rundir import read_run_config
from ..train.checkpoint import load_model
from .baseline_runs import baseline_name, refit_baseline
from .predict_inputs import (  # noqa: F401
    PredictContext,
    PredictInputs,
    encode_texts,
    gather_texts,
    load_images,
    preprocess_images,
    read_inputs,
)


def class_rows(names_in: List[str], probs: torch.Tensor, class_names: List[str], top: int) -> List[Dict]:
    """One row per input: the best label, its probability and the top-k (probs (N, classes))."""
    names = class_names or [str(i) for i in range(probs.shape[1])]
    k = min(top, probs.shape[1])
    vals, idx = probs.topk(k, dim=1)  # batched: no per-class Python
    rows = []
    for label, v, i in zip(names_in, vals.tolist(), idx.tolist()):
        rows.append({"input": label, "label": names[i[0]], "probability": v[0],
                     "top": [{"label": names[j], "probability": p} for p, j in zip(v, i)]})
    return rows


def forecast_future(ctx: PredictContext, model, inputs: PredictInputs) -> List[Dict]:
    """The run's horizon past the end of its series (or of --csv FILE --column C, a series scaled with
    the run's training statistics): one row per future step, in the series' units."""

    bundle = ctx.bundle()
    mean, std = bundle.extras["scaler"]
    window, horizon = int(ctx.data["input_shape"][0]), int(ctx.data["num_classes"])
    if inputs.csv:
        series, times = read_csv_column(inputs.csv, inputs.column)
    else:
        series, times = bundle.extras["series"], bundle.extras["times"]
    n = len(series)
    if n < window:
        raise DataError(f"the series has {n} steps; this run reads a window of {window}")
    scaled = torch.as_tensor((np.asarray(series, dtype=np.float64) - mean) / std, dtype=torch.float32)
    x = scaled[n - window:][None, :, None]  # (1, window, 1)
    residual = bundle.extras.get("residual", "none")
    offset = torch.zeros(1, horizon)
    if residual != "none":  # the model forecasts a correction to the naive / seasonal-naive forecast
        offset = base_forecast(scaled, torch.tensor([n]), horizon, residual, bundle.extras.get("season"))
        x = x - x[:, -1:]
    pred = (model(x).float() + offset)[0].double() * std + mean
    last = times[-1] if times else str(n - 1)
    return [{"step": h + 1, "after": last, "forecast": float(v)} for h, v in enumerate(pred.tolist())]


@torch.inference_mode()
def predict_run(run_dir, images: Optional[List[str]] = None, texts: Optional[List[str]] = None,
                top: int = 1, text_file: Optional[str] = None, csv: Optional[str] = None,
                column: Optional[str] = None) -> List[Dict]:
    """Rows of predictions for RUN_DIR on the given inputs (see predict_inputs for each kind); a
    forecasting run with no inputs forecasts past the end of its own series."""
    run_dir = Path(run_dir)
    config = read_run_config(run_dir)
    data = config["data"]
    inputs = PredictInputs(paths=list(images or []), texts=list(texts or []), text_file=text_file, csv=csv,
                           column=column)
    ctx = PredictContext(run_dir, data, config)
    kind = data["kind"]
    if baseline_name(config):
        if kind != "text":
            raise UsageError(f"baseline {baseline_name(config)!r} cannot predict {kind} inputs")
        model, _ = refit_baseline(config)
        found = gather_texts(inputs)
        probs = torch.from_numpy(model.predict_proba(found)).float()
        return class_rows(found, probs, data.get("class_names") or [], top)
    model = load_model(run_dir).eval()
    if kind == "forecast":
        return forecast_future(ctx, model, inputs)
    if texts and kind != "text":
        raise UsageError(f"--text needs a text run; {run_dir} was trained on {kind} data")
    if images and kind != "image":
        raise UsageError(f"image files need an image run; {run_dir} was trained on {kind} data")
    if inputs.empty():
        raise UsageError("give image files or --text \"...\" to predict" if kind in ("image", "text")
                         else f"give --csv FILE to predict with a {kind} run")
    x, names = read_inputs(ctx, inputs)
    chunks = [model(x[i:i + 512]).float() for i in range(0, len(x), 512)]  # bounded memory on big inputs
    probs = torch.cat(chunks).softmax(1)
    return class_rows(names, probs, data.get("class_names") or [], top)


def write_predictions(rows: List[Dict], fmt: str = "json", output: Optional[str] = None) -> str:
    """Rows as JSON or CSV text (top-k flattened to label_2, probability_2, ...); to ``output`` if given."""
    if fmt == "json":
        text = json.dumps(rows, indent=2) + "\n"
    elif fmt == "csv":
        flat = []
        for r in rows:
            row = {k: v for k, v in r.items() if k != "top"}
            for j, t in enumerate(r.get("top", [])[1:], start=2):
                row[f"label_{j}"], row[f"probability_{j}"] = t["label"], t["probability"]
            flat.append(row)
        text = rows_csv_text(flat)
    else:
        raise UsageError(f"unknown output format {fmt!r}; choose csv or json")
    if output:
        atomic_write_text(Path(output), text)
    return text
