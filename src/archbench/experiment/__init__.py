"""Experiments: from a request to run directories. Resolve a config, one run, the lr-find study, compare, tune,
bench, predict, and the public API (api.py). Uses the engine (train/), data, models and the outputs (rundir, viz, report).
"""
