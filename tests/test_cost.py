import math

import pytest
import torch
import torch.nn as nn

from archbench.models.cost import (
    count_parameters,
    file_size_mb,
    forward_flops,
    inference_latency_ms,
    inference_throughput,
    measure_costs,
    peak_memory_mb,
)


def test_count_parameters_trainable_only():
    m = nn.Sequential(nn.Linear(10, 5), nn.Linear(5, 2))
    assert count_parameters(m) == 10 * 5 + 5 + 5 * 2 + 2
    m[0].weight.requires_grad_(False)
    assert count_parameters(m) == 5 + 5 * 2 + 2
    assert count_parameters(m, trainable_only=False) == 67


def test_linear_flops_per_sample():
    m = nn.Linear(20, 7)
    assert forward_flops(m, torch.randn(16, 20)) == 2 * 20 * 7  # per sample, not per batch


def test_conv_flops():
    cin, cout, k, h = 3, 8, 3, 12
    m = nn.Sequential(nn.Conv2d(cin, cout, k), nn.BatchNorm2d(cout), nn.ReLU(), nn.MaxPool2d(2))
    hout = h - k + 1
    assert forward_flops(m, torch.randn(4, cin, h, h)) == 2 * cin * cout * k * k * hout * hout


@pytest.mark.parametrize("cls,gates", [(nn.LSTM, 4), (nn.GRU, 3), (nn.RNN, 1)])
def test_recurrent_flops_are_counted(cls, gates):
    # oneDNN's fused LSTM kernel is invisible to FlopCounterMode; the count must still be exact.
    f, hdim, t = 5, 8, 6
    m = cls(f, hdim, batch_first=True, num_layers=2, bidirectional=True)
    layer1 = 2 * t * (2 * f * gates * hdim + 2 * hdim * gates * hdim)
    layer2 = 2 * t * (2 * 2 * hdim * gates * hdim + 2 * hdim * gates * hdim)
    assert forward_flops(m, torch.randn(3, t, f)) == layer1 + layer2


def test_transformer_flops_in_eval_match_train_path():
    # In eval the encoder takes a fused fast path that would count 0 FLOPs.
    d, ff, t = 16, 32, 5
    enc = nn.TransformerEncoder(nn.TransformerEncoderLayer(d, 2, ff, batch_first=True), 2)
    per_layer = 2 * t * d * 3 * d + 2 * t * d * d + 2 * 2 * t * t * d + 2 * 2 * t * d * ff
    assert forward_flops(enc, torch.randn(2, t, d)) == 2 * per_layer
    enc.train()
    forward_flops(enc, torch.randn(2, t, d))
    assert enc.training


def test_text_model_int64_input():
    m = nn.Sequential(nn.Embedding(50, 8), nn.Flatten(), nn.Linear(8 * 7, 3))
    x = torch.randint(0, 50, (4, 7))
    assert forward_flops(m, x) == 2 * 56 * 3
    assert inference_latency_ms(m, x, repeats=3, warmup=1) > 0


def test_latency_and_throughput_positive_finite(tmp_path):
    m = nn.Sequential(nn.Conv2d(1, 4, 3), nn.ReLU(), nn.Flatten(), nn.Linear(4 * 6 * 6, 10))
    x = torch.randn(32, 1, 8, 8)
    lat = inference_latency_ms(m, x, repeats=5, warmup=1)
    thr = inference_throughput(m, x, repeats=2)
    assert 0 < lat < 1e4 and math.isfinite(lat)
    assert thr > 0 and math.isfinite(thr)
    path = tmp_path / "w.bin"
    path.write_bytes(b"\0" * 2**20)
    assert file_size_mb(path) == pytest.approx(1.0)
    c = measure_costs(m, x, weights_path=path, latency_repeats=3, throughput_repeats=2)
    assert c["params"] == count_parameters(m)
    assert c["flops_per_sample"] == forward_flops(m, x)
    assert c["latency_ms_b1"] > 0 and c["throughput_samples_s"] > 0
    assert c["weights_mb"] == pytest.approx(1.0) and c["throughput_batch_size"] == 32
    assert c["sample_shape"] == [1, 8, 8] and c["device"] == "cpu"
    assert m.training  # measuring does not leave the model in eval mode


def test_peak_memory():
    mem = peak_memory_mb()
    assert mem["rss_mb"] is None or mem["rss_mb"] > 1.0
