"""Training: the one engine every experiment runs on (`engine`), the grid of per-model values it trains in
one program (`grid`), optimizers, losses, checkpoints and the multi-process runtime."""
