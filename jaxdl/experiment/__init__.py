"""The entry-point machinery: process set-up (`runtime.configure`), flags from a Config dataclass
(`config`), the shared run/analyse/write flow of every `python -m experiments.X` (`entry`, `cli`)."""
