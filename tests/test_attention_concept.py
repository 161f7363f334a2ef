"""The notebook's 6.1 attention concept: softmax weights of the scores for "sat" over "The cat sat on the mat"."""
import math

import torch

from archbench.viz.attention_concept import WORDS, attention_concept, attention_rows, draw_attention_concept


def test_softmax_weights_by_hand_and_sharper_when_scaled(tmp_path):
    c = attention_concept()
    assert c["words"] == ["The", "cat", "sat", "on", "the", "mat"] == WORDS
    e = [math.exp(s) for s in c["scores"].tolist()]
    assert torch.allclose(c["weights"], torch.tensor([v / sum(e) for v in e]))
    assert abs(float(c["weights"].sum()) - 1) < 1e-6
    # the same order, but not the same ratios: the query's own word goes from 0.31 to 0.82 when scaled by 4
    assert c["weights"].argsort().tolist() == c["scores"].argsort().tolist()
    assert c["weights"][2] < 0.35 < 0.8 < c["sharp_weights"][2]
    rows = attention_rows(c)
    assert [r["word"] for r in rows] == WORDS and rows[2]["softmax_weight"] == f"{float(c['weights'][2]):.3f}"
    draw_attention_concept(tmp_path / "a.png", c)
    assert (tmp_path / "a.png").read_bytes()[:4] == b"\x89PNG"
