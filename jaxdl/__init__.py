"""jaxdl: classic deep-learning coursework experiments re-run at scale in JAX.

The library, by role (experiments/ holds one package per experiment; code that serves one experiment
lives there):

  training/    the one training engine (`engine.make_train`), the grid of per-model values, optimizers,
               losses, checkpoints, the multi-process runtime
  tasks/       task builders the engine trains: multi-class (`classify`), binary (`binary`), the zoo's
               recipe, the auxiliary regression head
  models/      flax.linen models, their FLOP counts and the accelerators' peak table
  data/        datasets: tfds, offline sources, the checksummed cache, device batching
  analysis/    statistics (`stats.paired`, the one verdict rule), cells, curves, Hessians
  reporting/   Summary/Claim/Table, the claims registry, atomic writes, provenance, shared plots, the
               `make results` report
  experiment/  an experiment's plumbing: its Config and flags, its entry point, process set-up (`runtime`)

Importing jaxdl (or any of its modules) does nothing but define code: no environment variable is
changed and no absl flag is defined. Entry points call `jaxdl.experiment.runtime.configure()` and define
their flags when they run.
"""
