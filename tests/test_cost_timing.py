"""Latency and throughput on a busy machine: medians with a fixed thread count, and a disturbed run says so."""
import time

import torch
import torch.nn as nn

from archbench.experiment.compare_tables import timing_note
from archbench.models.cost import DISTURBED_BELOW, fixed_threads, measure_costs, timed_calls


def test_costs_are_timed_with_the_stated_thread_count_and_restore_it():
    before = torch.get_num_threads()
    m = nn.Linear(8, 4)
    c = measure_costs(m, torch.randn(32, 8), latency_repeats=5, throughput_repeats=2, threads=1)
    assert c["timing_threads"] == 1 and c["timing_repeats"] == [5, 2]
    assert torch.get_num_threads() == before
    assert isinstance(c["timing_disturbed"], bool) and 0 < c["timing_cpu_share"]
    with fixed_threads(None) as n:
        assert n == before


class Sleepy(nn.Module):
    """Waits without using the CPU: what a call that waits for a core looks like to the clock."""

    def forward(self, x):
        time.sleep(0.01)
        return x


def test_a_call_that_waits_is_flagged_and_a_busy_one_is_not():
    x = torch.randn(4, 4)
    _, waiting = timed_calls(Sleepy(), x, repeats=3, warmup=0)
    assert waiting < DISTURBED_BELOW
    big = nn.Linear(512, 512)
    with fixed_threads(1):
        _, working = timed_calls(big, torch.randn(256, 512), repeats=20, warmup=2)
    assert working > waiting


def test_the_comparison_note_states_threads_and_disturbed_runs():
    rows = [{"model": "cnn", "seed": 0, "timing_threads": 1, "timing_disturbed": True, "timing_cpu_share": 0.41},
            {"model": "mlp", "seed": 0, "timing_threads": 1, "timing_disturbed": False, "timing_cpu_share": 0.98}]
    note = timing_note(rows)
    assert "with 1 thread(s)" in note and "cnn (seed 0, CPU share 41%)" in note and "mlp" not in note
    assert "No run was disturbed" in timing_note(rows[1:])
    assert timing_note([{"model": "bow"}]) == ""
