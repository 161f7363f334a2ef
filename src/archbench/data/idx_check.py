"""What makes an MNIST-format file right: its content, not its container's bytes.

A copy of MNIST or Fashion-MNIST re-compressed by another gzip (another level, name or time stamp
in the header) has another md5 than the one torchvision publishes, yet the same images. A file whose
md5 differs is therefore accepted when its decompressed content is what the data set holds: the idx
header's shape (60000 or 10000 images of 28x28, as many labels) and labels in 0..9.
"""
from __future__ import annotations

from pathlib import Path
from typing import Sequence

import numpy as np

from ..errors import DataError

SHAPES = ((60000, 28, 28), (60000,), (10000, 28, 28), (10000,))  # train images, labels, test images, labels


def check_idx_content(name: str, paths: Sequence[Path], arrays: Sequence[np.ndarray], unverified: Sequence[Path]
                      ) -> None:
    """Raise a one-line DataError naming the file whose content is not the data set's.
    ``unverified`` are the files whose checksum differed from the published one."""
    for p, a, want in zip(paths, arrays, SHAPES):
        if p not in unverified:
            continue
        if tuple(a.shape) != want:
            raise DataError(f"{p}: its checksum differs from {name}'s and its content is not {name}'s either "
                            f"(idx shape {tuple(a.shape)}, expected {want})")
        if a.ndim == 1 and int(a.max(initial=0)) > 9:
            raise DataError(f"{p}: its checksum differs from {name}'s and it holds label {int(a.max())} (0..9 expected)")


__all__ = ["check_idx_content", "SHAPES"]
