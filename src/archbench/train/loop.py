"""The fit loop: one readable loop that runs alone, under torchrun (DDP), on CPU or GPU.

Data stays as whole tensors on the device; each epoch draws batches by indexing a seeded
permutation (``data.base.batch_indices``). Every random stream is derived from (seed, epoch, rank),
so an epoch's batches, augmentation and dropout are fixed by the seed, and a resumed run -- from an
epoch boundary or from the middle of an epoch -- repeats an uninterrupted one exactly on the CPU.

Per step:  x = preprocess(X[idx]) -> augment -> autocast(model(x)) -> loss -> backward -> step
Per epoch: evaluate on validation (inference_mode, larger batches) -> history row -> early
           stopping -> checkpoint (atomic).
At the end the best weights (by the monitored metric) are restored, whatever ended the run.
"""
from __future__ import annotations

import math
import sys
import time
from pathlib import Path
from typing import Any, Callable, Dict, List, Optional

import torch
import torch.nn as nn

from ..config import TrainConfig
from ..data.augment import get_augment
from ..data.base import DataBundle, batch_indices
from ..data.progress import bar_wanted, progress_bar  # a notebook bar in Jupyter, none in a log file
from ..errors import DivergedError
from ..files import fault_step
from .callbacks import EarlyStopping
from .checkpoint import load_state, match_param_layout, model_state, save_state, unwrap
from .evaluate import evaluate, is_regression
from .optim import build_optimizer, build_scheduler, current_lr
from .options import build_loss, l1_penalty, warn_old_momentum
from .runtime import Runtime

CHECKPOINT = "checkpoint.safetensors"


def derive_seed(*parts: int) -> int:
    """A 63-bit seed from several integers (seed, epoch, rank, purpose), stable across runs."""
    h = 1469598103934665603
    for p in parts:
        h = ((h ^ (int(p) & 0xFFFFFFFFFFFF)) * 1099511628211) % (1 << 63)
    return h


# ---------------------------------------------------------------- evaluation


# ---------------------------------------------------------------- training

class Trainer:
    """Owns model, optimiser, scheduler, early stopping and the run's position; see module doc."""

    def __init__(self, model: nn.Module, bundle: DataBundle, cfg: TrainConfig, rt: Runtime,
                 run_dir: Optional[Path] = None, on_epoch: Optional[Callable[["Trainer"], None]] = None,
                 channels_last: bool = False, log: Callable[[str], None] = None):
        self.bundle, self.cfg, self.rt, self.run_dir, self.on_epoch = bundle, cfg, rt, run_dir, on_epoch
        self.log = log or (lambda s: print(s, file=sys.stderr, flush=True))
        self.memory_format = torch.channels_last if channels_last else torch.contiguous_format
        self.raw = model.to(rt.device, memory_format=self.memory_format)
        on_gpu = rt.device.type == "cuda"
        # data on the device once (airbench style); memory-mapped caches stay on the host on CPU
        self.train_split = bundle.train.to(rt.device) if on_gpu else bundle.train
        self.val_split = bundle.val.to(rt.device) if on_gpu else bundle.val
        self.model = self.raw
        if rt.distributed:
            ids = [rt.device.index] if on_gpu else None
            self.model = nn.parallel.DistributedDataParallel(self.raw, device_ids=ids)
        self.compiled = False
        if cfg.compile:
            self.model, self.compiled = try_compile(self.model, self.log)
        self.steps_per_epoch = max(1, len(self.train_split) // cfg.batch_size)
        warn_old_momentum(cfg.optimizer)
        self.optimizer = build_optimizer(cfg.optimizer, self.raw.parameters(), cfg.lr, cfg.weight_decay, cfg.momentum)
        self.scheduler, self.sched_when = build_scheduler(
            cfg.scheduler, self.optimizer, cfg.epochs, self.steps_per_epoch, cfg.lr, step_size=cfg.step_size,
            gamma=cfg.gamma, plateau_patience=cfg.plateau_patience, plateau_factor=cfg.plateau_factor,
            cosine_period=cfg.cosine_period)
        self.scaler = torch.amp.GradScaler("cuda") if rt.precision == "fp16" else None
        self.stopper = EarlyStopping(cfg.patience, cfg.min_delta, cfg.monitor)
        weight = bundle.extras.get("class_weight")  # (classes,) with --set class_weights=balanced
        self.loss_fn: Callable = build_loss(cfg.loss or "auto", is_regression(bundle), cfg.label_smoothing or 0.0,
                                            cfg.huber_delta, None if weight is None else weight.to(rt.device))
        self.augment = make_augment(cfg.augment, bundle)
        self.aug_gen = torch.Generator(device=rt.device) if self.augment else None
        self.eval_batch = cfg.eval_batch_size or max(1024, 4 * cfg.batch_size)
        # position
        self.epoch = 0  # completed epochs
        self.step = 0  # optimiser steps done in the current epoch
        self.global_step = 0
        self.sums = [0.0, 0.0, 0.0]  # loss * n, correct, n of the current epoch so far
        self.epoch_seconds = 0.0
        self.train_seconds = 0.0
        self.history: List[Dict[str, Any]] = []
        self.stop_reason: Optional[str] = None
        self.time_to_target: Optional[float] = None
        self.epoch_to_target: Optional[int] = None
        self.test_split = None

    # -------------------------------------------------------------- random streams
    def _seed_epoch(self, epoch: int) -> None:
        torch.manual_seed(derive_seed(self.cfg.seed, epoch, self.rt.rank, 1))
        if self.aug_gen is not None:
            self.aug_gen.manual_seed(derive_seed(self.cfg.seed, epoch, self.rt.rank, 2))

    def epoch_batches(self, epoch: int) -> List[torch.Tensor]:
        g = torch.Generator().manual_seed(derive_seed(self.cfg.seed, epoch, 0, 0))  # same on every rank
        batches = batch_indices(len(self.train_split), self.cfg.batch_size, g, shuffle=True, drop_last=True,
                                lengths=None if self.train_split.lengths is None else self.train_split.lengths.cpu(),
                                rank=self.rt.rank, world=self.rt.world)
        dev = self.train_split.x.device
        if dev.type != "cpu" and batches:
            # one copy of the epoch's indices to the GPU: a copy per step from pageable memory makes the
            # host wait for the GPU to finish the previous step, so Python and kernels never overlap
            batches = list(torch.cat(batches).to(dev).split([len(b) for b in batches]))
        return batches

    # -------------------------------------------------------------- one step
    def _forward_backward(self, x, y, poison: bool = False):
        with self.rt.autocast():
            out = self.model(x)
            loss = self.loss_fn(out.float(), y)
        if poison:
            loss = loss * float("nan")
        # the penalty joins the gradient only: the logged training loss stays the data loss
        total = loss + self.cfg.l1_penalty * l1_penalty(self.raw) if self.cfg.l1_penalty else loss
        if self.scaler is not None:
            self.scaler.scale(total).backward()
        else:
            total.backward()
        return out, loss

    def train_step(self, idx: torch.Tensor) -> torch.Tensor:
        """One optimiser step on the training examples ``idx``; returns the batch's loss (a 0-d tensor)."""
        split = self.train_split
        x, y = self.bundle.take_batch(split, idx, self.rt.device)
        if self.augment is not None:
            x = self.augment(x, self.aug_gen)
        if x.dim() == 4:
            x = x.contiguous(memory_format=self.memory_format)
        self.model.train()
        self.optimizer.zero_grad(set_to_none=True)
        poison = fault_step()  # None unless ARCHBENCH_FAULT plans a fault here (files.py)
        try:
            out, loss = self._forward_backward(x, y, poison == "nan")
        except Exception as e:  # torch.compile fails on first use on some set-ups: say so and go on eagerly
            if not self.compiled:
                raise
            self.log(f"torch.compile failed ({type(e).__name__}: {str(e).splitlines()[0][:120]}); continuing eagerly")
            self.model, self.compiled = unwrap_compiled(self.model), False
            self.optimizer.zero_grad(set_to_none=True)
            out, loss = self._forward_backward(x, y, poison == "nan")
        self._check_finite(loss)
        if self.scaler is not None:
            self.scaler.unscale_(self.optimizer)
        if self.cfg.grad_clip:
            nn.utils.clip_grad_norm_(self.raw.parameters(), self.cfg.grad_clip)
        if self.scaler is not None:
            self.scaler.step(self.optimizer)
            self.scaler.update()
        else:
            self.optimizer.step()
        if self.scheduler is not None and self.sched_when == "batch":
            self.scheduler.step()
        n = y.shape[0]
        with torch.no_grad():
            self._acc_loss += loss.detach().double() * n
            if not is_regression(self.bundle):
                self._acc_hit += (out.detach().argmax(1) == y).sum()
        self._acc_n += n
        return loss.detach()

    def reset_sums(self) -> None:
        """Zero the running loss, hit and sample sums of the epoch in progress."""
        self._acc_loss = torch.zeros((), dtype=torch.float64, device=self.rt.device)
        self._acc_hit = torch.zeros((), dtype=torch.float64, device=self.rt.device)
        self._acc_n = 0
        self._first_bad = torch.zeros((), dtype=torch.long, device=self.rt.device)  # first non-finite step, 0: none

    def _check_finite(self, loss: torch.Tensor) -> None:
        """Stop at the first NaN/inf loss, before the optimiser steps on it (the weights, the best
        weights and the last checkpoint stay as they were). In one CPU process reading the scalar costs
        nothing; on a GPU or under DDP it would wait for every step, so the first bad step is kept on the
        device and read (all-reduced) where the loop syncs anyway, before any checkpoint (_fold_partial)."""
        if self.rt.device.type == "cpu" and not self.rt.distributed:
            if not math.isfinite(float(loss.detach())):
                self._diverged(self.step + 1, float(loss.detach()))
            return
        bad = ~torch.isfinite(loss.detach())
        self._first_bad = torch.where(bad & (self._first_bad == 0), self.step + 1, self._first_bad)

    def _check_bad_steps(self) -> None:
        if self.rt.device.type == "cpu" and not self.rt.distributed:
            return
        first = self._first_bad.double()
        if self.rt.distributed:  # every rank stops together, at the earliest bad step of any rank
            first = torch.where(first == 0, float("inf"), first)
            torch.distributed.all_reduce(first, op=torch.distributed.ReduceOp.MIN)
            first = torch.where(torch.isinf(first), 0.0, first)
        step = int(first.item())
        if step:
            self._diverged(step, float("nan"))

    def _diverged(self, step: int, value: float) -> None:
        raise DivergedError(f"training loss became {value} at epoch {self.epoch + 1}, step {step}: run stopped; "
                            f"the last good checkpoint and the best weights so far are kept")

    # -------------------------------------------------------------- the loop
    def fit(self) -> List[Dict[str, Any]]:
        cfg = self.cfg
        bar = None
        while self.epoch < cfg.epochs and self.stop_reason is None:
            epoch = self.epoch
            batches = self.epoch_batches(epoch)
            if self.step == 0:
                self._seed_epoch(epoch)
            self.reset_sums()
            bar = self._bar(len(batches), epoch)
            t0 = time.perf_counter()
            last_ckpt = t0
            for i in range(self.step, len(batches)):
                self.train_step(batches[i])
                self.step, self.global_step = i + 1, self.global_step + 1
                if bar is not None:
                    bar.update(1)
                if cfg.max_steps and self.global_step >= cfg.max_steps:
                    self.stop_reason = f"step budget ({cfg.max_steps} steps)"
                elif cfg.max_seconds and self.train_seconds + self.epoch_seconds + time.perf_counter() - t0 >= cfg.max_seconds:
                    self.stop_reason = f"time budget ({cfg.max_seconds:g} s)"
                if self.stop_reason:
                    break
                if self.step < len(batches) and self._due(last_ckpt):
                    self._fold_partial(t0)
                    t0 = last_ckpt = time.perf_counter()
                    self.save_checkpoint()
            if bar is not None:
                bar.close()
            self._fold_partial(t0)
            self._end_epoch()
        self.stopper.restore(self.model)  # the best weights, whatever ended the run
        return self.history

    def _due(self, last: float) -> bool:
        """Mid-epoch checkpoint by time; under DDP rank 0 decides every 25 steps for everyone."""
        if self.run_dir is None:
            return False
        if not self.rt.distributed:
            return time.perf_counter() - last >= self.cfg.checkpoint_every
        if self.step % 25:
            return False
        flag = torch.tensor([float(time.perf_counter() - last >= self.cfg.checkpoint_every)],
                            device=self.rt.device if self.rt.device.type == "cuda" else "cpu")
        torch.distributed.broadcast(flag, 0)
        return bool(flag.item())

    def _fold_partial(self, t0: float) -> None:
        """Move the running tensors of this epoch into plain numbers (one sync, not one per step)."""
        self._check_bad_steps()
        self.sums[0] += float(self._acc_loss)
        self.sums[1] += float(self._acc_hit)
        self.sums[2] += float(self._acc_n)
        self._acc_loss.zero_()
        self._acc_hit.zero_()
        self._acc_n = 0
        if self.rt.device.type == "cuda":
            torch.cuda.synchronize(self.rt.device)
        self.epoch_seconds += time.perf_counter() - t0

    def _end_epoch(self) -> None:
        cfg, rt = self.cfg, self.rt
        loss_sum, hit_sum, n = rt.all_sum(*self.sums)
        n = max(n, 1.0)
        t_eval = time.perf_counter()
        val = evaluate(self.raw, self.bundle, self.val_split, rt, self.eval_batch)
        eval_seconds = time.perf_counter() - t_eval
        self.train_seconds += self.epoch_seconds + eval_seconds
        row: Dict[str, Any] = {"epoch": self.epoch + 1, "train_loss": loss_sum / n}
        if is_regression(self.bundle):
            row.update(val_loss=val["loss"], val_mae=val["mae"], val_rmse=val["rmse"])
        else:
            row.update(train_acc=hit_sum / n, val_loss=val["loss"], val_acc=val["accuracy"])
        row.update(lr=current_lr(self.optimizer), seconds=round(self.epoch_seconds, 4),
                   eval_seconds=round(eval_seconds, 4), samples_per_s=round(n / max(self.epoch_seconds, 1e-9), 1),
                   elapsed=round(self.train_seconds, 4))
        if cfg.eval_test_each_epoch:
            test = self.test_split if self.test_split is not None else self.bundle.test
            row["test_acc"] = evaluate(self.raw, self.bundle, test, rt, self.eval_batch).get("accuracy")
        self.history.append(row)
        if self.scheduler is not None and self.sched_when == "epoch":
            self.scheduler.step()
        elif self.scheduler is not None and self.sched_when == "plateau":
            self.scheduler.step(val["loss"])
        stop = self.stopper.step(row, self.model, self.epoch)
        if stop and self.stop_reason is None:
            self.stop_reason = f"early stopping (no {self.stopper.monitor} improvement for {cfg.patience} epochs)"
        if cfg.target_accuracy is not None and row.get("val_acc", 0) >= cfg.target_accuracy and self.time_to_target is None:
            self.time_to_target, self.epoch_to_target = self.train_seconds, self.epoch + 1
            self.stop_reason = self.stop_reason or f"target accuracy {cfg.target_accuracy:g} reached"
        self.epoch, self.step = self.epoch + 1, 0
        self.sums, self.epoch_seconds = [0.0, 0.0, 0.0], 0.0
        if self.stop_reason is None and self.epoch >= cfg.epochs:
            self.stop_reason = f"all {cfg.epochs} epochs"
        self._print_epoch(row)
        self.save_checkpoint()
        if self.on_epoch is not None and rt.is_main:
            self.on_epoch(self)

    # -------------------------------------------------------------- progress
    def _bar(self, total: int, epoch: int):
        mode = self.cfg.progress

        if not self.rt.is_main or mode in ("none", "epoch") or (mode == "auto" and not bar_wanted()):
            return None
        return progress_bar(total=total, initial=self.step, desc=f"epoch {epoch + 1}/{self.cfg.epochs}", leave=False,
                    unit="batch", dynamic_ncols=True)

    def _print_epoch(self, row: Dict[str, Any]) -> None:
        if not self.rt.is_main or self.cfg.progress == "none":
            return
        parts = [f"epoch {row['epoch']:>3}/{self.cfg.epochs}", f"train loss {row['train_loss']:.4f}"]
        if "val_acc" in row:
            parts += [f"acc {100 * row['train_acc']:.2f}%", f"val loss {row['val_loss']:.4f}",
                      f"val acc {100 * row['val_acc']:.2f}%"]
        else:
            parts += [f"val loss {row['val_loss']:.4f}", f"val mae {row['val_mae']:.4f}"]
        parts += [f"lr {row['lr']:.2e}", f"{row['seconds']:.1f}s"]
        self.log("  ".join(parts))

    # -------------------------------------------------------------- checkpoints
    def state_dict(self) -> Dict[str, Any]:
        rng = torch.get_rng_state()
        rngs = [rng]
        if self.rt.distributed:  # every rank's dropout stream, so each resumes where it was
            rngs = [torch.empty_like(rng) for _ in range(self.rt.world)]
            torch.distributed.all_gather_object(rngs, rng)
        return {
            "epoch": self.epoch, "step": self.step, "global_step": self.global_step, "sums": list(self.sums),
            "epoch_seconds": self.epoch_seconds, "train_seconds": self.train_seconds, "world": self.rt.world,
            "model": model_state(self.model), "optimizer": self.optimizer.state_dict(),
            "scheduler": None if self.scheduler is None else self.scheduler.state_dict(),
            "scaler": None if self.scaler is None else self.scaler.state_dict(),
            "early_stopping": self.stopper.state_dict(), "rng": rngs,
            "aug_gen": None if self.aug_gen is None else self.aug_gen.get_state(),
            "history": self.history, "stop_reason": self.stop_reason,
            "time_to_target": self.time_to_target, "epoch_to_target": self.epoch_to_target,
        }

    def save_checkpoint(self) -> None:
        state = self.state_dict()  # collective under DDP: every rank takes part
        if self.run_dir is not None and self.rt.is_main:
            save_state(Path(self.run_dir) / CHECKPOINT, state)
        self.rt.barrier()

    def load_state_dict(self, state: Dict[str, Any]) -> None:
        unwrap(self.model).load_state_dict(state["model"])
        self.optimizer.load_state_dict(state["optimizer"])
        match_param_layout(self.optimizer)
        if self.scheduler is not None and state.get("scheduler") is not None:
            self.scheduler.load_state_dict(state["scheduler"])
        if self.scaler is not None and state.get("scaler") is not None:
            self.scaler.load_state_dict(state["scaler"])
        self.stopper.load_state_dict(state["early_stopping"])
        self.epoch, self.step, self.global_step = state["epoch"], state["step"], state["global_step"]
        self.sums, self.epoch_seconds = list(state["sums"]), state["epoch_seconds"]
        self.train_seconds, self.history = state["train_seconds"], list(state["history"])
        self.stop_reason = state.get("stop_reason")
        self.time_to_target, self.epoch_to_target = state.get("time_to_target"), state.get("epoch_to_target")
        if self.step:  # mid-epoch: put every random stream back where it was
            rngs = state["rng"]
            if state["world"] == self.rt.world:
                torch.set_rng_state(rngs[self.rt.rank])
            else:  # another world size: the global batches are the same, dropout streams start afresh
                torch.manual_seed(derive_seed(self.cfg.seed, self.epoch, self.rt.rank, 3, self.step))
            if self.aug_gen is not None and state.get("aug_gen") is not None:
                self.aug_gen.set_state(state["aug_gen"].to(self.aug_gen.get_state().device))

    def resume(self, path: Path) -> None:
        self.load_state_dict(load_state(path))


def make_augment(name: str, bundle: DataBundle):
    if name in (None, "none") or bundle.kind != "image":
        return None

    hint = "digits" if bundle.input_shape[0] == 1 else "natural"
    return get_augment(name, hint)


def try_compile(model: nn.Module, log) -> tuple:
    try:
        return torch.compile(model), True
    except Exception as e:
        log(f"torch.compile is not available here ({type(e).__name__}: {str(e).splitlines()[0][:120]}); running eagerly")
        return model, False


def unwrap_compiled(model: nn.Module) -> nn.Module:
    return getattr(model, "_orig_mod", model)
