"""Write small data sets of every own-data kind, for docs/guide-your-data.md and the benchmarks.

    python scripts/make_own_data.py OUT_DIR

OUT_DIR/
    cancer.csv        scikit-learn's bundled breast-cancer table (30 numbers), with 5% of cells blanked
                      and a made-up "clinic" category column; target column "diagnosis"
    diabetes.csv      scikit-learn's bundled diabetes table, regression target "progression"
    wine.csv          scikit-learn's bundled wine table (3 classes), target "cultivar"
    reviews.csv       1,200 short made-up reviews in three classes (text, label columns)
    reviews/          the same reviews as train/<label>/*.txt and test/<label>/*.txt (aclImdb layout)
    shapes/           90 small PNG images, one folder per class (ImageFolder layout)
    sales.csv         a daily series with an exogenous temperature column (forecasting)
    motions.csv       60 short series in long format (id, step, two channels, label)

Everything is seeded: the same OUT_DIR contents on every run.
"""
from __future__ import annotations

import math
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))
from archbench.files import atomic_write, atomic_write_text, csv_text  # noqa: E402


def tables(out: Path, rng) -> None:
    from sklearn.datasets import load_breast_cancer, load_diabetes, load_wine

    d = load_breast_cancer()
    x = d.data.round(4).astype(object)
    x[rng.random(x.shape) < 0.05] = ""  # gaps
    clinic = rng.choice(["north", "south", "east", "west"], len(x))
    header = [n.replace(" ", "_") for n in d.feature_names] + ["clinic", "diagnosis"]
    body = [list(r) + [c, d.target_names[t]] for r, c, t in zip(x, clinic, d.target)]
    atomic_write_text(out / "cancer.csv", csv_text(header, body))
    d = load_diabetes(scaled=False)
    atomic_write_text(out / "diabetes.csv", csv_text(list(d.feature_names) + ["progression"],
                                                     [list(r) + [t] for r, t in zip(d.data.round(4), d.target)]))
    d = load_wine()
    atomic_write_text(out / "wine.csv", csv_text(list(d.feature_names) + ["cultivar"],
                                                 [list(r) + [f"c{t}"] for r, t in zip(d.data.round(4), d.target)]))


WORDS = {"praise": ["wonderful", "moving", "sharp", "delightful", "gripping"],
         "complaint": ["tedious", "clumsy", "bland", "noisy", "hollow"],
         "question": ["why", "how", "whether", "what", "who"]}
FILLER = ["the", "film", "plot", "acting", "was", "and", "a", "but", "it", "story", "ending", "scenes"]


def texts(out: Path, rng) -> None:
    rows = []
    for i in range(1200):
        label = list(WORDS)[rng.integers(3)]
        words = [rng.choice(FILLER) for _ in range(rng.integers(5, 15))]
        for _ in range(2):  # two cue words, in a noisy minority of cases from another class
            src = label if rng.random() > 0.15 else list(WORDS)[rng.integers(3)]
            words.insert(rng.integers(len(words) + 1), rng.choice(WORDS[src]))
        rows.append((" ".join(words), label))
    atomic_write_text(out / "reviews.csv", csv_text(["text", "label"], rows))
    for i, (text, label) in enumerate(rows):
        split = "test" if i % 5 == 0 else "train"
        atomic_write_text(out / "reviews" / split / label / f"{i}.txt", text)


def images(out: Path, rng) -> None:
    from PIL import Image

    yy, xx = np.mgrid[:16, :16]
    masks = {"disc": (yy - 8) ** 2 + (xx - 8) ** 2 < 25, "bar": abs(xx - 8) < 2, "cross": (abs(xx - 8) < 2) | (abs(yy - 8) < 2)}
    for name, m in masks.items():
        for i in range(30):
            a = (rng.random((16, 16)) * 90 + m * 140).clip(0, 255).astype(np.uint8)
            img = Image.fromarray(np.roll(a, rng.integers(-2, 3), axis=1))
            path = out / "shapes" / name / f"{i}.png"
            atomic_write(path, lambda tmp, img=img: img.save(tmp, format="PNG"))


def series(out: Path, rng) -> None:
    n = 730
    temp = 15 + 10 * np.sin(2 * np.pi * np.arange(n) / 365) + rng.normal(0, 2, n)
    sales = 100 + 3 * np.roll(temp, 1) + 10 * (np.arange(n) % 7 >= 5) + rng.normal(0, 3, n)
    atomic_write_text(out / "sales.csv", csv_text(["day", "temp", "sales"],
                                                  [[i, round(t, 2), round(s, 2)] for i, (t, s) in enumerate(zip(temp, sales))]))
    rows = []
    for k in range(60):
        label = ["wave", "ramp"][k % 2]
        for t in range(int(rng.integers(20, 30))):
            a = math.sin(t / 2) if label == "wave" else t / 15
            rows.append([f"s{k}", t, round(a + rng.normal(0, 0.3), 3), round(rng.normal(0, 1), 3), label])
    atomic_write_text(out / "motions.csv", csv_text(["id", "step", "a", "b", "label"], rows))


def main(argv) -> int:
    if len(argv) != 1:
        print(__doc__.strip().splitlines()[2].strip(), file=sys.stderr)
        return 2
    out = Path(argv[0])
    rng = np.random.default_rng(0)
    tables(out, rng)
    texts(out, rng)
    images(out, rng)
    series(out, rng)
    print(f"wrote {out}/: cancer.csv diabetes.csv wine.csv reviews.csv reviews/ shapes/ sales.csv motions.csv")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
