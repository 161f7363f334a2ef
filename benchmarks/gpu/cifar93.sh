#!/usr/bin/env bash
# GPU check for the >= 93% goal on the JPEG copy of CIFAR-10 (about 5 minutes on one H200,
# torch 2.11.0+cu130; 2026-11-26, commit bd2dec9).
# Run from the repository root:  OUT=/tmp/out bash benchmarks/gpu/cifar93.sh
NAME=cifar93; source benchmarks/gpu/cifar_lib.sh
# wide (128/512/512), 100 epochs, 98% of train for training (1,000 images for validation), flip averaging
run wide100 300 resnet-small --set widths=[128,512,512] --set epochs=100 --set val_fraction=0.02
# 96/384/384, 80 epochs (92.34% on one H200, torch 2.11.0+cu130, 2026-11-26, commit 48f2cea,
# without flip averaging and with 45,000 images)
run w96-80 120 resnet-small --set widths=[96,384,384] --set epochs=80 --set val_fraction=0.02
# the default recipe (30 epochs)
run default 60 resnet-small
