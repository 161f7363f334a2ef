"""Export a trained run: ONNX (checked against PyTorch with onnxruntime) or a ``torch.export`` program.

Inputs follow the run's data kind (see :mod:`archbench.data.base`):
    image:    (B, C, H, W) float32, already normalised like the training split
    sequence: (B, T, F) float32        forecast: (B, T, F) float32 (scaled like training)
    text:     (B, T) int64 token ids, 0 = padding
The batch axis is dynamic (and the time axis of sequences and texts), so one file serves any batch.
Outputs: (B, classes) logits, or (B, horizon) forecasts.

Baselines keep the no-pickle rule: they are refitted from the run's data and seed and converted with
skl2onnx where it supports the estimator; otherwise the export is refused in one line.
"""
from __future__ import annotations

import io
import json
import warnings
from pathlib import Path
from typing import Any, Dict, Optional, Tuple

import torch

from ..baseline_runs import baseline_name
from ..errors import UsageError
from ..files import atomic_write, atomic_write_bytes, atomic_write_text
from ..train.checkpoint import load_model
from ..train.run import read_run_config

FORMATS = ("onnx", "torch-export")
INSTALL_HINT = "ONNX export needs onnx and onnxruntime: pip install 'archbench[export]'"


def example_input(data: Dict[str, Any], batch: int = 2, seed: int = 0) -> torch.Tensor:
    """A seeded example batch shaped like the run's inputs (``data`` = config.json's "data")."""
    g = torch.Generator().manual_seed(seed)
    shape = [int(s) for s in data["input_shape"]]
    if data["kind"] == "text":
        vocab = int(data.get("vocab_size") or 2)
        x = torch.randint(1, max(vocab, 2), (batch, shape[0]), generator=g)
        x[0, shape[0] // 2:] = 0  # one padded row: the exported mask path is exercised too
        return x
    return torch.randn(batch, *shape, generator=g)


def takes_any_length(model: torch.nn.Module, x: torch.Tensor, kind: str) -> bool:
    """Whether the time axis can be dynamic: recurrent and attention models take any length, an MLP
    over a flattened sequence does not (probed with a shorter input)."""
    if kind == "image" or x.shape[1] < 2:
        return False
    try:
        with torch.inference_mode():
            model(x[:, : x.shape[1] - 1])
        return True
    except RuntimeError:
        return False


def dynamic_axes(model: torch.nn.Module, x: torch.Tensor, kind: str) -> Dict[str, Dict[int, str]]:
    axes = {0: "batch", 1: "time"} if takes_any_length(model, x, kind) else {0: "batch"}
    return {"input": axes, "output": {0: "batch"}}


def warm_caches(model: torch.nn.Module, x: torch.Tensor) -> None:
    """Run once before tracing: the Transformer's positional table is a cache grown on demand, and
    growing it inside a trace would bake one length in (or mutate module state under torch.export)."""
    with torch.inference_mode():
        model(x)
        # grow it beyond any length the exported graph is likely to meet
        for m in model.modules():
            if hasattr(m, "_pe") and hasattr(m, "d_model"):
                from ..models.transformer import positional_encoding

                n = max(int(m._pe.shape[0]), 4096)
                m._pe = positional_encoding(n, m.d_model, x.device, torch.float32)


def onnx_modules():
    try:
        import onnx  # noqa: F401
        import onnxruntime  # noqa: F401
    except ImportError:
        raise UsageError(INSTALL_HINT) from None
    return onnx, onnxruntime


def export_onnx(model: torch.nn.Module, x: torch.Tensor, path: Path, kind: str) -> Path:
    """Write an ONNX file for ``model`` on inputs like ``x`` (TorchScript-based exporter, opset 17)."""
    onnx_modules()
    model = model.eval()
    warm_caches(model, x)

    def write(tmp):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # tracer warnings about Python bools in shape checks
            torch.onnx.export(model, (x,), tmp, input_names=["input"], output_names=["output"],
                              dynamic_axes=dynamic_axes(model, x, kind), opset_version=17, dynamo=False)

    atomic_write(Path(path), write)
    return Path(path)


def export_program(model: torch.nn.Module, x: torch.Tensor, path: Path, kind: str) -> Path:
    """Write a ``torch.export`` program (``.pt2``, loadable with ``torch.export.load``); batch is dynamic."""
    model = model.eval()
    warm_caches(model, x)
    batch = torch.export.Dim("batch", min=1)
    try:
        prog = torch.export.export(model, (x,), dynamic_shapes=({0: batch},))
    except Exception as e:  # noqa: BLE001 - the exporter raises many types; one line for the user
        first = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
        raise UsageError(f"torch.export cannot capture this model ({type(e).__name__}: {first}); "
                         "use --format onnx") from None
    buf = io.BytesIO()  # torch.export.save wants a .pt2 name or a buffer; the atomic temp name is neither
    torch.export.save(prog, buf)
    atomic_write_bytes(Path(path), buf.getvalue())
    return Path(path)


def onnx_outputs(path: Path, x: torch.Tensor):
    """Run the ONNX file with onnxruntime on ``x``: (B, out) numpy array."""
    _, ort = onnx_modules()
    sess = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    return sess.run(None, {sess.get_inputs()[0].name: x.numpy()})[0]


def check_onnx(model: torch.nn.Module, path: Path, x: torch.Tensor) -> float:
    """Largest absolute difference between PyTorch's and onnxruntime's outputs on ``x``."""
    with torch.inference_mode():
        want = model.eval()(x).float().numpy()
    got = onnx_outputs(path, x)
    if got.shape != want.shape:
        raise UsageError(f"exported model gives shape {got.shape}, PyTorch {want.shape}")
    return float(abs(got - want).max())


def export_sklearn(estimator, n_features: int, path: Path) -> Path:
    """A fitted scikit-learn estimator on (B, n_features) float32 rows -> ONNX through skl2onnx; an
    estimator skl2onnx has no converter for is a one-line "not exportable". For the tabular baselines
    (gradient boosting, logistic/linear regression), which skl2onnx supports."""
    try:
        from skl2onnx import convert_sklearn
        from skl2onnx.common.data_types import FloatTensorType
    except ImportError:
        raise UsageError("exporting a baseline needs skl2onnx: pip install 'archbench[export]'") from None
    try:
        onx = convert_sklearn(estimator, initial_types=[("input", FloatTensorType([None, int(n_features)]))],
                              options={id(estimator): {"zipmap": False}} if hasattr(estimator, "predict_proba") else None)
    except Exception as e:  # noqa: BLE001 - skl2onnx raises RuntimeError/NameError/... for unsupported models
        raise UsageError(f"{type(estimator).__name__} is not exportable to ONNX ({str(e).splitlines()[0][:120]})") from None
    atomic_write_bytes(Path(path), onx.SerializeToString())
    return Path(path)


def export_baseline(run_dir: Path, config: Dict[str, Any], fmt: str, out: Optional[Path]) -> Path:
    """Baselines: skl2onnx where it can convert the fitted estimator, else a one-line refusal."""
    name = baseline_name(config)
    if name == "bow":
        # bow tokenises with archbench's own Python tokenizer, which skl2onnx's TfidfVectorizer converter
        # cannot express (it supports only regex token patterns), so its pipeline has no ONNX form
        raise UsageError("baseline 'bow' is not exportable: its TF-IDF step uses archbench's Python tokenizer, "
                         "which ONNX cannot express; use `archbench predict` on the run instead")
    raise UsageError(f"baseline {name!r} is not exportable")


def export_run(run_dir, fmt: str = "onnx", out: Optional[str] = None, check: bool = True) -> Tuple[Path, Dict]:
    """Export RUN_DIR's model; returns (file, info) where info holds the format, input and, for ONNX,
    the largest difference from PyTorch on a seeded example batch."""
    if fmt not in FORMATS:
        raise UsageError(f"unknown export format {fmt!r}; choose from {', '.join(FORMATS)}")
    run_dir = Path(run_dir)
    config = read_run_config(run_dir)
    data = config["data"]
    if baseline_name(config):
        return export_baseline(run_dir, config, fmt, out), {}
    model = load_model(run_dir).eval()
    x = example_input(data)
    suffix = ".onnx" if fmt == "onnx" else ".pt2"
    path = Path(out) if out else run_dir / f"model{suffix}"
    info: Dict[str, Any] = {"format": fmt, "kind": data["kind"], "input_shape": ["batch", *data["input_shape"]],
                            "input_dtype": str(x.dtype).replace("torch.", ""), "file": str(path)}
    if data["kind"] == "image":
        info["input_note"] = "float32, scaled to [0, 1] then normalised with mean/std below"
        info["mean"], info["std"] = data.get("mean"), data.get("std")
    if fmt == "onnx":
        export_onnx(model, x, path, data["kind"])
        if check:
            info["max_abs_diff_vs_torch"] = check_onnx(model, path, x)
    else:
        export_program(model, x, path, data["kind"])
    atomic_write_text(path.with_suffix(path.suffix + ".json"), json.dumps(info, indent=2))
    return path, info


__all__ = ["FORMATS", "example_input", "export_sklearn", "export_onnx", "export_program", "check_onnx", "onnx_outputs", "export_run"]
