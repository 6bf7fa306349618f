"""mmmiamix.utils.profiling on tiny functions whose ops are known."""
import time
from collections import Counter

import pytest
import torch

from mmmiamix.utils import profiling
from mmmiamix.utils.profiling import SYNC_OPS, count_ops, host_time, sync_ops


def test_counts_single_ops_and_views():
    x = torch.rand(4, 3)
    assert count_ops(lambda: x + 1) == (1, Counter(add=1))
    # views are ops too: each is a trip through the dispatcher
    assert count_ops(lambda: x.view(12)) == (1, Counter(view=1))
    # composite ops count as what they decompose into
    assert count_ops(lambda: x.reshape(12)) == (1, Counter(view=1))
    total, counts = count_ops(lambda: x.t().contiguous())
    assert total == 2 and counts == Counter(t=1, clone=1)


def test_counts_repeated_ops_and_arguments():
    def chain(x, n, scale=2.0):
        for _ in range(n):
            x = x * scale
        return x.sum()

    x = torch.rand(5)
    total, counts = count_ops(chain, x, 7, scale=3.0)
    assert total == 8
    assert counts == Counter(mul=7, sum=1)
    # the count of a batch-size-dependent loop follows the batch
    per_row = lambda t: [t[i].exp() for i in range(len(t))]  # noqa: E731
    for b in (2, 6):
        total, counts = count_ops(per_row, torch.rand(b, 3))
        assert counts['exp'] == b and counts['select'] == b
        assert total == sum(counts.values()) == 2 * b


def test_factories_and_in_place_ops_count():
    def fn():
        out = torch.zeros(3)
        out.add_(1)
        return torch.rand(2, generator=torch.Generator().manual_seed(0))

    total, counts = count_ops(fn)
    assert counts == Counter(zeros=1, add_=1, rand=1) and total == 3


@pytest.mark.parametrize('fn, syncing', [
    (lambda x: x[x > 0.5], ['index[bool mask]']),
    (lambda x: x.nonzero(), ['nonzero']),
    (lambda x: (x.sum() > 0).item(), ['_local_scalar_dense']),
    (lambda x: bool(x.max() > 2), ['_local_scalar_dense']),
    (lambda x: float(x[0, 0]), ['_local_scalar_dense']),
    (lambda x: torch.tensor([1.0, 2.0]) * x[0, :2], ['lift_fresh']),
    (lambda x: torch.unique(x), ['_unique2']),
    (lambda x: x.masked_select(x > 0), ['masked_select']),
    (lambda x: x.to('meta'), ['_to_copy[cross-device]']),
    (lambda x: torch.arange(3).repeat_interleave(torch.arange(3)),
     ['repeat_interleave[no output_size]']),
    (lambda x: torch.histc(x, 4), ['histc[auto range]']),
])
def test_sync_ops_finds_syncing_ops(fn, syncing):
    x = torch.rand(4, 3)
    _, counts = count_ops(fn, x)
    assert sync_ops(counts) == syncing
    assert all(name in SYNC_OPS for name in syncing)


@pytest.mark.parametrize('fn', [
    lambda x: x[torch.arange(2)],  # long indices: a gather, no sync
    lambda x: torch.where(x > 0.5, x, 0.0),
    lambda x: x.masked_fill(x > 0.5, 0.0),
    lambda x: torch.nonzero_static(x, size=4),  # output size given
    lambda x: torch.histc(x, 4, min=0.0, max=1.0),
    lambda x: torch.arange(3).repeat_interleave(torch.arange(3),
                                                output_size=3),
    lambda x: x.argsort(dim=1).to(torch.float32).cumsum(0),
])
def test_sync_ops_passes_asynchronous_ops(fn):
    total, counts = count_ops(fn, torch.rand(4, 3))
    assert total > 0
    assert sync_ops(counts) == []


def test_sync_ops_takes_names_and_ignores_zero_counts():
    assert sync_ops(['add', 'nonzero', 'view', 'lift_fresh']) == [
        'lift_fresh', 'nonzero']
    assert sync_ops(Counter(add=3, nonzero=0)) == []
    # the untagged index ops (integer indices) do not sync
    assert sync_ops(['index', 'index_put_', 'copy_', '_to_copy']) == []


def test_host_time_sets_and_restores_threads():
    previous = torch.get_num_threads()
    seen = []

    def fn(a, b=0):
        seen.append((torch.get_num_threads(), a, b))

    ms = host_time(fn, 'a', b=1, repeats=4, warmup=2)
    assert isinstance(ms, float) and ms >= 0
    assert seen == [(1, 'a', 1)] * 6  # 2 warm-up calls + 4 timed ones
    assert torch.get_num_threads() == previous
    seen.clear()
    host_time(fn, 'a', repeats=1, warmup=0, threads=None)
    assert seen == [(previous, 'a', 0)]


def test_host_time_restores_threads_on_error():
    previous = torch.get_num_threads()

    def boom():
        raise KeyError('x')

    with pytest.raises(KeyError):
        host_time(boom, repeats=2, warmup=0)
    assert torch.get_num_threads() == previous
    with pytest.raises(ValueError, match='repeats'):
        host_time(boom, repeats=0)


def test_cuda_time_needs_cuda(monkeypatch):
    monkeypatch.setattr(torch.cuda, 'is_available', lambda: False)
    with pytest.raises(RuntimeError, match='CUDA'):
        profiling.cuda_time(lambda: None)


def test_call_ms_times_one_call_and_passes_arguments():
    seen = []

    def fn(a, device=None):
        seen.append((a, device))
        time.sleep(0.02)

    ms = profiling.call_ms(fn, 1, device='d')
    assert seen == [(1, 'd')]  # fn's own `device` is not taken
    assert 15 <= ms < 2000
    profiling.call_ms(fn, 2, sync_device='cpu')  # nothing to synchronise
    assert seen[-1] == (2, None)


def test_timer_ms_is_per_call():
    ms = profiling.timer_ms(lambda: time.sleep(0.005), min_run_time=0.05)
    assert 4 <= ms < 200
    with pytest.raises(ValueError, match='min_run_time'):
        profiling.timer_ms(lambda: None, min_run_time=0)
