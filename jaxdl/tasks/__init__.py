"""Tasks: what one training step of a kind of experiment computes (full-batch classification, minibatch
classification with an auxiliary head, binary toy problems), built for `jaxdl.training.engine`."""
