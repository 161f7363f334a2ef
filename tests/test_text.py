from pathlib import Path

import pytest
import torch

from archbench.data import load_data
from archbench.data.text import Vocab, read_tsv, sentence_split, text_bundle, tokenize
from archbench.errors import DataError, UsageError

SHARED = Path(__file__).resolve().parents[2] / "shared" / "data"

POS = ["a wonderful, moving film!", "great acting<br /><br />and a great story", "I loved it, truly wonderful",
       "superb and wonderful", "great fun", "a moving triumph"]
NEG = ["a dull, boring mess", "terrible acting and a boring plot", "I hated it; it doesn't work",
       "awful and dull", "boring boring boring", "a terrible waste"]


def test_tokenize_lowercases_splits_punctuation_and_drops_html():
    assert tokenize("Great acting<br /><br />It doesn't WORK!") == [
        "great", "acting", "it", "does", "n't", "work", "!"]
    assert tokenize("it 's a christmas-tree") == ["it", "'s", "a", "christmas-tree"]


def test_vocab_min_freq_max_size_and_specials():
    texts = ["b b b a a c", "b a d"]
    v = Vocab.build(texts, min_freq=2)
    assert v.itos == ["<pad>", "<unk>", "b", "a"]  # by frequency; c and d are seen once
    assert v.stoi["<pad>"] == Vocab.PAD == 0 and v.stoi["<unk>"] == Vocab.UNK == 1
    assert Vocab.build(texts, min_freq=1, max_size=3).itos == ["<pad>", "<unk>", "b"]
    assert Vocab.build(texts, min_freq=1).itos[2:] == ["b", "a", "c", "d"]  # ties alphabetical


def test_encode_pads_truncates_and_maps_unknowns():
    v = Vocab.build(["the cat sat", "the dog"], min_freq=1)
    ids, lengths = v.encode(["the cat", "the zebra sat on the mat", ""], max_len=4)
    assert ids.dtype == torch.int64 and ids.shape == (3, 4)
    assert lengths.tolist() == [2, 4, 1]
    cat, the, sat = v.stoi["cat"], v.stoi["the"], v.stoi["sat"]
    assert ids[0].tolist() == [the, cat, 0, 0]
    assert ids[1].tolist() == [the, Vocab.UNK, sat, Vocab.UNK]  # truncated to the first 4 tokens
    assert ids[2].tolist() == [Vocab.UNK, 0, 0, 0]  # an empty text still has one token
    assert ((ids != 0).sum(1) == lengths).all()
    assert v.encode(["the cat"], max_len=10)[0].shape == (1, 2)  # width = longest text
    assert v.decode(ids[0]) == ["the", "cat"]


def test_vocab_json_round_trip(tmp_path):
    v = Vocab.build(POS + NEG, min_freq=2, max_size=10)
    w = Vocab.from_json(v.to_json())
    assert w.itos == v.itos and w.min_freq == 2 and w.max_size == 10
    v.save(tmp_path / "vocab.json")
    u = Vocab.load(tmp_path / "vocab.json")
    assert torch.equal(u.encode(NEG, 16)[0], v.encode(NEG, 16)[0])
    with pytest.raises(DataError):
        Vocab.from_json('{"nothing": 1}')


def write_imdb(root: Path, n: int = 6):
    for split in ("train", "test"):
        for cls, texts in (("pos", POS), ("neg", NEG)):
            d = root / "aclImdb" / split / cls
            d.mkdir(parents=True)
            for i, t in enumerate(texts[:n]):
                (d / f"{i}_{8 if cls == 'pos' else 2}.txt").write_text(t, encoding="utf-8")
    # aclImdb also has unlabelled reviews: they must be ignored
    (root / "aclImdb" / "train" / "unsup").mkdir()
    (root / "aclImdb" / "train" / "unsup" / "0_0.txt").write_text("unlabelled", encoding="utf-8")


def test_imdb_tree_loads_and_labels(tmp_path):
    write_imdb(tmp_path)
    b = load_data("imdb", data_dir=str(tmp_path), seed=0, max_len=8, min_freq=1, val_fraction=0.25)
    assert b.kind == "text" and b.class_names == ["negative", "positive"]
    assert (len(b.train), len(b.val), len(b.test)) == (9, 3, 12)
    assert b.train.x.dtype == torch.int64 and b.train.x.shape[1] <= 8 and b.input_shape == (8,)
    assert b.vocab_size == len(b.extras["vocab"])
    texts = b.extras["texts"]
    for split in ("train", "val", "test"):
        s = getattr(b, split)
        assert len(texts[split]) == len(s) and s.lengths.shape == (len(s),)
        assert ((s.x != 0).sum(1) == s.lengths).all()
        for t, y in zip(texts[split], s.y.tolist()):  # every text keeps its own label
            assert y == (1 if t in POS else 0)
    # the vocabulary comes from the training split only
    train_words = {w for t in texts["train"] for w in tokenize(t)}
    assert set(b.extras["vocab"].itos[2:]) <= train_words
    assert "unlabelled" not in b.extras["vocab"].stoi


def test_imdb_missing_is_a_data_error(tmp_path):
    with pytest.raises(DataError, match="aclImdb"):
        load_data("imdb", data_dir=str(tmp_path))


def write_sst2(d: Path):
    d.mkdir(parents=True)
    rows = [(t, 1) for t in POS] + [(t, 0) for t in NEG]
    body = "".join(f"{t} \t{y}\n" for t, y in rows)
    (d / "train.tsv").write_text("sentence\tlabel\n" + body * 2, encoding="utf-8")
    (d / "dev.tsv").write_text("sentence\tlabel\n" + body, encoding="utf-8")


def test_sst2_from_tiny_tsv(tmp_path):
    write_sst2(tmp_path / "sst2")
    texts, labels = read_tsv(tmp_path / "sst2" / "dev.tsv")
    assert texts[0] == POS[0] and labels[:1] == [1] and len(texts) == 12
    for split in ("random", "sentences"):  # no text lies inside another: both draw 3 of 12 texts (x2 rows)
        b = load_data("sst2", data_dir=str(tmp_path), val_fraction=0.25, val_split=split)
        assert (len(b.train), len(b.val), len(b.test)) == (18, 6, 12)
        assert b.test.y.tolist() == labels  # dev.tsv is the test split, in file order
        b2 = load_data("sst2", data_dir=str(tmp_path / "sst2"), val_fraction=0.25, val_split=split)  # DIR/train.tsv
        assert torch.equal(b2.train.x, b.train.x)
        b3 = load_data("sst2", data_dir=str(tmp_path), val_fraction=0.25, seed=1, val_split=split)
        assert b3.extras["texts"]["val"] != b.extras["texts"]["val"] or not torch.equal(b3.val.y, b.val.y)
    with pytest.raises(UsageError, match="val_split"):
        load_data("sst2", data_dir=str(tmp_path), val_split="phrases")


# a tiny phrase treebank: every sentence comes with labelled phrases inside it, as in SST-2
TREEBANK = [
    ("a gorgeous , witty film", 1), ("a gorgeous", 1), ("gorgeous , witty", 1), ("witty film", 1), ("gorgeous", 1),
    ("a dull and tired plot", 0), ("dull and tired", 0), ("tired plot", 0), ("dull", 0),
    ("the cast is wonderful", 1), ("is wonderful", 1), ("wonderful", 1), ("the cast", 1),
    ("the plot is dull", 0), ("the plot", 0), ("is dull", 0),
    ("not worth it", 0), ("worth it", 1),
]
SENTENCES = {"a gorgeous , witty film", "a dull and tired plot", "the cast is wonderful", "the plot is dull",
             "not worth it"}


def spans(tokens):
    return {tuple(tokens[i:j]) for i in range(len(tokens)) for j in range(i + 1, len(tokens) + 1)}


def test_sentence_split_holds_out_whole_sentences_and_everything_inside_them():
    tokens = [tokenize(t) for t, _ in TREEBANK]
    seen = set()
    for seed in range(12):
        train, val, dropped = sentence_split(tokens, 0.4, seed)  # 2 of the 5 sentences
        val_texts = {TREEBANK[i][0] for i in val}
        assert len(val) == 2 and val_texts <= SENTENCES
        held_out = set().union(*(spans(tokens[i]) for i in val))
        assert not {tuple(tokens[i]) for i in train} & held_out  # no part of a validation sentence is trained on
        # every phrase is in exactly one place: train, validation, or dropped because it lies in a val sentence
        assert sorted(train + val) == sorted(set(train + val)) and len(train) + len(val) + dropped == len(TREEBANK)
        assert dropped == sum(tuple(t) in held_out for t in tokens) - len(val)
        assert sentence_split(tokens, 0.4, seed) == (train, val, dropped)  # seeded
        seen.add(frozenset(val_texts))
    assert len(seen) > 3  # seeds draw different sentences
    with pytest.raises(DataError, match="empty"):
        sentence_split(tokens, 0.01, 0)  # 0 of 5 sentences


def test_text_bundle_with_sentence_split_keeps_labels_and_builds_vocab_from_train_only():
    texts, labels = zip(*TREEBANK)
    b = text_bundle("bank", list(texts), list(labels), ["a witty plot"], [1], seed=3, max_len=8, min_freq=1,
                    max_vocab=100, val_fraction=0.2, val_split="sentences")
    assert len(b.val) == 1 and b.extras["texts"]["val"][0] in SENTENCES
    assert len(b.train) + len(b.val) + b.extras["dropped_from_train"] == len(TREEBANK)
    label_of = dict(TREEBANK)
    for split in ("train", "val"):
        assert getattr(b, split).y.tolist() == [label_of[t] for t in b.extras["texts"][split]]
    train_words = {w for t in b.extras["texts"]["train"] for w in tokenize(t)}
    assert set(b.extras["vocab"].itos[2:]) == train_words


def test_sst2_missing_tells_where_to_get_it(tmp_path):
    for d in (None, str(tmp_path)):
        with pytest.raises(DataError, match="SST-2"):
            load_data("sst2", data_dir=d)


@pytest.mark.data
def test_real_sst2_counts():
    if not (SHARED / "sst2" / "train.tsv").is_file():
        pytest.skip("../shared/data/sst2 not present")
    b = load_data("sst2", data_dir=str(SHARED))
    assert len(b.train) + len(b.val) + b.extras["dropped_from_train"] == 67_349 and len(b.test) == 872
    # validation is ~10% of the ~6.9k whole sentences, as long as the test sentences, none of it in train
    assert 600 < len(b.val) < 800 and b.val.lengths.float().mean() > 1.5 * b.train.lengths.float().mean()
    train = {tuple(tokenize(t)) for t in b.extras["texts"]["train"]}
    assert not any(spans(tokenize(t)) & train for t in b.extras["texts"]["val"][:100])
    assert b.train.x.shape[1] <= 64 and b.vocab_size <= 20_000
    assert set(b.test.y.unique().tolist()) == {0, 1}
    assert (b.test.x == Vocab.UNK).float().sum() / b.test.lengths.sum() < 0.15
