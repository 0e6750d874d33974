"""`python -m experiments.net_landscape`: see experiments/net_landscape/__init__.py for the protocol and flags."""

from experiments import net_landscape
from jaxdl.experiment import entry

if __name__ == "__main__":
    entry.launch(net_landscape)
