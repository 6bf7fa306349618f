"""The per-sample reference, every mask built from its formulas pixel by
pixel, equals the batched MiAMix draw for draw: with the CPU's choices
(separable boxes, FMix's band select, the in-place blend, broadcast grids)
and with those of a device where a call costs its launches and reads
nothing back (boxes at warped coordinates, FMix's sort, the selecting
blend, ``affine_grid``), both run here on the CPU."""
import pytest
import torch

from mmmiamix.core import host
from mmmiamix.core.miamix import MiAMix
from mmmiamix.core.reference import reference_apply


@pytest.fixture(params=['cpu', 'gpu'], autouse=True)
def choices(request, monkeypatch):
    """The device-dependent choices of the core (:mod:`mmmiamix.core.host`):
    the CPU's, or a GPU's taken on the CPU."""
    if request.param == 'gpu':
        monkeypatch.setattr(host, 'arithmetic_bound', lambda device: False)
        monkeypatch.setattr(host, 'host_reads_free', lambda device: False)
    return request.param

SETTINGS = {
    'default': dict(),
    'sum': dict(mask_merge='sum'),
    'orig': dict(lam_merge='orig'),
    'self': dict(p_self=1.0),
    'aug_smooth': dict(p_aug=1.0, p_smooth=1.0),
    'prob': dict(prob=0.6, p_aug=0.5),
    'box_filter': dict(smooth_filter='box', p_smooth=1.0),
    'k3_all_methods': dict(
        k_max=3, methods=('mixup', 'cutmix', 'fmix', 'gridmix', 'gmix',
                          'agmix'),
        method_weights=(1, 1, 1, 1, 1, 1), p_aug=0.5, p_smooth=0.5),
}


def _batch(b, size, seed=0, num_classes=5):
    g = torch.Generator().manual_seed(seed)
    x = torch.rand(b, 3, *size, generator=g)
    y = torch.nn.functional.one_hot(
        torch.randint(0, num_classes, (b, ), generator=g), num_classes)
    return x, y


def _check(aug, x, y, seed, second_view=None):
    torch.manual_seed(seed)
    params = aug.sample(x.shape[0], x.shape[-2:], x.device)
    mixed, scores = aug.apply(x.clone(), y, params, second_view=second_view)
    ref_mixed, ref_scores = reference_apply(aug, x.clone(), y, params,
                                            second_view)
    assert mixed.shape == ref_mixed.shape and mixed.dtype == ref_mixed.dtype
    assert scores.dtype == ref_scores.dtype == torch.float32
    torch.testing.assert_close(mixed, ref_mixed, rtol=1e-5, atol=1e-5)
    torch.testing.assert_close(scores, ref_scores, rtol=1e-5, atol=1e-5)
    return params


@pytest.mark.parametrize('setting', list(SETTINGS))
def test_reference_equals_batched(setting):
    aug = MiAMix(**SETTINGS[setting])
    x, y = _batch(12, (32, 32))
    for seed in range(3):
        _check(aug, x, y, seed)


def test_reference_self_mixing_uses_second_view():
    aug = MiAMix(p_self=1.0)
    x, y = _batch(6, (32, 32))
    params = _check(aug, x, y, seed=1)
    assert torch.equal(params.partner, torch.arange(6))


@pytest.mark.parametrize('p_self', [0.0, 0.5, 1.0])
def test_reference_two_view_path(p_self):
    aug = MiAMix(p_self=p_self, p_aug=0.5)
    x, y = _batch(10, (32, 32), seed=3)
    views = torch.rand_like(x)
    for seed in range(2):
        _check(aug, x, y, seed, second_view=views)


@pytest.mark.parametrize('setting', ['default', 'aug_smooth', 'self'])
def test_reference_non_square(setting):
    aug = MiAMix(**SETTINGS[setting])
    x, y = _batch(8, (24, 40), seed=4)
    for seed in range(2):
        _check(aug, x, y, seed)


@pytest.mark.parametrize('setting', ['default', 'aug_smooth'])
def test_reference_batch_of_one(setting):
    aug = MiAMix(**SETTINGS[setting])
    x, y = _batch(1, (32, 32), seed=5)
    for seed in range(3):
        _check(aug, x, y, seed)


def test_reference_soft_scores_and_64px():
    aug = MiAMix(p_aug=0.5, p_smooth=1.0)
    x, _ = _batch(4, (64, 64), seed=6)
    y = torch.softmax(torch.randn(4, 7), dim=1)
    _check(aug, x, y, seed=0)


@pytest.mark.parametrize('second', [False, True])
def test_reference_loop_labels_match_pixels(second):
    """The per-sample loop with its own draws (the benchmark's baseline):
    constant images, label weights equal pixel weights, the sample's k
    layers and self-mixing all exercised."""
    from mmmiamix.core.reference import reference_loop
    b = 7
    values = torch.arange(1, b + 1, dtype=torch.float32)
    x = values.view(b, 1, 1, 1).expand(b, 3, 16, 24).contiguous()
    views = x.clone() if second else None
    aug = MiAMix(p_self=0.3, p_aug=0.5, p_smooth=0.5)
    torch.manual_seed(0)
    for _ in range(5):
        mixed, scores = reference_loop(aug, x, torch.eye(b), views)
        assert torch.allclose(scores.sum(1), torch.ones(b))
        assert torch.allclose(mixed.mean((1, 2, 3)), scores @ values,
                              atol=1e-4)
    inputs = torch.rand(4, 3, 16, 16)
    torch.manual_seed(3)
    a = reference_loop(aug, inputs, torch.eye(4))
    torch.manual_seed(3)
    c = reference_loop(aug, inputs, torch.eye(4))
    assert torch.equal(a[0], c[0]) and torch.equal(a[1], c[1])
