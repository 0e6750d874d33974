"""`python -m experiments.depth`: see experiments/depth/__init__.py for the protocol and flags."""

from experiments import depth
from jaxdl.experiment import entry

if __name__ == "__main__":
    entry.launch(depth)
