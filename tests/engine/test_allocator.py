"""The engine keeps freed pages for its next run (glibc only): a run's outputs, freed, are reused without page faults."""

from __future__ import annotations

import resource
import sys

import numpy as np
import pytest

from convtui.engine.allocator import keep_freed_memory

OUTPUT_MEGABYTES = (4, 8, 2, 6, 1, 3, 5, 8, 2, 4, 7, 1)
"""Layer outputs of one run, as a network makes them: many sizes, all freed together at the end.
With glibc's own thresholds this pattern took ~10,000 page faults on every run after the first."""


def faults_in_one_run() -> int:
    """Minor page faults taken to make the outputs of one run, fill them and free them all."""
    before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
    outputs = [np.ones(megabytes * 2**18, np.float32) for megabytes in OUTPUT_MEGABYTES]
    del outputs
    return resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="mallopt is glibc's; elsewhere nothing is set")
def test_the_next_run_reuses_the_pages_of_the_last() -> None:
    assert keep_freed_memory() is True
    faults_in_one_run()  # the heap grows once
    pages = sum(OUTPUT_MEGABYTES) * 2**20 // resource.getpagesize()
    assert max(faults_in_one_run() for _ in range(3)) < pages // 50


def test_it_is_applied_once_per_process() -> None:
    assert keep_freed_memory() is keep_freed_memory()
    assert keep_freed_memory.cache_info().currsize == 1
