import pytest
import torch
import torch.nn as nn

from archbench.models.cost import count_parameters, forward_flops
from archbench.models.summary import format_summary, layer_summary, summary_markdown, totals


class LSTMNet(nn.Module):
    def __init__(self):
        super().__init__()
        self.lstm = nn.LSTM(4, 8, batch_first=True)
        self.fc = nn.Linear(8, 3)

    def forward(self, x):
        out, (h, c) = self.lstm(x)
        return self.fc(out[:, -1])


class TextGRU(nn.Module):
    """Embedding + GRU + hand-written attention pooling (a matmul in the container itself)."""

    def __init__(self):
        super().__init__()
        self.emb = nn.Embedding(50, 8, padding_idx=0)
        self.gru = nn.GRU(8, 8, batch_first=True)
        self.query = nn.Parameter(torch.randn(8))
        self.fc = nn.Linear(8, 2)

    def forward(self, x):
        h, _ = self.gru(self.emb(x))
        w = torch.softmax((h @ self.query).masked_fill(x == 0, -1e9), dim=1)
        return self.fc((w.unsqueeze(-1) * h).sum(1))


class Encoder(nn.Module):
    def __init__(self):
        super().__init__()
        self.proj = nn.Linear(4, 16)
        self.cls = nn.Parameter(torch.zeros(1, 1, 16))
        self.enc = nn.TransformerEncoder(nn.TransformerEncoderLayer(16, 2, 32, batch_first=True), 2)
        self.head = nn.Linear(16, 3)

    def forward(self, x):
        h = self.proj(x)
        h = torch.cat([self.cls.expand(len(h), -1, -1), h], 1)
        return self.head(self.enc(h)[:, 0])


def _cnn():
    return nn.Sequential(nn.Conv2d(3, 8, 3, padding=1), nn.BatchNorm2d(8), nn.ReLU(), nn.MaxPool2d(2),
                         nn.Flatten(), nn.Linear(8 * 8 * 8, 10))


CASES = {
    "mlp": (lambda: nn.Sequential(nn.Flatten(), nn.Linear(12, 6), nn.ReLU(), nn.Dropout(0.1), nn.Linear(6, 2)),
            lambda: torch.randn(3, 3, 4)),
    "cnn": (_cnn, lambda: torch.randn(2, 3, 16, 16)),
    "lstm": (LSTMNet, lambda: torch.randn(2, 5, 4)),
    "text-gru": (TextGRU, lambda: torch.tensor([[5, 9, 3, 0, 0], [1, 2, 3, 4, 5]])),
    "transformer": (Encoder, lambda: torch.randn(2, 5, 4)),
}


def _check_totals(model, x, rows):
    t = totals(rows)
    assert t["trainable"] == count_parameters(model)
    assert t["params"] == count_parameters(model, trainable_only=False)
    assert t["flops"] == forward_flops(model, x)


@pytest.mark.parametrize("case", list(CASES))
def test_totals_match_whole_model(case):
    make_model, make_x = CASES[case]
    torch.manual_seed(0)
    model, x = make_model(), make_x()
    rows = layer_summary(model, x)
    _check_totals(model, x, rows)
    assert all(r["flops"] >= 0 for r in rows)
    text = format_summary(rows)
    assert f"Total params: {count_parameters(model):,}" in text
    md = summary_markdown(rows)
    assert md.count("\n") == len(rows) + 2 and "**total**" in md


def test_rows_shapes_and_flops():
    rows = {r["name"]: r for r in layer_summary(_cnn(), torch.randn(4, 3, 16, 16))}
    assert rows["0"]["type"] == "Conv2d" and rows["0"]["output_shape"] == "[1, 8, 16, 16]"
    assert rows["0"]["flops"] == 2 * 3 * 8 * 9 * 16 * 16 and rows["0"]["params"] == 8 * 3 * 9 + 8
    assert rows["3"]["output_shape"] == "[1, 8, 8, 8]" and rows["3"]["params"] == 0
    assert rows["5"]["flops"] == 2 * 512 * 10


def test_tuple_outputs_and_attention_units():
    rows = {r["name"]: r for r in layer_summary(LSTMNet(), torch.randn(2, 5, 4))}
    assert rows["lstm"]["output_shape"] == "([1, 5, 8], ([1, 1, 8], [1, 1, 8]))"
    assert rows["lstm"]["flops"] == 5 * (2 * 4 * 32 + 2 * 8 * 32)
    rows = {r["name"]: r for r in layer_summary(Encoder(), torch.randn(2, 5, 4))}
    attn = rows["enc.layers.0.self_attn"]  # one row, its out_proj is not listed separately
    assert attn["type"] == "MultiheadAttention" and attn["params"] == 4 * 16 * 16 + 4 * 16
    assert "enc.layers.0.self_attn.out_proj" not in rows
    assert rows["(model) (own)"]["params"] == 16  # the cls token


def test_container_work_and_tied_weights():
    rows = {r["name"]: r for r in layer_summary(TextGRU(), torch.randint(1, 50, (2, 6)))}
    assert rows["(model) (own)"]["flops"] == 2 * 6 * 8  # h @ query
    assert rows["emb"]["output_shape"] == "[1, 6, 8]"

    class Tied(nn.Module):
        def __init__(self):
            super().__init__()
            self.emb = nn.Embedding(20, 4)
            self.out = nn.Linear(4, 20, bias=False)
            self.out.weight = self.emb.weight
            self.unused = nn.Linear(3, 3)

        def forward(self, x):
            return self.out(self.emb(x))

    m = Tied()
    rows = layer_summary(m, torch.randint(0, 20, (1, 3)))
    by = {r["name"]: r for r in rows}
    assert by["emb"]["params"] == 80 and by["out"]["params"] == 0
    assert rows[-1]["name"] == "unused" and rows[-1]["output_shape"] == "not called"
    assert totals(rows)["params"] == count_parameters(m) == 80 + 12


# Short sequences: FlopCounterMode sees every time step of an RNN as separate ops, which is slow.
META = {
    "image": {"kind": "image", "task": "classification", "input_shape": [1, 28, 28], "num_classes": 10},
    "sequence": {"kind": "sequence", "task": "classification", "input_shape": [8, 6], "num_classes": 10},
    "text": {"kind": "text", "task": "classification", "input_shape": [10], "num_classes": 2, "vocab_size": 60},
    "forecast": {"kind": "forecast", "task": "regression", "input_shape": [8, 1], "num_classes": 4},
}


def _input(meta):
    if meta["kind"] == "text":
        x = torch.randint(1, meta["vocab_size"], (2, *meta["input_shape"]))
        x[0, 6:] = 0  # padding at the end, as the data pipeline makes it
        return x
    return torch.randn(2, *meta["input_shape"])


def _registered():
    from archbench.models import list_models

    return [(e.name, kind) for e in list_models() for kind in e.kinds if kind in META]


@pytest.mark.parametrize("name,kind", _registered())
def test_every_registered_model(name, kind):
    from archbench.models import build_model

    torch.manual_seed(0)
    model = build_model(name, META[kind])
    x = _input(META[kind])
    rows = layer_summary(model, x)
    _check_totals(model, x, rows)
    assert totals(rows)["flops"] > 0
    assert model.training  # summarising leaves the mode alone
