#!/usr/bin/env bash
# GPU check 2 of 2: MNIST MLP/CNN and the sequence models through `archbench bench`, and a --compile run.
# Needs .devdata/mnist/MNIST/raw/*.gz.  Run from the repository root:  OUT=/tmp/out bash benchmarks/gpu/mnist.sh
set -u
export PYTHONPATH=$PWD/src PYTHONUNBUFFERED=1
OUT=${OUT:-/tmp/out}; mkdir -p "$OUT"
exec > >(tee "$OUT/mnist.log") 2>&1
timeout 300 python3 -m archbench bench --device cuda --data-dir .devdata/mnist --out /tmp/bench 2>&1 | grep -v "^epoch"
cp /tmp/bench/bench.md /tmp/bench/bench.json /tmp/bench/bench.csv "$OUT/"
echo "== cnn on MNIST with --compile"
timeout 150 python3 -m archbench train cnn --data mnist --data-dir .devdata/mnist --device cuda --compile \
   --progress epoch --set eval_test_each_epoch=true --out /tmp/r/cnn-compile
cp /tmp/r/cnn-compile/metrics.json "$OUT/cnn_compile_metrics.json"
cp /tmp/r/cnn-compile/history.csv "$OUT/cnn_compile_history.csv"
