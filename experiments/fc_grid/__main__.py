"""`python -m experiments.fc_grid`: see experiments/fc_grid/__init__.py for the protocol and flags."""

from experiments import fc_grid
from jaxdl.experiment import entry

if __name__ == "__main__":
    entry.launch(fc_grid)
