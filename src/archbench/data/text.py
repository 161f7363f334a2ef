"""Movie-review sentiment: SST-2 (GLUE) and IMDB (aclImdb), as padded token ids.

    x (N, T) int64 token ids, right-padded with 0 = <pad>; 1 = <unk>
    y (N,)   int64, 0 = negative, 1 = positive
    lengths (N,) int64 tokens before padding (>= 1: an empty text is one <unk>)

T is the longest text of the data set, capped at ``max_len`` (longer texts keep their first
``max_len`` tokens); ``input_shape`` is ``(max_len,)``, the longest input a model must accept.
The vocabulary is counted on the training split only (after validation is taken out of it), so
validation and test words a model never trained on map to <unk>. ``bundle.extras`` holds the
:class:`Vocab` ("vocab", which also tokenises raw text for ``predict``) and the raw texts of each
split ("texts", for the bag-of-words baseline).
"""
from __future__ import annotations

import json
import re
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from itertools import chain
from pathlib import Path
from typing import Iterable, List, Optional, Sequence, Tuple

import numpy as np
import torch
from torchvision.datasets.utils import download_and_extract_archive

from ..errors import DataError, UsageError
from ..files import atomic_write_text
from . import register_dataset
from .base import DataBundle, Split, split_off
from .images import default_root

CLASS_NAMES = ["negative", "positive"]
TOKENIZER = "words-v1"  # bump when the rules below change: a saved vocab records which one it used

_HTML_BREAK = re.compile(r"<br\s*/?>", re.IGNORECASE)
# Penn-Treebank-like: "doesn't" -> does n't, "it's" -> it 's (SST-2 is already split this way),
# hyphenated words stay whole, every other non-space symbol is its own token ("!" carries sentiment)
_TOKEN = re.compile(r"\w+(?=n't\b)|n't\b|'\w+|\w+(?:-\w+)*|[^\w\s]")


def tokenize(text: str) -> List[str]:
    """Lowercase, drop HTML line breaks, split into words and punctuation."""
    return _TOKEN.findall(_HTML_BREAK.sub(" ", text.lower()))


class Vocab:
    """Token <-> id table. Id 0 is <pad>, 1 is <unk>; the rest by falling frequency, ties alphabetical."""

    PAD, UNK = 0, 1
    SPECIALS = ("<pad>", "<unk>")

    def __init__(self, itos: Sequence[str], min_freq: int = 1, max_size: Optional[int] = None,
                 tokenizer: str = TOKENIZER):
        if tuple(itos[:2]) != self.SPECIALS:
            raise DataError("a vocabulary must start with <pad>, <unk>")
        if tokenizer != TOKENIZER:
            raise DataError(f"vocabulary made with tokenizer {tokenizer!r}; this version has {TOKENIZER!r}")
        self.itos = list(itos)
        self.stoi = {t: i for i, t in enumerate(self.itos)}
        self.min_freq, self.max_size, self.tokenizer = min_freq, max_size, tokenizer

    @classmethod
    def build(cls, texts: Iterable[str], min_freq: int = 2, max_size: Optional[int] = None) -> "Vocab":
        """Count tokens of ``texts``; keep those seen ``min_freq`` times, at most ``max_size`` entries
        (the two special tokens included)."""
        return cls.from_tokens(map(tokenize, texts), min_freq, max_size)

    @classmethod
    def from_tokens(cls, token_lists: Iterable[List[str]], min_freq: int = 2, max_size: Optional[int] = None
                    ) -> "Vocab":
        """:meth:`build` on texts already tokenised (long reviews are tokenised once, not twice)."""
        counts = Counter(chain.from_iterable(token_lists))
        kept = sorted((t for t, c in counts.items() if c >= min_freq), key=lambda t: (-counts[t], t))
        if max_size is not None:
            kept = kept[: max(int(max_size) - len(cls.SPECIALS), 0)]
        return cls([*cls.SPECIALS, *kept], min_freq=min_freq, max_size=max_size)

    def __len__(self) -> int:
        return len(self.itos)

    def encode(self, texts: Sequence[str], max_len: int = 256, pad_to: Optional[int] = None
               ) -> Tuple[torch.Tensor, torch.Tensor]:
        """Texts -> (ids (N, T) int64 right-padded with 0, lengths (N,)).

        T = the longest encoded text (at most ``max_len``), or ``pad_to`` when given.
        """
        return self.encode_tokens(map(tokenize, texts), max_len, pad_to)

    def encode_tokens(self, token_lists: Iterable[List[str]], max_len: int = 256, pad_to: Optional[int] = None
                      ) -> Tuple[torch.Tensor, torch.Tensor]:
        """:meth:`encode` on texts already tokenised."""
        get, unk = self.stoi.get, self.UNK
        seqs = [[get(t, unk) for t in tokens[:max_len]] or [unk] for tokens in token_lists]
        lengths = np.fromiter(map(len, seqs), dtype=np.int64, count=len(seqs))
        width = int(pad_to) if pad_to is not None else int(lengths.max(initial=1))
        if width < lengths.max(initial=0):
            raise UsageError(f"pad_to={pad_to} is shorter than the longest text ({lengths.max()} tokens)")
        ids = np.zeros((len(seqs), width), dtype=np.int64)
        # one scatter of all tokens instead of a Python loop over rows
        ids[np.arange(width) < lengths[:, None]] = np.fromiter(chain.from_iterable(seqs), dtype=np.int64,
                                                               count=int(lengths.sum()))
        return torch.from_numpy(ids), torch.from_numpy(lengths)

    def decode(self, ids: Sequence[int]) -> List[str]:
        """Token ids -> tokens, stopping at the first padding id."""
        out = []
        for i in (ids.tolist() if hasattr(ids, "tolist") else ids):
            if i == self.PAD:
                break
            out.append(self.itos[i] if 0 <= i < len(self.itos) else self.SPECIALS[self.UNK])
        return out

    def to_json(self) -> str:
        return json.dumps({"tokenizer": self.tokenizer, "lowercase": True, "min_freq": self.min_freq,
                           "max_size": self.max_size, "itos": self.itos}, ensure_ascii=False)

    @classmethod
    def from_json(cls, text: str) -> "Vocab":
        try:
            d = json.loads(text)
            return cls(d["itos"], d.get("min_freq", 1), d.get("max_size"), d.get("tokenizer", TOKENIZER))
        except (ValueError, KeyError, TypeError) as e:
            raise DataError(f"not a vocabulary file: {e}") from None

    def save(self, path) -> None:
        atomic_write_text(Path(path), self.to_json())

    @classmethod
    def load(cls, path) -> "Vocab":
        try:
            return cls.from_json(Path(path).read_text(encoding="utf-8"))
        except OSError as e:
            raise DataError(f"cannot read vocabulary {path}: {e.strerror}") from None


VAL_SPLITS = ("random", "sentences")


def sentence_split(token_lists: Sequence[Sequence[str]], val_fraction: float, seed: int
                   ) -> Tuple[List[int], List[int], int]:
    """Validation of whole sentences that training never sees any part of.

    SST-2's training file holds every labelled phrase of each parsed sentence (67k phrases of about
    6.9k sentences), so a random validation split is mostly sub-phrases of training sentences and
    reads too optimistic. Here the sentences are the phrases that lie inside no other phrase (as
    token spans); a seeded ``val_fraction`` of them is the validation split, and every phrase that
    lies inside a validation sentence is dropped from training. Returns (train indices, validation
    indices, phrases dropped).
    """
    keys = [tuple(t) for t in token_lists]
    phrases = set(keys)

    def inside(sentence):  # the phrases that are token spans of ``sentence``, itself included
        n = len(sentence)
        return {sentence[i:j] for i in range(n) for j in range(i + 1, n + 1)} & phrases

    # longest first: a phrase inside a longer phrase is inside that one's sentence too, so only the
    # spans of sentences are ever enumerated (about 1.7M for SST-2, not 5M)
    covered, sentences = set(), []
    for p in sorted(phrases, key=lambda k: (-len(k), k)):
        if p not in covered:
            sentences.append(p)
            covered |= inside(p)
    n_val = int(round(val_fraction * len(sentences)))
    if not 0 < n_val < len(sentences):
        raise DataError(f"val_fraction={val_fraction} of {len(sentences)} sentences leaves an empty split")
    g = torch.Generator().manual_seed(seed)
    val_sentences = {sentences[i] for i in torch.randperm(len(sentences), generator=g)[:n_val].tolist()}
    held_out = set().union(*map(inside, val_sentences))
    val = [i for i, k in enumerate(keys) if k in val_sentences]
    train = [i for i, k in enumerate(keys) if k not in held_out]
    return train, val, len(keys) - len(train) - len(val)


def text_bundle(name: str, train_texts: List[str], train_labels, test_texts: List[str], test_labels, *,
                seed: int, max_len: int, min_freq: int, max_vocab: int, val_fraction: float,
                val_split: str = "random") -> DataBundle:
    """Seeded validation split out of train, vocabulary from the rest, every split encoded to one width.

    ``val_split`` "random" draws texts at random; "sentences" draws whole sentences of a phrase
    treebank and keeps every part of them out of training (:func:`sentence_split`).
    """
    if not 0 < val_fraction < 1:
        raise DataError(f"val_fraction must be between 0 and 1, got {val_fraction}")
    if max_len < 1:
        raise DataError(f"max_len must be at least 1, got {max_len}")
    if val_split not in VAL_SPLITS:
        raise UsageError(f"val_split must be one of {', '.join(VAL_SPLITS)}, got {val_split!r}")
    train_tokens = [tokenize(t) for t in train_texts]
    dropped = 0
    if val_split == "sentences":
        tr, va, dropped = sentence_split(train_tokens, val_fraction, seed)
    else:
        tr, va = (i.tolist() for i in split_off(len(train_texts), [1 - val_fraction, val_fraction], seed))
    texts = {
        "train": [train_texts[i] for i in tr],
        "val": [train_texts[i] for i in va],
        "test": list(test_texts),
    }
    labels = torch.as_tensor(train_labels, dtype=torch.int64)
    ys = {
        "train": labels[tr],
        "val": labels[va],
        "test": torch.as_tensor(test_labels, dtype=torch.int64),
    }
    tokens = {"train": [train_tokens[i] for i in tr], "val": [train_tokens[i] for i in va],
              "test": [tokenize(t) for t in texts["test"]]}
    vocab = Vocab.from_tokens(tokens["train"], min_freq=min_freq, max_size=max_vocab)
    encoded = {s: vocab.encode_tokens(t, max_len) for s, t in tokens.items()}
    width = max(ids.shape[1] for ids, _ in encoded.values())
    splits = {}
    for s, (ids, lengths) in encoded.items():
        ids = torch.nn.functional.pad(ids, (0, width - ids.shape[1]))
        splits[s] = Split(ids, ys[s], lengths)
    return DataBundle(
        name=name, kind="text", train=splits["train"], val=splits["val"], test=splits["test"],
        input_shape=(max_len,), num_classes=len(CLASS_NAMES), class_names=list(CLASS_NAMES),
        vocab_size=len(vocab), extras={"vocab": vocab, "texts": texts, "dropped_from_train": dropped},
    )


# ---------------------------------------------------------------- SST-2 (GLUE)

SST2_URL = "https://dl.fbaipublicfiles.com/glue/data/SST-2.zip"


def read_tsv(path: Path) -> Tuple[List[str], List[int]]:
    """GLUE's ``sentence<TAB>label`` file with a header row."""
    texts, labels = [], []
    with open(path, encoding="utf-8") as f:
        for n, line in enumerate(f):
            line = line.rstrip("\r\n")
            if not line or (n == 0 and line.lower().startswith("sentence")):
                continue
            text, sep, label = line.rpartition("\t")
            if not sep or label.strip() not in ("0", "1"):
                raise DataError(f"{path}:{n + 1}: expected 'sentence<TAB>0|1'")
            texts.append(text.strip())
            labels.append(int(label))
    return texts, labels


def _find_sst2(data_dir: Optional[str]) -> Optional[Path]:
    if not data_dir:
        return None
    root = Path(data_dir).expanduser()
    for d in (root / "sst2", root / "SST-2", root / "glue_data" / "SST-2", root):
        if (d / "train.tsv").is_file() and (d / "dev.tsv").is_file():
            return d
    return None


@register_dataset("sst2", "text", "SST-2 movie-review sentences, 67k train / 872 test (GLUE dev); needs --data-dir")
def load_sst2(*, data_dir=None, seed=0, max_len: int = 64, min_freq: int = 2, max_vocab: int = 20000,
              val_fraction: float = 0.1, val_split: str = "sentences") -> DataBundle:
    folder = _find_sst2(data_dir)
    if folder is None:
        where = f"under {data_dir} " if data_dir else ""
        raise DataError(f"SST-2 not found {where}(train.tsv + dev.tsv): download {SST2_URL}, unzip it and "
                        f"pass --data-dir to the folder holding SST-2/")
    train_texts, train_labels = read_tsv(folder / "train.tsv")
    # GLUE keeps the test labels private, so its dev set is our test set
    test_texts, test_labels = read_tsv(folder / "dev.tsv")
    return text_bundle("sst2", train_texts, train_labels, test_texts, test_labels, seed=seed, max_len=max_len,
                       min_freq=min_freq, max_vocab=max_vocab, val_fraction=val_fraction, val_split=val_split)


# ---------------------------------------------------------------- IMDB (aclImdb)

IMDB_URL = "https://ai.stanford.edu/~amaas/data/sentiment/aclImdb_v1.tar.gz"
IMDB_MD5 = "7c2ac02c03563afcf9b574c7e56c153a"


def _find_imdb(root: Path) -> Optional[Path]:
    for d in (root / "aclImdb", root):
        if all((d / s / c).is_dir() for s in ("train", "test") for c in ("pos", "neg")):
            return d
    return None


def _read(path: Path) -> str:
    return path.read_text(encoding="utf-8", errors="replace")


def read_imdb_split(folder: Path) -> Tuple[List[str], List[int]]:
    """``folder/{neg,pos}/*.txt`` -> texts, labels (files read on a thread pool: 25k small files)."""
    files, labels = [], []
    for label, cls in enumerate(("neg", "pos")):
        found = sorted((folder / cls).glob("*.txt"))
        files += found
        labels += [label] * len(found)
    if not files:
        raise DataError(f"no reviews in {folder}/pos or {folder}/neg")
    with ThreadPoolExecutor(max_workers=8) as pool:
        texts = list(pool.map(_read, files, chunksize=256))
    return texts, labels


@register_dataset("imdb", "text", "IMDB movie reviews (aclImdb), 25k train / 25k test (downloads 80 MB, or --data-dir)",
                  downloads=True)
def load_imdb(*, data_dir=None, seed=0, max_len: int = 256, min_freq: int = 2, max_vocab: int = 30000,
              val_fraction: float = 0.1, download: bool = True) -> DataBundle:
    root = default_root(data_dir)
    folder = _find_imdb(root)
    if folder is None:
        if data_dir or not download:
            raise DataError(f"aclImdb not found under {root} (expected {root}/aclImdb/train/pos/*.txt); "
                            f"download {IMDB_URL} and extract it there")

        try:  # progress bar and md5 check come with torchvision
            download_and_extract_archive(IMDB_URL, download_root=str(root), md5=IMDB_MD5)
        except Exception as e:
            raise DataError(f"could not download IMDB into {root}: {e}") from None
        folder = _find_imdb(root)
        if folder is None:
            raise DataError(f"download of IMDB into {root} did not produce aclImdb/")
    train_texts, train_labels = read_imdb_split(folder / "train")
    test_texts, test_labels = read_imdb_split(folder / "test")
    return text_bundle("imdb", train_texts, train_labels, test_texts, test_labels, seed=seed, max_len=max_len,
                       min_freq=min_freq, max_vocab=max_vocab, val_fraction=val_fraction)


__all__ = ["tokenize", "Vocab", "text_bundle", "read_tsv", "read_imdb_split", "load_sst2", "load_imdb",
           "CLASS_NAMES"]
