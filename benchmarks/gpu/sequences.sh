#!/usr/bin/env bash
# GPU: the notebook's five-model sequence comparison (its own code, ../shared/bench/seed_reference.py) beside
# `archbench compare` on the same sequences and split (draw=notebook), one after the other on one GPU.
# REF: the reference script; REF_PYTHONPATH: where seaborn and pandas are, if the interpreter lacks them.
# Run from the repository root:  OUT=/tmp/out bash benchmarks/gpu/sequences.sh
set -u
export PYTHONPATH=$PWD/src PYTHONUNBUFFERED=1
OUT=${OUT:-/tmp/out}; mkdir -p "$OUT"
REF=${REF:-../shared/bench/seed_reference.py}
exec > >(tee "$OUT/sequences.log") 2>&1
stamp() { date +%s.%N; }
nvidia-smi --query-gpu=name --format=csv,noheader
five="rnn lstm gru lstm-attn transformer"

t0=$(stamp)
PYTHONPATH=${REF_PYTHONPATH:-} timeout 300 python3 "$REF" --preset sequences > "$OUT/notebook-sequences.txt" 2>&1
rc=$?; t1=$(stamp)
echo "notebook's sequence preset: $(python3 -c "print(round($t1 - $t0, 1))") s (exit $rc)"
grep -E "^Using device|notebook cell (28|33|35|41|46)\]" "$OUT/notebook-sequences.txt"
grep -A9 "ARCHITECTURE COMPARISON" "$OUT/notebook-sequences.txt"

t0=$(stamp)
timeout 200 python3 -m archbench compare $five --data seq-sum --set draw=notebook --device cuda --progress none \
  --out /tmp/five-gpu > "$OUT/five-gpu.txt" 2>&1
rc=$?; t1=$(stamp)
echo "archbench compare, five, draw=notebook, cuda: $(python3 -c "print(round($t1 - $t0, 1))") s (exit $rc)"
grep "^|" "$OUT/five-gpu.txt"
