"""Keep the memory of one run's outputs for the next, instead of handing it back to the kernel.

Every run allocates each layer's output afresh (all are kept, see forward.py) and frees the last
run's. With glibc's defaults a freed block at the top of the heap past a moving threshold is
returned to the kernel, and the next run takes page faults on every page again: ResNet50 at
224x224 faulted ~9,000 pages (35 MB) per forward, 77 ms against 59 ms without, and how many
depended on the order of frees, so times jumped from run to run. Two `mallopt` settings keep large
blocks in the heap and up to KEEP_FREED_BYTES of freed memory in the process for reuse.
Elsewhere (musl, macOS, Windows) there is no glibc `mallopt` and nothing changes.
"""

from __future__ import annotations

import ctypes
import functools
import sys

__all__ = ["KEEP_FREED_BYTES", "keep_freed_memory"]

M_TRIM_THRESHOLD = -1
M_MMAP_THRESHOLD = -3
MAX_MMAP_THRESHOLD = 32 * 2**20
"""glibc's ceiling for M_MMAP_THRESHOLD on 64-bit: arrays above it are still mapped afresh each time."""
KEEP_FREED_BYTES = 512 * 2**20
"""Freed memory a process keeps before glibc returns the heap's top to the kernel."""


@functools.cache
def keep_freed_memory() -> bool:
    """Set glibc's thresholds once per process (the engine calls this before its first run); True if applied.

    Setting them also ends glibc's own adjustment of the thresholds, which is what made the number
    of page faults vary from run to run.
    """
    if not sys.platform.startswith("linux"):
        return False
    try:
        mallopt = ctypes.CDLL(None).mallopt
    except (OSError, AttributeError):  # not glibc
        return False
    mallopt.argtypes, mallopt.restype = [ctypes.c_int, ctypes.c_int], ctypes.c_int
    # Both or neither: the trim threshold alone would also freeze the mapping threshold at 128 KB,
    # mapping every output afresh (a 32-bit glibc refuses 32 MB and keeps its defaults).
    return bool(mallopt(M_MMAP_THRESHOLD, MAX_MMAP_THRESHOLD)) and bool(mallopt(M_TRIM_THRESHOLD, KEEP_FREED_BYTES))
