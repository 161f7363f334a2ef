"""`archbench summary MODEL --data NAME`: the layer table of any registered model."""
from __future__ import annotations

from typing import Any, Dict

import torch

from ..config import TrainConfig
from ..data.base import example_input
from ..experiment.resolve import prepare, resolve_config
from ..models.summary import format_summary, layer_summary, summary_markdown
from ..train.runtime import Runtime


def summary_command(model: str, data: str, settings: Dict[str, Any], markdown: bool = False) -> str:
    cfg = resolve_config(TrainConfig(model=model, data=data, device="cpu"), settings)
    bundle, net, _ = prepare(cfg, Runtime(device=torch.device("cpu"), precision="fp32"))
    rows = layer_summary(net.eval(), example_input(bundle))
    title = f"{model} on {data}: input {tuple(bundle.input_shape)}, {bundle.num_classes} outputs\n"
    return title + (summary_markdown(rows) if markdown else format_summary(rows))
