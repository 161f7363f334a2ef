"""archbench's Python API: the same jobs as the command line, as functions that return results.

    train_model(TrainConfig(model="cnn", data="digits"))  -> RunResult     (archbench train)
    compare_models(["mlp", "cnn"], data="digits")          -> ComparisonResult (archbench compare)
    evaluate_run(run_dir)                                   -> Record         (archbench evaluate)
    predict(run_dir, images=[...] | texts=[...])            -> list of Record  (archbench predict)
    explain_run(run_dir)                                    -> Path           (archbench explain)
    draw_fundamentals(out_dir)                              -> Path           (archbench fundamentals)
    load_run(run_dir)                                       -> (model, bundle, config)

Names end in what they act on (``train_model``, ``evaluate_run``) so that none shadows a subpackage
(``archbench.train`` is the training engine).
"""
from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Any, Dict, List, Optional, Sequence, Union

from ..report.html import build_report
from ..viz.explain import write_explain
from ..viz.fundamentals import write_fundamentals
from .compare import compare
from .plan import Plan, pair_models, parse_seeds, parse_sweep
from .predict import predict_run
from .results import ComparisonResult, Record
from .run import evaluate_run as _evaluate_run

PathLike = Union[str, Path]


def compare_models(models: Sequence[str] = (), data: Union[str, Sequence[str]] = (), seeds: Sequence[int] = (0,),
                   out: Optional[PathLike] = None, sweep: Optional[str] = None, budget: Optional[Dict[str, Any]] = None,
                   jobs: int = 1, resume: bool = False, tune_trials: int = 0, quiet: bool = True,
                   **settings: Any) -> ComparisonResult:
    """Train every model on every data set with the same seeds and budget; write the comparison folder.

    ``models``/``data`` as on the command line (empty: the default zoo of ``make demo``); ``sweep`` like
    ``"seq_len=50,100"``; ``budget`` one of ``{"epochs": N}``, ``{"max_seconds": S}``, ``{"max_steps": K}``;
    ``settings`` any config field, hyperparameter or data option (``threads=1``, ``hidden_size=64``).
    Returns the per-run rows and the folder (tables, figures, ``report.html``)."""
    datas = [data] if isinstance(data, str) else list(data)
    if "epochs" in settings and not budget:  # the same epochs for every model is a budget, as on the command line
        budget = {"epochs": settings.pop("epochs")}
    key, values = parse_sweep(sweep)
    plan = Plan(pair_models(list(models), datas), parse_seeds(",".join(map(str, seeds)), None), dict(budget or {}),
                key, values)
    out = Path(out) if out else Path("runs") / f"compare-{datetime.now():%Y%m%d-%H%M%S}"
    log = (lambda s: None) if quiet else None
    return compare(plan, dict(settings), out, tune_trials=tune_trials, jobs=jobs, resume=resume,
                   **({"log": log} if log else {}))


def evaluate_run(run_dir: PathLike, device: str = "auto") -> Record:
    """Test loss and accuracy (or MAE/RMSE) of a finished run, recomputed from its saved weights."""
    return Record(_evaluate_run(Path(run_dir), device=device))


def predict(run_dir: PathLike, images: Optional[List[str]] = None, texts: Optional[List[str]] = None,
            top: int = 1) -> List[Record]:
    """The run's predictions for image files or texts: one Record per input (label, probability, top-k)."""
    return [Record(r) for r in predict_run(Path(run_dir), images=images, texts=texts, top=top)]


def explain_run(run_dir: PathLike, out_dir: Optional[PathLike] = None, n_examples: int = 8, seed: int = 0) -> Path:
    """Draw what a finished run's model learned (filters, feature maps, attention, gradients); the folder."""
    return write_explain(Path(run_dir), out_dir=out_dir, n_examples=n_examples, seed=seed)


def draw_fundamentals(out_dir: PathLike = "runs/fundamentals", progress: bool = False) -> Path:
    """Every figure and table of the notebook's Part 1 (activations, losses, optimisers, ...) into out_dir."""
    out = write_fundamentals(out_dir, progress=progress)
    build_report(out)
    return Path(out)
