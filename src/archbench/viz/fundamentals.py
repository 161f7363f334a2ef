"""Deep learning fundamentals (the notebook's Part 1, sections 1.3-1.10), computed and drawn.

Each `*_table`/`*_demo` function below does one section's computation with torch and returns plain
tensors / numpy arrays / rows, so tests can check the numbers; `write_fundamentals` runs them all,
draws the figures (fundamentals_plots.py) and writes the tables. Shapes:

    activation_table     x (N,) -> {name: (f(x) (N,), f'(x) (N,))}, f' by autograd
    loss_table           the notebook's example predictions -> one row per loss
    loss_curves          {loss: {label: (x (N,), loss (N,))}}
    optimizer_paths      {optimizer: {"path": (steps+1, 2), "loss": (steps+1,)}} on Rosenbrock
    init_weights         {init: (out*in,)} weights of one 100x100 Linear layer
    activation_spread    {nonlinearity: {init: (depth,)}} std of the activations after each layer
    dropout_demo         x, train(x), eval(x), each (rows, cols)
    dropout_rates        one row per p: zero fraction and survivor scale over many units
    penalty_table        L1/L2 penalties of the notebook's 10-20-2 model + sparse linear regression fits
    normalization_stats  BatchNorm per-feature and LayerNorm per-sample mean/std before/after
    lr_schedules         {schedule: (epochs,)} learning rate at the start of each epoch
    data_split           the 70/15/15 random split: one row per split

Everything is seeded (torch.Generator where an API takes one, a forked global RNG where it does not),
so two runs write identical tables and figures.
"""
from __future__ import annotations

import sys
import time
from pathlib import Path

from .. import files
from ..files import atomic_write_text, write_json, write_rows_csv
from ..models.transformer import positional_encoding
from ..rundir import marker, open_out_dir
from . import fundamentals_plots as plots
from .attention_concept import attention_concept, attention_rows, draw_attention_concept
from .explain_images import conv_pooling_demo, plot_conv_pooling_demo
from .explain_sequence import plot_positional_encoding
from .fundamentals_data import (
    NEAR_ZERO,
    ROSENBROCK_MIN,
    _one_thread,
    activation_spread,
    activation_table,
    data_split,
    dropout_demo,
    dropout_rates,
    init_weights,
    loss_curves,
    loss_examples,
    loss_table,
    lr_schedules,
    normalization_stats,
    normalization_table,
    optimizer_paths,
    optimizer_table,
    penalty_table,
    plateau_val_loss,
    rosenbrock,
    sparse_regression,
)


# ---------------------------------------------------------------------------------------------- output
def _fmt(v):
    return f"{v:.6g}" if isinstance(v, float) else v


def write_csv(path: Path, rows: list[dict]) -> None:
    write_rows_csv(path, rows, fmt=_fmt)


def markdown_table(rows: list[dict], columns: list[str] | None = None) -> str:
    columns = columns or list(rows[0])
    return files.markdown_table(columns, [[_fmt(r[c]) for c in columns] for r in rows]).rstrip("\n")


def write_fundamentals(out_dir: str | Path, progress: bool = True) -> Path:
    """Compute every Part 1 figure and table into out_dir; returns out_dir.

    Writes the PNGs listed in figures.json, losses/optimizers/regularization/normalization/data_split
    .csv, fundamentals.md (all tables) and archbench.json.
    """
    with _one_thread():
        return _write(Path(out_dir), progress)


def _write(out: Path, progress: bool) -> Path:
    open_out_dir(out, "fundamentals")
    figures: list[dict] = []
    t0 = time.perf_counter()

    def done(file: str, title: str, caption: str) -> None:
        figures.append({"file": file, "title": title, "caption": caption})
        if progress:
            print(f"fundamentals: {file} ({time.perf_counter() - t0:.1f}s)", file=sys.stderr)

    x, acts = activation_table()
    plots.draw_activations(out / "activations.png", x, acts)
    done("activations.png", "Activation functions and their derivatives",
         "Sigmoid and tanh derivatives vanish for |x| > 3 (saturation, vanishing gradients); ReLU's derivative is "
         "a hard 0/1 step, LeakyReLU keeps 0.1 on the left; GELU and Swish dip slightly below zero and have smooth "
         "derivatives that overshoot 1. Derivatives are computed by autograd.")

    losses = loss_table()
    write_csv(out / "losses.csv", losses)
    plots.draw_losses(out / "losses.png", loss_curves(), loss_examples(), losses)
    done("losses.png", "Loss functions",
         "BCE and cross-entropy explode as a confident prediction becomes wrong; MSE grows quadratically so large "
         "errors dominate, MAE linearly (robust to outliers). Dots are the notebook's example predictions.")

    paths = optimizer_paths()
    opt_rows = optimizer_table(paths)
    write_csv(out / "optimizers.csv", opt_rows)
    plots.draw_optimizers(out / "optimizers.png", paths, rosenbrock, ROSENBROCK_MIN)
    done("optimizers.png", "Optimisers on the Rosenbrock function",
         "Same start (-1, 1), 1000 steps each. Momentum and Adam reach the minimum (1, 1); plain SGD falls into the "
         "curved valley quickly and then crawls along its nearly flat floor; RMSprop's normalised steps get close "
         "but keep a fixed-size zig-zag.")

    plots.draw_init_histograms(out / "initialisations.png", init_weights())
    done("initialisations.png", "Weight initialisation: distributions of one 100x100 layer",
         "Uniform[-1,1] and Normal(0,1) ignore the layer's width and are ~10x too wide; Xavier scales by "
         "sqrt(2/(fan_in+fan_out)), Kaiming by sqrt(2/fan_in), so both stay narrow and Kaiming is sqrt(2) wider.")

    plots.draw_activation_spread(out / "init_activation_spread.png", activation_spread())
    done("init_activation_spread.png", "Activation scale through a 10-layer network per initialisation",
         "With ReLU, Kaiming keeps the activation std flat across depth, Xavier halves the variance per layer "
         "and the unscaled inits blow up exponentially; with tanh the unscaled inits saturate (std near 1, so "
         "gradients vanish), Xavier's std shrinks layer by layer and Kaiming's larger gain holds it steady.")

    drop = dropout_demo()
    rates = dropout_rates()
    plots.draw_dropout(out / "dropout.png", drop, rates)
    done("dropout.png", "Dropout in train vs eval mode",
         "In train mode about p of the units are zeroed and the survivors are scaled by 1/(1-p) (2.0 for p = 0.5), "
         "so the expected output equals the input; in eval mode dropout is the identity.")

    fit = sparse_regression()
    reg_rows = penalty_table(fit=fit)
    write_csv(out / "regularization.csv", reg_rows)
    plots.draw_regularization(out / "regularization.png", fit, NEAR_ZERO)
    done("regularization.png", "L1 vs L2 regularisation on a sparse linear problem",
         "Only the first 5 of 40 true weights are non-zero. L1 drives the other 35 to ~0 (a constant pull toward "
         "zero) while L2 only shrinks every weight proportionally and leaves small non-zero noise weights.")

    norm = normalization_stats()
    norm_rows = normalization_table(norm)
    write_csv(out / "normalization.csv", norm_rows)
    plots.draw_normalization(out / "normalization.png", norm)
    done("normalization.png", "BatchNorm vs LayerNorm",
         "BatchNorm makes every feature (column) mean 0 / std 1 across the batch; LayerNorm makes every sample "
         "(row) mean 0 / std 1 across its features, independently of the batch.")

    lrs = lr_schedules()
    plots.draw_lr_schedules(out / "lr_schedules.png", lrs, plateau_val_loss())
    done("lr_schedules.png", "Learning-rate schedules (100 epochs, base lr 0.1)",
         "Step and exponential decay drop the rate on a fixed timetable; ReduceLROnPlateau waits for the "
         "validation loss (dashed) to stop improving; OneCycle warms up to max_lr then anneals far below the "
         "start; warm restarts jump back to the base rate every 20 epochs.")

    split_rows = data_split()
    write_csv(out / "data_split.csv", split_rows)
    plots.draw_data_split(out / "data_split.png", split_rows)
    done("data_split.png", "Train / validation / test split (70/15/15, seed 42)",
         "A random split of 1000 samples gives 700/150/150; the class balance of each split is close to, but "
         "not exactly, the whole set's, which stratified splitting would fix.")

    _write_later_parts(out, done)

    write_json(out / "figures.json", figures)
    write_json(out / "archbench.json", marker("fundamentals", "Deep learning fundamentals"))
    _write_markdown(out / "fundamentals.md", figures, losses, opt_rows, rates, reg_rows, norm_rows, lrs, split_rows)
    if progress:
        print(f"fundamentals: wrote {len(figures)} figures to {out} ({time.perf_counter() - t0:.1f}s)", file=sys.stderr)
    return out


def _write_later_parts(out: Path, done) -> None:
    """Figures of the notebook's later parts that need no trained model (before, only `explain` of a
    trained run drew the convolution demo and the positional encoding)."""

    plot_conv_pooling_demo(conv_pooling_demo(), out / "conv_pooling.png")
    done("conv_pooling.png", "Convolution and pooling (the notebook's 3.1)",
         "Each 3x3 edge filter responds (+/-) only where the white square's edges run across it; 2x2 max pooling "
         "keeps each block's largest value, average pooling its mean.")
    plot_positional_encoding(positional_encoding(50, 64), out / "positional_encoding.png",
                             "50 positions, d_model 64 (the transformer's defaults on seq-sum)")
    done("positional_encoding.png", "Sinusoidal positional encoding (the notebook's 7.1)",
         "Each row is a position, each column a dimension: low dimensions oscillate fast, high ones slowly, so "
         "every position gets a distinct pattern and nearby positions similar ones.")
    concept = attention_concept()
    write_csv(out / "attention_concept.csv", attention_rows(concept))
    draw_attention_concept(out / "attention_concept.png", concept)
    done("attention_concept.png", 'Attention for the query "sat" (the notebook\'s 6.1)',
         "Softmax turns raw relevance scores into weights that are positive and sum to 1; it keeps their order but "
         "not their ratios, and multiplying the scores (as large dot products do) sharpens the weights toward one "
         "word, which is why attention divides its scores by sqrt(d_k).")


def _write_later_parts(out: Path, done) -> None:
    """Figures of the notebook's later parts that need no trained model (before, only `explain` of a
    trained run drew the convolution demo and the positional encoding)."""
    plot_conv_pooling_demo(conv_pooling_demo(), out / "conv_pooling.png")
    done("conv_pooling.png", "Convolution and pooling (the notebook's 3.1)",
         "Each 3x3 edge filter responds (+/-) only where the white square's edges run across it; 2x2 max pooling "
         "keeps each block's largest value, average pooling its mean.")
    plot_positional_encoding(positional_encoding(50, 64), out / "positional_encoding.png",
                             "50 positions, d_model 64 (the transformer's defaults on seq-sum)")
    done("positional_encoding.png", "Sinusoidal positional encoding (the notebook's 7.1)",
         "Each row is a position, each column a dimension: low dimensions oscillate fast, high ones slowly, so "
         "every position gets a distinct pattern and nearby positions similar ones.")
    concept = attention_concept()
    write_csv(out / "attention_concept.csv", attention_rows(concept))
    draw_attention_concept(out / "attention_concept.png", concept)
    done("attention_concept.png", 'Attention for the query "sat" (the notebook\'s 6.1)',
         "Softmax turns raw relevance scores into weights that are positive and sum to 1; it keeps their order but "
         "not their ratios, and multiplying the scores (as large dot products do) sharpens the weights toward one "
         "word, which is why attention divides its scores by sqrt(d_k).")


def _write_markdown(path: Path, figures, losses, opt_rows, rates, reg_rows, norm_rows, lrs, split_rows) -> None:
    lr_rows = [{"schedule": k, "epoch 0": v[0], "epoch 25": v[25], "epoch 50": v[50], "epoch 99": v[-1],
                "max": float(v.max()), "argmax": int(v.argmax())} for k, v in lrs.items()]
    sections = [
        "# Deep learning fundamentals\n",
        "## Loss functions (1.4)\n", markdown_table(losses, ["loss", "task", "module", "value"]),
        "\n## Optimisers on Rosenbrock (1.5)\n",
        markdown_table(opt_rows, ["optimizer", "hparams", "steps", "end_x", "end_y", "start_distance",
                                  "end_distance", "end_loss"]),
        "\n## Dropout (1.7)\n", markdown_table(rates),
        "\n## L1 / L2 regularisation (1.7)\n",
        f"`near_zero` counts weights with |w| < {NEAR_ZERO:g}.\n\n" + markdown_table(reg_rows),
        "\n## Normalisation (1.8)\n", "Population std (as the layers normalise).\n\n" + markdown_table(norm_rows),
        "\n## Learning-rate schedules (1.9)\n", markdown_table(lr_rows),
        "\n## Data split (1.10)\n", markdown_table(split_rows),
        "\n## Figures\n", "\n".join(f"- **{f['title']}** (`{f['file']}`): {f['caption']}" for f in figures),
    ]
    atomic_write_text(path, "\n".join(sections) + "\n")
