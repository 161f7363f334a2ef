# Shared by the CIFAR-10 GPU checks (cifar.sh, cifar93.sh): source it with NAME set, then call `run`.
# Unpacks the JPEG copy (packed into .devdata/cifar10 by pack_folder.py) to /tmp/cifar10 and logs to $OUT/$NAME.log;
# each run's metrics.json and history.csv are copied to $OUT/<run>_{metrics.json,history.csv} (weights stay behind:
# the files that come back are size-limited).
set -u
export PYTHONPATH=$PWD/src PYTHONUNBUFFERED=1 ARCHBENCH_CACHE=/tmp/abcache
OUT=${OUT:-/tmp/out}; mkdir -p "$OUT" /tmp/r
exec > >(tee "$OUT/$NAME.log") 2>&1
nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader
python3 -c "import torch; print('torch', torch.__version__, torch.cuda.get_device_name(0))"
[ -d /tmp/cifar10 ] || python3 benchmarks/gpu/unpack_folder.py .devdata/cifar10 /tmp/cifar10
run() {  # run name, time limit (s), archbench train arguments...
  local name=$1 limit=$2; shift 2
  echo "== $name: archbench train $*"
  timeout "$limit" python3 -m archbench train "$@" --data folder:/tmp/cifar10 --device cuda --progress epoch \
      --set eval_test_each_epoch=true --out /tmp/r/$name
  echo "== $name exit $?"
  cp /tmp/r/$name/metrics.json "$OUT/${name}_metrics.json"; cp /tmp/r/$name/history.csv "$OUT/${name}_history.csv"
}
