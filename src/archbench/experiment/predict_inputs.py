"""What each data kind reads for `archbench predict`: one small function per kind.

A reader turns the user's inputs into model input for a run and names each row:

    @register_reader("image")
    def read_images(ctx: PredictContext, inputs: PredictInputs) -> Tuple[torch.Tensor, List[str]]:
        ...  # (N, C, H, W) float32 normalised like training, and N row names

so a new kind (text:, table: loaders) plugs in with one function. Shapes as in data/base.py:
image (N, C, H, W) float32, sequence (N, T, F) float32, text (N, T) int64 ids (0 = padding).
Forecasts past the end of a series are not read here: see ``predict.forecast_future``.
"""
from __future__ import annotations

import csv
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Dict, List, Optional, Tuple

import numpy as np
import torch
from PIL import Image, UnidentifiedImageError

from ..data import load_data
from ..data.text import Vocab
from ..errors import DataError, UsageError

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp", ".gif", ".tif", ".tiff", ".webp")


@dataclass
class PredictInputs:
    """What the user gave: files/folders, raw strings, a text file (one input a line), a CSV + column."""

    paths: List[str] = field(default_factory=list)
    texts: List[str] = field(default_factory=list)
    text_file: Optional[str] = None
    csv: Optional[str] = None
    column: Optional[str] = None

    def empty(self) -> bool:
        return not (self.paths or self.texts or self.text_file or self.csv)


@dataclass
class PredictContext:
    """The run being predicted with: its directory, config.json's "data", and a lazily reloaded bundle
    (for kinds whose scaling lives in the loader, such as UCR's channel statistics)."""

    run_dir: Path
    data: Dict[str, Any]
    config: Dict[str, Any]
    _bundle: Any = None

    def bundle(self):
        if self._bundle is None:
            t = self.config["train"]
            self._bundle = load_data(t["data"], data_dir=t.get("data_dir"), seed=t.get("data_seed", 0),
                                     **(t.get("data_args") or {}))
        return self._bundle


Reader = Callable[[PredictContext, PredictInputs], Tuple[torch.Tensor, List[str]]]
READERS: Dict[str, Reader] = {}


def register_reader(kind: str):
    """Decorator: the function that reads prediction inputs for data of ``kind``."""
    def wrap(fn: Reader) -> Reader:
        READERS[kind] = fn
        return fn
    return wrap


def read_inputs(ctx: PredictContext, inputs: PredictInputs) -> Tuple[torch.Tensor, List[str]]:
    kind = ctx.data["kind"]
    if kind not in READERS:
        raise UsageError(f"predict cannot read inputs for {kind} runs yet (it reads: {', '.join(sorted(READERS))})")
    return READERS[kind](ctx, inputs)


# ---------------------------------------------------------------- shared encoders

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


# ---------------------------------------------------------------- CSV helpers

def read_csv_rows(path: str) -> Tuple[Optional[List[str]], List[List[str]]]:
    """(header or None, rows) of a CSV file; a first row without any number is a header."""
    try:
        with open(Path(path).expanduser(), newline="", encoding="utf-8-sig") as f:
            rows = [r for r in csv.reader(f) if r and any(c.strip() for c in r)]
    except OSError as e:
        raise DataError(f"cannot read {path}: {e.strerror}") from None
    except UnicodeDecodeError as e:
        raise DataError(f"{path} is not UTF-8 text ({e.reason} at byte {e.start})") from None
    if not rows:
        raise DataError(f"{path} is empty")
    header = None
    if not any(_number(c) for c in rows[0]) and len(rows) > 1:
        header, rows = [c.strip() for c in rows[0]], rows[1:]
    return header, rows


def _number(s: str) -> bool:
    try:
        float(s)
        return True
    except ValueError:
        return False


def column_index(path: str, header: Optional[List[str]], column: Optional[str], width: int) -> int:
    if column is None:
        raise UsageError(f"say which column of {path} to read: --column NAME")
    if header is not None and column.lower() in [h.lower() for h in header]:
        return [h.lower() for h in header].index(column.lower())
    if column.lstrip("-").isdigit() and -width <= int(column) < width:
        return int(column) % width
    names = f"; columns: {', '.join(header)}" if header else f"; it has {width} columns"
    raise DataError(f"{path} has no column {column!r}{names}")


# ---------------------------------------------------------------- images

def image_files(paths: List[str]) -> List[str]:
    """Files as given, folders expanded to their image files (sorted, recursively)."""
    out: List[str] = []
    for p in paths:
        path = Path(p)
        if path.is_dir():
            found = sorted(str(f) for f in path.rglob("*") if f.suffix.lower() in IMAGE_SUFFIXES and f.is_file())
            if not found:
                raise DataError(f"folder {p} holds no image files ({', '.join(IMAGE_SUFFIXES)})")
            out += found
        else:
            out.append(p)
    return out


@register_reader("image")
def read_images(ctx: PredictContext, inputs: PredictInputs):
    if not inputs.paths:
        raise UsageError("give image files or folders to predict with an image run")
    files = image_files(inputs.paths)
    return preprocess_images(load_images(files, ctx.data["input_shape"]), ctx.data), files


# ---------------------------------------------------------------- text

def gather_texts(inputs: PredictInputs) -> List[str]:
    """--text strings, then the lines of --text-file, then the --column of --csv."""
    texts = list(inputs.texts)
    if inputs.text_file:
        try:
            lines = Path(inputs.text_file).expanduser().read_text(encoding="utf-8").splitlines()
        except OSError as e:
            raise DataError(f"cannot read {inputs.text_file}: {e.strerror}") from None
        except UnicodeDecodeError as e:
            raise DataError(f"{inputs.text_file} is not UTF-8 text ({e.reason} at byte {e.start})") from None
        texts += [t for t in lines if t.strip()]
    if inputs.csv:
        header, rows = read_csv_rows(inputs.csv)
        idx = column_index(inputs.csv, header, inputs.column, len(rows[0]))
        texts += [r[idx] if idx < len(r) else "" for r in rows]
    if not texts:
        raise UsageError('give --text "...", --text-file FILE or --csv FILE --column NAME to predict with a text run')
    return texts


@register_reader("text")
def read_texts(ctx: PredictContext, inputs: PredictInputs):
    if inputs.paths:
        raise UsageError("a text run takes --text, --text-file or --csv, not positional files")
    texts = gather_texts(inputs)
    return encode_texts(ctx.run_dir, texts, ctx.data), texts


# ---------------------------------------------------------------- sequences

@register_reader("sequence")
def read_sequences(ctx: PredictContext, inputs: PredictInputs):
    """--csv FILE: one series a row, T*F numbers in time order (features of a step together); shorter
    rows are right-padded after scaling, as the UCR loader pads. A non-numeric first column names rows."""
    if not inputs.csv:
        raise UsageError("give --csv FILE (one series a row) to predict with a sequence run")
    t_len, feats = (int(v) for v in ctx.data["input_shape"])
    header, rows = read_csv_rows(inputs.csv)
    named = not _number(rows[0][0])
    names, values = [], np.zeros((len(rows), t_len, feats), dtype=np.float32)
    stats = ctx.bundle().extras.get("channel_stats")
    mean = np.asarray(stats[0] if stats else np.zeros(feats), dtype=np.float64)
    std = np.asarray(stats[1] if stats else np.ones(feats), dtype=np.float64)
    for i, row in enumerate(rows):
        cells = row[1:] if named else row
        try:
            v = np.array([float(c) for c in cells if c.strip()], dtype=np.float64)
        except ValueError:
            raise DataError(f"{inputs.csv} line {i + 1 + (header is not None)}: a cell is not a number") from None
        if v.size % feats or v.size // feats > t_len or v.size == 0:
            raise DataError(f"{inputs.csv} line {i + 1 + (header is not None)}: {v.size} numbers; a series of this run is "
                            f"at most {t_len} steps x {feats} feature(s)")
        steps = v.reshape(-1, feats)
        values[i, : len(steps)] = (steps - mean) / std
        names.append(row[0] if named else f"row {i + 1}")
    return torch.from_numpy(values), names


__all__ = ["PredictInputs", "PredictContext", "register_reader", "read_inputs", "READERS", "image_files",
           "gather_texts", "read_csv_rows"]
