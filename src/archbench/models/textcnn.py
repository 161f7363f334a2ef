"""Kim's CNN for sentence classification (Kim 2014, the randomly initialised "CNN-rand").

    x (B, T) int64 token ids, 0 = padding -> Embedding (B, T, E), random init, trained
      -> per filter width k in (3, 4, 5): Conv1d E -> 100 maps (B, 100, T-k+1) -> ReLU
      -> max over the real positions only (padding never wins the max) -> (B, 100)
      -> concat (B, 300) -> dropout 0.5 -> Linear -> (B, num_classes)

A text shorter than the widest filter is padded up to it, so every width has one position.
No pretrained embeddings: the paper's CNN-rand, not its word2vec variants.
"""
from __future__ import annotations

from typing import Sequence

import torch
import torch.nn as nn
import torch.nn.functional as F

from . import register_model

# The paper's batch of 50 and dropout; AdamW with a little weight decay in place of its Adadelta and max-norm
# of 3 (what archbench's other text models use). One run on SST-2 measured, no search yet
# (docs/measurements.md, "Recipes for series and sentences").
KIM_RECIPE = {
    "text": dict(optimizer="adamw", lr=1e-3, weight_decay=1e-4, scheduler="onecycle", epochs=4, batch_size=50,
                 patience=2, grad_clip=None, label_smoothing=0.0, augment="none"),
}


@register_model("kimcnn", ("text",), "conv1d",
                "Kim's CNN for sentences (2014): random embeddings, widths 3/4/5 x 100 maps, max-over-time, dropout 0.5",
                recipe=KIM_RECIPE,
                search_space={"lr": ("log", 3e-4, 3e-3), "dropout": ("float", 0.2, 0.6),
                              "maps": ("choice", [100, 200]), "embed_dim": ("choice", [128, 300])})
class KimCNN(nn.Module):
    def __init__(self, meta, embed_dim: int = 300, widths: Sequence[int] = (3, 4, 5), maps: int = 100,
                 dropout: float = 0.5):
        super().__init__()
        if not widths or min(widths) < 1:
            raise ValueError("widths must list filter widths of at least 1")
        self.widths = tuple(int(k) for k in widths)
        self.embed = nn.Embedding(int(meta["vocab_size"]), embed_dim, padding_idx=0)
        self.convs = nn.ModuleList(nn.Conv1d(embed_dim, maps, k) for k in self.widths)
        self.drop = nn.Dropout(dropout)
        self.fc = nn.Linear(maps * len(self.widths), int(meta["num_classes"]))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        lengths = (x != 0).sum(1).clamp(min=1)  # (B,) real tokens (right padding)
        kmax = max(self.widths)
        if x.shape[1] < kmax:
            x = F.pad(x, (0, kmax - x.shape[1]))
        e = self.embed(x).transpose(1, 2)  # (B, E, T)
        pooled = []
        for k, conv in zip(self.widths, self.convs):
            h = torch.relu(conv(e))  # (B, maps, T-k+1)
            # position t sees tokens t..t+k-1: real if it starts inside the text (the first always counts)
            pos = torch.arange(h.shape[-1], device=x.device)
            real = pos[None, :] < (lengths - k + 1).clamp(min=1)[:, None]  # (B, T-k+1)
            pooled.append(h.masked_fill(~real[:, None, :], float("-inf")).amax(-1))
        return self.fc(self.drop(torch.cat(pooled, dim=1)))
