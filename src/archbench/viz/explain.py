"""``archbench explain RUN_DIR``: what a trained model learned, drawn (the notebook's Parts 3-7).

    write_explain(run_dir, out_dir=None, n_examples=8, seed=0, device="cpu") -> out_dir (RUN_DIR/explain)

writes, by what the model is:
    convolutional (any nn.Conv2d)   filters.png (first conv layer), feature_maps_<layer>.png for every
                                    conv layer (outputs (B, C, H, W) of a few test images),
                                    conv_pooling_demo.png, augmentation.png, confidently_wrong.png
    MLP on images                   first_layer_weights.png (units reshaped to the input), confidently_wrong.png
    attention (transformer, lstm-attn, pooling="attention")
                                    attention_<layer>.png per self-attention layer (B, heads, T, T),
                                    attention_pooling.png for attention pooling (B, T)
    transformer                     positional_encoding.png (the run's length and d_model)
    recurrent                       gradients/ (the vanishing-gradient study)
and figures.json, archbench.json (type "explain"), explain.md, report.html.

Also here, for tests and notebooks: feature_maps(model, images) -> {conv layer: (B, C, H, W)},
attention_maps(model, x) -> ({attention module: weights}, outputs), positional_encoding_for(model, bundle).
Modules written elsewhere (attention capture, positions, augmentation, gradient study) are imported
in the functions below marked "optional": when one is missing its section is skipped with a note.
"""
from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Dict, List

import torch
import torch.nn as nn

from ..config import read_json_object
from ..data.base import DataBundle, trim_padding
from ..errors import ArchbenchError, CheckpointError, UsageError
from ..files import atomic_write_text, write_json
from ..report.html import build_report
from ..rundir import load_run, marker, open_out_dir
from ..train.loop import make_augment
from .augment_gallery import augmentation_gallery
from .explain_compute import (
    _capture_attention,
    _class,
    _row_titles,
    _safe,
    attention_maps,
    choose_examples,
    plan_sections,
    positional_encoding_for,
    predict,
)
from .explain_images import (
    confidently_wrong,
    conv_layers,
    conv_pooling_demo,
    display_images,
    feature_maps,
    plot_confidently_wrong,
    plot_conv_pooling_demo,
    plot_feature_maps,
    plot_weight_grid,
)
from .explain_sequence import plot_attention_layer, plot_attention_pooling, plot_positional_encoding
from .gradients import gradient_study, write_gradient_study

SUPPORTED = ("image models (cnn, resnet-small, mlp on images), attention models (transformer, lstm-attn, "
             "pooling=attention) and recurrent models (rnn, birnn, lstm, gru)")
FEATURE_MAP_IMAGES = 3  # test images per feature-map figure
ATTENTION_EXAMPLES = 4  # test inputs per attention figure
GRADIENT_EXAMPLES = 256

__all__ = ["write_explain", "feature_maps", "attention_maps", "positional_encoding_for", "conv_pooling_demo",
           "plan_sections", "SUPPORTED"]


@dataclass
class _Doc:
    """What write_explain has produced so far."""

    out: Path
    figures: List[Dict[str, str]] = field(default_factory=list)
    md: List[str] = field(default_factory=list)
    skipped: List[str] = field(default_factory=list)
    sections: List[str] = field(default_factory=list)

    def figure(self, file: str, title: str, caption: str) -> None:
        self.figures.append({"file": file, "title": title, "caption": caption})

    def skip(self, what: str, why: str) -> None:
        self.skipped.append(f"{what}: {why}")


# ------------------------------------------------------------------------ optional modules, in one place


# ------------------------------------------------------------------------ computations


# ------------------------------------------------------------------------ sections

def _image_sections(model: nn.Module, bundle: DataBundle, config: Dict[str, Any], plan: List[str], doc: _Doc,
                    n_examples: int, seed: int) -> None:
    if "conv" in plan:
        _conv_section(model, bundle, config, doc, n_examples, seed)
    else:
        _mlp_section(model, bundle, doc)
    _confidently_wrong_section(model, bundle, doc, n_examples)


def _conv_section(model: nn.Module, bundle: DataBundle, config: Dict[str, Any], doc: _Doc, n_examples: int,
                  seed: int) -> None:
    doc.sections.append("conv")
    test = bundle.test
    idx = choose_examples(test.y, max(1, min(n_examples, FEATURE_MAP_IMAGES)), seed)
    shown = display_images(test.x[idx])
    x = bundle.preprocess(test.x[idx].to(next(model.parameters()).device))
    maps = feature_maps(model, x)
    with torch.no_grad():
        pred = model(x).argmax(-1).cpu()
    labels = [f"true {_class(bundle, int(test.y[i]))}\npredicted {_class(bundle, int(p))}" for i, p in zip(idx, pred)]
    convs = conv_layers(model)

    first = next(iter(maps))
    w = convs[first].weight
    rgb = w.shape[1] == 3
    n_f = plot_weight_grid(w, doc.out / "filters.png",
                           f"Learned filters of the first conv layer ({first}): {w.shape[0]} filters, "
                           f"{w.shape[2]}x{w.shape[3]}, {w.shape[1]} input channel{'s' if w.shape[1] > 1 else ''}")
    doc.figure("filters.png", "Learned filters (first conv layer)",
               "Each tile is one filter's weights" + (" as colour, each scaled to its own range: the colour pattern "
               "it matches" if rgb else " (red positive, blue negative)") + ". Look for edge, stripe and blob "
               "detectors: a filter whose bottom row is positive and top row negative responds to horizontal edges; "
               "noisy, structureless filters barely moved from their initialisation.")

    doc.md += ["## Feature maps per conv layer", "",
               f"Test images: {', '.join('#' + str(int(i)) for i in idx)}. First-layer filters drawn: {n_f}.", "",
               "| layer | conv | output (C x H x W) | maps drawn per image | file |", "|---|---|---|---|---|"]
    for name, m in maps.items():
        conv = convs[name]
        fname = f"feature_maps_{_safe(name)}.png"
        k = plot_feature_maps(name, m, shown, labels, doc.out / fname, conv)
        doc.figure(fname, f"Feature maps: {name}",
                   f"What {name} ({conv.in_channels}->{conv.out_channels} channels) computes on {len(idx)} test "
                   f"images, one tile per channel ({k} of {m.shape[1]}); bright = strong response. Early layers "
                   "respond to strokes and edges where they are in the image; deeper layers are coarser and more "
                   "abstract. A channel dark on every image does nothing for these inputs.")
        kernel = "x".join(map(str, conv.kernel_size))
        doc.md.append(f"| {name} | {conv.in_channels}->{conv.out_channels}, {kernel} "
                      f"| {m.shape[1]} x {m.shape[2]} x {m.shape[3]} | {k} | {fname} |")
    doc.md.append("")

    real = torch.as_tensor(shown[0] if shown[0].ndim == 2 else shown[0].mean(-1))
    plot_conv_pooling_demo(conv_pooling_demo(), doc.out / "conv_pooling_demo.png", real,
                           _class(bundle, int(test.y[idx[0]])))
    doc.figure("conv_pooling_demo.png", "Convolution and pooling, by hand",
               "The notebook's 3.1: a 3x3 filter with -1s above and +1s below lights up where brightness rises "
               "down the image (top edge of the square, red) and goes negative where it falls (bottom edge, blue); "
               "the vertical filter does the same left to right. Max pooling keeps the largest of each 2x2 block, "
               "average pooling their mean: the map halves, strong responses survive.")
    _augmentation_section(bundle, config, doc, seed)


def _mlp_section(model: nn.Module, bundle: DataBundle, doc: _Doc) -> None:
    doc.sections.append("mlp")
    lin = next(m for m in model.modules() if isinstance(m, nn.Linear))
    w = lin.weight.detach().view(lin.out_features, *bundle.input_shape)
    order = w.flatten(1).norm(dim=1).argsort(descending=True)[:64].tolist()
    c, h, wd = bundle.input_shape
    k = plot_weight_grid(w, doc.out / "first_layer_weights.png",
                         f"First-layer weights as {h}x{wd} images: {len(order)} of {lin.out_features} hidden "
                         "units (largest weights first)", label="unit", order=order)
    doc.figure("first_layer_weights.png", "First-layer weights as images",
               "Each tile is the weight one hidden unit puts on every input pixel"
               + (" (red positive, blue negative)" if c != 3 else "") + ": the pattern that excites it most. "
               "Stroke- and blob-like templates mean the unit learned shape parts; salt-and-pepper noise means it "
               "barely moved from its initialisation. Unlike a CNN's filters, each template is tied to one place "
               "in the image.")
    doc.md += ["## First-layer weights", "", f"{k} of {lin.out_features} units drawn, largest weight norm first.", ""]


def _augmentation_section(bundle: DataBundle, config: Dict[str, Any], doc: _Doc, seed: int) -> None:
    used = str(config["train"].get("augment") or "none")
    name = used if used != "none" else "basic"
    fn = make_augment(name, bundle)
    if fn is None:
        doc.skip("augmentation gallery", f"no augmentation {name!r} for this data")
        return
    idx = choose_examples(bundle.train.y, 4, seed)
    x = bundle.preprocess(bundle.train.x[idx])
    g = torch.Generator().manual_seed(seed)
    title = f"Data augmentation: --augment {name}" + ("" if used != "none" else " (this run trained without it)")
    entry = augmentation_gallery(x, fn, doc.out / "augmentation.png", n=8, generator=g, title=title)
    caption = entry.get("caption", "")
    if used == "none":
        caption = f"This run used no augmentation; shown is what --augment {name} would do. " + caption
    doc.figure("augmentation.png", entry.get("title", title), caption)


def _confidently_wrong_section(model: nn.Module, bundle: DataBundle, doc: _Doc, n_examples: int) -> None:
    if bundle.task != "classification":
        return
    probs = predict(model, bundle, bundle.test).softmax(-1)
    y = bundle.test.y
    conf, pred = probs.max(1)
    wrong = (pred != y)
    n_wrong, total = int(wrong.sum()), len(y)
    doc.md += ["## Confidently wrong", ""]
    if n_wrong == 0:
        doc.md += [f"Every one of the {total} test images is classified correctly.", ""]
        return
    idx = confidently_wrong(probs, y, n_examples)
    plot_confidently_wrong(display_images(bundle.test.x[idx]), [_class(bundle, int(y[i])) for i in idx],
                           [_class(bundle, int(pred[i])) for i in idx], conf[idx].tolist(),
                           doc.out / "confidently_wrong.png", n_wrong, total)
    doc.figure("confidently_wrong.png", "Confidently wrong test images",
               "The mistakes the model was surest of. Some are mislabelled or genuinely ambiguous images (the "
               "model is arguably right); the rest show what it has not learned, e.g. a thin 7 read as a 1.")
    mean_wrong = float(conf[wrong].mean())
    mean_right = float(conf[~wrong].mean()) if n_wrong < total else float("nan")
    doc.md += [f"{n_wrong} of {total} test images are misclassified ({100 * n_wrong / total:.2f}%). Mean confidence "
               f"on mistakes {100 * mean_wrong:.1f}%, on correct answers {100 * mean_right:.1f}%; the surest mistake: "
               f"a {_class(bundle, int(y[idx[0]]))} read as {_class(bundle, int(pred[idx[0]]))} at "
               f"{100 * float(conf[idx[0]]):.1f}%.", ""]


def _attention_section(model: nn.Module, bundle: DataBundle, doc: _Doc, n_examples: int, seed: int) -> None:
    try:
        _capture_attention()
    except ImportError as e:
        doc.skip("attention maps", f"the attention module is not available ({e})")
        return
    test = bundle.test
    n = max(1, min(n_examples, ATTENTION_EXAMPLES))
    pool = None
    if test.lengths is not None:  # short texts: their token labels stay readable
        short = ((test.lengths >= 4) & (test.lengths <= 30)).nonzero().flatten()
        pool = short if len(short) >= n else None
    idx = choose_examples(test.y, n, seed, pool)
    x = test.x[idx]
    lengths = None
    if test.lengths is not None:
        x = trim_padding(x, test.lengths[idx])
        lengths = test.lengths[idx].tolist()
    dev = next(model.parameters()).device
    maps, outputs = attention_maps(model, bundle.preprocess(x.to(dev)))
    if not maps:
        doc.skip("attention maps", "no attention module kept its weights during the forward pass")
        return
    doc.sections.append("attention")
    titles = _row_titles(bundle, idx, outputs)
    vocab = bundle.extras.get("vocab")
    words = [vocab.decode(r) for r in x] if vocab is not None and hasattr(vocab, "decode") else None
    steps = x.shape[1]
    doc.md += ["## Attention", "", f"Test inputs: {', '.join('#' + str(int(i)) for i in idx)}.", "",
               "| module | weights | file |", "|---|---|---|"]
    pooling = [k for k, v in maps.items() if v.dim() == 2]
    for name, w in maps.items():
        if w.dim() == 4:  # (B, heads, L, L): L = steps, or steps + 1 with a CLS token in front
            cls = w.shape[-1] == steps + 1
            lens = [(n_ + cls) for n_ in lengths] if lengths is not None else [w.shape[-1]] * len(idx)
            toks = [(["[CLS]"] if cls else []) + t for t in words] if words is not None else None
            fname = f"attention_{_safe(name)}.png"
            plot_attention_layer(name, w, lens, titles, doc.out / fname, toks, offset=int(cls))
            doc.figure(fname, f"Attention maps: {name}",
                       f"Row = query position, column = the key it attends to; one map per head ({w.shape[1]}) and "
                       "test input" + (", position 0 is the CLS token whose output is classified" if cls else "")
                       + ". A bright diagonal is a head looking at its own step; bright columns are steps every "
                       "position reads (often the informative ones); uniform maps mean the head averages.")
            doc.md.append(f"| {name} | {w.shape[1]} heads x {w.shape[2]} x {w.shape[3]} | {fname} |")
        elif w.dim() == 2:  # (B, T): attention pooling over time steps
            fname = "attention_pooling.png" if len(pooling) == 1 else f"attention_pooling_{_safe(name)}.png"
            lens = lengths if lengths is not None else [w.shape[-1]] * len(idx)
            inputs = x.float() if bundle.kind in ("sequence", "forecast") and x.dim() == 3 else None
            plot_attention_pooling(name, w, lens, titles, doc.out / fname, words, inputs)
            doc.figure(fname, f"Attention pooling: {name}",
                       "How much each time step contributes to the summary vector the classifier sees (bars), "
                       "against the uniform weight an average would give (dashed)" + (
                           " and the input itself (blue)" if inputs is not None else "") + ". Weight piled on a few "
                       "steps means the model found where the evidence is; flat bars mean it averages.")
            doc.md.append(f"| {name} | pooling over {w.shape[1]} steps | {fname} |")
    doc.md.append("")


def _positions_section(model: nn.Module, bundle: DataBundle, doc: _Doc) -> None:
    try:
        pe = positional_encoding_for(model, bundle)
    except (ImportError, StopIteration) as e:
        doc.skip("positional encoding", f"no positional-encoding table found ({e})")
        return
    doc.sections.append("positions")
    cls = hasattr(model, "cls_token")
    note = f"{pe.shape[0]} positions" + (" (CLS + sequence)" if cls else "") + f", d_model {pe.shape[1]}"
    plot_positional_encoding(pe, doc.out / "positional_encoding.png", note)
    doc.figure("positional_encoding.png", "Positional encoding",
               "The table added to the input so that attention, which is blind to order, can tell positions apart. "
               "Left: low dimensions oscillate fast, high ones slowly, so every position gets a unique pattern. "
               "Middle: single dimensions as waves. Right: similarity between positions falls off with their "
               "distance the same way everywhere, which makes relative offsets easy to learn.")
    doc.md += ["## Positional encoding", "", f"{pe.shape[0]} positions x d_model {pe.shape[1]}"
               + (" (position 0 is the CLS token)." if cls else "."), ""]


def _gradients_section(model: nn.Module, bundle: DataBundle, label: str, doc: _Doc, seed: int) -> None:
    try:
        result = gradient_study(model, bundle, n=GRADIENT_EXAMPLES, seed=seed)
    except ArchbenchError as e:  # a deliberate "cannot study this" (e.g. no sequence input)
        doc.skip("gradient study", str(e))
        return
    gdir = doc.out / "gradients"
    gdir.mkdir(parents=True, exist_ok=True)
    write_gradient_study({label: result}, gdir)
    doc.sections.append("gradients")
    listed = []
    if (gdir / "figures.json").is_file():
        listed = json.loads((gdir / "figures.json").read_text())
    else:
        listed = [{"file": p.name, "title": p.stem.replace("_", " "), "caption": ""}
                  for p in sorted(gdir.glob("*.png"))]
    for f in listed:
        doc.figure(f"gradients/{f['file']}", f.get("title", ""), f.get("caption", ""))
    doc.md += ["## Gradient study", "", "How the gradient of the loss reaches earlier time steps (vanishing "
               "gradients in Part 4.3); tables and figures in [gradients/](gradients/).", ""]


# ------------------------------------------------------------------------ entry point

def write_explain(run_dir, out_dir=None, n_examples: int = 8, seed: int = 0, device: str = "cpu") -> Path:
    """Explain the model of a finished run (see the module docstring); returns the output directory."""

    run_dir = Path(run_dir)
    if n_examples < 1:
        raise UsageError(f"n_examples must be at least 1, got {n_examples}")
    model, bundle, config = load_run(run_dir, device=device)
    model.eval()
    name, data = config["train"]["model"], config["train"]["data"]
    plan = plan_sections(model, bundle)
    if not plan:
        raise UsageError(f"explain does not support {name} on {bundle.kind} data ({data}); it supports {SUPPORTED}")
    out = Path(out_dir) if out_dir is not None else run_dir / "explain"
    open_out_dir(out, "explain")
    title = f"What {name} learned on {data}"
    doc = _Doc(out)
    if "conv" in plan or "mlp" in plan:
        _image_sections(model, bundle, config, plan, doc, n_examples, seed)
    if "attention" in plan:
        _attention_section(model, bundle, doc, n_examples, seed)
    if "positions" in plan:
        _positions_section(model, bundle, doc)
    if "gradients" in plan:  # last: it runs backward passes and may leave the model in train mode
        _gradients_section(model, bundle, name, doc, seed)

    figures = [f for f in doc.figures if (out / f["file"]).is_file()]
    write_json(out / "figures.json", figures)
    rel = os.path.relpath(run_dir.resolve(), out.resolve())
    write_json(out / "archbench.json", {**marker("explain", title), "run": rel, "model": name, "data": data,
                                        "sections": doc.sections, "skipped": doc.skipped})
    metrics = _read_metrics(run_dir)
    head = [f"# {title}", "",
            # the run's own name: its path relative to this folder is ".." when explain sits inside the run
            f"Run: `{run_dir.resolve().name}` ({name} on {data}{metrics}; folder `{rel}` from here). "
            f"Sections: {', '.join(doc.sections) or 'none'}.", ""]
    tail = ["## Skipped", ""] + [f"- {s}" for s in doc.skipped] + [""] if doc.skipped else []
    figs = ["## Figures", ""] + [f"- `{f['file']}`: {f['title']}" for f in figures] + [""]
    atomic_write_text(out / "explain.md", "\n".join(head + doc.md + figs + tail))
    build_report(out)
    return out


def _read_metrics(run_dir: Path) -> str:
    try:
        m = read_json_object(run_dir / "metrics.json")
    except (OSError, CheckpointError):  # the title goes without the accuracy
        return ""
    if isinstance(m.get("test_accuracy"), (int, float)):
        return f", test accuracy {100 * m['test_accuracy']:.2f}%"
    if isinstance(m.get("test_mae"), (int, float)):
        return f", test MAE {m['test_mae']:.4g}"
    return ""
