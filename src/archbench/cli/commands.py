"""The handler of each archbench command: turn parsed arguments into a library call and print the result.

Loaded only once a command runs (``cli/__init__.py``), so these import the library at the top.
"""
from __future__ import annotations

import json
import os
import sys
from datetime import datetime
from pathlib import Path
from typing import Optional

from ..baselines import BASELINE_KINDS, BASELINES
from ..config import RESUME_RUNTIME, TrainConfig, load_config_file, parse_sets
from ..data import list_datasets, load_data
from ..errors import UsageError
from ..experiment.baseline_runs import refuse_explain
from ..experiment.bench import run_bench
from ..experiment.compare import compare
from ..experiment.export import export_run
from ..experiment.lr_find import lr_find
from ..experiment.plan import Plan, pair_models, parse_budget, parse_seeds, parse_sweep
from ..experiment.predict import predict_run, write_predictions
from ..experiment.run import evaluate_run, resume_run, train
from ..experiment.tune import tune
from ..experiment.tune_storage import start_local_workers
from ..files import lock_dir, write_json
from ..models import list_models
from ..report.html import build_report, open_report
from ..rundir import check_resumable, marker, open_out_dir
from ..viz.explain import write_explain
from ..viz.fundamentals import write_fundamentals
from ..viz.show import write_preview
from .gradients import gradients_command, setup_line
from .launch import check_before_launch, launch_torchrun
from .parser import FLAG_FIELDS
from .summary import summary_command


def collect_settings(args) -> dict:
    """--config file < flags < --set, as one dict of raw settings."""

    settings = load_config_file(args.config) if getattr(args, "config", None) else {}
    for name in FLAG_FIELDS:
        v = getattr(args, name, None)
        if v is not None:
            settings[name] = v
    settings.update(parse_sets(getattr(args, "set", [])))
    return settings


# ---------------------------------------------------------------- commands

def cmd_train(args) -> int:
    if args.resume:
        settings = resume_request(args)
        if settings is None:  # finished: nothing to resume (said once, not by every rank)
            return 0
        if args.nproc and args.nproc > 1:
            # a resumed run takes its device from its config.json: its ranks check it themselves
            return launch_torchrun(args.nproc, None)
        resume_run(args.resume, settings)
        return 0
    cfg, settings = train_request(args)
    if args.nnodes > 1 or args.rdzv_endpoint:  # one agent per node, meeting at the c10d rendezvous
        if not args.rdzv_endpoint or args.nnodes < 1:
            raise UsageError("--nnodes N goes with --rdzv-endpoint HOST:PORT (the same on every node)")
        check_before_launch(cfg, settings)
        return launch_torchrun(max(1, args.nproc), args.device or "auto", nodes=(args.nnodes, args.rdzv_endpoint))
    if args.nproc and args.nproc > 1:
        check_before_launch(cfg, settings)
        return launch_torchrun(args.nproc, args.device or "auto")
    train(cfg, settings)
    return 0


def resume_request(args) -> Optional[dict]:
    """`archbench train --resume RUN_DIR` arguments -> the runtime settings it may change, or None when
    RUN_DIR's run is finished; checked before anything starts."""


    if args.model:
        raise UsageError("give either MODEL or --resume RUN_DIR, not both")
    settings = collect_settings(args)
    changed = sorted(k for k in settings if k not in RESUME_RUNTIME) + (["data"] if args.data else [])
    if changed:  # a resumed run must be the run it was: same schedule, same data, same budget
        raise UsageError(f"--resume continues {args.resume} as configured; it cannot change "
                         f"{', '.join(changed)} (only {', '.join(RESUME_RUNTIME)}): start a new run instead")
    return None if check_resumable(Path(args.resume)) is None else settings


def train_request(args):
    """`archbench train` arguments -> (TrainConfig with model, data and out; the other settings)."""

    settings = collect_settings(args)
    model = args.model or settings.get("model")  # a --config file may name it
    settings.pop("model", None)
    if not model:
        raise UsageError("name a MODEL to train (see `archbench models`) or --resume RUN_DIR")
    cfg = TrainConfig(model=model, data=args.data or settings.pop("data", "digits"), out=args.out)
    settings.pop("data", None)
    return cfg, settings


def cmd_evaluate(args) -> int:
    res = evaluate_run(args.run_dir, device=args.device)
    if args.json:
        print(json.dumps(res, indent=2))
    elif "test_accuracy" in res:
        print(f"{res['model']} on {res['data']}: test accuracy {100 * res['test_accuracy']:.2f}%, "
              f"loss {res['test_loss']:.4f} ({res['n']} examples)")
    else:
        print(f"{res['model']} on {res['data']}: test MAE {res['test_mae']:.4f}, RMSE {res['test_rmse']:.4f}")
    return 0


def cmd_predict(args) -> int:
    rows = predict_run(args.run_dir, images=args.inputs, texts=args.text, top=args.top, text_file=args.text_file,
                       csv=args.csv, column=args.column)
    fmt = args.format or ("json" if args.json else None)
    if fmt or args.output:
        text = write_predictions(rows, fmt or "csv", args.output)
        if not args.output:
            print(text, end="")
        else:
            print(f"wrote {len(rows)} predictions to {args.output}", file=sys.stderr)
    elif rows and "forecast" in rows[0]:
        for r in rows:
            print(f"step {r['step']} after {r['after']}: {r['forecast']:.4f}")
    else:
        for r in rows:
            others = ", ".join(f"{t['label']} {100 * t['probability']:.1f}%" for t in r["top"][1:])
            print(f"{r['input']}: {r['label']} ({100 * r['probability']:.1f}%)" + (f"; then {others}" if others else ""))
    return 0


def cmd_export(args) -> int:
    path, info = export_run(args.run_dir, fmt=args.format, out=args.output)
    diff = info.get("max_abs_diff_vs_torch")
    print(f"wrote {path}" + (f" (onnxruntime vs PyTorch: max abs difference {diff:.2e})" if diff is not None else ""))
    return 0


def cmd_models(args) -> int:
    for e in list_models():
        print(f"{e.name:<14} {'/'.join(e.kinds):<26} {e.summary}")
        if args.verbose:
            hp = ", ".join(f"{k}={v!r}" for k, v in e.hparams().items())
            print(f"{'':14} hyperparameters: {hp}")
            for kind, r in e.recipe.items():
                print(f"{'':14} recipe[{kind}]: " + ", ".join(f"{k}={v}" for k, v in r.items()))
    for name, summary in BASELINES.items():
        print(f"{name:<14} {BASELINE_KINDS[name]:<26} {summary}")
    return 0


def cmd_datasets(args) -> int:
    for e in list_datasets():
        name = e.name + ("PATH" if e.takes_arg else "")
        opts = e.options()
        extra = ("  options: " + ", ".join(f"{k}={v!r}" for k, v in opts.items())) if opts and args.verbose else ""
        print(f"{name:<16} {e.kind:<9} {e.summary}{extra}")
    return 0


def settings_without_data(args) -> dict:
    settings = collect_settings(args)
    settings.pop("data", None)
    return settings


def cmd_compare(args) -> int:
    plan, settings = compare_request(args)
    out = Path(args.out) if args.out else Path("runs") / f"compare-{datetime.now():%Y%m%d-%H%M%S}"
    if args.jobs < 1:
        raise UsageError(f"--jobs must be at least 1, got {args.jobs}")
    if args.resume and not args.out:
        raise UsageError("--resume goes on with a comparison in its folder: give that folder as --out DIR")
    compare(plan, settings, out, tune_trials=args.tune or 0, jobs=args.jobs, resume=args.resume,
            cluster=args.cluster, address=args.address, shared_fs=args.shared_fs)
    print((out / "comparison.md").read_text())
    print((out / "significance.md").read_text().split("\n", 1)[1].strip() + "\n")
    print(f"report: {(out / 'report.html').resolve()}")
    return 0


def compare_request(args):
    """`archbench compare` arguments -> (Plan, the settings every run gets)."""

    settings = settings_without_data(args)
    seeds = parse_seeds(args.seeds, args.repeats, default=int(settings.pop("seed", 0)))
    budget = parse_budget(args.budget)
    if budget and "epochs" in settings:
        raise UsageError("give --budget or --epochs, not both")
    if "epochs" in settings:  # the same epochs for every model is a budget: the table's note says so
        budget = {"epochs": settings.pop("epochs")}
    key, values = parse_sweep(args.sweep)
    if key is None and isinstance(settings.get("folds"), int) and settings["folds"] >= 2:
        key, values = "fold", list(range(settings["folds"]))  # k-fold: each fold a run, averaged like draws
    return Plan(pair_models(args.models, args.data or []), seeds, budget, key, values), settings


def cmd_fundamentals(args) -> int:
    out = write_fundamentals(args.out, progress=True)
    print(f"report: {build_and_locate(out)}")
    return 0


def cmd_explain(args) -> int:
    refuse_explain(args.run_dir)
    out = write_explain(args.run_dir, out_dir=args.out, n_examples=args.examples)
    print(f"report: {build_and_locate(out)}")
    return 0


def cmd_gradients(args) -> int:
    open_out_dir(args.out, "gradients", create=False)
    settings = settings_without_data(args)
    out = gradients_command(args.models, args.data, settings, Path(args.out), n=args.samples, recipe=args.recipe)
    print(setup_line(args.recipe, settings))
    print(f"report: {build_and_locate(out)}")
    return 0


def cmd_show(args) -> int:
    out = open_out_dir(Path(args.out), "show")
    bundle = load_data(args.data, data_dir=args.data_dir, seed=args.data_seed, **parse_sets(args.set))
    write_json(out / "figures.json", [write_preview(bundle, out, n=args.examples)])
    write_json(out / "archbench.json", marker("show", f"The data: {bundle.name}"))
    print(f"report: {build_and_locate(out)}")
    return 0


def cmd_summary(args) -> int:
    print(summary_command(args.model, args.data or "digits", settings_without_data(args), markdown=args.markdown))
    return 0


def cmd_report(args) -> int:
    for d in args.dirs:
        if os.path.isdir(d):
            lock_dir(d)  # never rewrite the page of a directory a live process is writing
        path = build_report(d, embed=args.embed)
        print(path)
        if args.open:
            open_report(path)
    return 0


def cmd_lr_find(args) -> int:
    open_out_dir(args.out, "lr-find", create=False)
    settings = settings_without_data(args)
    cfg = TrainConfig(model=args.model, data=args.data or "digits")
    res = lr_find(cfg, settings, out_dir=Path(args.out))
    print(f"suggested learning rate: {res['suggestion']:.3g}  (use --lr {res['suggestion']:.3g}, or --lr auto)")
    print(f"report: {build_and_locate(Path(args.out))}")
    return 0


def cmd_tune(args) -> int:
    settings = settings_without_data(args)
    cfg = TrainConfig(model=args.model, data=args.data or "digits")
    storage, helpers = start_local_workers(args, Path(args.out))
    try:
        res = tune(cfg, settings, args.trials, Path(args.out), seed=int(settings.get("seed", 0)),
                   storage=storage, study_name=args.study)
    finally:
        for h in helpers:  # the helpers stop by themselves once the study holds --trials complete trials
            h.wait()
    print(f"best value {res['best_value']:.4f} with {res['best_params']}")
    print(f"train with it: archbench train --config {Path(args.out) / 'best.yaml'}")
    return 0


def cmd_bench(args) -> int:
    script = Path(args.reference_script) if args.reference_script else None
    if args.seed_reference and (script is None or not script.is_file()):
        raise UsageError("--seed-reference needs --reference-script PATH (../shared/bench/seed_reference.py)")
    models = args.models.split(",") if args.models else None
    run_bench(Path(args.out), args.data_dir, device=args.device, models=models,
              reference_python=args.seed_reference, reference_script=script, sequences=not args.no_sequences)
    print((Path(args.out) / "bench.md").read_text())
    return 0


def build_and_locate(directory) -> str:
    return str(build_report(directory).resolve())

