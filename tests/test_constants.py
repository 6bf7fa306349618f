"""The one cache of device constants: bounded, least recently used out, so
training at many image or batch sizes keeps the hot entries."""
import torch

from mmmiamix.core import MiAMix, constants


def test_least_recently_used_entry_goes_first(monkeypatch):
    monkeypatch.setattr(constants, 'MAX_ENTRIES', 8)
    monkeypatch.setattr(constants, '_CACHE', type(constants._CACHE)())
    made = []

    @constants.device_constant
    def table(n, device):
        made.append(n)
        return torch.arange(n, device=device)

    hot = table(1, 'cpu')
    for n in range(2, 30):
        assert table(1, 'cpu') is hot  # used all along: never evicted
        table(n, 'cpu')
        assert len(constants._CACHE) <= 8
    assert made.count(1) == 1
    table(2, 'cpu')  # long unused: evicted, made again
    assert made.count(2) == 2


def test_calls_at_many_sizes_keep_the_cache_bounded():
    aug = MiAMix()
    y = torch.eye(4)
    for side in range(8, 48, 2):
        aug(torch.rand(4, 3, side, side), y)
        assert len(constants._CACHE) <= constants.MAX_ENTRIES
    before = len(constants._CACHE)
    aug(torch.rand(4, 3, 46, 46), y)  # the newest size: all still there
    assert len(constants._CACHE) == before
