"""benchmarks.run --merge: re-measured sections replace their old text, the others are kept and marked."""

from benchmarks.bench_md import merge

OLD = ("# Benchmarks\n\nMeasured by `make bench` on cpu, commit `0123456789abcdef+dirty`, "
       "2026-12-01T00:00:00+00:00, jax.\n\n## A\n\nold a\n\n## B\n\nold b\n")
NEW = ("# Benchmarks\n\nMeasured on cpu, commit `fedcba9876543210`, 2026-12-04T00:00:00+00:00, jax.\n\n"
       "## B\n\nnew b\n\n## C\n\nc\n")


def test_merge_replaces_remeasured_sections_and_marks_the_kept_ones():
    text = merge(OLD, NEW)
    assert text.startswith("# Benchmarks\n\nMeasured on cpu, commit `fedcba9876543210`")
    assert text.index("## A") < text.index("## B") < text.index("## C")  # the old order, new sections last
    assert "old b" not in text and "new b" in text
    a = text[text.index("## A"):text.index("## B")]
    assert "old a" in a and "kept from the run at commit `0123456789ab+dirty`, 2026-12-01T00:00:00+00:00" in a
    assert "kept from" not in text[text.index("## B"):]


def test_a_section_kept_twice_keeps_the_mark_of_the_run_that_measured_it():
    newer = ("# Benchmarks\n\nMeasured on cpu, commit `aaaabbbbccccdddd`, 2026-12-05T00:00:00+00:00, jax.\n\n"
             "## C\n\nc2\n")
    text = merge(merge(OLD, NEW), newer)  # A measured by OLD's run, B by NEW's, C by the newest
    a = text[text.index("## A"):text.index("## B")]
    assert a.count("kept from") == 1 and "`0123456789ab+dirty`, 2026-12-01" in a
    b = text[text.index("## B"):text.index("## C")]
    assert "new b" in b and b.count("kept from") == 1 and "kept from the run at commit `fedcba987654`" in b
    assert "c2" in text and "kept from" not in text[text.index("## C"):]
