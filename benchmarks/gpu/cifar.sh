#!/usr/bin/env bash
# GPU check 1 of 2: the CIFAR-10 recipes on the JPEG copy (packed by pack_folder.py into .devdata/cifar10).
# Writes metrics and histories under $OUT. Run from the repository root.
set -u
export PYTHONPATH=$PWD/src PYTHONUNBUFFERED=1 ARCHBENCH_CACHE=/tmp/abcache
OUT=${OUT:-/tmp/out}
log() { echo "== $*"; }
nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader
python3 -c "import torch; print('torch', torch.__version__, torch.cuda.get_device_name(0))"
python3 benchmarks/gpu/unpack_folder.py .devdata/cifar10 /tmp/cifar10
for model in resnet-small cnn; do
  log "$model on CIFAR-10"
  /usr/bin/time -v python3 -m archbench train $model --data folder:/tmp/cifar10 --device cuda --progress epoch \
     --set eval_test_each_epoch=true --out /tmp/r/$model 2>&1 | grep -v "^\s*\(Page\|Minor\|Major\|Vol\|Invol\|Swap\|File\|Socket\|Signal\|Average\|Exit\|Percent\|Command\|System\|User\)" | tail -40
  cp /tmp/r/$model/metrics.json $OUT/${model}_metrics.json
  cp /tmp/r/$model/history.csv $OUT/${model}_history.csv
done
