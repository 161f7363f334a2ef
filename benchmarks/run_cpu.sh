#!/usr/bin/env bash
# The CPU benchmarks quoted in the README, in one go (about three hours on a quiet 2-core machine).
# Usage: bash benchmarks/run_cpu.sh OUT_DIR REFERENCE_PYTHON
#   REFERENCE_PYTHON: an interpreter with torch, torchvision, numpy, matplotlib, seaborn, scikit-learn
#   (see ../shared/bench/README.md) that runs the notebook's own code beside archbench.
set -eu
out=${1:-runs/benchmarks}
ref=${2:-}
mkdir -p "$out"
ab=".venv/bin/archbench"
stamp() { date +%s.%N; }

# 1. every model with its defaults: speed, GEMM peak, time to the notebook's accuracy, and the notebook's code
if [ -n "$ref" ]; then
  $ab bench --data-dir ../shared/data --out "$out/bench" --seed-reference "$ref" \
     --reference-script ../shared/bench/seed_reference.py
else
  $ab bench --data-dir ../shared/data --out "$out/bench"
fi

# 2. the README's main job: the whole zoo with its defaults
t0=$(stamp); $ab compare --out "$out/zoo" > "$out/zoo.txt" 2>&1; t1=$(stamp)
echo "zoo: $(echo "$t1 - $t0" | bc) s" | tee -a "$out/timings.txt"

# 3. the honest comparison: three seeds, paired tests, costs
t0=$(stamp); $ab compare mlp cnn --data digits --seeds 0,1,2 --out "$out/seeds" > "$out/seeds.txt" 2>&1; t1=$(stamp)
echo "mlp cnn digits 3 seeds: $(echo "$t1 - $t0" | bc) s" | tee -a "$out/timings.txt"

# 4. the notebook's five-model sequence comparison as one command, on the notebook's own sequences and split
#    (the same test set as its code), in turn and two at a time, then on seq-sum's default draw
five="rnn lstm gru lstm-attn transformer"
if [ -n "$ref" ]; then
  t0=$(stamp); $ref ../shared/bench/seed_reference.py --preset sequences > "$out/notebook-sequences.txt" 2>&1; t1=$(stamp)
  echo "notebook's sequence preset: $(echo "$t1 - $t0" | bc) s" | tee -a "$out/timings.txt"
fi
t0=$(stamp); $ab compare $five --data seq-sum --set draw=notebook --out "$out/five" > "$out/five.txt" 2>&1; t1=$(stamp)
echo "five sequence models: $(echo "$t1 - $t0" | bc) s" | tee -a "$out/timings.txt"
t0=$(stamp); $ab compare $five --data seq-sum --set draw=notebook --jobs 2 --out "$out/five-jobs2" > "$out/five-jobs2.txt" 2>&1; t1=$(stamp)
echo "five sequence models, --jobs 2: $(echo "$t1 - $t0" | bc) s" | tee -a "$out/timings.txt"
t0=$(stamp); $ab compare $five --data seq-sum --out "$out/five-seeded" > "$out/five-seeded.txt" 2>&1; t1=$(stamp)
echo "five sequence models, default draw: $(echo "$t1 - $t0" | bc) s" | tee -a "$out/timings.txt"
# every sequence model with its defaults on five draws of seq-sum (data seeds 0-4): mean ± std over the draws
t0=$(stamp); $ab compare rnn birnn lstm gru lstm-attn transformer --data seq-sum --sweep data_seed=0,1,2,3,4 \
   --out "$out/draws" > "$out/draws.txt" 2>&1; t1=$(stamp)
echo "six sequence models on five draws: $(echo "$t1 - $t0" | bc) s" | tee -a "$out/timings.txt"
# the notebook's RNN recipe against archbench's rnn, paired: ten draws, then the notebook's own draw with ten seeds
.venv/bin/python benchmarks/notebook_rnn_draws.py > "$out/notebook-rnn-draws.md" 2>&1
.venv/bin/python benchmarks/notebook_rnn_draws.py --draws notebook --seeds 0,1,2,3,4,5,6,7,8,9 > "$out/notebook-rnn-seeds.md" 2>&1
.venv/bin/python benchmarks/cpu_scan.py > "$out/cpu_scan.md" 2>&1  # models/scan.py against torch's CPU RNN/GRU path
.venv/bin/python benchmarks/conv_ceiling.py > "$out/conv_ceiling.md" 2>&1  # how close the MNIST CNN can get to the bf16 peak

# 5. long-range memory at length 200: what a plain RNN cannot carry (about an hour; accuracy, not speed)
$ab compare rnn lstm gru transformer --data first-marked --set seq_len=200 --jobs 2 --out "$out/first-marked-200" > "$out/first-marked.txt" 2>&1
$ab compare rnn lstm gru transformer --data adding --set seq_len=200 --jobs 2 --out "$out/adding-200" > "$out/adding.txt" 2>&1

# 6. the final project on images: CIFAR-10 from the JPEG copy (measured: cnn 9 minutes with 2 threads; resnet-small
#    73 minutes with one thread while another job had the second core; 2026-11-26, Intel Xeon, 2 cores,
#    torch 2.14.1, commit bd2dec9). The cnn's test accuracy after every
#    epoch gives its time to 80%; resnet-small's history gives it on validation (a test pass per epoch doubles its cost).
cifar=folder:../shared/data/cifar10-jpg.tar
$ab train cnn --data $cifar --set eval_test_each_epoch=true --out "$out/cifar-cnn" > "$out/cifar-cnn.txt" 2>&1
$ab train resnet-small --data $cifar --out "$out/cifar-resnet-small" > "$out/cifar-resnet-small.txt" 2>&1
