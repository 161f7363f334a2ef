"""`archbench compare` end to end on a tiny budget, and its parsing of seeds, budgets and sweeps."""
import csv
import json

import pytest
from helpers import run_cli

from archbench.errors import UsageError
from archbench.experiment.plan import pair_models, parse_budget, parse_seeds, parse_sweep


def test_parsing():
    assert parse_seeds("0,1,2", None) == [0, 1, 2]
    assert parse_seeds(None, 3) == [0, 1, 2]
    assert parse_budget("epochs=3") == {"epochs": 3}
    assert parse_budget("seconds=2.5") == {"max_seconds": 2.5}
    assert parse_sweep("seq_len=50,100") == ("seq_len", [50, 100])
    for bad in (lambda: parse_seeds("a,b", None), lambda: parse_seeds("1,1", None),
                lambda: parse_budget("hours=3"), lambda: parse_budget("epochs=-1")):
        with pytest.raises(UsageError):
            bad()


def test_epochs_for_every_model_is_the_budget_the_table_states():
    from archbench.cli.commands import compare_request
    from archbench.cli.parser import build_parser
    from archbench.experiment.plan import budget_text

    plan, settings = compare_request(build_parser().parse_args(["compare", "mlp", "--data", "digits", "--epochs", "5"]))
    assert plan.budget == {"epochs": 5} and "epochs" not in settings
    assert budget_text(plan.budget) == "5 epochs each"


def test_models_go_with_the_data_they_take():
    pairs = pair_models(["mlp", "cnn", "lstm"], ["digits", "seq-sum"])
    assert ("digits", "cnn") in pairs and ("seq-sum", "lstm") in pairs and ("seq-sum", "mlp") in pairs
    assert ("seq-sum", "cnn") not in pairs and ("digits", "lstm") not in pairs
    with pytest.raises(UsageError, match="takes"):
        pair_models(["cnn"], ["seq-sum"])


@pytest.mark.slow
def test_compare_with_seeds_end_to_end(tmp_path):
    out = tmp_path / "cmp"
    res = run_cli("compare", "mlp", "cnn", "--data", "digits", "--seeds", "0,1", "--budget", "epochs=1",
                  "--threads", "1", "--out", out)
    assert res.returncode == 0, res.stderr
    assert "Test acc" in res.stdout and "report.html" in res.stdout
    rows = list(csv.DictReader(open(out / "results.csv")))
    assert len(rows) == 4 and {r["seed"] for r in rows} == {"0", "1"}
    # the table's mean ± std is that of the per-seed rows
    import statistics

    accs = [100 * float(r["test_accuracy"]) for r in rows if r["model"] == "mlp"]
    table = (out / "comparison.md").read_text()
    mlp_line = next(l for l in table.splitlines() if "| mlp |" in l)
    assert f"{statistics.mean(accs):.2f} ± {statistics.stdev(accs):.2f}" in mlp_line
    assert "1 epoch each" in table
    sig = (out / "significance.md").read_text()
    assert "vs" in sig and "McNemar" in sig
    for col in ("FLOPs/sample", "Latency b1 (ms)", "Weights (MB)", "Peak RSS (MB)"):
        assert col in table
    comp = json.loads((out / "comparison.json").read_text())
    for run in comp["runs"]:
        assert (out / run["dir"] / "report.html").exists()
    figs = json.loads((out / "figures.json").read_text())
    assert all((out / f["file"]).exists() for f in figs)
    html = (out / "report.html").read_text()
    assert "significant" in html and "runs/digits/mlp-s0/report.html" in html


@pytest.mark.slow
def test_compare_tunes_every_model_first(tmp_path):
    pytest.importorskip("optuna")
    out = tmp_path / "cmp"
    res = run_cli("compare", "mlp", "--data", "digits", "--tune", "2", "--budget", "epochs=1", "--threads", "1",
                  "--out", out)
    assert res.returncode == 0, res.stderr
    trials = list(csv.DictReader(open(out / "tuning" / "digits" / "mlp" / "trials.csv")))
    assert len(trials) == 2
    best = (out / "tuning" / "digits" / "mlp" / "best.yaml").read_text()
    config = json.loads((out / "runs" / "digits" / "mlp-s0" / "config.json").read_text())["train"]
    import yaml

    tuned = yaml.safe_load(best)
    if "lr" in tuned:  # the final run trained with the tuned learning rate
        assert config["lr"] == pytest.approx(tuned["lr"])


@pytest.mark.slow
def test_sweep_runs_the_grid_and_skips_pairs_without_the_key(tmp_path):
    out = tmp_path / "cmp"
    res = run_cli("compare", "cnn", "rnn", "--data", "digits", "--data", "seq-sum", "--sweep", "seq_len=8,16",
                  "--set", "n_samples=300", "--budget", "epochs=1", "--threads", "1", "--out", out)
    assert res.returncode == 0, res.stderr
    rows = list(csv.DictReader(open(out / "results.csv")))
    by = {(r["model"], r["seq_len"]): r for r in rows}
    assert set(by) == {("cnn", "8"), ("cnn", "16"), ("rnn", "8"), ("rnn", "16")}
    # cnn on digits has no seq_len: it trains once and that run stands for both values
    assert by[("cnn", "8")]["run_dir"] == by[("cnn", "16")]["run_dir"]
    assert by[("rnn", "8")]["run_dir"] != by[("rnn", "16")]["run_dir"]
    cfg16 = json.loads((out / by[("rnn", "16")]["run_dir"] / "config.json").read_text())
    assert cfg16["data"]["options"]["seq_len"] == 16 and cfg16["data"]["input_shape"] == [16, 1]
    assert (out / "sweep_seq_len.png").exists()
    # every swept value in the results table (csv, md and so the page), not only the last
    table = list(csv.DictReader(open(out / "comparison.csv")))
    assert {("rnn", "8"), ("rnn", "16")} <= {(r["Model"], r["Seq_len"]) for r in table}
    assert "A row per seq_len value" in (out / "comparison.md").read_text()


@pytest.mark.slow
def test_jobs_run_in_parallel_processes_with_the_results_of_one_thread_runs(tmp_path):
    common = ["--data", "seq-sum", "--set", "n_samples=300", "--set", "seq_len=10", "--budget", "epochs=2"]
    seq = run_cli("compare", "rnn", "gru", *common, "--threads", "1", "--out", tmp_path / "seq")
    par = run_cli("compare", "rnn", "gru", *common, "--jobs", "2", "--out", tmp_path / "par")
    assert seq.returncode == 0 and par.returncode == 0, seq.stderr + par.stderr
    rows = {name: list(csv.DictReader(open(tmp_path / name / "results.csv"))) for name in ("seq", "par")}
    assert [r["model"] for r in rows["par"]] == ["rnn", "gru"]  # plan order, whichever finished first
    for a, b in zip(rows["seq"], rows["par"]):
        assert a["test_accuracy"] == b["test_accuracy"] and a["best_val_accuracy"] == b["best_val_accuracy"]
    assert json.loads((tmp_path / "par" / "comparison.json").read_text())["jobs"] == 2
    for run in json.loads((tmp_path / "par" / "comparison.json").read_text())["runs"]:
        assert (tmp_path / "par" / run["dir"] / "model.safetensors").exists()


def test_jobs_must_be_positive(tmp_path):
    res = run_cli("compare", "rnn", "--data", "seq-sum", "--jobs", "0", "--out", tmp_path / "x")
    assert res.returncode == 2 and "--jobs" in res.stderr and "Traceback" not in res.stderr


def test_a_sweep_over_data_seed_averages_the_table_over_the_draws(tmp_path):
    out = tmp_path / "draws"
    res = run_cli("compare", "lstm", "gru", "--data", "seq-sum", "--sweep", "data_seed=0,1", "--set", "n_samples=300",
                  "--set", "seq_len=10", "--budget", "epochs=1", "--threads", "1", "--out", out)
    assert res.returncode == 0, res.stderr
    rows = list(csv.DictReader(open(out / "results.csv")))
    acc = {(r["model"], r["data_seed"]): 100 * float(r["test_accuracy"]) for r in rows}
    assert len(acc) == 4
    table = {r["Model"]: r for r in csv.DictReader(open(out / "comparison.csv"))}
    for model in ("lstm", "gru"):
        a, b = acc[(model, "0")], acc[(model, "1")]
        assert table[model]["Test acc (%)"].startswith(f"{(a + b) / 2:.2f}")  # the mean of the two draws
    assert "data seeds: 0, 1 (2 run(s) per model" in (out / "comparison.md").read_text()
    assert (out / "sweep_data_seed.png").exists()


@pytest.mark.slow
def test_resume_keeps_finished_runs_and_continues_interrupted_ones(tmp_path):
    """A comparison stopped part-way goes on with --resume: the finished run is not trained again, the
    interrupted one continues from its checkpoint, and the table equals an uninterrupted comparison's."""
    from helpers import strip_row_timing, strip_timing

    from archbench import TrainConfig, train_model
    from archbench.experiment.compare import compare
    from archbench.experiment.plan import Plan

    plan = Plan([("digits", "mlp")], seeds=[0, 1], budget={"epochs": 2})
    settings = {"threads": 1, "precision": "fp32", "device": "cpu", "batch_size": 128}
    quiet = lambda s: None
    ref = compare(plan, settings, tmp_path / "ref", log=quiet)["rows"]

    out = tmp_path / "cmp"
    compare(Plan([("digits", "mlp")], seeds=[0], budget={"epochs": 2}), settings, out, log=quiet)
    kept_weights = (out / "runs/digits/mlp-s0/model.safetensors").stat().st_mtime_ns

    def stop_after_first_epoch(trainer):
        raise KeyboardInterrupt  # as if the comparison were stopped during the second run

    with pytest.raises(KeyboardInterrupt):
        train_model(TrainConfig(model="mlp", data="digits", out=str(out / "runs/digits/mlp-s1")),
                    {**settings, "epochs": 2, "progress": "none", "seed": 1}, on_epoch=stop_after_first_epoch)
    assert not (out / "runs/digits/mlp-s1/metrics.json").exists()

    said = []
    rows = compare(plan, settings, out, resume=True, log=said.append)["rows"]
    assert any("mlp on digits (seed 0) kept" in s for s in said), said
    assert any("(seed 1) ... continuing the interrupted run" in s for s in said), said
    assert (out / "runs/digits/mlp-s0/model.safetensors").stat().st_mtime_ns == kept_weights
    assert strip_row_timing(rows) == strip_row_timing(ref)
    for seed in (0, 1):
        hist = [list(csv.DictReader(open(d / f"runs/digits/mlp-s{seed}/history.csv"))) for d in (tmp_path / "ref", out)]
        assert strip_timing(hist[0]) == strip_timing(hist[1])

    # other settings are another comparison: nothing is kept, and without --resume nothing ever is
    said.clear()
    compare(plan, {**settings, "lr": 0.01}, out, resume=True, log=said.append)
    starts = [s for s in said if "..." in s]
    assert len(starts) == 2 and all("other settings: training anew" in s for s in starts), said
    said.clear()
    compare(plan, settings, out, log=said.append)
    assert not any("kept" in s for s in said), said


def test_resume_keeps_a_run_whose_epochs_a_step_floor_raised(tmp_path):
    """config.json holds the epochs the floor made of the recipe's: still the same run for --resume."""
    from archbench.experiment.compare import compare
    from archbench.experiment.plan import Plan

    plan = Plan([("digits", "mlp")], seeds=[0])  # no budget: the recipe's 30 epochs
    # 1294 training images in batches of 512: 2 steps an epoch, so 64 steps take 32 epochs
    settings = {"threads": 1, "precision": "fp32", "device": "cpu", "batch_size": 512, "min_steps": 64}
    compare(plan, settings, tmp_path, log=lambda s: None)
    held = json.loads((tmp_path / "runs/digits/mlp-s0/config.json").read_text())["train"]
    assert held["epochs"] == 32
    said = []
    compare(plan, settings, tmp_path, resume=True, log=said.append)
    assert any("mlp on digits (seed 0) kept" in s for s in said), said
