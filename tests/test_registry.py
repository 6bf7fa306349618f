"""A mask method defined outside the package, registered with
``register_mask_method``: usable in MiAMix, make_mask, MaskMix and an mm
config, MiAMix's invariants hold for it, and a bad registration gets an
error that names what is wrong."""
import sys
import textwrap

import pytest
import torch

from mmmiamix.core import (
    MASK_METHODS,
    MaskMethod,
    MaskMix,
    MiAMix,
    make_mask,
    register_mask_method,
)


def stripe_params(share, u, size):
    """Horizontal stripes: a period of 4-8 rows and a phase, from 2
    uniforms."""
    return {'lam': share.float(), 'period': 4 + 4 * u[:, 0],
            'phase': u[:, 1]}


def render_stripes(params, size, warp=None):
    """1 on the first ``lam`` of each period, float32 ``(N, 1, H, W)``;
    rows at warped coordinates when given a warp."""
    h, w = size
    dev = params['lam'].device
    y = torch.arange(h, device=dev, dtype=torch.float32).view(1, 1, h, 1)
    y = y + 0.5
    if warp is not None:
        x = torch.arange(w, device=dev, dtype=torch.float32).view(1, 1, 1, w)
        a = warp[:, 1].reshape(-1, 2, 1, 1, 1)
        y = a[:, 0] * (x + 0.5 - w / 2) + a[:, 1] * (y - h / 2) + h / 2
    t = (y / params['period'].view(-1, 1, 1, 1) +
         params['phase'].view(-1, 1, 1, 1)).remainder(1.0)
    mask = t < params['lam'].view(-1, 1, 1, 1)
    return mask.expand(-1, 1, h, w).float()


STRIPES = register_mask_method(MaskMethod(
    'test_stripes', stripe_params, render_stripes, n_uniform=2,
    augmentable=True))


def _aug(**kwargs):
    return MiAMix(methods=('mixup', 'test_stripes', 'cutmix'),
                  method_weights=(1, 2, 1), **kwargs)


def test_registered_method_is_usable_everywhere():
    assert MASK_METHODS['test_stripes'] is STRIPES
    masks = make_mask('test_stripes', torch.full((3, ), 0.25), (16, 16))
    assert masks.shape == (3, 1, 16, 16)
    mixed, scores = MaskMix(method='test_stripes')(torch.rand(4, 3, 16, 16),
                                                   torch.eye(4))
    assert mixed.shape == (4, 3, 16, 16)
    draws = _aug().sample(8, (16, 16), 'cpu')
    assert 'test_stripes' in draws.masks


def test_label_weight_is_the_partners_pixel_weight():
    """Constant images: each mixed image's mean is the label-weighted mean
    of the values, so the label weight equals the pixel weight."""
    torch.manual_seed(0)
    values = torch.arange(1, 13, dtype=torch.float32)
    x = values.view(12, 1, 1, 1).expand(12, 3, 24, 24).contiguous()
    aug = _aug(p_aug=0.5, p_smooth=0.5, p_self=0.0)
    mixed, scores = aug(x, torch.eye(12))
    torch.testing.assert_close(mixed.mean((1, 2, 3)), scores @ values,
                               rtol=0, atol=1e-4)


def test_delivered_share_is_close_to_the_share_asked():
    torch.manual_seed(1)
    aug = MiAMix(methods=('test_stripes', ), method_weights=(1, ), k_max=1,
                 p_aug=0.0, p_smooth=0.0)
    draws = aug.sample(2000, (32, 32), 'cpu')
    asked = draws.ratios[:, 0]
    got = aug.cut_masks(draws, (32, 32), 'cpu')[:, 0].mean((1, 2))
    assert abs((got - asked).mean()) < 0.01
    assert (got - asked).abs().mean() < 0.06


def test_sync_free_path_has_no_host_read_and_a_constant_op_count():
    """On the sync-free path (measured on ``meta`` tensors, the structure
    of a GPU call) the user's method reads nothing back and the call's op
    count does not grow with the batch or the image."""
    from mmmiamix.utils.profiling import count_ops, host_reads, on_meta
    aug = _aug(p_aug=1.0, p_smooth=1.0, p_self=0.5)
    counts = {}
    for b, s in [(4, 16), (32, 16), (8, 40), (64, 64)]:
        x, y = on_meta((torch.rand(b, 3, s, s), torch.eye(b)))
        assert host_reads(aug, x, y) == []
        counts[(b, s)] = count_ops(aug, x, y)[0]
    assert len(set(counts.values())) == 1, counts


def test_mm_config_after_custom_imports(tmp_path, monkeypatch):
    from mmengine.config import Config
    from mmpretrain.registry import BATCH_AUGMENTS
    module = tmp_path / 'user_mask_method.py'
    module.write_text(textwrap.dedent('''
        from mmmiamix.core import MaskMethod, register_mask_method
        from mmmiamix.core.methods.mixup import mixup_params, render_mixup

        register_mask_method(MaskMethod('user_half', mixup_params,
                                        lambda p, size, warp=None:
                                        render_mixup(p, size) * 0.5))
    '''))
    config = tmp_path / 'config.py'
    config.write_text(textwrap.dedent('''
        custom_imports = dict(imports=['mmmiamix', 'user_mask_method'],
                              allow_failed_imports=False)
        augment = dict(type='MiAMix', methods=('cutmix', 'user_half'),
                       method_weights=(1, 1))
    '''))
    monkeypatch.syspath_prepend(str(tmp_path))
    cfg = Config.fromfile(str(config))
    aug = BATCH_AUGMENTS.build(cfg.augment)
    mixed, scores = aug(torch.rand(4, 3, 16, 16), torch.eye(4))
    assert aug.methods == ('cutmix', 'user_half')
    assert scores.shape == (4, 4)
    sys.modules.pop('user_mask_method', None)


def _method(name='test_bad', render=render_stripes, **kwargs):
    return MaskMethod(name, stripe_params, render, n_uniform=2, **kwargs)


@pytest.mark.parametrize('method, error, match', [
    (lambda: _method('cutmix'), ValueError, 'already taken'),
    (lambda: _method(render=lambda p, s, warp=None: render_stripes(
        p, s)[:, :, :-1]), ValueError, 'shape'),
    (lambda: _method(render=lambda p, s, warp=None: render_stripes(
        p, s).double()), TypeError, 'float32'),
    (lambda: _method(render=lambda p, s, warp=None: render_stripes(
        p, s) * 2), ValueError, r'\[0, 1\]'),
    (lambda: _method(render=lambda p, s, warp=None: render_stripes(
        p, s) * 0 + 0.5), ValueError, 'share'),
    (lambda: _method(render=lambda p, s, warp=None: 1 - render_stripes(
        p, s)), ValueError, 'share 0'),
    (lambda: _method(render=lambda p, s: render_stripes(p, s),
                     augmentable=True), TypeError, 'warp'),
    (lambda: MaskMethod('test_bad', stripe_params), TypeError, 'render'),
    (lambda: _method(render=None), TypeError, 'render must be callable'),
    (lambda: _method('not a name'), ValueError, 'name'),
    (lambda: dict(name='test_bad'), TypeError, 'MaskMethod'),
])
def test_bad_registrations_name_what_is_wrong(method, error, match):
    with pytest.raises(error, match=match):
        register_mask_method(method())
    assert 'test_bad' not in MASK_METHODS
