"""The augmentation gallery: a few training images, each beside what --augment makes of it."""
from __future__ import annotations

from pathlib import Path
from typing import Optional

import torch

from ..data.augment import Augment
from .canvas import plt  # Figure objects: the user's backend is left alone


def augmentation_gallery(x_few: torch.Tensor, fn: Augment, out_png, n: int = 8,
                         generator: Optional[torch.Generator] = None, title: str = "Data augmentation examples"):
    """Figure: each row one image of x_few (up to 6), its original then n augmented versions.

    Returns the figures.json entry {"file", "title", "caption"}.
    """

    x_few = x_few[:6].float().cpu()
    rows = x_few.shape[0]
    aug = [fn(x_few, generator).cpu() for _ in range(n)]  # n draws of the whole small batch
    fig, axes = plt.subplots(rows, n + 1, figsize=(1.3 * (n + 1), 1.4 * rows + 0.5), squeeze=False)
    for r in range(rows):
        lo, hi = x_few[r].min(), x_few[r].max()  # one scale per row: the original's range
        for k, img in enumerate([x_few[r]] + [a[r] for a in aug]):
            img = ((img - lo) / (hi - lo + 1e-8)).clamp(0, 1)
            ax = axes[r][k]
            if img.shape[0] == 1:
                ax.imshow(img[0].numpy(), cmap="gray", vmin=0, vmax=1)
            else:
                ax.imshow(img[:3].permute(1, 2, 0).numpy())
            ax.set_xticks([]), ax.set_yticks([])
            if r == 0:
                ax.set_title("original" if k == 0 else f"augmented {k}", fontsize=8)
    fig.suptitle(title, fontsize=12)
    fig.tight_layout()
    out_png = Path(out_png)
    fig.savefig(out_png, dpi=120)
    plt.close(fig)
    return {
        "file": out_png.name,
        "title": title,
        "caption": "Left column: training images as the model would see them without augmentation; the others: "
                   "random versions drawn each epoch. Labels must still be obvious -- if a digit becomes "
                   "ambiguous the augmentation is too strong.",
    }
