"""HTTP load generation: open and closed models, HDR histograms, thresholds, results."""
