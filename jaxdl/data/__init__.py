"""Datasets: 2-D toys (toy.py); the image registry is built on top of this package."""
