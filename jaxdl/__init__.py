"""jaxdl: classic deep-learning coursework experiments re-run at scale in JAX.

Importing jaxdl before jax initialises its backends makes every CPU core a JAX host device, so the
model axis of a grid can be sharded over cores exactly as it is sharded over GPUs elsewhere.
Set XLA_FLAGS yourself (or JAXDL_HOST_DEVICES) to override.
"""

import os


def _configure_host_devices() -> None:
    flags = os.environ.get("XLA_FLAGS", "")
    if "xla_force_host_platform_device_count" in flags:
        return
    count = int(os.environ.get("JAXDL_HOST_DEVICES", len(os.sched_getaffinity(0))))
    os.environ["XLA_FLAGS"] = f"{flags} --xla_force_host_platform_device_count={count}".strip()


_configure_host_devices()
