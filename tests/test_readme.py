"""The README's library example runs as written and trains: the larger learning rate fits the line."""

import re

import numpy as np
from conftest import REPO


def test_the_readme_engine_example_runs_and_fits():
    text = (REPO / "README.md").read_text()
    [code] = re.findall(r"## The engine as a library.*?```python\n(.*?)```", text, re.S)
    scope: dict = {}
    exec(compile(code, "README.md", "exec"), scope)
    final, g = scope["final"], scope["g"]
    assert final.shape == g.shape == (2, 8)
    assert np.median(final[1]) < 1e-4 < np.median(final[0])  # lr 0.1 has converged, lr 0.01 not yet
    assert not scope["result"].diverged.any()
