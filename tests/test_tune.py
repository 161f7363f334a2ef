"""Hyperparameter search: results on disk, resuming without repeats, the optional dependency."""
import csv
import json
import sys

import pytest

from archbench import TrainConfig
from archbench.config import load_config_file
from archbench.errors import UsageError

FAST = {"epochs": 1, "batch_size": 64, "threads": 1, "precision": "fp32", "hidden_sizes": [64]}
SPACE = {"lr": ("log", 1e-3, 3e-2), "dropout": ("float", 0.0, 0.3)}


def cfg():
    return TrainConfig(model="mlp", data="digits")


def finished(out_dir):
    optuna = pytest.importorskip("optuna")
    study = optuna.load_study(study_name="archbench", storage=f"sqlite:///{out_dir / 'study.db'}")
    S = optuna.trial.TrialState
    return [t for t in study.trials if t.state in (S.COMPLETE, S.PRUNED)], study


def test_tune_writes_a_best_yaml_that_trains(tmp_path):
    pytest.importorskip("optuna")
    from archbench.experiment.resolve import resolve_config
    from archbench.experiment.tune import tune

    res = tune(cfg(), FAST, trials=3, out_dir=tmp_path, space=SPACE)
    assert res["n_trials"] == 3 and 0 < res["best_value"] <= 1
    assert set(res["best_params"]) == {"lr", "dropout"}
    settings = load_config_file(str(tmp_path / "best.yaml"))
    assert settings["lr"] == res["best_params"]["lr"] and settings["hidden_sizes"] == [64]
    assert "threads" not in settings and "precision" not in settings  # how it ran is not what it learned
    c = TrainConfig(model=settings.pop("model"), data=settings.pop("data"))
    c = resolve_config(c, settings)
    assert c.lr == res["best_params"]["lr"] and c.model_args["dropout"] == res["best_params"]["dropout"]
    rows = list(csv.DictReader((tmp_path / "trials.csv").open()))
    assert [r["number"] for r in rows] == ["0", "1", "2"]
    best_row = max((r for r in rows if r["state"] == "complete"), key=lambda r: float(r["value"]))
    assert float(best_row["value"]) == pytest.approx(res["best_value"], rel=1e-5)
    marker = json.loads((tmp_path / "archbench.json").read_text())
    assert marker["type"] == "tune" and "mlp on digits" in marker["title"]
    figures = json.loads((tmp_path / "figures.json").read_text())
    assert [f["file"] for f in figures] == ["tune.png", "tune_params.png"]
    assert all((tmp_path / f["file"]).stat().st_size > 0 for f in figures)


def test_interrupted_tune_resumes_without_repeating_trials(tmp_path):
    pytest.importorskip("optuna")
    from archbench.experiment.tune import tune

    tune(cfg(), FAST, trials=2, out_dir=tmp_path, space=SPACE)
    first, _ = finished(tmp_path)
    assert len(first) == 2
    res = tune(cfg(), FAST, trials=4, out_dir=tmp_path, space=SPACE)
    after, study = finished(tmp_path)
    assert res["n_trials"] == 4 and len(study.trials) == 4 and len(after) == 4
    for old, new in zip(first, after[:2]):  # the same trials, not run again
        assert (old.number, old.params, old.value, old.datetime_start) == (new.number, new.params, new.value,
                                                                           new.datetime_start)
    assert after[2].params != after[0].params
    # asking for no more than is done runs nothing and rewrites the results
    tune(cfg(), FAST, trials=3, out_dir=tmp_path, space=SPACE)
    assert len(finished(tmp_path)[1].trials) == 4
    # another model, or other fixed settings, in the same directory would mix incomparable trials
    with pytest.raises(UsageError, match="differs in model"):
        tune(TrainConfig(model="cnn", data="digits"), {"epochs": 1}, trials=1, out_dir=tmp_path, space=SPACE)
    with pytest.raises(UsageError, match=r"differs in settings epochs \(1 there, 2 here\)"):
        tune(cfg(), {**FAST, "epochs": 2}, trials=5, out_dir=tmp_path, space=SPACE)
    assert len(finished(tmp_path)[1].trials) == 4


@pytest.mark.slow
def test_a_resumed_search_proposes_what_an_uninterrupted_one_does(tmp_path):
    pytest.importorskip("optuna")
    from archbench.experiment.tune import tune

    tune(cfg(), FAST, trials=3, out_dir=tmp_path / "once", space=SPACE)
    tune(cfg(), FAST, trials=1, out_dir=tmp_path / "twice", space=SPACE)
    tune(cfg(), FAST, trials=3, out_dir=tmp_path / "twice", space=SPACE)
    once, twice = finished(tmp_path / "once")[0], finished(tmp_path / "twice")[0]
    assert [(t.params, t.value) for t in once] == [(t.params, t.value) for t in twice]


def test_a_trial_left_running_by_a_killed_search_is_failed_and_replaced(tmp_path):
    optuna = pytest.importorskip("optuna")
    from archbench.experiment.tune import tune

    study = optuna.create_study(study_name="archbench", storage=f"sqlite:///{tmp_path / 'study.db'}",
                                direction="maximize")
    study.ask()  # a trial that started and never reported: what a kill leaves behind
    tune(cfg(), FAST, trials=1, out_dir=tmp_path, space=SPACE)
    states = [t.state for t in finished(tmp_path)[1].trials]
    assert states == [optuna.trial.TrialState.FAIL, optuna.trial.TrialState.COMPLETE]
    rows = list(csv.DictReader((tmp_path / "trials.csv").open()))
    assert rows[0]["state"] == "fail" and rows[0]["error"] == "interrupted"


def test_search_space_comes_from_the_model_less_fixed_keys():
    from archbench.experiment.tune import DEFAULT_SPACE, search_space
    from archbench.models import model_entry

    declared = model_entry("mlp").search_space
    space = search_space(cfg(), {"lr": 0.01})
    assert "lr" not in space and set(space) == set(declared) - {"lr"}
    assert search_space(TrainConfig(model="mlp", data="digits", weight_decay=0.1), {}, DEFAULT_SPACE) == \
        {"lr": DEFAULT_SPACE["lr"]}
    with pytest.raises(UsageError, match="neither a config field"):
        search_space(cfg(), {}, {"not_a_key": ("log", 1e-3, 1e-1)})
    with pytest.raises(UsageError, match="must be"):
        search_space(cfg(), {}, {"lr": ("log", 0, 1)})


def test_choice_of_lists_round_trips():
    optuna = pytest.importorskip("optuna")
    from archbench.experiment.tune import sample
    from archbench.experiment.tune_results import decode

    space = {"hidden_sizes": ("choice", [[64], [128, 64]]), "activation": ("choice", ["relu", "tanh"])}
    trial = optuna.create_study(sampler=optuna.samplers.RandomSampler(seed=0)).ask()
    params = sample(trial, space)
    assert params["hidden_sizes"] in ([64], [128, 64]) and params["activation"] in ("relu", "tanh")
    assert decode(trial.params, space) == params


def test_without_optuna_says_how_to_install(tmp_path, monkeypatch):
    from archbench.experiment.tune import tune

    monkeypatch.setitem(sys.modules, "optuna", None)
    with pytest.raises(UsageError, match=r"pip install 'archbench\[tune\]'"):
        tune(cfg(), FAST, trials=1, out_dir=tmp_path)
