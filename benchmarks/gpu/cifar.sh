#!/usr/bin/env bash
# GPU check 1 of 2: the CIFAR-10 recipes on the JPEG copy, each model's defaults and the 60-epoch recipe.
# Run from the repository root:  OUT=/tmp/out bash benchmarks/gpu/cifar.sh
NAME=cifar; source benchmarks/gpu/cifar_lib.sh
run resnet-small 200 resnet-small                              # the default recipe: 30 epochs, strong, flip averaging
run cnn 120 cnn                                                 # the assignment's CNN, its defaults
run resnet-small-60 200 resnet-small --set epochs=60            # the longer recipe
