"""`python -m experiments.cnn_aux`: see experiments/cnn_aux/__init__.py for the protocol and flags."""

from experiments import cnn_aux
from jaxdl.experiment import entry

if __name__ == "__main__":
    entry.launch(cnn_aux)
