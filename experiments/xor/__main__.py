"""`python -m experiments.xor`: see experiments/xor/__init__.py for the protocol and flags."""

from experiments import xor
from jaxdl.experiment import entry

if __name__ == "__main__":
    entry.launch(xor)
