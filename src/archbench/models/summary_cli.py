"""`archbench summary MODEL --data NAME`: the layer table of any registered model."""
from __future__ import annotations

from typing import Any, Dict

import torch


def example_input(bundle, n: int = 2) -> torch.Tensor:
    """A real batch of model input from the test split (token ids for text, floats otherwise)."""
    from ..data.base import trim_padding

    split = bundle.test
    idx = torch.arange(min(n, len(split)))
    x = split.x[idx]
    if split.lengths is not None:
        x = trim_padding(x, split.lengths[idx])
    return bundle.preprocess(x)


def summary_command(model: str, data: str, settings: Dict[str, Any], markdown: bool = False) -> str:
    from ..config import TrainConfig
    from ..train.run import prepare, resolve_config
    from ..train.runtime import Runtime
    from .summary import format_summary, layer_summary, summary_markdown

    cfg = resolve_config(TrainConfig(model=model, data=data, device="cpu"), settings)
    bundle, net, _ = prepare(cfg, Runtime(device=torch.device("cpu"), precision="fp32"))
    rows = layer_summary(net.eval(), example_input(bundle))
    title = f"{model} on {data}: input {tuple(bundle.input_shape)}, {bundle.num_classes} outputs\n"
    return title + (summary_markdown(rows) if markdown else format_summary(rows))
