"""folder:PATH with one folder of class folders (ImageFolder layout), and MNIST files whose gzip
container differs from the published one while their content is right."""
import gzip

import numpy as np
import pytest
from helpers import run_cli
from PIL import Image

from archbench.data import load_data
from archbench.errors import DataError


@pytest.fixture(autouse=True)
def own_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("ARCHBENCH_CACHE", str(tmp_path / "cache"))


def make_classes(root, n=30, classes=("cat", "dog", "owl")):
    rng = np.random.default_rng(0)
    for k, c in enumerate(classes):
        (root / c).mkdir(parents=True)
        for i in range(n + 5 * k):  # unequal class sizes: the splits must keep the mix
            a = (rng.random((10, 10)) * 60).astype(np.uint8)
            a[3 * k : 3 * k + 3] += 180  # a bright band whose row tells the class
            Image.fromarray(a).save(root / c / f"{i}.png")
    return root


def test_flat_folder_stratified_splits(tmp_path):
    root = make_classes(tmp_path / "imgs")
    b = load_data(f"folder:{root}", seed=0)
    assert b.class_names == ["cat", "dog", "owl"] and b.input_shape == (1, 10, 10)
    assert len(b.train) + len(b.val) + len(b.test) == 30 + 35 + 40
    assert b.test.y.bincount().tolist() == [6, 7, 8]  # 20% of each class
    again = load_data(f"folder:{root}", seed=0)
    assert bool((again.test.x == b.test.x).all())  # the seed fixes the split
    other = load_data(f"folder:{root}", seed=1)
    assert not bool((other.test.y == b.test.y).all() and (other.test.x == b.test.x).all())
    folds = [load_data(f"folder:{root}", folds=5, fold=k) for k in range(5)]
    assert sum(len(f.test) for f in folds) == 105


def test_flat_folder_trains_and_bad_layouts(tmp_path):
    root = make_classes(tmp_path / "imgs")
    r = run_cli("train", "mlp", "--data", f"folder:{root}", "--epochs", "2", "--threads", "1", "--progress", "none",
                "--out", tmp_path / "run", env={"ARCHBENCH_CACHE": str(tmp_path / "cache")})
    assert r.returncode == 0, r.stderr[-1500:]
    (tmp_path / "one" / "only").mkdir(parents=True)
    with pytest.raises(DataError, match="is not an image folder"):
        load_data(f"folder:{tmp_path / 'one'}")
    (root / "dog" / "5.png").write_bytes(b"not a png")
    with pytest.raises(DataError, match=r"cannot read image .*dog/5.png"):
        load_data(f"folder:{root}", image_size=12)


@pytest.mark.data
def test_regzipped_mnist_is_accepted_and_wrong_content_is_not(tmp_path, shared_data):
    src = shared_data / "MNIST" / "raw"
    if len(list(src.glob("*.gz"))) < 4:
        pytest.skip("MNIST files are not all in ../shared/data")
    raw = tmp_path / "MNIST" / "raw"
    raw.mkdir(parents=True)
    for p in src.glob("*.gz"):  # same content, another container (level 1, no name, another time stamp)
        with gzip.open(p, "rb") as f:
            (raw / p.name).write_bytes(gzip.compress(f.read(), compresslevel=1, mtime=0))
    b = load_data("mnist", data_dir=str(tmp_path))
    assert b.input_shape == (1, 28, 28) and len(b.test) == 10000
    with gzip.open(src / "t10k-labels-idx1-ubyte.gz", "rb") as f:
        labels = f.read()
    (raw / "t10k-labels-idx1-ubyte.gz").write_bytes(gzip.compress(labels[:8] + labels[8:5008]))  # a short file
    with pytest.raises(DataError, match=r"t10k-labels-idx1-ubyte.gz"):
        load_data("mnist", data_dir=str(tmp_path))
