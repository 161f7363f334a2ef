#!/usr/bin/env bash
# GPU check 2 of 2: MNIST MLP/CNN and the sequence models through `archbench bench`, and a --compile run.
set -u
export PYTHONPATH=$PWD/src PYTHONUNBUFFERED=1
OUT=${OUT:-/tmp/out}
python3 -m archbench bench --device cuda --data-dir .devdata/mnist --out /tmp/bench 2>&1 | grep -v "^epoch" | tail -30
cp /tmp/bench/bench.md /tmp/bench/bench.json $OUT/
echo "== cnn on MNIST with --compile"
python3 -m archbench train cnn --data mnist --data-dir .devdata/mnist --device cuda --compile --progress epoch \
   --out /tmp/r/cnn-compile 2>&1 | tail -16
cp /tmp/r/cnn-compile/metrics.json $OUT/cnn_compile_metrics.json
