"""Analysis: statistics (the one comparison rule), per-cell summaries, learning curves and Hessian probes
computed from training results."""
