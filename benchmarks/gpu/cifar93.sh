#!/usr/bin/env bash
# GPU check for the >= 93% goal on the JPEG copy of CIFAR-10 (packed into .devdata/cifar10 by pack_folder.py).
# Metrics and history of each run land in $OUT/cifar93.tar.gz; the log in $OUT/cifar93.log.
# Run from the repository root:  OUT=/tmp/out bash benchmarks/gpu/cifar93.sh
set -u
export PYTHONPATH=$PWD/src PYTHONUNBUFFERED=1 ARCHBENCH_CACHE=/tmp/abcache
OUT=${OUT:-/tmp/out}; mkdir -p "$OUT" /tmp/r
exec > >(tee "$OUT/cifar93.log") 2>&1
nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader
python3 -c "import torch; print('torch', torch.__version__, torch.cuda.get_device_name(0))"
python3 benchmarks/gpu/unpack_folder.py .devdata/cifar10 /tmp/cifar10
run() {  # name, time limit (s), archbench train arguments...
  local name=$1 limit=$2; shift 2
  echo "== $name: archbench train $*"
  timeout "$limit" python3 -m archbench train "$@" --data folder:/tmp/cifar10 --device cuda --progress epoch \
      --set eval_test_each_epoch=true --out /tmp/r/$name
  echo "== $name exit $?"
  tar -czf "$OUT/cifar93.tar.gz" -C /tmp/r .
}
# wide (128/512/512), 100 epochs, 98% of train for training (1,000 images for validation), flip averaging
run wide100 300 resnet-small --set widths=[128,512,512] --set epochs=100 --set val_fraction=0.02
# the earlier best (96/384/384, 80 epochs: 92.34% without flip averaging), now with it
run w96-80 120 resnet-small --set widths=[96,384,384] --set epochs=80 --set val_fraction=0.02
# the default recipe (30 epochs), now with flip averaging
run default 60 resnet-small
