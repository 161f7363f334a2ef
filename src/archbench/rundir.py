"""The run directory: what archbench writes on disk, and reading it back.

Every directory archbench writes (a run, a comparison, an explanation, ...) holds ``archbench.json``::

    {"type": "run", "title": "cnn on digits", "created": "...", "version": "0.2.0", "format": 1}

``type`` says what the directory is; ``format`` is the version of its layout. A directory written
before ``format`` existed reads as format 0, which this release still reads; a newer format than
``FORMAT`` is refused in one line rather than misread.

A run directory (``--out DIR``, default ``runs/<model>-<data>-<time>``)::

    archbench.json        what this directory is (type "run")
    config.json           the resolved config, model architecture, data description, versions
    history.csv           one row per epoch, rewritten atomically each epoch
    checkpoint.safetensors  everything needed to resume (written every epoch, atomically)
    model.safetensors + model.json   the final (best) weights and what builds them
    metrics.json          test metrics, best epoch, time, speed, costs
    history.png, confusion.png, classification_report.txt, figures.json, report.html
"""
from __future__ import annotations

import platform
import sys
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Dict, Optional

import torch

from . import __version__
from .config import TrainConfig, read_json_object
from .data import load_data
from .errors import CheckpointError, UsageError
from .files import lock_dir, safe_name
from .train.checkpoint import load_model
from .train.loop import CHECKPOINT

FORMAT = 1  # the layout version written into archbench.json; 0 = written before the field existed
FINISHED_MARKER = "metrics.json"  # a run writes it after its model, history and predictions (only figures.json
# and report.html, which `archbench report` can rebuild, come after it)


def run_state(run_dir: Path) -> Optional[str]:
    """"finished" (it wrote metrics.json), "interrupted" (a checkpoint and no metrics) or None."""
    if (Path(run_dir) / FINISHED_MARKER).is_file():
        return "finished"
    return "interrupted" if (Path(run_dir) / CHECKPOINT).is_file() else None


def refuse_interrupted(out: Path) -> None:
    if run_state(out) == "interrupted":
        raise UsageError(f"{out} holds an interrupted run: continue it with `archbench train --resume {out}`, "
                         f"or choose another --out (a new run there would replace its checkpoint)")


def default_run_dir(cfg: TrainConfig) -> Path:
    safe = safe_name(cfg.data.split("/")[-1])
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
            "version": __version__, "format": FORMAT}


def read_marker(directory: Path) -> Dict[str, Any]:
    """The ``archbench.json`` of DIRECTORY; a layout newer than this release reads is refused in one line."""
    held = read_json_object(Path(directory) / "archbench.json")
    fmt = held.get("format", 0)
    if not isinstance(fmt, int) or fmt > FORMAT:
        raise CheckpointError(f"{directory} was written in directory format {fmt!r}, newer than this archbench "
                              f"({__version__}) reads (format {FORMAT}); upgrade archbench to read it")
    return held


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
            held = read_marker(out).get("type")
        except CheckpointError:
            held = "unreadable"
        if held != kind:
            raise UsageError(f"--out {out} already holds an archbench {held} directory; choose another folder")
    if not create:
        return out
    try:
        out.mkdir(parents=True, exist_ok=True)
        lock_dir(out)  # one writer per directory, held until the process ends (or release_dir)
    except OSError as e:
        raise UsageError(f"cannot create --out {out}: {e.strerror or e}") from None
    return out


def read_run_config(run_dir: Path) -> Dict[str, Any]:
    run_dir = Path(run_dir)
    if not run_dir.is_dir():
        raise CheckpointError(f"{run_dir} is not a directory")
    marker_path, cfg_path = run_dir / "archbench.json", run_dir / "config.json"
    try:
        kind = read_marker(run_dir).get("type")
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


def load_run(run_dir: Path, device: str = "cpu"):
    """(model, bundle, config) of a finished run: weights from model.safetensors."""
    config = read_run_config(run_dir)
    cfg = TrainConfig.from_dict(config["train"])
    bundle = load_data(cfg.data, data_dir=cfg.data_dir, seed=cfg.data_seed, **cfg.data_args)
    model = load_model(Path(run_dir), device=device)
    return model, bundle, config
