"""results/bench.md as sections: `benchmarks.run --merge` keeps the sections a run did not re-measure.
(No absl flags here, so tests can import it beside other entry points.)"""

from __future__ import annotations

import re


def _sections(text: str) -> tuple[str, list[str]]:
    """(header, [section text starting with its '## ' title]) of a bench markdown file."""
    head, *parts = text.split("\n## ")
    return head, ["## " + p.rstrip() + "\n" for p in parts]


KEPT = "_(kept from "  # every mark starts so; a section carrying one keeps it


def merge(old: str, new: str) -> str:
    """`new` plus every section of `old` whose title `new` lacks, in `old`'s order, each marked with the
    commit and date of the run that measured it: `old`'s own run for an unmarked section, and a section
    kept before keeps the mark it has."""
    old_head, old_parts = _sections(old)
    new_head, new_parts = _sections(new)
    stamp = re.search(r"commit `([^`]+)`, (\S+),", old_head)
    commit = stamp and stamp[1][:12] + ("+dirty" if stamp[1].endswith("dirty") else "")
    mark = KEPT + (f"the run at commit `{commit}`, {stamp[2]}" if stamp else "an earlier run") + \
        ": not re-measured in this run)_"
    titles = {p.splitlines()[0]: p for p in new_parts}
    out = [titles.pop(p.splitlines()[0], None) or (p if KEPT in p else p.rstrip() + "\n\n" + mark + "\n")
           for p in old_parts]
    return "\n".join([new_head.rstrip() + "\n", *out, *titles.values()])

