"""archbench's command line. Every command imports its work lazily, so ``--help`` is instant.

Errors the user can fix print one line and exit non-zero (2 for usage errors); set
ARCHBENCH_DEBUG=1 to see a traceback instead.
"""
from __future__ import annotations

import argparse
import json
import os
import sys
from typing import List, Optional

from . import __version__
from .errors import ArchbenchError, UsageError

EPILOG = """examples:
  archbench train cnn --data digits                      train the notebook's CNN on offline digits
  archbench train mlp --data mnist --data-dir ../shared/data
  archbench train --resume runs/cnn-digits-20261126-101500
  archbench evaluate runs/cnn-digits-... --json
  archbench models ; archbench datasets
"""


class Parser(argparse.ArgumentParser):
    def error(self, message):  # one line, exit 2, like every other usage error
        self.exit(2, f"archbench: error: {message} (see --help)\n")


def add_train_args(p: argparse.ArgumentParser, multi: bool = False) -> None:
    g = p.add_argument_group("data")
    g.add_argument("--data", action="append" if multi else "store", default=None, metavar="NAME",
                   help="data set: digits (default, offline), mnist, fashion-mnist, cifar10, folder:PATH, ... "
                        "(see `archbench datasets`)" + ("; repeat for several" if multi else ""))
    g.add_argument("--data-dir", metavar="DIR", help="folder with a pre-downloaded copy (e.g. ../shared/data)")
    g.add_argument("--data-seed", type=int, default=None, help="seed of generated data and the validation split (0)")
    g = p.add_argument_group("training (defaults come from each model's recipe; see `archbench models -v`)")
    g.add_argument("--epochs", type=int)
    g.add_argument("--batch-size", type=int)
    g.add_argument("--lr", type=lr_value, help="learning rate (peak rate for onecycle), or 'auto' for the range test")
    g.add_argument("--optimizer", choices=["sgd", "momentum", "adam", "adamw", "rmsprop"])
    g.add_argument("--weight-decay", type=float)
    g.add_argument("--scheduler", choices=["none", "step", "exponential", "cosine", "plateau", "onecycle", "cosine-restarts"])
    g.add_argument("--patience", type=int, help="early-stopping patience in epochs (0: off; best weights are kept anyway)")
    g.add_argument("--augment", choices=["none", "basic", "strong"], help="batch augmentation for images")
    g.add_argument("--label-smoothing", type=float)
    g.add_argument("--target-accuracy", type=float, metavar="X",
                   help="stop once validation accuracy reaches X (fraction) and record the time it took")
    g.add_argument("--seed", type=int, default=None, help="seed for initialisation, order, augmentation (0)")
    g = p.add_argument_group("execution")
    g.add_argument("--device", default=None, help="auto (default) | cpu | cuda | cuda:N")
    g.add_argument("--precision", choices=["auto", "fp32", "bf16", "fp16"], default=None,
                   help="auto: bf16 where the hardware runs it fast and it keeps accuracy, else fp32")
    g.add_argument("--compile", action="store_true", default=None, help="torch.compile the model (falls back to eager)")
    g.add_argument("--threads", type=int, help="CPU threads (default: torch's choice)")
    g.add_argument("--progress", choices=["auto", "bar", "epoch", "none"], default=None,
                   help="auto: a bar on a terminal, one line per epoch otherwise")
    g.add_argument("--tensorboard", action="store_true", default=None, help="also log to DIR/tensorboard")
    g = p.add_argument_group("configuration")
    g.add_argument("--config", metavar="FILE.yaml", help="YAML file of settings (flags and --set override it)")
    g.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                   help="any config field, model hyperparameter (e.g. hidden_sizes=[256,128]) or data option "
                        "(e.g. seq_len=200); repeatable")


def lr_value(text: str):
    if text == "auto":
        return text
    try:
        return float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number or 'auto', got {text!r}") from None


FLAG_FIELDS = ("data_dir", "data_seed", "epochs", "batch_size", "lr", "optimizer", "weight_decay", "scheduler",
               "patience", "augment", "label_smoothing", "target_accuracy", "seed", "device", "precision", "compile",
               "threads", "progress", "tensorboard")


def at_least_one(text: str) -> int:
    """argparse type for counts (--top, --samples, --examples, --repeats)."""
    try:
        v = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number, got {text!r}") from None
    if v < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, got {v}")
    return v


def collect_settings(args) -> dict:
    """--config file < flags < --set, as one dict of raw settings."""
    from .config import load_config_file, parse_sets

    settings = load_config_file(args.config) if getattr(args, "config", None) else {}
    for name in FLAG_FIELDS:
        v = getattr(args, name, None)
        if v is not None:
            settings[name] = v
    settings.update(parse_sets(getattr(args, "set", [])))
    return settings


# ---------------------------------------------------------------- commands

def cmd_train(args) -> int:
    from .train.run import resume_run, train

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
    if args.nproc and args.nproc > 1:
        check_before_launch(cfg, settings)
        return launch_torchrun(args.nproc, args.device or "auto")
    train(cfg, settings)
    return 0


def resume_request(args) -> Optional[dict]:
    """`archbench train --resume RUN_DIR` arguments -> the runtime settings it may change, or None when
    RUN_DIR's run is finished; checked before anything starts."""
    from pathlib import Path

    from .config import RESUME_RUNTIME
    from .train.run import check_resumable

    if args.model:
        raise UsageError("give either MODEL or --resume RUN_DIR, not both")
    settings = collect_settings(args)
    changed = sorted(k for k in settings if k not in RESUME_RUNTIME) + (["data"] if args.data else [])
    if changed:  # a resumed run must be the run it was: same schedule, same data, same budget
        raise UsageError(f"--resume continues {args.resume} as configured; it cannot change "
                         f"{', '.join(changed)} (only {', '.join(RESUME_RUNTIME)}): start a new run instead")
    return None if check_resumable(Path(args.resume)) is None else settings


def check_before_launch(cfg, settings: dict) -> None:
    """What one process would refuse, refused once before N start (every rank would print the error);
    and the data loaded once, so that a data set that downloads does so here, not N times at once."""
    import copy
    from pathlib import Path

    from .data import load_data
    from .train.run import refuse_interrupted, resolve_config

    if cfg.out:
        refuse_interrupted(Path(cfg.out))
    run = resolve_config(copy.deepcopy(cfg), copy.deepcopy(settings))
    load_data(run.data, data_dir=run.data_dir, seed=run.data_seed, **run.data_args)


def train_request(args):
    """`archbench train` arguments -> (TrainConfig with model, data and out; the other settings)."""
    from .config import TrainConfig

    settings = collect_settings(args)
    model = args.model or settings.get("model")  # a --config file may name it
    settings.pop("model", None)
    if not model:
        raise UsageError("name a MODEL to train (see `archbench models`) or --resume RUN_DIR")
    cfg = TrainConfig(model=model, data=args.data or settings.pop("data", "digits"), out=args.out)
    settings.pop("data", None)
    return cfg, settings


def launch_torchrun(nproc: int, device: Optional[str] = None) -> int:
    """Re-run this very command under torchrun with N processes (the same as typing torchrun yourself).
    torchrun's agent runs in this process, so that a failed rank ends the command with one line instead
    of the agent's traceback and failure table."""
    import logging

    import torch
    from torch.distributed.elastic.multiprocessing.api import SignalException
    from torch.distributed.elastic.multiprocessing.errors import ChildFailedError
    from torch.distributed.run import parse_args, run

    from .train.runtime import too_few_gpus

    gpus = torch.cuda.device_count() if torch.cuda.is_available() else 0
    if device in ("auto", "cuda") and gpus and nproc > gpus:  # say so before torchrun starts N ranks
        raise UsageError(too_few_gpus(nproc))

    out: List[str] = []
    skip = False
    for a in sys.argv[1:]:  # drop --nproc N / --nproc=N
        if skip:
            skip = False
            continue
        if a == "--nproc":
            skip = True
            continue
        if a.startswith("--nproc="):
            continue
        out.append(a)
    launch = ["--standalone", f"--nproc-per-node={nproc}", "-m", "archbench", *out]
    print("launching: torchrun " + " ".join(launch), file=sys.stderr)
    # the agent logs each failure (said below in one line) and a banner about OMP_NUM_THREADS=1 per rank
    logging.getLogger("torch.distributed.elastic").setLevel(logging.CRITICAL)
    logging.getLogger("torch.distributed.run").setLevel(logging.ERROR)
    try:
        run(parse_args(launch))
    except ChildFailedError as e:
        rank, failure = e.get_first_failure()
        code = failure.exitcode
        err = ArchbenchError(f"process {rank} of {nproc} stopped first, with "
                             + (f"exit status {code}" if code >= 0 else f"signal {-code}")
                             + "; its message, if it wrote one, is above")
        err.exit_code = code if code in (1, 2) else 1
        raise err from None
    except SignalException:  # Ctrl-C or a kill reached the agent, which stopped the ranks
        raise KeyboardInterrupt from None
    return 0


def cmd_evaluate(args) -> int:
    from .train.run import evaluate_run

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
    from .predict import predict_run

    rows = predict_run(args.run_dir, images=args.inputs, texts=args.text, top=args.top)
    if args.json:
        print(json.dumps(rows, indent=2))
    else:
        for r in rows:
            others = ", ".join(f"{t['label']} {100 * t['probability']:.1f}%" for t in r["top"][1:])
            print(f"{r['input']}: {r['label']} ({100 * r['probability']:.1f}%)" + (f"; then {others}" if others else ""))
    return 0


def cmd_models(args) -> int:
    from .models import list_models
    from .train.run import BASELINE_KINDS, BASELINES

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
    from .data import list_datasets

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
    from datetime import datetime
    from pathlib import Path

    from .compare import compare

    plan, settings = compare_request(args)
    out = Path(args.out) if args.out else Path("runs") / f"compare-{datetime.now():%Y%m%d-%H%M%S}"
    if args.jobs < 1:
        raise UsageError(f"--jobs must be at least 1, got {args.jobs}")
    if args.resume and not args.out:
        raise UsageError("--resume goes on with a comparison in its folder: give that folder as --out DIR")
    compare(plan, settings, out, tune_trials=args.tune or 0, jobs=args.jobs, resume=args.resume)
    print((out / "comparison.md").read_text())
    print((out / "significance.md").read_text().split("\n", 1)[1].strip() + "\n")
    print(f"report: {(out / 'report.html').resolve()}")
    return 0


def compare_request(args):
    """`archbench compare` arguments -> (Plan, the settings every run gets)."""
    from .compare import Plan, pair_models, parse_budget, parse_seeds, parse_sweep

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
    from .viz.fundamentals import write_fundamentals

    out = write_fundamentals(args.out, progress=True)
    print(f"report: {build_and_locate(out)}")
    return 0


def cmd_explain(args) -> int:
    from .viz.explain import write_explain

    out = write_explain(args.run_dir, out_dir=args.out, n_examples=args.examples)
    print(f"report: {build_and_locate(out)}")
    return 0


def cmd_gradients(args) -> int:
    from pathlib import Path

    from .train.run import open_out_dir
    from .viz.gradient_cli import gradients_command

    open_out_dir(args.out, "gradients", create=False)
    out = gradients_command(args.models, args.data, settings_without_data(args), Path(args.out), n=args.samples)
    print(f"report: {build_and_locate(out)}")
    return 0


def cmd_summary(args) -> int:
    from .models.summary_cli import summary_command

    print(summary_command(args.model, args.data or "digits", settings_without_data(args), markdown=args.markdown))
    return 0


def cmd_report(args) -> int:
    from .report.html import build_report, open_report

    for d in args.dirs:
        path = build_report(d, embed=args.embed)
        print(path)
        if args.open:
            open_report(path)
    return 0


def cmd_lr_find(args) -> int:
    from pathlib import Path

    from .config import TrainConfig
    from .train.lr_find import lr_find
    from .train.run import open_out_dir

    open_out_dir(args.out, "lr-find", create=False)
    settings = settings_without_data(args)
    cfg = TrainConfig(model=args.model, data=args.data or "digits")
    res = lr_find(cfg, settings, out_dir=Path(args.out))
    print(f"suggested learning rate: {res['suggestion']:.3g}  (use --lr {res['suggestion']:.3g}, or --lr auto)")
    print(f"report: {build_and_locate(Path(args.out))}")
    return 0


def cmd_tune(args) -> int:
    from pathlib import Path

    from .config import TrainConfig
    from .tune import tune

    settings = settings_without_data(args)
    cfg = TrainConfig(model=args.model, data=args.data or "digits")
    res = tune(cfg, settings, args.trials, Path(args.out), seed=int(settings.get("seed", 0)))
    print(f"best value {res['best_value']:.4f} with {res['best_params']}")
    print(f"train with it: archbench train --config {Path(args.out) / 'best.yaml'}")
    return 0


def cmd_bench(args) -> int:
    from pathlib import Path

    from .bench import run_bench

    script = Path(args.reference_script) if args.reference_script else None
    if args.seed_reference and (script is None or not script.is_file()):
        raise UsageError("--seed-reference needs --reference-script PATH (../shared/bench/seed_reference.py)")
    models = args.models.split(",") if args.models else None
    run_bench(Path(args.out), args.data_dir, device=args.device, models=models,
              reference_python=args.seed_reference, reference_script=script, sequences=not args.no_sequences)
    print((Path(args.out) / "bench.md").read_text())
    return 0


def build_and_locate(directory) -> str:
    from .report.html import build_report

    return str(build_report(directory).resolve())


def build_parser() -> argparse.ArgumentParser:
    p = Parser(prog="archbench", description="Train, compare, explain and report on the classic neural "
               "architectures (MLP, CNN, RNN, LSTM, GRU, attention, Transformer) on real data.",
               epilog=EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--version", action="version", version=f"archbench {__version__}")
    sub = p.add_subparsers(dest="command", metavar="COMMAND", parser_class=Parser)

    t = sub.add_parser("train", help="train one model on one data set and write a run directory",
                       description="Train MODEL on --data and write a run directory (config, history, metrics, "
                       "figures, weights, checkpoint, report). Defaults come from the model's recipe.")
    t.add_argument("model", nargs="?", help="model name (see `archbench models`)")
    t.add_argument("--out", metavar="DIR", help="run directory (default runs/MODEL-DATA-TIME)")
    t.add_argument("--resume", metavar="RUN_DIR", help="continue a run from its last checkpoint")
    t.add_argument("--nproc", type=int, default=0, metavar="N",
                   help="train with N processes through torchrun (DistributedDataParallel)")
    add_train_args(t)
    t.set_defaults(func=cmd_train)

    e = sub.add_parser("evaluate", help="evaluate a run's saved model on its test split")
    e.add_argument("run_dir")
    e.add_argument("--json", action="store_true", help="print JSON")
    e.add_argument("--device", default="auto")
    e.set_defaults(func=cmd_evaluate)

    pr = sub.add_parser("predict", help="classify image files (or --text) with a trained run")
    pr.add_argument("run_dir")
    pr.add_argument("inputs", nargs="*", metavar="IMAGE", help="image files")
    pr.add_argument("--text", action="append", help="raw text to classify (text runs); repeatable")
    pr.add_argument("--top", type=at_least_one, default=1, help="show the top K classes")
    pr.add_argument("--json", action="store_true")
    pr.set_defaults(func=cmd_predict)

    c = sub.add_parser("compare", help="train several models on the same data, seeds and budget; table, figures, page",
                       description="Train each MODEL on the same data, seeds and budget and write a comparison "
                       "directory: table (Markdown, CSV, terminal), significance tests, cost columns, figures and an "
                       "HTML page. With no MODEL and no --data: the whole zoo (mlp, cnn on digits; rnn, birnn, lstm, "
                       "gru, lstm-attn, transformer on seq-sum).")
    c.add_argument("models", nargs="*", metavar="MODEL")
    c.add_argument("--out", metavar="DIR", help="comparison directory (default runs/compare-TIME)")
    c.add_argument("--seeds", metavar="S1,S2,...", help="train every model once per seed (mean ± std, paired tests)")
    c.add_argument("--repeats", type=at_least_one, metavar="N", help="same as --seeds 0,1,...,N-1")
    c.add_argument("--budget", metavar="epochs=N|seconds=S|steps=K", help="the same training budget for every model")
    c.add_argument("--sweep", metavar="KEY=V1,V2,...",
                   help="run the grid over one setting, e.g. seq_len=50,100,200; data_seed=0,1,2,3,4 repeats the "
                   "comparison on five draws of the data and averages the table over them")
    c.add_argument("--tune", type=int, metavar="N", help="give every model N tuning trials (Optuna) first")
    c.add_argument("--jobs", type=int, default=1, metavar="N",
                   help="train N runs at once, the CPU cores split between them (default 1: each run gets the "
                        "whole machine in turn); small sequence models finish sooner with 2 on 2 cores")
    c.add_argument("--resume", action="store_true",
                   help="go on with a comparison that stopped part-way: rerun the same command with --resume and the "
                        "same --out; runs finished with the same settings are kept, interrupted ones continue from "
                        "their checkpoints, the rest train (a --tune study resumes where it stopped, with or without it)")
    add_train_args(c, multi=True)
    c.set_defaults(func=cmd_compare)

    f = sub.add_parser("fundamentals", help="every figure of the notebook's Part 1 (activations, losses, optimisers, ...)")
    f.add_argument("--out", default="runs/fundamentals", metavar="DIR")
    f.set_defaults(func=cmd_fundamentals)

    x = sub.add_parser("explain", help="what a trained model shows: filters, feature maps, attention, gradients")
    x.add_argument("run_dir")
    x.add_argument("--out", metavar="DIR", help="default RUN_DIR/explain")
    x.add_argument("--examples", type=at_least_one, default=8, help="how many test examples to draw")
    x.set_defaults(func=cmd_explain)

    gr = sub.add_parser("gradients", help="gradient magnitudes per parameter and per time step (vanishing gradients)")
    gr.add_argument("models", nargs="+", metavar="MODEL|RUN_DIR")
    gr.add_argument("--data", default=None, help="data set (default seq-sum); ignored for run directories")
    gr.add_argument("--data-dir", metavar="DIR", help="folder with a pre-downloaded copy")
    gr.add_argument("--out", default="runs/gradients", metavar="DIR")
    gr.add_argument("--samples", type=at_least_one, default=256, help="training examples in the study batch")
    gr.add_argument("--set", action="append", default=[], metavar="KEY=VALUE")
    gr.add_argument("--config", help=argparse.SUPPRESS)
    gr.set_defaults(func=cmd_gradients)

    su = sub.add_parser("summary", help="each layer's output shape, parameters and FLOPs")
    su.add_argument("model")
    su.add_argument("--data", default=None, help="data set that sizes the model (default digits)")
    su.add_argument("--data-dir", metavar="DIR", help="folder with a pre-downloaded copy")
    su.add_argument("--markdown", action="store_true", help="print a Markdown table")
    su.add_argument("--set", action="append", default=[], metavar="KEY=VALUE")
    su.add_argument("--config", help=argparse.SUPPRESS)
    su.set_defaults(func=cmd_summary)

    lf = sub.add_parser("lr-find", help="learning-rate range test with a plot and a repeatable suggestion")
    lf.add_argument("model")
    lf.add_argument("--out", default="runs/lr-find", metavar="DIR")
    add_train_args(lf)
    lf.set_defaults(func=cmd_lr_find)

    tu = sub.add_parser("tune", help="search hyperparameters with Optuna (pip install 'archbench[tune]')",
                        description="Search the model's hyperparameters (its search space: `archbench models -v`) "
                        "with Optuna: each trial trains on the train split and is judged on validation, and a median "
                        "pruner stops poor trials early. The study lives in DIR/study.db: rerunning the command "
                        "resumes it where it stopped; a study of another model, data set, search space or fixed "
                        "setting (--set seq_len=..., --epochs, ...) in DIR is refused. DIR/best.yaml trains the "
                        "best trial with `archbench train --config`.")
    tu.add_argument("model")
    tu.add_argument("--trials", type=int, default=20, help="trials in all, counting those a resumed study holds")
    tu.add_argument("--out", default="runs/tune", metavar="DIR", help="study directory (resumable)")
    add_train_args(tu)
    tu.set_defaults(func=cmd_tune)

    b = sub.add_parser("bench", help="speed and time-to-accuracy of every model, against the machine's GEMM peak "
                       "and (optionally) the notebook's own code")
    b.add_argument("--out", default="runs/bench", metavar="DIR",
                   help="where bench.md/.csv/.json/.png and every model's run directory go (default: %(default)s)")
    b.add_argument("--data-dir", help="folder with MNIST/raw (else the offline digits stand in)")
    b.add_argument("--device", default="auto", help="auto, cpu, cuda or cuda:N (default: %(default)s)")
    b.add_argument("--models", help="comma-separated subset (default: mlp, cnn and the five sequence models)")
    b.add_argument("--no-sequences", action="store_true", help="image models only")
    b.add_argument("--seed-reference", metavar="PYTHON",
                   help="also run the notebook's code with this Python interpreter (needs seaborn etc.)")
    b.add_argument("--reference-script", metavar="PATH", default="../shared/bench/seed_reference.py",
                   help="the script that runs the notebook's code, with --seed-reference (default: %(default)s)")
    b.set_defaults(func=cmd_bench)

    r = sub.add_parser("report", help="(re)build the HTML report of run/comparison/explain directories")
    r.add_argument("dirs", nargs="+", metavar="DIR")
    r.add_argument("--open", action="store_true", help="open it in a browser")
    r.add_argument("--embed", action="store_true", help="embed the images in the page (one file to share)")
    r.set_defaults(func=cmd_report)

    m = sub.add_parser("models", help="list the registered models")
    m.add_argument("-v", "--verbose", action="store_true", help="also show hyperparameters and recipes")
    m.set_defaults(func=cmd_models)
    d = sub.add_parser("datasets", help="list the data sets")
    d.add_argument("-v", "--verbose", action="store_true", help="also show each data set's options")
    d.set_defaults(func=cmd_datasets)
    return p


def main(argv: Optional[List[str]] = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help()
        return 0
    try:
        code = int(args.func(args) or 0)
    except ArchbenchError as e:
        print(f"archbench: error: {e}", file=sys.stderr)
        code = e.exit_code
    except KeyboardInterrupt:
        print("archbench: interrupted (the last checkpoint is intact; resume with `archbench train --resume DIR`)",
              file=sys.stderr)
        code = 130
    except Exception as e:  # a bug or an environment problem: one line unless debugging
        if os.environ.get("ARCHBENCH_DEBUG"):
            raise
        msg = str(e).splitlines()[0] if str(e) else ""
        print(f"archbench: error: {type(e).__name__}: {msg} (set ARCHBENCH_DEBUG=1 for a traceback)", file=sys.stderr)
        code = 1
    if "TORCHELASTIC_RUN_ID" in os.environ:
        # A process that torchrun started, its command done (files written and closed, the process group
        # destroyed), leaves without the interpreter's teardown. Once in about 70 two-process runs here,
        # rank 1 aborted after every file of the run was written ("terminate called without an active
        # exception": C++ threads torn down at exit), and torchrun reported the finished run as failed.
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(code)
    return code
