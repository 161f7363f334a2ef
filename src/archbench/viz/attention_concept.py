"""The notebook's 6.1 attention concept figure, and the two figures of trained runs that need no
training (convolution/pooling demo, positional encoding), for `archbench fundamentals`.

    attention_concept()  the query "sat" over "The cat sat on the mat": raw scores (6,) -> softmax
                         weights (6,), and weights of the same scores scaled by 4 (sharper: softmax
                         is not scale-free, hence the 1/sqrt(d_k) of scaled dot-product attention)
    draw_attention_concept(path, concept)  bars of each, on the Agg canvas
"""
from __future__ import annotations

from pathlib import Path
from typing import Dict, List

import torch
import torch.nn.functional as F
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from ..files import atomic_write

WORDS = ["The", "cat", "sat", "on", "the", "mat"]
QUERY = "sat"
# the notebook's simulated relevance of each word to the query "sat" (higher = more relevant)
SCORES = [0.1, 0.4, 1.0, 0.2, 0.05, 0.15]
SHARPEN = 4.0


def attention_concept() -> Dict[str, object]:
    scores = torch.tensor(SCORES)
    return {"words": list(WORDS), "query": QUERY, "scores": scores, "weights": F.softmax(scores, dim=0),
            "sharp_weights": F.softmax(SHARPEN * scores, dim=0)}


def attention_rows(concept: Dict[str, object]) -> List[Dict[str, object]]:
    return [{"word": w, "raw_score": f"{s:.2f}", "softmax_weight": f"{p:.3f}", f"weight_scores_x{SHARPEN:g}": f"{q:.3f}"}
            for w, s, p, q in zip(concept["words"], concept["scores"].tolist(), concept["weights"].tolist(),
                                  concept["sharp_weights"].tolist())]


def draw_attention_concept(path: Path, concept: Dict[str, object]) -> None:
    fig = Figure(figsize=(15, 4))
    FigureCanvasAgg(fig)
    words = concept["words"]
    x = range(len(words))
    panels = [(concept["scores"], f'Raw attention scores (query: "{concept["query"]}")', "score", "steelblue"),
              (concept["weights"], "Attention weights after softmax (sum to 1)", "weight", "coral"),
              (concept["sharp_weights"], f"Softmax of the scores x{SHARPEN:g}: sharper", "weight", "#8172b2")]
    for i, (values, title, ylabel, color) in enumerate(panels):
        ax = fig.add_subplot(1, 3, i + 1)
        ax.bar(x, values.numpy(), color=color)
        ax.set_xticks(list(x))
        ax.set_xticklabels(words)
        ax.set_title(title, fontsize=10)
        ax.set_ylabel(ylabel)
        for j, v in enumerate(values.tolist()):
            ax.text(j, v, f"{v:.2f}", ha="center", va="bottom", fontsize=8)
    fig.tight_layout()
    atomic_write(path, lambda tmp: fig.savefig(tmp, format="png", dpi=110))
