"""Measuring instruments for the cost of a batch augment on a GPU, usable on
any device: the aten ops one call dispatches (each is a kernel launch on
CUDA), the ops among them that make the host wait for the device, and the
host time of a call.

Imports torch only; the core never imports this module (the tools and the
tests do).
"""
import statistics
import time
from collections import Counter
from typing import Callable, Dict, List, Optional, Tuple

import torch
from torch.utils._python_dispatch import TorchDispatchMode

__all__ = ['count_ops', 'sync_ops', 'host_reads', 'on_meta', 'call_ms',
           'host_time', 'cuda_time', 'timer_ms', 'SYNC_OPS']

#: Ops that make the host wait for a CUDA device (or copy host data to it
#: from pageable memory), with the reason. A name with a ``[...]`` tag is
#: how :func:`count_ops` records the syncing variant of an op whose other
#: variants are asynchronous. ``nonzero_static`` is not here: its output size
#: is given, and on CUDA it runs without a sync.
SYNC_OPS: Dict[str, str] = {
    '_local_scalar_dense': 'reads a value to the host (.item(), bool(t), '
                           'float(t), int(t), .tolist(), `if t:`)',
    'item': 'reads a value to the host',
    'is_nonzero': 'bool(t): reads a value to the host',
    'equal': 'returns a Python bool',
    'nonzero': 'output size depends on the data',
    'argwhere': 'output size depends on the data (nonzero)',
    'masked_select': 'output size depends on the data',
    'unique': 'output size depends on the data',
    '_unique': 'output size depends on the data',
    '_unique2': 'output size depends on the data',
    'unique_dim': 'output size depends on the data',
    'unique_consecutive': 'output size depends on the data',
    'unique_dim_consecutive': 'output size depends on the data',
    'bincount': 'output size depends on the maximum of the data',
    'histc[auto range]': 'min == max: the range is read from the data',
    '_linalg_check_errors': 'reads the info tensor to the host',
    'lift_fresh': 'a tensor literal (torch.tensor of host data): '
                  'a host-to-device copy',
    'lift_fresh_copy': 'a tensor literal: a host-to-device copy',
    'index[bool mask]': 'boolean-mask indexing runs nonzero',
    'index_put[bool mask]': 'boolean-mask indexing runs nonzero',
    'index_put_[bool mask]': 'boolean-mask indexing runs nonzero',
    '_index_put_impl_[bool mask]': 'boolean-mask indexing runs nonzero',
    '_to_copy[cross-device]': 'a copy between host and device',
    'copy_[cross-device]': 'a copy between host and device',
    'repeat_interleave[no output_size]':
        'tensor repeats without output_size: the size is read to the host',
}

_INDEX_OPS = ('index', 'index_put', 'index_put_', '_index_put_impl_')


def _is_mask(t) -> bool:
    return isinstance(t, torch.Tensor) and t.dtype in (torch.bool,
                                                       torch.uint8)


def _device_of(value):
    if value is None:
        return None
    return torch.device(value)


def op_name(func, args, kwargs) -> str:
    """The name under which :func:`count_ops` records one dispatched op:
    the overload packet's name (``'add'``, ``'view'``; other namespaces as
    ``'ns::name'``), tagged ``[bool mask]``, ``[cross-device]``,
    ``[no output_size]`` or ``[auto range]`` for the syncing variants of
    otherwise asynchronous ops."""
    name = func.overloadpacket.__name__
    namespace = getattr(func, 'namespace', 'aten')
    if namespace != 'aten':
        return f'{namespace}::{name}'
    if name in _INDEX_OPS and len(args) > 1 and isinstance(
            args[1], (list, tuple)) and any(_is_mask(t) for t in args[1]):
        return name + '[bool mask]'
    if name == '_to_copy' and args and isinstance(args[0], torch.Tensor):
        target = _device_of(kwargs.get('device'))
        if target is not None and target.type != args[0].device.type:
            return name + '[cross-device]'
    if name == 'copy_' and len(args) > 1 and all(
            isinstance(t, torch.Tensor) for t in args[:2]) and \
            args[0].device.type != args[1].device.type:
        return name + '[cross-device]'
    if name == 'repeat_interleave' and kwargs.get('output_size') is None \
            and any(isinstance(a, torch.Tensor) for a in args[:2]):
        return name + '[no output_size]'
    if name == 'histc':
        lo = args[2] if len(args) > 2 else kwargs.get('min', 0)
        hi = args[3] if len(args) > 3 else kwargs.get('max', 0)
        if lo == hi:
            return name + '[auto range]'
    return name


class _OpCounter(TorchDispatchMode):
    """Counts every op that reaches the Python dispatcher (views, factory
    functions and in-place ops included; composite ops as the ops they
    decompose into, ops a kernel calls internally not at all)."""

    def __init__(self):
        super().__init__()
        self.counts = Counter()

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):
        kwargs = kwargs or {}
        self.counts[op_name(func, args, kwargs)] += 1
        return func(*args, **kwargs)


def count_ops(fn: Callable, *args, **kwargs) -> Tuple[int, Counter]:
    """Run ``fn(*args, **kwargs)`` once and count the aten ops it dispatches.

    Every op counts, views included: on CUDA each is (at least) one kernel
    launch or one trip through the dispatcher, a few microseconds of host
    time. Warm up ``fn`` first if its first call does one-time work.

    Returns:
        tuple: ``(total, counts)``, the number of ops (int) and a
        :class:`collections.Counter` of them by :func:`op_name`.
    """
    with _OpCounter() as counter:
        fn(*args, **kwargs)
    return sum(counter.counts.values()), counter.counts


def sync_ops(counts) -> List[str]:
    """The names in ``counts`` (a Counter or any iterable of op names from
    :func:`count_ops`) that make the host wait for a CUDA device, sorted.

    An empty list from a call recorded on CPU tensors is strong evidence,
    not proof: what reads memory without dispatching an op (``.tolist()``
    and ``.numpy()`` of a CPU tensor) is invisible there; on CUDA it shows
    as a cross-device copy. ``torch.cuda.set_sync_debug_mode('error')`` on
    a GPU is the proof (``tools/gpu_check.sh``)."""
    return sorted(name for name in counts
                  if name in SYNC_OPS and (not isinstance(counts, dict)
                                           or counts[name] > 0))


class _HostReadGuard(TorchDispatchMode):
    """Records the syncing ops of :data:`SYNC_OPS` and the op that failed
    (on the ``meta`` device, every op that needs a value fails)."""

    def __init__(self):
        super().__init__()
        self.found: List[str] = []

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):
        kwargs = kwargs or {}
        name = op_name(func, args, kwargs)
        if name in SYNC_OPS:
            self.found.append(name)
        try:
            return func(*args, **kwargs)
        except (RuntimeError, NotImplementedError) as error:
            self.found.append(f'{name}: {str(error).splitlines()[0]}')
            raise


def on_meta(tree):
    """Tensors of ``tree`` (a tensor, or a list, tuple or dict of them and
    other values) as ``meta`` tensors of the same shape and dtype."""
    if isinstance(tree, torch.Tensor):
        return torch.empty_like(tree, device='meta')
    if isinstance(tree, (list, tuple)):
        return type(tree)(on_meta(t) for t in tree)
    if isinstance(tree, dict):
        return {k: on_meta(v) for k, v in tree.items()}
    return tree


def host_reads(fn: Callable, *args, warmup: int = 1, **kwargs
               ) -> List[str]:
    """Every host read of ``fn(*args, **kwargs)`` on its sync-free path:
    the call runs on ``meta`` copies of the tensor arguments (the device
    structure of a GPU call, with no data), where any op that reads a
    device value back to the host fails (``.item()``, ``bool(t)``,
    ``nonzero``, boolean-mask indexing, a copy to the host, ...), and
    under a recorder of :data:`SYNC_OPS` (tensor literals, cross-device
    copies). Returns what was found, in order ('' entries never): empty
    means no host read. ``warmup`` calls run first (one-time work: the
    device-constant cache)."""
    args, kwargs = on_meta(args), on_meta(kwargs)
    for _ in range(warmup):
        try:
            fn(*args, **kwargs)
        except (RuntimeError, NotImplementedError):
            break  # the recorded call below fails the same way
    guard = _HostReadGuard()
    try:
        with guard:
            fn(*args, **kwargs)
    except (RuntimeError, NotImplementedError) as error:
        if not guard.found:
            guard.found.append(f'(no op) {str(error).splitlines()[0]}')
    return guard.found


def call_ms(fn: Callable, *args, sync_device=None, **kwargs) -> float:
    """Wall-clock ms of one call ``fn(*args, **kwargs)``.

    With a CUDA ``sync_device`` (a :class:`torch.device` or a string) it
    is synchronised before and after the call, so the time is the whole
    call; otherwise nothing is synchronised (with CUDA tensors: the host's
    part only). Every timing of the tools goes through here.
    """
    cuda = sync_device is not None and \
        torch.device(sync_device).type == 'cuda'
    if cuda:
        torch.cuda.synchronize(sync_device)
    start = time.perf_counter()
    fn(*args, **kwargs)
    if cuda:
        torch.cuda.synchronize(sync_device)
    return (time.perf_counter() - start) * 1e3


def host_time(fn: Callable, *args, repeats: int = 30, warmup: int = 3,
              threads: Optional[int] = 1, **kwargs) -> float:
    """Median wall-clock ms of one call ``fn(*args, **kwargs)`` on the host.

    Nothing is synchronised: with CPU tensors this is the whole call, with
    CUDA tensors the time the host spends dispatching it (until the launch
    queue fills). ``threads``: ``torch.set_num_threads`` during the
    measurement (default 1, so the number reflects dispatch cost rather than
    how many cores the arithmetic got); ``None`` leaves it as the caller set
    it. The previous thread count is restored.
    """
    if repeats < 1 or warmup < 0:
        raise ValueError(f'repeats must be >= 1 and warmup >= 0, got '
                         f'repeats={repeats!r}, warmup={warmup!r}')
    previous = torch.get_num_threads()
    if threads is not None:
        torch.set_num_threads(threads)
    try:
        for _ in range(warmup):
            fn(*args, **kwargs)
        times = [call_ms(fn, *args, **kwargs) for _ in range(repeats)]
    finally:
        torch.set_num_threads(previous)
    return statistics.median(times)


def cuda_time(fn: Callable, *args, repeats: int = 20, warmup: int = 3,
              **kwargs) -> Dict[str, float]:
    """Device time of ``fn(*args, **kwargs)`` on the current CUDA stream.

    ``repeats`` calls are enqueued back to back between two CUDA events
    (the device synchronised before and after the loop only), so the
    launches of one call overlap the kernels of the previous one, as in
    training.

    Returns:
        dict: ``cuda_ms`` (event time per call), ``wall_ms`` (host time per
        call, loop plus the final synchronisation) and ``launch_ms`` (host
        time per call to enqueue, before the final synchronisation).
    """
    if not torch.cuda.is_available():
        raise RuntimeError('cuda_time needs a CUDA device')
    for _ in range(warmup):
        fn(*args, **kwargs)
    torch.cuda.synchronize()
    start, end = (torch.cuda.Event(enable_timing=True) for _ in range(2))
    t0 = time.perf_counter()
    start.record()
    for _ in range(repeats):
        fn(*args, **kwargs)
    end.record()
    t1 = time.perf_counter()
    end.synchronize()
    t2 = time.perf_counter()
    return dict(cuda_ms=start.elapsed_time(end) / repeats,
                wall_ms=(t2 - t0) * 1e3 / repeats,
                launch_ms=(t1 - t0) * 1e3 / repeats)


def timer_ms(fn: Callable, min_run_time: float = 0.2) -> float:
    """Median ms of one call ``fn()`` by :class:`torch.utils.benchmark.Timer`
    (``blocked_autorange``: blocks of calls, CUDA synchronised around each
    block, at least ``min_run_time`` seconds in all)."""
    from torch.utils.benchmark import Timer
    if min_run_time <= 0:
        raise ValueError(f'min_run_time must be > 0, got {min_run_time!r}')
    timer = Timer(stmt='fn()', globals={'fn': fn},
                  num_threads=torch.get_num_threads())
    return timer.blocked_autorange(min_run_time=min_run_time).median * 1e3
