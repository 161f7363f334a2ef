"""Image classification data: digits (offline), MNIST, Fashion-MNIST, CIFAR-10.

Every loader returns uint8 tensors x (N, C, H, W) and int64 labels; ``DataBundle.preprocess``
normalises batches on the device with mean/std measured on the training split (after the
validation split is taken out, so validation never leaks into the statistics).

Validation is a seeded 10% of the training split (the notebook's 90/10); the test split is the
data set's own (digits has none, so a fixed 20% of it is held out).
"""
from __future__ import annotations

import gzip
import hashlib
import importlib.util
import os
from pathlib import Path
from typing import List, Optional, Tuple

import numpy as np
import torch
import torchvision.datasets as tvd
from sklearn.datasets import load_digits as sk_digits

from ..errors import DataError
from . import register_dataset
from .base import DataBundle, Split, channel_stats, split_off
from .idx_check import check_idx_content

VAL_FRACTION = 0.1


def default_root(data_dir: Optional[str]) -> Path:
    if data_dir:
        return Path(data_dir).expanduser()
    return Path(os.environ.get("ARCHBENCH_DATA", Path.home() / ".cache" / "archbench" / "data"))


def image_bundle(name, x_train, y_train, x_test, y_test, class_names, seed, options=None) -> DataBundle:
    """Seeded 90/10 train/val split, statistics from the remaining train part."""
    tr, va = split_off(len(x_train), [1 - VAL_FRACTION, VAL_FRACTION], seed)
    train = Split(x_train[tr], y_train[tr])
    mean, std = channel_stats(train.x)
    return DataBundle(
        name=name, kind="image", train=train, val=Split(x_train[va], y_train[va]), test=Split(x_test, y_test),
        input_shape=tuple(x_train.shape[1:]), num_classes=len(class_names), class_names=list(class_names),
        mean=mean, std=std, options=dict(options or {}),
    )


def read_sklearn_digits() -> Tuple[np.ndarray, np.ndarray]:
    """scikit-learn's digits as (images (1797, 8, 8) float 0..16, target (1797,)), read from the CSV that
    scikit-learn ships, as its ``load_digits`` does: importing ``sklearn.datasets`` first pulls in SciPy,
    which costs far more (docs/measurements.md). Falls back to that import if the file has moved."""
    spec = importlib.util.find_spec("sklearn")
    path = Path(spec.submodule_search_locations[0]) / "datasets" / "data" / "digits.csv.gz" if spec else None
    if path is None or not path.is_file():
        d = sk_digits()
        return d.images, d.target
    data = np.loadtxt(path, delimiter=",")
    return data[:, :-1].reshape(-1, 8, 8), data[:, -1].astype(np.int64)


@register_dataset("digits", "image", "scikit-learn's bundled 8x8 handwritten digits (1,797 images; no download)")
def load_digits(*, data_dir=None, seed=0) -> DataBundle:
    images, target = read_sklearn_digits()
    # pixel values are 0..16; put them on the 0..255 scale of every other image set
    x = torch.from_numpy(np.clip(images * 16, 0, 255).astype(np.uint8)).unsqueeze(1)
    y = torch.from_numpy(target.astype(np.int64))
    rest, test = split_off(len(x), [0.8, 0.2], 12345)  # fixed: the test set never moves with the seed
    return image_bundle("digits", x[rest], y[rest], x[test], y[test], [str(i) for i in range(10)], seed)


# ---------------------------------------------------------------- MNIST-format (idx) data sets

_IDX = {
    "mnist": ("MNIST", "https://ossci-datasets.s3.amazonaws.com/mnist/", [str(i) for i in range(10)]),
    "fashion-mnist": (
        "FashionMNIST",
        "http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/",
        ["T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot"],
    ),
}
_IDX_FILES = ("train-images-idx3-ubyte", "train-labels-idx1-ubyte", "t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte")


def _md5s(folder: str) -> dict:
    """The checksums torchvision publishes for these files (file name -> md5)."""

    cls = tvd.MNIST if folder == "MNIST" else tvd.FashionMNIST
    return {fname: md5 for fname, md5 in cls.resources}


def read_idx(path: Path) -> np.ndarray:
    """Parse an idx file (optionally gzipped): magic, dims, then big-endian uint8 data."""
    opener = gzip.open if path.suffix == ".gz" else open
    try:
        with opener(path, "rb") as f:
            data = f.read()
        magic = int.from_bytes(data[:4], "big")
        if magic >> 8 != 0x08:  # 0x08 = unsigned byte data
            raise ValueError(f"bad magic {magic:#x}")
        ndim = magic & 0xFF
        dims = [int.from_bytes(data[4 + 4 * i : 8 + 4 * i], "big") for i in range(ndim)]
        arr = np.frombuffer(data, dtype=np.uint8, offset=4 + 4 * ndim)
        return arr.reshape(dims)
    except (OSError, ValueError, EOFError) as e:
        raise DataError(f"corrupt data file {path}: {e}") from None


def _find_idx(root: Path, folder: str) -> Optional[List[Path]]:
    for raw in (root / folder / "raw", root / folder, root):
        found = []
        for stem in _IDX_FILES:
            for cand in (raw / (stem + ".gz"), raw / stem):
                if cand.exists():
                    found.append(cand)
                    break
        if len(found) == 4:
            return found
    return None


def _verify(paths: List[Path], folder: str) -> List[Path]:
    """The files whose md5 is not the published one: their content is checked instead (data/idx_check.py),
    since another gzip of the same bytes has another md5."""
    md5s = _md5s(folder)
    unverified = []
    for p in paths:
        want = md5s.get(p.name)
        if want is None or hashlib.md5(p.read_bytes()).hexdigest() != want:  # an extracted or re-gzipped copy
            unverified.append(p)
    return unverified


def _load_idx_dataset(name: str, data_dir: Optional[str], seed: int, download: bool) -> DataBundle:
    folder, _, classes = _IDX[name]
    root = default_root(data_dir)
    paths = _find_idx(root, folder)
    if paths is None:
        if data_dir:
            raise DataError(f"no {name} files under {root} (expected {root}/{folder}/raw/{_IDX_FILES[0]}.gz ...)")
        if not download:
            raise DataError(f"{name} is not downloaded; pass --data-dir DIR holding {folder}/raw/*.gz")
        _download_idx(name, root)
        paths = _find_idx(root, folder)
        if paths is None:
            raise DataError(f"download of {name} into {root} did not produce its files")
    unverified = _verify(paths, folder)
    xtr, ytr, xte, yte = (read_idx(p) for p in paths)

    check_idx_content(name, paths, (xtr, ytr, xte, yte), unverified)
    if xtr.shape[0] != ytr.shape[0] or xte.shape[0] != yte.shape[0]:
        raise DataError(f"{name}: image and label counts differ in {paths[0].parent}")
    t = lambda a: torch.from_numpy(a.copy())
    return image_bundle(
        name, t(xtr).unsqueeze(1), t(ytr).long(), t(xte).unsqueeze(1), t(yte).long(), classes, seed
    )


def _download_idx(name: str, root: Path) -> None:
    cls = tvd.MNIST if name == "mnist" else tvd.FashionMNIST
    try:  # torchvision downloads with a progress bar and checks each file's md5
        cls(root=str(root), train=True, download=True)
    except Exception as e:  # network errors come in many types
        raise DataError(f"could not download {name} into {root}: {e}") from None


@register_dataset("mnist", "image", "MNIST handwritten digits, 60k/10k 28x28 (downloads, or --data-dir)", downloads=True)
def load_mnist(*, data_dir=None, seed=0, download: bool = True) -> DataBundle:
    return _load_idx_dataset("mnist", data_dir, seed, download)


@register_dataset("fashion-mnist", "image", "Zalando Fashion-MNIST, 60k/10k 28x28 (downloads, or --data-dir)", downloads=True)
def load_fashion_mnist(*, data_dir=None, seed=0, download: bool = True) -> DataBundle:
    return _load_idx_dataset("fashion-mnist", data_dir, seed, download)


# ---------------------------------------------------------------- CIFAR-10

CIFAR10_CLASSES = ["airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck"]


@register_dataset("cifar10", "image", "CIFAR-10, 50k/10k 32x32 colour images (downloads, or --data-dir)", downloads=True)
def load_cifar10(*, data_dir=None, seed=0, download: bool = True) -> DataBundle:
    root = default_root(data_dir)
    try:
        # torchvision checks every batch file's md5 and downloads (with progress) when allowed
        tr = tvd.CIFAR10(str(root), train=True, download=download and not data_dir)
        te = tvd.CIFAR10(str(root), train=False, download=False)
    except RuntimeError as e:
        hint = " (a JPEG image-folder copy loads with --data folder:PATH)" if data_dir else ""
        raise DataError(f"CIFAR-10 not found or corrupt under {root}: {e}{hint}") from None
    except Exception as e:
        raise DataError(f"could not get CIFAR-10 into {root}: {e}") from None
    to_x = lambda d: torch.from_numpy(np.ascontiguousarray(d.data.transpose(0, 3, 1, 2)))
    to_y = lambda d: torch.tensor(d.targets, dtype=torch.int64)
    return image_bundle("cifar10", to_x(tr), to_y(tr), to_x(te), to_y(te), CIFAR10_CLASSES, seed)
