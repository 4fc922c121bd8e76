"""How many cores the engine uses, and a pool of worker threads for the passes that are not BLAS.

A large convolution is cut into bands (of tile rows, of output rows); each band does its own
gather, transforms, products and writes on one core, BLAS limited to one thread while the bands
run (NumPy and OpenBLAS release the GIL), so the copies and transforms scale with the cores as the
products do. With one thread nothing is split and BLAS keeps its own threads: today's path.

The count: `use_threads(n)` (the `--threads` option) > OPENBLAS_NUM_THREADS > OMP_NUM_THREADS
(OpenBLAS's own order) > the cores this process may run on.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from functools import partial

from convtui.catalogue import machine_cores

__all__ = [
    "blas_single_threaded",
    "blas_threads",
    "parallel_ufunc",
    "resolve_thread_count",
    "run_parallel",
    "run_shared",
    "split_evenly",
    "thread_count",
    "unsplit",
    "use_threads",
]

THREAD_VARIABLES = ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS")
"""Environment variables read, in order, when no count is given (OpenBLAS reads them in this order too)."""

_lock = threading.Lock()
_count: int | None = None  # None: not chosen yet, resolved from the environment on first use
_pool: ThreadPoolExecutor | None = None
_pool_size = 0
_blas_controllers: list | None = None
_single_blas_depth = 0  # parallel regions running now (several forward passes may run at once)
_saved_blas_threads: list[int] = []
_in_worker = threading.local()


def _from_environment() -> int | None:
    for name in THREAD_VARIABLES:
        value = os.environ.get(name, "").split(",")[0].strip()  # OMP allows a nested list "4,2"
        if value.isdigit() and int(value) >= 1:
            return int(value)
    return None


def resolve_thread_count(requested: int | None = None) -> int:
    """`requested` if given (>= 1), else the environment's count, else the machine's cores."""
    if requested is not None:
        if int(requested) < 1:
            raise ValueError(f"a thread count must be at least 1, got {requested}")
        return int(requested)
    return _from_environment() or machine_cores()


def use_threads(count: int | None = None) -> int:
    """Set the engine's thread count (None: from the environment or the cores) and BLAS's to match; returns it.

    Call once at start-up with the `--threads` value; calling again changes both.
    """
    global _count
    resolved = resolve_thread_count(count)
    with _lock:
        _count = resolved
        if _single_blas_depth == 0:
            for controller in _controllers():
                controller.set_num_threads(resolved)
        else:  # bands are running: their end restores this count
            _saved_blas_threads[:] = [resolved] * len(_saved_blas_threads)
    return resolved


MIN_CONV_SPLIT_THREADS = 4
"""Convolutions are cut into bands (single-threaded BLAS each) only from this many threads. On 2 cores
the bands lost to BLAS's own two threads on every layer measured alone (VGG16's 3x3 layers 1.4-1.8x
slower, ResNet50 83 -> 112 ms), while with more cores the one-core gathers and transforms dominate."""


BANDS_PER_THREAD = 3
"""A split layer's bands of rows are dealt from a queue, several per thread, so a core slowed by another
process does fewer of them (each band still gets its layer's floor of work)."""
MIN_MACS_PER_TASK = 2**21
"""A task of fewer multiply-adds (~50 us on one core) would not repay waking a thread: fewer tasks."""


def conv_thread_count() -> int:
    """Threads a convolution is split across: the count in effect from MIN_CONV_SPLIT_THREADS, else 1 (BLAS threads alone)."""
    count = thread_count()
    return count if count >= MIN_CONV_SPLIT_THREADS else 1


def thread_count() -> int:
    """The count in effect: set by `use_threads`, else resolved from the environment once."""
    global _count
    if _count is None:
        _count = resolve_thread_count(None)
    return _count


@contextmanager
def unsplit() -> Iterator[None]:
    """Within it no layer is split while BLAS keeps its threads: the engine before bands (for benchmarks)."""
    global _count
    before = thread_count()
    _count = 1
    try:
        yield
    finally:
        _count = before


def blas_single_threaded() -> bool:
    """Whether BLAS runs on one thread here and now: inside a split's tasks (BLAS limited meanwhile), or set so
    (one thread in all; not within `unsplit`, where the engine splits nothing while BLAS keeps its threads)."""
    return getattr(_in_worker, "active", False) or all(controller.get_num_threads() == 1 for controller in _controllers())


def blas_threads() -> list[int]:
    """The thread count of each BLAS library loaded (for tests and benchmarks)."""
    return [controller.get_num_threads() for controller in _controllers()]


def split_evenly(total: int, parts: int) -> list[range]:
    """[0, total) in `parts` contiguous ranges whose lengths differ by at most one, none empty."""
    parts = max(min(parts, total), 1)
    bounds = [total * index // parts for index in range(parts + 1)]
    return [range(bounds[index], bounds[index + 1]) for index in range(parts)]


def run_parallel(tasks: Sequence[Callable[[], object]]) -> None:
    """Run the tasks at once, one per core: the caller runs the first, the pool the rest; BLAS on one thread meanwhile.

    Returns when all are done; the first task's error, else a worker's, is raised. Called from a
    worker (a task that splits again), the tasks simply run in turn.
    """
    if len(tasks) <= 1 or getattr(_in_worker, "active", False):
        for task in tasks:
            task()
        return
    pool = _worker_pool(len(tasks) - 1)
    _limit_blas()
    try:
        futures = [pool.submit(_as_worker, task) for task in tasks[1:]]
        error: BaseException | None = None
        try:
            _as_worker(tasks[0])
        except BaseException as caught:  # noqa: BLE001 - re-raised once the workers are done
            error = caught
        for future in futures:
            try:
                future.result()
            except BaseException as caught:  # noqa: BLE001
                error = error or caught
        if error is not None:
            raise error
    finally:
        _restore_blas()


def run_shared(work: Callable[[int, object], object], count: int, scratches: Sequence[object]) -> None:
    """`work(item, scratch)` for items 0..count-1, pulled from one queue by one thread per scratch.

    More items than threads balance the load: a core slowed by another process takes fewer.
    """
    items = iter(range(count))
    lock = threading.Lock()

    def drain(scratch: object) -> None:
        while True:
            with lock:
                item = next(items, None)
            if item is None:
                return
            work(item, scratch)

    run_parallel([partial(drain, scratch) for scratch in scratches[:count]])


ELEMENTWISE_MIN_VALUES_PER_TASK = 2**17
"""An elementwise pass is split only in bands of at least this many values (thread overhead)."""


def parallel_ufunc(ufunc: Callable, *operands: object, out: object) -> object:
    """`ufunc(*operands, out=out)` (a NumPy ufunc, operands broadcasting to `out`, an NHWC-like
    array of rank >= 2) in bands of out's first two axes, one per thread; one call when small."""
    import numpy as np

    from convtui.engine.im2col import image_segments

    count = thread_count()
    tasks = min(count, out.size // ELEMENTWISE_MIN_VALUES_PER_TASK, out.shape[0] * out.shape[1]) if out.ndim >= 2 else 1
    if tasks <= 1:
        return ufunc(*operands, out=out)
    broadcast = [np.broadcast_to(operand, out.shape) if isinstance(operand, np.ndarray) else operand for operand in operands]

    def band(part: range) -> None:
        for images, rows in image_segments(part, out.shape[1]):
            index = (images, slice(rows.start, rows.stop))
            ufunc(*(operand[index] if isinstance(operand, np.ndarray) else operand for operand in broadcast), out=out[index])

    run_parallel([partial(band, part) for part in split_evenly(out.shape[0] * out.shape[1], tasks)])
    return out


def _as_worker(task: Callable[[], object]) -> None:
    _in_worker.active = True
    try:
        task()
    finally:
        _in_worker.active = False


def _worker_pool(size: int) -> ThreadPoolExecutor:
    """The pool, created once and grown (replaced) only when more workers are needed."""
    global _pool, _pool_size
    with _lock:
        if _pool is None or _pool_size < size:
            if _pool is not None:
                _pool.shutdown(wait=False)
            _pool_size = max(size, thread_count() - 1, 1)
            _pool = ThreadPoolExecutor(max_workers=_pool_size, thread_name_prefix="convtui-band")
        return _pool


def _controllers() -> list:
    """threadpoolctl's controllers of the BLAS libraries loaded (found once: finding them takes ~1 ms)."""
    global _blas_controllers
    if _blas_controllers is None:
        from threadpoolctl import ThreadpoolController

        _blas_controllers = list(ThreadpoolController().select(user_api="blas").lib_controllers)
    return _blas_controllers


def _limit_blas() -> None:
    global _single_blas_depth, _saved_blas_threads
    with _lock:
        if _single_blas_depth == 0:
            controllers = _controllers()
            _saved_blas_threads = [controller.get_num_threads() for controller in controllers]
            for controller in controllers:
                controller.set_num_threads(1)
        _single_blas_depth += 1


def _restore_blas() -> None:
    global _single_blas_depth
    with _lock:
        _single_blas_depth -= 1
        if _single_blas_depth == 0:
            for controller, threads in zip(_controllers(), _saved_blas_threads):
                controller.set_num_threads(threads)
