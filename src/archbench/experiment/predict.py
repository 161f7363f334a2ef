"""Predict with a trained run: image files, or raw text for text runs."""
from __future__ import annotations

from pathlib import Path
from typing import Dict, List, Optional

import numpy as np
import torch
from PIL import Image, UnidentifiedImageError

from ..data.text import Vocab
from ..errors import DataError, UsageError
from ..rundir import read_run_config
from ..train.checkpoint import load_model


def load_images(paths: List[str], shape) -> torch.Tensor:
    """Image files -> uint8 (N, C, H, W) in the run's input shape (mode and size converted)."""

    c, h, w = shape
    out = []
    for p in paths:
        try:
            with Image.open(p) as im:
                im = im.convert("L" if c == 1 else "RGB").resize((w, h), Image.BILINEAR)
                a = np.asarray(im, dtype=np.uint8)
        except FileNotFoundError:
            raise DataError(f"no such image file: {p}") from None
        except (UnidentifiedImageError, OSError) as e:
            raise DataError(f"cannot read image {p}: {e}") from None
        out.append(a[None] if c == 1 else a.transpose(2, 0, 1))
    return torch.from_numpy(np.stack(out))


def preprocess_images(x: torch.Tensor, data: Dict) -> torch.Tensor:
    x = x.float() / 255.0
    if data.get("mean") is not None:
        mean = torch.tensor(data["mean"]).view(1, -1, 1, 1)
        std = torch.tensor(data["std"]).view(1, -1, 1, 1)
        x = (x - mean) / std
    return x


def encode_texts(run_dir: Path, texts: List[str], data: Dict) -> torch.Tensor:
    path = run_dir / "vocab.json"
    if not path.is_file():
        raise DataError(f"{run_dir} has no vocab.json: it is not a text run")
    vocab = Vocab.from_json(path.read_text())
    max_len = int(data.get("options", {}).get("max_len") or 256)
    ids, _ = vocab.encode(texts, max_len)
    return ids


@torch.inference_mode()
def predict_run(run_dir, images: Optional[List[str]] = None, texts: Optional[List[str]] = None,
                top: int = 1) -> List[Dict]:
    run_dir = Path(run_dir)
    config = read_run_config(run_dir)
    data = config["data"]
    model = load_model(run_dir).eval()
    kind = data["kind"]
    if texts:
        if kind != "text":
            raise UsageError(f"--text needs a text run; {run_dir} was trained on {kind} data")
        x, labels = encode_texts(run_dir, texts, data), texts
    elif images:
        if kind != "image":
            raise UsageError(f"image files need an image run; {run_dir} was trained on {kind} data")
        x, labels = preprocess_images(load_images(images, data["input_shape"]), data), images
    else:
        raise UsageError("give image files or --text \"...\" to predict")
    probs = model(x).float().softmax(1)
    names = data.get("class_names") or [str(i) for i in range(probs.shape[1])]
    rows = []
    for label, p in zip(labels, probs):
        vals, idx = p.topk(min(top, p.numel()))
        rows.append({"input": label, "label": names[int(idx[0])], "probability": float(vals[0]),
                     "top": [{"label": names[int(i)], "probability": float(v)} for v, i in zip(vals, idx)]})
    return rows
