"""`python -m experiments.landscape`: see experiments/landscape/__init__.py for the protocol and flags."""

from experiments import landscape
from jaxdl.experiment import entry

if __name__ == "__main__":
    entry.launch(landscape)
