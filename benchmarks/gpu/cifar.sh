#!/usr/bin/env bash
# GPU check 1 of 2: the CIFAR-10 recipes on the JPEG copy (packed by pack_folder.py into .devdata/cifar10).
# Each run's metrics.json and history.csv land in $OUT/cifar.tar.gz; the log in $OUT/cifar.log.
# Run from the repository root:  OUT=/tmp/out bash benchmarks/gpu/cifar.sh
set -u
export PYTHONPATH=$PWD/src PYTHONUNBUFFERED=1 ARCHBENCH_CACHE=/tmp/abcache
OUT=${OUT:-/tmp/out}; mkdir -p "$OUT" /tmp/r
exec > >(tee "$OUT/cifar.log") 2>&1
nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader
python3 -c "import torch; print('torch', torch.__version__, torch.cuda.get_device_name(0))"
python3 benchmarks/gpu/unpack_folder.py .devdata/cifar10 /tmp/cifar10
run() {  # name, time limit (s), archbench train arguments...
  local name=$1 limit=$2; shift 2
  echo "== $name: archbench train $*"
  timeout "$limit" python3 -m archbench train "$@" --data folder:/tmp/cifar10 --device cuda --progress epoch \
      --set eval_test_each_epoch=true --out /tmp/r/$name
  echo "== $name exit $?"
  tar -czf "$OUT/cifar.tar.gz" -C /tmp/r .
}
run resnet-small 200 resnet-small                              # the default recipe: 30 epochs, strong
run cnn 120 cnn                                                 # the assignment's CNN, its defaults
run resnet-small-60 200 resnet-small --set epochs=60            # the long recipe (91.5% in earlier runs)
