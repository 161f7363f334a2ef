from pathlib import Path

import pytest
import torch

from archbench.data import load_data
from archbench.data.text import Vocab, read_tsv, tokenize
from archbench.errors import DataError

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
    b = load_data("sst2", data_dir=str(tmp_path), val_fraction=0.25)
    assert (len(b.train), len(b.val), len(b.test)) == (18, 6, 12)
    assert b.test.y.tolist() == labels  # dev.tsv is the test split, in file order
    b2 = load_data("sst2", data_dir=str(tmp_path / "sst2"), val_fraction=0.25)  # DIR/train.tsv directly
    assert torch.equal(b2.train.x, b.train.x)
    b3 = load_data("sst2", data_dir=str(tmp_path), val_fraction=0.25, seed=1)
    assert b3.extras["texts"]["val"] != b.extras["texts"]["val"] or not torch.equal(b3.val.y, b.val.y)


def test_sst2_missing_tells_where_to_get_it(tmp_path):
    for d in (None, str(tmp_path)):
        with pytest.raises(DataError, match="SST-2"):
            load_data("sst2", data_dir=d)


@pytest.mark.data
def test_real_sst2_counts():
    if not (SHARED / "sst2" / "train.tsv").is_file():
        pytest.skip("../shared/data/sst2 not present")
    b = load_data("sst2", data_dir=str(SHARED))
    assert len(b.train) + len(b.val) == 67_349 and len(b.test) == 872
    assert b.train.x.shape[1] <= 64 and b.vocab_size <= 20_000
    assert set(b.test.y.unique().tolist()) == {0, 1}
    assert (b.test.x == Vocab.UNK).float().sum() / b.test.lengths.sum() < 0.15
