"""Layer-by-layer summary of any nn.Module: output shape, parameters and FLOPs of each layer.

The model runs once on ONE sample (batch 1, eval mode, no grad), so output shapes start with 1 and
FLOPs are per sample, counted by ``FlopCounterMode`` with the conventions of
:mod:`archbench.train.cost` (multiply-add = 2, only matmul/conv/attention counted).

Rows are "layers": modules without children, plus ``nn.MultiheadAttention`` and the RNN modules
(which use their sub-modules' weights directly rather than calling them). Forward pre/post hooks read
the counter's running total around each call, so a layer's FLOPs are exactly what ran inside it; a
container that does work of its own (``torch.bmm`` in a hand-written attention, a learned ``cls``
token, a positional embedding parameter) gets a row for that part alone. Hence the rows add up to
the whole model: sum of FLOPs == ``forward_flops(model, x)`` and sum of parameters ==
``count_parameters(model, trainable_only=False)`` (tied weights counted once, at first use; layers
that never ran are listed last as "not called").

A row: {"name", "type", "output_shape", "params", "trainable", "flops", "calls"}.
"""
from __future__ import annotations

from typing import Any, Dict, List

import torch
import torch.nn as nn

from .cost import call_model, eval_mode, flop_counter, prepare_input, unfused_kernels

# Modules that are one layer even though they have children (they read the children's weights).
UNITS = (nn.MultiheadAttention, nn.RNNBase)
TOP = "(model)"


def _is_unit(m: nn.Module) -> bool:
    return isinstance(m, UNITS) or next(m.children(), None) is None


def describe_output(out: Any) -> str:
    """Shape of a module output: '[1, 5, 8]', tuples as '([1, 5, 8], ([1, 1, 8], [1, 1, 8]))'."""
    if isinstance(out, torch.Tensor):
        return str(list(out.shape))
    if isinstance(out, nn.utils.rnn.PackedSequence):
        return f"packed{list(out.data.shape)}"
    if isinstance(out, (tuple, list)):
        return "(" + ", ".join(describe_output(o) for o in out) + ")"
    if isinstance(out, dict):
        return "{" + ", ".join(f"{k}: {describe_output(v)}" for k, v in out.items()) + "}"
    return "None" if out is None else type(out).__name__


def _hooked_modules(model: nn.Module) -> Dict[str, nn.Module]:
    """Every module down to the layers (not below them), keyed by qualified name."""
    found, ids, todo = {}, set(), [("", model)]
    while todo:
        name, m = todo.pop(0)
        if id(m) in ids:  # a module reused under two names is one layer
            continue
        found[name] = m
        ids.add(id(m))
        if not _is_unit(m):
            todo += [(f"{name}.{c}" if name else c, child) for c, child in m.named_children()]
    return found


def layer_summary(model: nn.Module, example_input) -> List[Dict[str, Any]]:
    """One row per layer, in the order the layers first run."""
    x = prepare_input(model, example_input, batch=1)
    modules = _hooked_modules(model)
    counter = flop_counter()
    records: Dict[str, Dict[str, Any]] = {}
    stack: List[list] = []  # [name, counter total at entry, FLOPs of hooked children]

    def pre_hook(name):
        def hook(mod, args):
            records.setdefault(name, {"calls": 0, "flops": 0, "own_flops": 0, "output_shape": None})
            stack.append([name, counter.get_total_flops(), 0])
        return hook

    def post_hook(name):
        def hook(mod, args, out):
            _, start, children = stack.pop()
            inside = counter.get_total_flops() - start
            rec = records[name]
            rec["calls"] += 1
            rec["flops"] += inside
            rec["own_flops"] += inside - children
            if rec["output_shape"] is None:
                rec["output_shape"] = describe_output(out)
            if stack:
                stack[-1][2] += inside
        return hook

    handles = []
    try:
        for name, m in modules.items():
            handles.append(m.register_forward_pre_hook(pre_hook(name)))
            handles.append(m.register_forward_hook(post_hook(name)))
        with eval_mode(model), torch.no_grad(), unfused_kernels(), counter:
            call_model(model, x)
    finally:
        for h in handles:
            h.remove()

    seen: set = set()

    def params_of(m: nn.Module, recurse: bool):
        ps = [p for p in m.parameters(recurse=recurse) if id(p) not in seen]
        seen.update(id(p) for p in ps)
        return sum(p.numel() for p in ps), sum(p.numel() for p in ps if p.requires_grad)

    rows = []
    called = list(records)  # insertion order = order of first call
    for name in called + [n for n in modules if n not in records]:
        m, rec = modules[name], records.get(name)
        unit = _is_unit(m)
        n_params, n_train = params_of(m, recurse=unit)
        flops = 0 if rec is None else int(rec["flops"] if unit else rec["own_flops"])
        if not unit and n_params == 0 and flops == 0:
            continue  # a pure container: its layers have their own rows
        if rec is None and n_params == 0:
            continue  # a parameter-free layer that never ran
        rows.append({
            "name": (name or TOP) if unit else f"{name or TOP} (own)",
            "type": type(m).__name__,
            "output_shape": rec["output_shape"] if rec else "not called",
            "params": n_params,
            "trainable": n_train,
            "flops": flops,
            "calls": rec["calls"] if rec else 0,
        })
    return rows


def totals(rows: List[Dict[str, Any]]) -> Dict[str, int]:
    return {k: int(sum(r[k] for r in rows)) for k in ("params", "trainable", "flops")}


def human(n: float) -> str:
    """1234567 -> '1.23M'."""
    for unit, scale in (("G", 1e9), ("M", 1e6), ("K", 1e3)):
        if abs(n) >= scale:
            return f"{n / scale:.2f}{unit}"
    return str(int(n))


def _cells(rows):
    header = ["Layer", "Type", "Output shape", "Params", "FLOPs"]
    body = [[r["name"], r["type"], r["output_shape"], f"{r['params']:,}", human(r["flops"])] for r in rows]
    return header, body


def format_summary(rows: List[Dict[str, Any]]) -> str:
    """Aligned text table with totals (numbers right-aligned)."""
    header, body = _cells(rows)
    widths = [max(len(str(c)) for c in col) for col in zip(header, *body)]
    right = (False, False, False, True, True)

    def line(cells):
        return "  ".join(str(c).rjust(w) if r else str(c).ljust(w) for c, w, r in zip(cells, widths, right)).rstrip()

    t = totals(rows)
    rule = "-" * len(line(header))
    return "\n".join([
        line(header), rule, *(line(c) for c in body), rule,
        f"Total params: {t['params']:,} (trainable {t['trainable']:,}, frozen {t['params'] - t['trainable']:,})",
        f"Forward FLOPs per sample: {human(t['flops'])} ({t['flops']:,})",
    ])


def summary_markdown(rows: List[Dict[str, Any]]) -> str:
    """The same table in Markdown, with a totals row."""
    header, body = _cells(rows)
    t = totals(rows)
    body.append(["**total**", "", "", f"**{t['params']:,}**", f"**{human(t['flops'])}**"])
    esc = [[str(c).replace("|", "\\|") for c in row] for row in [header] + body]
    out = ["| " + " | ".join(esc[0]) + " |", "|" + "|".join(["---"] * 3 + ["---:"] * 2) + "|"]
    out += ["| " + " | ".join(r) + " |" for r in esc[1:]]
    return "\n".join(out)


__all__ = ["layer_summary", "format_summary", "summary_markdown", "totals", "describe_output", "human"]
