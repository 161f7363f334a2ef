"""Training: the fit loop, callbacks, checkpoints, optimisers and schedulers."""
