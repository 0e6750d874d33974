"""`python -m experiments.mnist_dense`: see experiments/mnist_dense/__init__.py for the protocol and flags."""

from experiments import mnist_dense
from jaxdl.experiment import entry

if __name__ == "__main__":
    entry.launch(mnist_dense)
