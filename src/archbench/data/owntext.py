"""Your own text: ``text:PATH`` for a CSV/TSV/JSONL file or a folder of .txt files, any labels.

PATH may be
    a file (.csv, .tsv, .jsonl, ...) with a text column and a label column, found by name (text,
        sentence, review, ... / label, class, sentiment, ...) or by content (the longest cells are the
        text, the column with the fewest distinct values the label); ``text_column`` and
        ``label_column`` override
    a folder ``train/<label>/*.txt`` [+ ``test/<label>/*.txt``] (the aclImdb layout; without test/ a
        seeded stratified test split is drawn; train sub-folders that test/ lacks, such as aclImdb's
        unlabelled ``unsup``, are left out)
    a folder of ``<label>/*.txt`` sub-folders, split by seed (stratified)

    x (N, T) int64 token ids (0 = padding), y (N,) int64, lengths (N,) -- as data/text.py

Labels are the distinct strings, sorted (numerically when they are numbers). The vocabulary is
counted on the training split only. A bad row (empty text, no label, bytes that are not UTF-8) is
a one-line error naming the file and line, or, with ``skip_bad_rows``, skipped and counted.
"""
from __future__ import annotations

import sys
from pathlib import Path
from typing import Dict, List, Optional, Tuple

import numpy as np
import torch

from ..errors import DataError, UsageError
from . import register_dataset
from .base import DataBundle, Split
from .splits import three_way
from .table import balanced_weights, class_order
from .tabular_io import Records, is_missing, read_records, to_float
from .text import Vocab, tokenize

TEXT_NAMES = ("text", "sentence", "review", "content", "document", "body", "comment", "tweet", "message")
LABEL_NAMES = ("label", "labels", "class", "category", "target", "sentiment", "y", "polarity")


def pick_columns(rec: Records, text_column: str, label_column: str) -> Tuple[str, str]:
    for given in (text_column, label_column):
        if given and given not in rec.columns:
            raise DataError(f"{rec.path} has no column {given!r}; columns: {', '.join(rec.columns[:20])}")
    lower = {c.lower(): c for c in rec.columns}
    text = text_column or next((lower[n] for n in TEXT_NAMES if n in lower), "")
    label = label_column or next((lower[n] for n in LABEL_NAMES if n in lower and lower[n] != text), "")
    sample = rec.rows[:2000]
    if not text:  # by content: the column of the longest cells that are not all numbers
        lengths = {c: np.mean([len(r[j] or "") for r in sample]) for j, c in enumerate(rec.columns)
                   if c != label and to_float([r[j] for r in sample]) is None}
        text = max(lengths, key=lengths.get) if lengths else ""
    if not label:  # the column with the fewest distinct values, at least two
        distinct = {c: len({r[j] for r in sample}) for j, c in enumerate(rec.columns) if c != text}
        distinct = {c: n for c, n in distinct.items() if n >= 2}
        label = min(distinct, key=distinct.get) if distinct else ""
    if not text or not label:
        raise DataError(f"{rec.path}: cannot tell the text and label columns apart (columns: "
                        f"{', '.join(rec.columns)}); --set text_column=... --set label_column=...")
    if text.lower() not in TEXT_NAMES or label.lower() not in LABEL_NAMES:  # a guess: say which, once
        print(f"{rec.path}: text column {text!r}, label column {label!r} (guessed from the content; "
              "--set text_column=... --set label_column=... to choose)", file=sys.stderr)
    return text, label


def read_text_file(rec: Records, text_col: str, label_col: str, skip_bad_rows: bool
                   ) -> Tuple[List[str], List[str], int]:
    tj, lj = rec.columns.index(text_col), rec.columns.index(label_col)
    texts, labels, bad = [], [], []
    for i, r in enumerate(rec.rows):
        t, lab = r[tj], r[lj]
        why = ("bytes that are not UTF-8" if rec.bad_bytes[i] else
               f"empty text in column {text_col!r}" if t is None or not t.strip() else
               f"no label in column {label_col!r}" if is_missing(lab) else None)
        if why:
            bad.append((i, why))
            continue
        texts.append(t.strip())
        labels.append(lab.strip())
    if bad and not skip_bad_rows:
        i, why = bad[0]
        raise DataError(f"{rec.where(i)}: {why} ({len(bad)} bad row(s); --set skip_bad_rows=true skips them)")
    return texts, labels, len(bad)


def _label_dirs(folder: Path) -> List[Path]:
    return sorted(d for d in folder.iterdir() if d.is_dir() and not d.name.startswith(".")
                  and any(d.glob("*.txt")))


def read_label_folders(folder: Path, skip_bad_rows: bool, only: Optional[List[str]] = None
                       ) -> Tuple[List[str], List[str], int]:
    """``folder/<label>/*.txt`` -> texts, labels, files skipped."""
    texts, labels, bad = [], [], []
    for d in _label_dirs(folder):
        if only is not None and d.name not in only:
            continue
        for f in sorted(d.glob("*.txt")):
            raw = f.read_bytes()
            try:
                text = raw.decode("utf-8-sig")
            except UnicodeDecodeError as e:
                line = raw.count(b"\n", 0, e.start) + 1
                bad.append(f"{f}:{line}: bytes that are not UTF-8")
                continue
            if not text.strip():
                bad.append(f"{f}:1: empty text")
                continue
            texts.append(text.strip())
            labels.append(d.name)
    if bad and not skip_bad_rows:
        raise DataError(f"{bad[0]} ({len(bad)} bad file(s); --set skip_bad_rows=true skips them)")
    return texts, labels, len(bad)


def read_source(path: Path, text_column: str, label_column: str, skip_bad_rows: bool):
    """-> (texts, labels, fixed test (texts, labels) or None, bad rows skipped, note)."""
    if path.is_file():
        rec = read_records(path)
        tcol, lcol = pick_columns(rec, text_column, label_column)
        texts, labels, skipped = read_text_file(rec, tcol, lcol, skip_bad_rows)
        return texts, labels, None, skipped, f"columns text={tcol!r} label={lcol!r}"
    if not path.is_dir():
        raise DataError(f"text data {path} does not exist")
    if (path / "train").is_dir():
        test_dir = path / "test"
        only = [d.name for d in _label_dirs(test_dir)] if test_dir.is_dir() else None
        texts, labels, skipped = read_label_folders(path / "train", skip_bad_rows, only)
        test = None
        if only is not None:
            tt, tl, s2 = read_label_folders(test_dir, skip_bad_rows)
            test, skipped = (tt, tl), skipped + s2
            left = sorted({d.name for d in _label_dirs(path / "train")} - set(only))
            note = "train/ and test/ folders" + (f"; left out train/{', train/'.join(left)} (not in test/)" if left else "")
        else:
            note = "train/ folder, test split drawn from it"
        return texts, labels, test, skipped, note
    if len(_label_dirs(path)) < 2:
        raise DataError(f"{path}: expected <label>/*.txt sub-folders (two or more), train/<label>/*.txt, "
                        "or a CSV/TSV/JSONL file")
    texts, labels, skipped = read_label_folders(path, skip_bad_rows)
    return texts, labels, None, skipped, "one folder per label, split by seed"


def auto_max_len(token_lists: List[List[str]]) -> int:
    """The 95th percentile of training lengths, 16..512: long outliers do not set everyone's width."""
    lengths = np.fromiter(map(len, token_lists), dtype=np.int64, count=len(token_lists))
    return int(np.clip(np.percentile(lengths, 95) if len(lengths) else 16, 16, 512))


@register_dataset("text:", "text", "your own text: a CSV/TSV/JSONL file (text + label columns), a folder "
                                   "train/<label>/*.txt [+ test/], or <label>/*.txt sub-folders")
def load_text(arg: str, *, data_dir=None, seed=0, text_column: str = "", label_column: str = "",
              skip_bad_rows: bool = False, max_len: int = 0, min_freq: int = 2, max_vocab: int = 30000,
              val_fraction: float = 0.1, test_fraction: float = 0.2, folds: int = 0, fold: int = 0,
              class_weights: str = "none") -> DataBundle:
    """max_len 0: the 95th percentile of training lengths (16..512)."""
    path = Path(arg).expanduser()
    if not path.exists() and data_dir and not path.is_absolute() and (Path(data_dir) / path).exists():
        path = Path(data_dir) / path
    if class_weights not in ("none", "balanced"):
        raise UsageError(f"class_weights must be none or balanced, got {class_weights!r}")
    texts, labels, test, skipped, note = read_source(path, text_column, label_column, bool(skip_bad_rows))
    if skipped:
        print(f"{path}: skipped {skipped} bad row(s)", file=sys.stderr)
    names = class_order(labels)
    if len(names) < 2:
        raise DataError(f"{path}: one label only ({names[0] if names else 'none'}); nothing to classify")
    index = {c: i for i, c in enumerate(names)}
    y = torch.tensor([index[v] for v in labels], dtype=torch.int64)
    if test is None:
        tr, va, te = three_way(y, len(texts), float(val_fraction), float(test_fraction), folds, fold, seed, str(path))
        split_texts = {"train": [texts[i] for i in tr], "val": [texts[i] for i in va], "test": [texts[i] for i in te]}
        ys = {"train": y[tr], "val": y[va], "test": y[te]}
    else:
        if folds:
            raise UsageError(f"{path} has its own test/ folder; folds need data without one")
        unknown = sorted(set(test[1]) - set(names))
        if unknown:
            raise DataError(f"{path}/test has labels that train/ lacks: {', '.join(unknown[:5])}")
        tr, va, _ = three_way(y, len(texts), float(val_fraction), 0.0, 0, 0, seed, str(path))
        split_texts = {"train": [texts[i] for i in tr], "val": [texts[i] for i in va], "test": list(test[0])}
        ys = {"train": y[tr], "val": y[va], "test": torch.tensor([index[v] for v in test[1]], dtype=torch.int64)}
    tokens = {s: [tokenize(t) for t in ts] for s, ts in split_texts.items()}
    max_len = int(max_len) or auto_max_len(tokens["train"])
    vocab = Vocab.from_tokens(tokens["train"], min_freq=int(min_freq), max_size=int(max_vocab))
    encoded = {s: vocab.encode_tokens(t, max_len) for s, t in tokens.items()}
    width = max(ids.shape[1] for ids, _ in encoded.values())
    splits: Dict[str, Split] = {}
    for s, (ids, lengths) in encoded.items():
        splits[s] = Split(torch.nn.functional.pad(ids, (0, width - ids.shape[1])), ys[s], lengths)
    extras = {"vocab": vocab, "texts": split_texts, "skipped_rows": skipped, "source": note}
    if class_weights == "balanced":
        extras["class_weight"] = balanced_weights(ys["train"], len(names))
    return DataBundle(
        name=f"text:{arg}", kind="text", train=splits["train"], val=splits["val"], test=splits["test"],
        input_shape=(max_len,), num_classes=len(names), class_names=names, vocab_size=len(vocab),
        options={"max_len": max_len}, extras=extras,
    )


__all__ = ["load_text", "pick_columns", "read_source"]
