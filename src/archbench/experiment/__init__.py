"""Experiments over the core: export today; the integrator moves run/compare/tune/bench/predict here."""
