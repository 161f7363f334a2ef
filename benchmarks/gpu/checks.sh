#!/usr/bin/env bash
# GPU check: the CUDA tests (tests/test_cuda.py: bf16 on the GPU, kill-and-resume, torchrun with NCCL,
# --compile), then the rest of the suite on a machine that has a GPU (where "auto" picks it).
# Run from the repository root:  OUT=/tmp/out bash benchmarks/gpu/checks.sh
set -u
export PYTHONPATH=$PWD/src PYTHONUNBUFFERED=1
OUT=${OUT:-/tmp/out}; mkdir -p "$OUT"
exec > >(tee "$OUT/checks.log") 2>&1
nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader
python3 -c "import torch; print('torch', torch.__version__, torch.cuda.get_device_name(0))"
echo "== tests/test_cuda.py"
timeout 240 python3 -m pytest -q -p no:cacheprovider -n 4 -rs tests/test_cuda.py 2>&1 | tail -40
echo "== the rest of the suite"
timeout 300 python3 -m pytest -q -p no:cacheprovider -n 12 -rs --ignore=tests/test_cuda.py tests 2>&1 | tail -60
