"""`python -m experiments.svhn_zoo`: see experiments/svhn_zoo/__init__.py for the protocol and flags."""

from experiments import svhn_zoo
from jaxdl.experiment import entry

if __name__ == "__main__":
    entry.launch(svhn_zoo)
