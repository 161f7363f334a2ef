"""The argument parser of every archbench command (imports nothing heavy: ``--help`` stays instant).

Each sub-command names its handler in ``cli/commands.py`` by name (``func="cmd_train"``).
"""
from __future__ import annotations

import argparse

from .. import __version__

EPILOG = """examples:
  archbench train cnn --data digits                      train the notebook's CNN on offline digits
  archbench train mlp --data mnist --data-dir ../shared/data
  archbench train --resume runs/cnn-digits-20261126-101500
  archbench evaluate runs/cnn-digits-... --json
  archbench models ; archbench datasets

exit status: 0 done; 1 an error (bad data or run directory, a file that could not be written, a
directory another archbench process is writing); 2 a usage error; 3 the training loss became NaN or
infinite (the run stopped; its last good checkpoint is kept); 130 interrupted.
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
    g.add_argument("--optimizer", choices=["sgd", "momentum", "nesterov", "adam", "adamw", "rmsprop"])
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
    t.add_argument("--nnodes", type=int, default=1, metavar="N",
                   help="train across N machines (each runs this same command; --nproc per machine)")
    t.add_argument("--rdzv-endpoint", metavar="HOST:PORT",
                   help="with --nnodes: where the machines meet (torchrun's c10d rendezvous; one of the machines)")
    add_train_args(t)
    t.set_defaults(func="cmd_train")

    e = sub.add_parser("evaluate", help="evaluate a run's saved model on its test split")
    e.add_argument("run_dir")
    e.add_argument("--json", action="store_true", help="print JSON")
    e.add_argument("--device", default="auto")
    e.set_defaults(func="cmd_evaluate")

    pr = sub.add_parser("predict", help="predict with a trained run: images, texts, series, forecasts past the end; CSV or JSON")
    pr.add_argument("run_dir")
    pr.add_argument("inputs", nargs="*", metavar="IMAGE", help="image files or folders of them")
    pr.add_argument("--text", action="append", help="raw text to classify (text runs); repeatable")
    pr.add_argument("--top", type=at_least_one, default=1, help="show the top K classes")
    pr.add_argument("--text-file", metavar="FILE", help="texts to classify, one a line (text runs)")
    pr.add_argument("--csv", metavar="FILE", help="a CSV: a text --column (text runs), one series a row (sequence "
                    "runs), or a series --column to forecast past its end (forecast runs)")
    pr.add_argument("--column", metavar="NAME", help="the CSV column to read (name or index)")
    pr.add_argument("--format", choices=("csv", "json"), help="write rows as CSV or JSON (default: lines to read)")
    pr.add_argument("--output", metavar="FILE", help="write the rows to FILE (CSV unless --format json)")
    pr.add_argument("--json", action="store_true", help="same as --format json")
    pr.set_defaults(func="cmd_predict")

    ex = sub.add_parser("export", help="export a run's model to ONNX (checked with onnxruntime) or torch.export")
    ex.add_argument("run_dir")
    ex.add_argument("--format", choices=("onnx", "torch-export"), default="onnx")
    ex.add_argument("--output", metavar="FILE", help="default RUN_DIR/model.onnx or RUN_DIR/model.pt2")
    ex.set_defaults(func="cmd_export")

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
    c.add_argument("--cluster", choices=["ray"], help="run every run of the grid as a Ray task "
                   "(pip install 'archbench[cluster]'); see docs/scale.md")
    c.add_argument("--address", metavar="HOST:PORT", help="the Ray cluster to join (default RAY_ADDRESS, else a "
                   "new Ray instance on this machine)")
    c.add_argument("--shared-fs", action="store_true", help="every Ray node sees --out and the data files at the "
                   "same path: tasks write their run directories there instead of sending them back")
    add_train_args(c, multi=True)
    c.set_defaults(func="cmd_compare")

    f = sub.add_parser("fundamentals", help="every figure of the notebook's Part 1 (activations, losses, optimisers, ...)")
    f.add_argument("--out", default="runs/fundamentals", metavar="DIR")
    f.set_defaults(func="cmd_fundamentals")

    x = sub.add_parser("explain", help="what a trained model shows: filters, feature maps, attention, gradients")
    x.add_argument("run_dir")
    x.add_argument("--out", metavar="DIR", help="default RUN_DIR/explain")
    x.add_argument("--examples", type=at_least_one, default=8, help="how many test examples to draw")
    x.set_defaults(func="cmd_explain")

    gr = sub.add_parser("gradients", help="gradient magnitudes per parameter and per time step (vanishing gradients)")
    gr.add_argument("models", nargs="+", metavar="MODEL|RUN_DIR")
    gr.add_argument("--data", default=None, help="data set (default seq-sum); ignored for run directories")
    gr.add_argument("--data-dir", metavar="DIR", help="folder with a pre-downloaded copy")
    gr.add_argument("--out", default="runs/gradients", metavar="DIR")
    gr.add_argument("--samples", type=at_least_one, default=256, help="training examples in the study batch")
    gr.add_argument("--recipe", action="store_true",
                    help="build each model with its training recipe, not the notebook's set-up (default init, 2 layers, width 64)")
    gr.add_argument("--set", action="append", default=[], metavar="KEY=VALUE")
    gr.add_argument("--config", help=argparse.SUPPRESS)
    gr.set_defaults(func="cmd_gradients")

    sh = sub.add_parser("show", help="a labelled preview of a data set's training examples (images, texts, series)")
    sh.add_argument("data", metavar="DATA")
    sh.add_argument("--data-dir", metavar="DIR", help="folder with a pre-downloaded copy")
    sh.add_argument("--data-seed", type=int, default=0)
    sh.add_argument("--examples", type=at_least_one, default=16, help="how many examples to show")
    sh.add_argument("--out", default="runs/show", metavar="DIR")
    sh.add_argument("--set", action="append", default=[], metavar="KEY=VALUE", help="data set options (seq_len=...)")
    sh.set_defaults(func="cmd_show")

    su = sub.add_parser("summary", help="each layer's output shape, parameters and FLOPs")
    su.add_argument("model")
    su.add_argument("--data", default=None, help="data set that sizes the model (default digits)")
    su.add_argument("--data-dir", metavar="DIR", help="folder with a pre-downloaded copy")
    su.add_argument("--markdown", action="store_true", help="print a Markdown table")
    su.add_argument("--set", action="append", default=[], metavar="KEY=VALUE")
    su.add_argument("--config", help=argparse.SUPPRESS)
    su.set_defaults(func="cmd_summary")

    lf = sub.add_parser("lr-find", help="learning-rate range test with a plot and a repeatable suggestion")
    lf.add_argument("model")
    lf.add_argument("--out", default="runs/lr-find", metavar="DIR")
    add_train_args(lf)
    lf.set_defaults(func="cmd_lr_find")

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
    tu.add_argument("--storage", metavar="URL", help="a study shared by several workers: journal:PATH (one machine "
                    "or a shared file system) or postgresql://USER@HOST/DB (many machines); default DIR/study.db")
    tu.add_argument("--study", metavar="NAME", help="study name in --storage (default archbench)")
    tu.add_argument("--worker", action="store_true", help="join the study in --storage as one more worker "
                    "(the same as running the same command again; each worker needs its own --out)")
    tu.add_argument("--jobs", type=int, default=1, metavar="N", help="N workers on this machine, on a journal "
                    "file DIR/study.journal unless --storage names one (DIR/workers/K holds each helper's files)")
    add_train_args(tu)
    tu.set_defaults(func="cmd_tune")

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
    b.set_defaults(func="cmd_bench")

    r = sub.add_parser("report", help="(re)build the HTML report of run/comparison/explain directories")
    r.add_argument("dirs", nargs="+", metavar="DIR")
    r.add_argument("--open", action="store_true", help="open it in a browser")
    r.add_argument("--embed", action="store_true", help="embed the images in the page (one file to share)")
    r.set_defaults(func="cmd_report")

    m = sub.add_parser("models", help="list the registered models")
    m.add_argument("-v", "--verbose", action="store_true", help="also show hyperparameters and recipes")
    m.set_defaults(func="cmd_models")
    d = sub.add_parser("datasets", help="list the data sets")
    d.add_argument("-v", "--verbose", action="store_true", help="also show each data set's options")
    d.set_defaults(func="cmd_datasets")
    return p
