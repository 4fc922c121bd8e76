"""Start-up: Python's cyclic garbage collector paused while convtui loads and paints its first screen.

Loading the modules (44 layer dataclasses, Textual) and building the first screen make tens of
thousands of long-lived objects and next to no garbage, so a collection then finds nothing to
free. Those collections took about 35 ms of `convtui`'s start-up on 2 cores (285 ms -> 246 ms to
the first frame). A collector the caller had disabled stays disabled.
"""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager

_paused_here = False


def pause_collection() -> None:
    """Pause the collector until `resume_collection`."""
    global _paused_here
    if gc.isenabled():
        gc.disable()
        _paused_here = True


def resume_collection() -> None:
    """Resume the collector if `pause_collection` paused it (the app calls it once its first frame is shown)."""
    global _paused_here
    if _paused_here:
        _paused_here = False
        gc.enable()


@contextmanager
def collection_paused() -> Iterator[None]:
    """The collector paused for the block, unless it already was (then the block leaves it so)."""
    was_running = gc.isenabled()
    pause_collection()
    try:
        yield
    finally:
        if was_running:
            resume_collection()
