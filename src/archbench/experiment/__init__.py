"""Running experiments: one run, comparisons on one machine or a cluster, shared tuning studies."""
