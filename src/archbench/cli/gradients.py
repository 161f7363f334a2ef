"""`archbench gradients MODEL... --data NAME` (or run directories): the vanishing-gradient study.

A demonstration must not depend on the accuracy recipe (which gives seq-sum's rnn an identity
recurrence and its lstm one layer, and so hides the lesson): unless ``recipe=True``, every model is
built in the notebook's set-up (4.3): torch's default initialisation, no chrono gate biases, 2 layers
and the same width for every model. ``--set`` values still win over it.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any, Dict, List, Optional

import torch

from ..config import TrainConfig
from ..experiment.resolve import prepare, resolve_config
from ..models import model_entry
from ..rundir import load_run
from ..train.runtime import Runtime
from ..viz.gradients import gradient_study, write_gradient_study

# the notebook's SimpleRNN / LSTM / GRU of Part 4: hidden 64, 2 layers, torch's initialisation
NOTEBOOK_SETUP = {"init": "default", "chrono": False, "num_layers": 2, "hidden_size": 64}


def notebook_settings(model: str, settings: Dict[str, Any]) -> Dict[str, Any]:
    """The notebook's set-up for the hyperparameters ``model`` has, under the user's own ``settings``."""

    hparams = model_entry(model).hparams()
    return {**{k: v for k, v in NOTEBOOK_SETUP.items() if k in hparams}, **settings}


def setup_line(recipe: bool, settings: Dict[str, Any]) -> str:
    """One sentence for the terminal and gradients.md saying how the models were built."""
    if recipe:
        return "Set-up: each model's training recipe for this data set (--recipe)."
    own = {k: v for k, v in settings.items() if k in NOTEBOOK_SETUP}
    told = f"; yours: {', '.join(f'{k}={v}' for k, v in own.items())}" if own else ""
    return ("Set-up: the notebook's (torch's default initialisation, no chrono gate biases, 2 layers, "
            f"width 64 for every model{told}), not the accuracy recipe; --recipe uses the recipe.")


def gradients_command(models: List[str], data: Optional[str], settings: Dict[str, Any], out: Path,
                      n: int = 256, recipe: bool = False) -> Path:
    results: Dict[str, dict] = {}
    rt = Runtime(device=torch.device("cpu"), precision="fp32")
    line = setup_line(recipe, settings)
    for name in models:
        if Path(name).is_dir():  # a trained run: study its saved weights
            model, bundle, config = load_run(Path(name))
            label = f"{config['train']['model']} ({Path(name).name})"
        else:
            chosen = dict(settings) if recipe else notebook_settings(name, dict(settings))
            cfg = resolve_config(TrainConfig(model=name, data=data or "seq-sum", device="cpu"), chosen)
            bundle, model, _ = prepare(cfg, rt)
            label = name
        results[label] = gradient_study(model, bundle, n=n, seed=int(settings.get("seed", 0)))
    out.mkdir(parents=True, exist_ok=True)
    write_gradient_study(results, out, setup=line)
    return out
