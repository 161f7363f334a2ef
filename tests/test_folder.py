"""folder:PATH -- image trees and tars decoded once into a memory-mapped uint8 cache."""
import json
import os
import tarfile
import time
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

import archbench.data.folder_cache as folder_cache
from archbench.data import load_data
from archbench.errors import DataError

CLASSES = ["cat", "dog", "frog"]


@pytest.fixture(autouse=True)
def cache_dir(tmp_path, monkeypatch):
    monkeypatch.setenv("ARCHBENCH_CACHE", str(tmp_path / "cache"))
    return tmp_path / "cache"


def make_tree(root: Path, per_class=(4, 2), odd=True, gray=False) -> Path:
    """train/ and test/ with one folder per class; each image's pixels encode (class, index)."""
    rng = np.random.default_rng(0)
    for split, n in zip(("train", "test"), per_class):
        for c, cls in enumerate(CLASSES):
            d = root / split / cls
            d.mkdir(parents=True)
            for i in range(n):
                a = np.full((8, 8, 3), 40 * c + 10 * i, np.uint8)
                a[0, 0] = rng.integers(0, 256, 3)
                im = Image.fromarray(a).convert("L") if gray else Image.fromarray(a)
                im.save(d / f"{i:03d}.png")
    if odd:  # one image of another size, resized to the most common 8x8
        Image.fromarray(np.full((12, 10, 3), 200, np.uint8)).save(root / "train" / "dog" / "odd.png")
    return root


def test_tree_loads_with_shapes_labels_and_classes(tmp_path):
    b = load_data(f"folder:{make_tree(tmp_path / 'imgs')}", val_fraction=0.25, seed=1)
    assert b.kind == "image" and b.class_names == CLASSES and b.num_classes == 3
    assert tuple(b.input_shape) == (3, 8, 8)
    assert len(b.train) + len(b.val) == 13 and len(b.val) == 3 and len(b.test) == 6
    assert b.train.x.dtype == torch.uint8 and b.train.x.shape[1:] == (3, 8, 8)
    assert b.test.y.tolist() == [0, 0, 1, 1, 2, 2]
    # pixel (1, 1) holds 40 * class + 10 * index: labels line up with the images they came from
    assert (b.test.x[:, 0, 1, 1] // 40).tolist() == b.test.y.tolist()
    odd = (b.train.x[:, 0, 1, 1] == 200).nonzero().flatten().tolist() + (b.val.x[:, 0, 1, 1] == 200).nonzero().flatten().tolist()
    assert len(odd) == 1  # resized, not dropped
    # statistics come from the training part only, on the [0, 1] scale
    x = b.train.x.float() / 255
    assert np.allclose(b.mean, x.mean(dim=(0, 2, 3)).tolist(), atol=1e-5)
    assert np.allclose(b.std, x.std(dim=(0, 2, 3), unbiased=False).tolist(), atol=1e-5)
    out = b.preprocess(b.train.x[:2])
    assert out.dtype == torch.float32 and out.shape == (2, 3, 8, 8)
    # a different seed holds out different images
    other = load_data(f"folder:{tmp_path / 'imgs'}", val_fraction=0.25, seed=2)
    assert not torch.equal(other.val.x, b.val.x)


def test_majority_grayscale_and_image_size(tmp_path):
    root = make_tree(tmp_path / "g", gray=True)  # the odd one is RGB: converted to the majority mode
    b = load_data(f"folder:{root}", image_size="6x5")
    assert tuple(b.input_shape) == (1, 6, 5) and b.test.x.shape == (6, 1, 6, 5)
    assert b.extras["manifest"]["converted"] == 1 and b.extras["manifest"]["resized"] == 19


def test_cache_reused_then_rebuilt_when_a_file_changes(tmp_path, monkeypatch, cache_dir):
    root = make_tree(tmp_path / "imgs")
    first = load_data(f"folder:{root}")
    assert len(list(cache_dir.glob("folder/*/manifest.json"))) == 1

    def no_decode(*a, **k):
        raise AssertionError("decoded again although the cache is valid")

    monkeypatch.setattr(folder_cache, "_decode_chunk", no_decode)
    again = load_data(f"folder:{root}")
    assert torch.equal(again.train.x, first.train.x) and again.mean == first.mean

    f = root / "test" / "cat" / "000.png"
    Image.fromarray(np.full((8, 8, 3), 99, np.uint8)).save(f)
    os.utime(f, ns=(time.time_ns(), time.time_ns() + 10**9))  # make sure the mtime moves
    with pytest.raises(AssertionError, match="decoded again"):
        load_data(f"folder:{root}")
    monkeypatch.undo()
    monkeypatch.setenv("ARCHBENCH_CACHE", str(cache_dir))
    changed = load_data(f"folder:{root}")
    assert int(changed.test.x[0, 0, 1, 1]) == 99
    assert len(list(cache_dir.glob("folder/*/manifest.json"))) == 1  # the stale cache was removed


@pytest.mark.skipif(not Path("/proc/self/maps").exists(), reason="needs /proc (Linux)")
def test_splits_are_memory_maps_of_the_cache(tmp_path):
    b = load_data(f"folder:{make_tree(tmp_path / 'imgs')}")
    maps = [line.split() for line in Path("/proc/self/maps").read_text().splitlines()]

    def mapped_file(t):
        p = t.data_ptr()
        return next((m[-1] for m in maps if len(m) >= 6 and int(m[0].split("-")[0], 16) <= p < int(m[0].split("-")[1], 16)), None)

    cache = Path(b.extras["cache_dir"])
    assert mapped_file(b.test.x) == os.path.realpath(cache / "test_x.npy")  # not a copy in RAM
    assert mapped_file(b.train.x).endswith("train_x.npy") and mapped_file(b.val.x).endswith("val_x.npy")


def test_tar_loads_like_the_folder(tmp_path):
    root = make_tree(tmp_path / "imgs")
    tar = tmp_path / "imgs.tar"
    with tarfile.open(tar, "w") as tf:
        tf.add(root, arcname="imgs")  # one top-level folder, as `tar cf imgs.tar imgs` makes
    gz = tmp_path / "imgs.tar.gz"
    with tarfile.open(gz, "w:gz") as tf:
        for split in ("train", "test"):
            tf.add(root / split, arcname=split)
    a, b, c = (load_data(f"folder:{p}", seed=3) for p in (root, tar, gz))
    for other in (b, c):
        assert other.class_names == a.class_names
        for s in ("train", "val", "test"):
            assert torch.equal(getattr(other, s).x, getattr(a, s).x)
            assert torch.equal(getattr(other, s).y, getattr(a, s).y)


def test_relative_path_under_data_dir(tmp_path):
    make_tree(tmp_path / "imgs")
    b = load_data("folder:imgs", data_dir=str(tmp_path))
    assert b.num_classes == 3


def test_corrupt_image_names_the_file(tmp_path):
    root = make_tree(tmp_path / "imgs")
    (root / "train" / "frog" / "bad.png").write_bytes(b"\x89PNG\r\n\x1a\n not really a png")
    with pytest.raises(DataError, match="bad.png"):
        load_data(f"folder:{root}")
    trunc = root / "train" / "frog" / "bad.png"
    good = (root / "train" / "frog" / "000.png").read_bytes()
    trunc.write_bytes(good[: len(good) // 2])  # header fine, pixel data cut off
    with pytest.raises(DataError, match="bad.png"):
        load_data(f"folder:{root}")


def test_layout_errors(tmp_path):
    (tmp_path / "flat").mkdir()
    Image.fromarray(np.zeros((4, 4, 3), np.uint8)).save(tmp_path / "flat" / "a.png")
    with pytest.raises(DataError, match="train/<class>"):
        load_data(f"folder:{tmp_path / 'flat'}")
    with pytest.raises(DataError, match="does not exist"):
        load_data(f"folder:{tmp_path / 'nowhere'}")
    root = make_tree(tmp_path / "imgs")
    for f in (root / "test").rglob("*.png"):
        f.unlink()
    with pytest.raises(DataError, match="no images under test/"):
        load_data(f"folder:{root}")


def test_parallel_decode_matches_serial(tmp_path, monkeypatch):
    root = make_tree(tmp_path / "imgs", per_class=(6, 2))
    serial = load_data(f"folder:{root}", seed=0)
    monkeypatch.setattr(folder_cache, "PARALLEL_MIN", 0)
    monkeypatch.setattr(folder_cache, "CHUNK", 5)
    monkeypatch.setenv("ARCHBENCH_CACHE", str(tmp_path / "cache2"))
    parallel = load_data(f"folder:{root}", seed=0, workers=2)
    assert torch.equal(parallel.train.x, serial.train.x) and torch.equal(parallel.test.y, serial.test.y)
    man = json.loads((Path(parallel.extras["cache_dir"]) / "manifest.json").read_text())
    assert man["counts"] == {"train": 19, "test": 6}


@pytest.mark.data
@pytest.mark.slow
def test_cifar10_jpeg_tar(shared_data):
    tar = shared_data / "cifar10-jpg.tar"
    if not tar.exists():
        pytest.skip("cifar10-jpg.tar is not present")
    b = load_data(f"folder:{tar}")
    assert b.class_names[:3] == ["airplane", "automobile", "bird"] and tuple(b.input_shape) == (3, 32, 32)
    assert len(b.train) + len(b.val) == 50_000 and len(b.test) == 10_000
    assert torch.bincount(b.test.y).tolist() == [1000] * 10
    assert 0.4 < b.mean[0] < 0.55 and 0.2 < b.std[0] < 0.3
