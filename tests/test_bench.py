"""`archbench bench` against a stand-in for the notebook's code: parsing, targets and ratios."""
import json
import sys

from archbench.experiment.bench import notebook_accuracies, run_bench

TABLE = """ARCHITECTURE COMPARISON - SEQUENCE CLASSIFICATION
Model                  Parameters     Test Acc   Best Val Acc   Epochs
--------------------------------------------------------------------------------
Simple RNN                 12,737       97.33%         98.13%       30
LSTM                       52,674       98.93%         99.20%       23
GRU                        39,618       98.80%         99.07%       30
LSTM + Attention           69,634       97.87%         98.40%       30
Transformer               102,402       99.87%        100.00%       30
"""


def test_the_notebooks_table_is_parsed():
    accs = notebook_accuracies("noise\nEpoch [1/30] Val Acc: 50.00%\n" + TABLE)
    assert accs == {"rnn": 0.9733, "lstm": 0.9893, "gru": 0.988, "lstm-attn": 0.9787, "transformer": 0.9987}


def test_bench_sets_each_model_against_the_notebooks_run(tmp_path):
    fake = tmp_path / "reference.py"  # prints what seed_reference.py prints: cell times and the Part 8 table
    fake.write_text("import sys\nprint(%r)\nfor c, s in [(28, 40.0), (33, 20.0), (35, 80.0), (41, 60.0), (46, 130.0)]:\n"
                    "    print(f'[notebook cell {c}] {s}s')\n" % TABLE.replace("97.33%", "10.00%"))
    res = run_bench(tmp_path / "b", None, models=["rnn"], reference_python=sys.executable, reference_script=fake,
                    overrides={"epochs": 2, "n_samples": 200, "threads": 1, "progress": "none"})
    row = res["rows"][0]
    assert row["model"] == "rnn" and row["target_test_accuracy"] == 0.1  # the bar is the notebook's accuracy from this bench's own run
    assert row["notebook_s_to_acc"] == 40.0
    assert row["time_to_target_s"] is not None  # 10% is reached in the first epoch
    assert row["time_to_acc_ratio"] == 40.0 / row["time_to_target_s"]
    seq = res["reference"]["sequences"]
    assert seq["train_s"] == 330.0 and seq["speedup"] == 330.0 / row["train_seconds"]
    md = (tmp_path / "b" / "bench.md").read_text()
    assert "Time-to-acc ratio" in md and "Five-model sequence comparison" in md
    assert "test_curve" not in (tmp_path / "b" / "bench.csv").read_text()
    assert json.loads((tmp_path / "b" / "bench.json").read_text())["rows"][0]["model"] == "rnn"
