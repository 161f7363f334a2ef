"""`archbench export`: ONNX files give PyTorch's outputs under onnxruntime, for every neural family."""
import json

import pytest
import torch
from helpers import cli

pytest.importorskip("onnxruntime")

from archbench.experiment.export import check_onnx, example_input, export_onnx, export_program  # noqa: E402
from archbench.models import build_model  # noqa: E402

METAS = {
    "image": {"kind": "image", "task": "classification", "input_shape": [1, 8, 8], "num_classes": 10},
    "sequence": {"kind": "sequence", "task": "classification", "input_shape": [12, 3], "num_classes": 4},
    "text": {"kind": "text", "task": "classification", "input_shape": [16], "num_classes": 2, "vocab_size": 50},
    "forecast": {"kind": "forecast", "task": "regression", "input_shape": [12, 1], "num_classes": 3},
}
CASES = [("mlp", "image"), ("cnn", "image"), ("resnet-small", "image"), ("mlp", "sequence")] + [
    (m, k) for m in ("rnn", "birnn", "lstm", "gru", "lstm-attn", "transformer") for k in ("sequence", "text")
] + [("transformer", "forecast"), ("gru", "forecast")]


@pytest.mark.parametrize("name,kind", CASES)
def test_onnx_matches_torch(name, kind, tmp_path):
    torch.manual_seed(0)
    meta = METAS[kind]
    model = build_model(name, meta).eval()
    x = example_input(meta)
    path = export_onnx(model, x, tmp_path / "m.onnx", kind)
    assert check_onnx(model, path, x) < 1e-4
    # another batch size, and (sequences, texts) another length: the axes are dynamic, and the
    # Transformer's positional cache did not bake the traced length in
    shape = meta["input_shape"] if kind == "image" or name == "mlp" else [28, *meta["input_shape"][1:]]
    x2 = example_input({**meta, "input_shape": shape}, batch=5, seed=1)
    assert check_onnx(model, path, x2) < 1e-4


@pytest.mark.parametrize("name,kind", [("cnn", "image"), ("gru", "sequence"), ("transformer", "text")])
def test_torch_export_program(name, kind, tmp_path):
    torch.manual_seed(0)
    meta = METAS[kind]
    model = build_model(name, meta).eval()
    x = example_input(meta)
    path = export_program(model, x, tmp_path / "m.pt2", kind)
    prog = torch.export.load(str(path))
    x2 = example_input(meta, batch=3, seed=2)
    with torch.inference_mode():
        assert torch.allclose(prog.module()(x2), model(x2), atol=1e-5)


@pytest.fixture(scope="module")
def digits_mlp(tmp_path_factory):
    out = tmp_path_factory.mktemp("runs") / "mlp"
    from archbench import TrainConfig, train_model

    train_model(TrainConfig(model="mlp", data="digits", epochs=1, threads=1, progress="none", device="cpu", out=str(out)))
    return out


def test_export_cli(digits_mlp, tmp_path):
    res = cli("export", digits_mlp, "--output", tmp_path / "d.onnx")
    assert res.returncode == 0, res.stderr
    info = json.loads((tmp_path / "d.onnx.json").read_text())
    assert info["max_abs_diff_vs_torch"] < 1e-4 and info["input_shape"] == ["batch", 1, 8, 8]
    # the file classifies real digits like the run does
    import numpy as np
    import onnxruntime as ort

    from archbench import load_data
    from archbench.train.checkpoint import load_model

    bundle = load_data("digits")
    x = bundle.preprocess(bundle.test.x[:32])
    sess = ort.InferenceSession(str(tmp_path / "d.onnx"), providers=["CPUExecutionProvider"])
    got = sess.run(None, {"input": x.numpy()})[0]
    with torch.inference_mode():
        want = load_model(digits_mlp).eval()(x).numpy()
    assert np.array_equal(got.argmax(1), want.argmax(1))


def test_export_errors(digits_mlp, tmp_path):
    res = cli("export", tmp_path)
    assert res.returncode != 0 and "Traceback" not in res.stderr and len(res.stderr.strip().splitlines()) == 1


def test_sklearn_baseline_export(tmp_path):
    import numpy as np
    from sklearn.datasets import load_digits
    from sklearn.ensemble import HistGradientBoostingClassifier
    from sklearn.linear_model import LogisticRegression

    from archbench.experiment.export import export_sklearn

    x, y = load_digits(return_X_y=True)
    x = x.astype(np.float32)
    import onnxruntime as ort

    from archbench.errors import UsageError

    for est in (LogisticRegression(max_iter=500), HistGradientBoostingClassifier(max_iter=10, random_state=0)):
        est.fit(x[:1000], y[:1000])
        try:
            path = export_sklearn(est, x.shape[1], tmp_path / f"{type(est).__name__}.onnx")
        except UsageError as e:
            # skl2onnx 1.20 cannot build the tree node of scikit-learn 1.9's gradient boosting: the
            # refusal must then be one line naming the estimator
            assert isinstance(est, HistGradientBoostingClassifier) and "not exportable" in str(e)
            assert "\n" not in str(e)
            continue
        sess = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
        label, proba = sess.run(None, {"input": x[1000:]})
        assert np.array_equal(label, est.predict(x[1000:]))
        assert np.allclose(proba, est.predict_proba(x[1000:]), atol=1e-4)
