"""`archbench gradients MODEL... --data NAME` (or run directories): the vanishing-gradient study."""
from __future__ import annotations

from pathlib import Path
from typing import Any, Dict, List, Optional

import torch

from ..config import TrainConfig
from ..experiment.resolve import prepare, resolve_config
from ..rundir import load_run
from ..train.runtime import Runtime
from ..viz.gradients import gradient_study, write_gradient_study


def gradients_command(models: List[str], data: Optional[str], settings: Dict[str, Any], out: Path,
                      n: int = 256) -> Path:
    results: Dict[str, dict] = {}
    rt = Runtime(device=torch.device("cpu"), precision="fp32")
    for name in models:
        if Path(name).is_dir():  # a trained run: study its saved weights
            model, bundle, config = load_run(Path(name))
            label = f"{config['train']['model']} ({Path(name).name})"
        else:
            cfg = resolve_config(TrainConfig(model=name, data=data or "seq-sum", device="cpu"), dict(settings))
            bundle, model, _ = prepare(cfg, rt)
            label = name
        results[label] = gradient_study(model, bundle, n=n, seed=int(settings.get("seed", 0)))
    out.mkdir(parents=True, exist_ok=True)
    write_gradient_study(results, out)
    return out
