"""Numerics that hold at any alpha, non-finite pixels kept in their own
image, inputs that require grad, and input checks that name the argument.
"""
import math

import pytest
import torch

from mmmiamix.core import (
    FMix,
    MiAMix,
    make_mask,
    sample_beta,
    sample_dirichlet,
)


@pytest.mark.parametrize('alpha', [1e-4, 1e-2, 1.0, 50.0, 1e6])
def test_dirichlet_and_beta_exact_for_any_alpha(alpha):
    torch.manual_seed(0)
    shares = sample_dirichlet(torch.full((10000, 3), alpha))
    assert torch.isfinite(shares).all() and (shares >= 0).all()
    assert torch.allclose(shares.sum(1), torch.ones(10000), atol=1e-6)
    assert torch.allclose(shares.mean(0), torch.full((3, ), 1 / 3),
                          atol=0.02)
    beta = sample_beta(20000, alpha, 'cpu')
    assert abs(beta.mean().item() - 0.5) < 0.015
    # Var of Beta(a, a) = 1 / (4 (2 a + 1))
    var = 1 / (4 * (2 * alpha + 1))
    assert abs(beta.var().item() - var) < 0.05 * var + 1e-4


def test_tiny_alpha_orig_labels_match_base_share():
    """alpha = 1e-4: shares are (almost) one-hot but still sum to 1, so the
    'orig' labels keep meaning the base share."""
    torch.manual_seed(1)
    aug = MiAMix(alpha=1e-4, lam_merge='orig')
    draws = aug.sample(5000, (8, 8), 'cpu')
    assert torch.allclose(draws.ratios.sum(1), torch.ones(5000), atol=1e-6)
    top = draws.ratios.max(1).values
    assert (top > 0.99).float().mean() > 0.95


def test_zero_share_layers_of_sample_are_exact_zero():
    torch.manual_seed(2)
    aug = MiAMix(k_max=3)
    draws = aug.sample(2000, (8, 8), 'cpu')
    inactive = ~draws.active
    assert (draws.ratios[:, :3][inactive] == 0).all()


def _nan_batch(value):
    x = torch.rand(8, 3, 16, 16)
    x[0, :, 3, 5] = value  # one bad pixel in image 0
    return x


@pytest.mark.parametrize('value', [float('nan'), float('inf')])
def test_non_finite_pixel_stays_in_its_image(value):
    """Where the keep mask is exactly 1 (or 0) the output is the base (or
    the partner) image alone: a NaN/Inf pixel never spreads to weight-0
    positions, and an Inf pixel stays Inf (not NaN) at weight 1."""
    torch.manual_seed(3)
    aug = MiAMix(methods=('cutmix', ), method_weights=(1, ), k_max=1,
                 p_aug=0.0, p_smooth=0.0, p_self=0.0)
    x = _nan_batch(value)
    d = aug.explain(x, torch.eye(8))
    keep = d['keep'].expand_as(x)
    partner = d['draws'].partner
    mixed = d['mixed']
    takes_0 = partner == 0
    for i in range(8):
        if i == 0:
            own = keep[0] == 1
            torch.testing.assert_close(mixed[0][own], x[0][own], rtol=0,
                                       atol=0, equal_nan=True)  # Inf stays
            assert torch.isfinite(mixed[0][keep[0] == 0]).all()
        elif takes_0[i]:
            assert torch.isfinite(mixed[i][keep[i] == 1]).all()
        else:
            assert torch.isfinite(mixed[i]).all()


def _blend_case(dtype, bad=None):
    torch.manual_seed(4)
    x = torch.randn(6, 3, 8, 8).to(dtype)
    p = torch.randn(6, 3, 8, 8).to(dtype)
    keep = torch.rand(6, 1, 8, 8)
    keep[keep < 0.3] = 0
    keep[keep > 0.7] = 1
    if bad is not None:
        x[0, 1] = bad  # a whole channel: it meets weights 0, 1 and between
        p[1, 2] = bad
    return x, p, keep


@pytest.mark.parametrize('dtype', [torch.float32, torch.float64,
                                   torch.bfloat16])
@pytest.mark.parametrize('bad', [None, float('nan'), float('inf'), -3e38])
def test_blend_fast_path_equals_the_select(dtype, bad):
    """The CPU's in-place blend (``sync_free=False``) gives the selecting
    blend's values: for tame batches by one lerp in place, for batches with
    NaN, Inf or values that could overflow ``x - p`` by the select."""
    from mmmiamix.core import blend_images
    if bad == -3e38 and dtype != torch.float32:
        bad = torch.finfo(dtype).min
    x, p, keep = _blend_case(dtype, bad)
    w = keep.to(dtype)
    want = torch.where(w == 1, x, torch.where(w == 0, p, torch.lerp(p, x, w)))
    want_partner = p.clone()
    fast = blend_images(x, p, keep, inplace=True, sync_free=False)
    torch.testing.assert_close(fast, want, rtol=0, atol=0, equal_nan=True)
    assert fast.dtype == dtype
    # in place exactly when the batch is tame; the input is never touched
    assert (fast.data_ptr() == p.data_ptr()) == (bad is None)
    if bad is not None:
        assert torch.equal(p.nan_to_num(), want_partner.nan_to_num())
    slow = blend_images(x, want_partner, keep)
    torch.testing.assert_close(slow, want, rtol=0, atol=0, equal_nan=True)


@pytest.mark.parametrize('second', [False, True])
def test_inputs_that_require_grad(second):
    """Mixing features (or adversarial examples): gradients reach both
    images, equal to autograd through the per-sample formula."""
    torch.manual_seed(4)
    aug = MiAMix(p_self=0.0, p_aug=1.0, p_smooth=1.0)
    x = torch.rand(6, 3, 16, 16, requires_grad=True)
    views = torch.rand(6, 3, 16, 16, requires_grad=True) if second else None
    draws = aug.sample(6, (16, 16), 'cpu')
    mixed, _ = aug.apply(x, torch.eye(6), draws, second_view=views)
    w = torch.rand_like(mixed)
    (mixed * w).sum().backward()
    keep = aug.keep_mask(draws, (16, 16), 'cpu')
    source = views if second else x
    x2 = x.detach().clone().requires_grad_()
    s2 = x2 if not second else views.detach().clone().requires_grad_()
    ref = keep * x2 + (1 - keep) * s2[draws.partner]
    (ref * w).sum().backward()
    torch.testing.assert_close(x.grad, x2.grad)
    if second:
        torch.testing.assert_close(views.grad, s2.grad)
        assert source.grad.abs().sum() > 0
    FMix()(x, torch.eye(6))[0].sum().backward()  # the single augments too


def test_make_mask_checks_arguments():
    with pytest.raises(ValueError, match='lam'):
        make_mask('cutmix', torch.tensor([1.5]), (8, 8))
    with pytest.raises(ValueError, match='lam'):
        make_mask('fmix', torch.tensor([float('nan')]), (8, 8))
    with pytest.raises(TypeError, match='lam'):
        make_mask('gmix', torch.tensor([1, 0]), (8, 8))
    with pytest.raises(ValueError, match='size'):
        make_mask('gmix', torch.rand(2), (4, 8))
    with pytest.raises(ValueError, match='unknown arguments'):
        make_mask('cutmix', torch.rand(2), (8, 8), decay_power=2.0)


def test_large_decay_power_stays_finite():
    torch.manual_seed(5)
    lam = torch.rand(50)
    mask = make_mask('fmix', lam, (224, 224), decay_power=25.0)
    assert torch.isfinite(mask).all()
    err = (mask.mean((1, 2, 3)) - lam).abs()
    assert err.max() <= 0.5 / 224 ** 2 + 1e-5


@pytest.mark.parametrize('kwargs, match', [
    (dict(method_weights=(math.inf, 1, 1, 1, 1)), 'method_weights'),
    (dict(method_weights=(math.nan, 1, 1, 1, 1)), 'method_weights'),
    (dict(layer_weights=(math.inf, 1)), 'layer_weights'),
    (dict(alpha=2e6), 'alpha'),
    (dict(method_kwargs=dict(fmix=dict(decay_power=-1))), 'decay_power'),
    (dict(smooth_filter='median'), 'smooth_filter'),
    (dict(view_cfg=[0.5]), 'view_cfg'),
])
def test_bad_arguments_name_themselves(kwargs, match):
    with pytest.raises((ValueError, TypeError), match=match):
        MiAMix(**kwargs)


def test_bad_second_view_tensor():
    x, y = torch.rand(4, 3, 16, 16), torch.eye(4)
    with pytest.raises(ValueError, match='second_view'):
        MiAMix()(x, y, second_view=x.double())
    with pytest.raises(TypeError, match='second_view'):
        MiAMix()(x, y, second_view=x.numpy())
