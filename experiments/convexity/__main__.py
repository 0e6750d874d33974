"""`python -m experiments.convexity`: see experiments/convexity/__init__.py for the protocol and flags."""

from experiments import convexity
from jaxdl.experiment import entry

if __name__ == "__main__":
    entry.launch(convexity)
