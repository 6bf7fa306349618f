"""ResizeMix and SmoothMix, per sample: label weight = pixel weight, the
share delivered, per-sample draws, no host sync, argument errors,
determinism, shapes and dtypes (docs/paper_vs_code.md, "ResizeMix and
SmoothMix")."""
import pickle

import pytest
import torch
import torch.nn.functional as F

from mmmiamix.core import (
    MASK_METHODS,
    MiAMix,
    ResizeMix,
    SmoothMix,
    make_mask,
    smoothmix_mask,
)
from mmmiamix.core.methods.smoothmix import blob_factors
from mmmiamix.utils.profiling import count_ops, host_reads, on_meta, sync_ops

SIZE = (24, 20)  # non-square everywhere
VALUES = torch.arange(1, 13, dtype=torch.float32)
SMOOTHMIX = MASK_METHODS['smoothmix']


def _constant_images(size=SIZE):
    """Image j filled with the value j + 1, (12, 3, H, W)."""
    return VALUES.view(12, 1, 1, 1).expand(12, 3, *size).contiguous()


def _miamix(methods):
    return MiAMix(methods=methods, method_weights=(1, ) * len(methods),
                  p_self=0.0, p_aug=0.5, p_smooth=0.5)


AUGMENTS = {
    'ResizeMix': lambda: ResizeMix(),
    'ResizeMix-bilinear': lambda: ResizeMix(interpolation='bilinear',
                                            use_alpha=True, alpha=0.5),
    'SmoothMix': lambda: SmoothMix(alpha=1.0),
    'MiAMix-smoothmix': lambda: _miamix(('smoothmix', )),
    'MiAMix-among': lambda: _miamix(
        ('mixup', 'smoothmix', 'cutmix', 'agmix', 'fmix')),
}


# ------------------------------------------------ label weight = pixels
@pytest.mark.parametrize('name', list(AUGMENTS))
def test_constant_images_mix_to_the_label_weighted_value(name):
    """Each mixed image's mean is ``scores @ v``: every sample's label
    weights are its pixel weights, exactly (to float rounding)."""
    torch.manual_seed(0)
    aug = AUGMENTS[name]()
    mixed, scores = aug(_constant_images(), torch.eye(12))
    torch.testing.assert_close(mixed.mean((1, 2, 3)), scores @ VALUES,
                               rtol=0, atol=2e-5)
    assert ((scores > 0).sum(1) == 2).any()  # genuinely mixed


@pytest.mark.parametrize('aug', [ResizeMix(), SmoothMix()],
                         ids=['ResizeMix', 'SmoothMix'])
def test_record_weight_is_the_keep_mask_mean(aug):
    """The record's base weight is the mean of its keep mask; the base label
    gets it, the partner's label the rest (never the other way round)."""
    torch.manual_seed(1)
    x = torch.rand(6, 3, *SIZE)
    labels = torch.arange(6)
    mixed, scores, rec = aug.mix_recorded(x, torch.eye(6))
    assert rec.keep.shape == (6, 1, *SIZE) and rec.keep.dtype == torch.float32
    assert rec.partner.dtype == torch.long and rec.weight.dtype == \
        torch.float32
    torch.testing.assert_close(rec.weight, rec.keep.mean((1, 2, 3)),
                               rtol=0, atol=1e-6)
    other = rec.partner != labels
    assert other.any()
    rows = torch.arange(6)[other]
    torch.testing.assert_close(scores[rows, rows], rec.weight[other])
    torch.testing.assert_close(scores[rows, rec.partner[other]],
                               1 - rec.weight[other])
    # the pixels follow the keep mask
    partner = x[rec.partner]
    keep = rec.keep
    assert torch.equal(mixed * (keep == 1), x * (keep == 1))
    if isinstance(aug, SmoothMix):
        torch.testing.assert_close(
            mixed, keep * x + (1 - keep) * partner, rtol=0, atol=1e-6)


# --------------------------------------------------- the share delivered
@pytest.mark.parametrize('size,atol', [((8, 8), 3e-4), ((24, 40), 1e-5),
                                       ((64, 64), 1e-5)])
def test_smoothmix_mask_mean_is_the_share_asked(size, atol):
    """Over 2,000 draws (every centre, sigma and share), the mean of each
    SmoothMix mask is the share asked."""
    torch.manual_seed(2)
    lam = torch.rand(2000)
    masks = make_mask('smoothmix', lam, size)
    assert masks.shape == (2000, 1, *size) and masks.dtype == torch.float32
    assert masks.min() >= 0 and masks.max() <= 1
    err = (masks.mean((1, 2, 3)) - lam).abs()
    assert err.max() < atol, err.max()


def test_smoothmix_shape_sigma_and_share_rule():
    """sigma within 0.25-0.5 of each side; the blob carries the smaller
    share: a scaled Gaussian when it can (mask / G constant), flat-topped
    at 1 when not, inverted (1 - blob) for lam > 1/2."""
    torch.manual_seed(3)
    size = (32, 48)
    lam = torch.tensor([0.05, 0.45, 0.55, 0.95])
    params = SMOOTHMIX.sample(lam, size)
    for key, side in (('sy', size[0]), ('sx', size[1])):
        t = params[key] / side
        assert ((t >= 0.25) & (t <= 0.5)).all()
    torch.testing.assert_close(params['sy'] / size[0], params['sx'] / size[1])
    masks = SMOOTHMIX.render(params, size)
    rows, cols = blob_factors(params, size)
    blob = rows * cols
    ratio = masks[0] / blob[0]  # share 0.05: scaled, peak < 1
    torch.testing.assert_close(ratio, ratio.mean().expand_as(ratio))
    assert masks[0].max() < 1
    assert masks[1].max() == 1 and (masks[1] == 1).sum() > 1  # flat top
    flipped = {k: v[2:3] for k, v in params.items()}
    flipped['lam'] = 1 - flipped['lam']  # the same blob, share 0.45
    torch.testing.assert_close(masks[2:3],
                               1 - SMOOTHMIX.render(flipped, size))
    assert masks[3].min() > 0.5  # the base image is the faint blob
    torch.testing.assert_close(masks.mean((1, 2, 3)), lam, rtol=0,
                               atol=1e-5)


def test_miamix_smoothmix_layers_deliver_the_share():
    """Inside MiAMix each smoothmix layer's cut mask has the share drawn."""
    torch.manual_seed(4)
    aug = MiAMix(methods=('smoothmix', ), method_weights=(1, ), k_max=1,
                 p_aug=0.0, p_smooth=0.0)
    draws = aug.sample(500, SIZE, 'cpu')
    got = aug.cut_masks(draws, SIZE, 'cpu')[:, 0].mean((1, 2))
    assert (got - draws.ratios[:, 0]).abs().max() < 1e-4


def test_resizemix_box_area_against_tau():
    """Before clipping the box covers ``round(tau H) x round(tau W)``
    pixels (within half a pixel per side of tau H, tau W, so the area of
    tau^2 H W); the keep mask covers exactly the clipped box; the mean
    covered share of unclipped boxes is E[tau^2]."""
    torch.manual_seed(5)
    h, w = 32, 24
    aug = ResizeMix()
    params = aug.sample(4000, (h, w), 'cpu')
    tau, side = params['tau'], params['side']
    assert ((tau >= 0.1) & (tau <= 0.8)).all()
    want = tau.unsqueeze(1) * torch.tensor([h, w], dtype=torch.float32)
    assert ((side - want).abs() <= 0.5 + 1e-5).all()
    _, inside, weight = aug.paste(torch.zeros(4000, 1, h, w), params)
    covered = inside.sum((1, 2, 3)).float()
    extent = params['extent']
    assert torch.equal(covered, extent[:, 0] * extent[:, 1])
    assert (covered <= side[:, 0] * side[:, 1]).all()
    torch.testing.assert_close(weight, 1 - covered / (h * w), rtol=0,
                               atol=1e-7)
    whole = (extent == side).all(1)
    assert 0.15 < whole.float().mean() < 0.9  # both kinds are drawn
    # per box: |h w - tau^2 H W| <= (tau H + tau W) / 2 + 1/4
    bound = (want[whole].sum(1) / 2 + 0.25) * (1 + 1e-5)
    area = tau[whole].square() * (h * w)
    assert ((covered[whole] - area).abs() <= bound).all()
    # over all boxes, before clipping: the mean area is E[tau^2] H W
    before = side[:, 0] * side[:, 1] - tau.square() * (h * w)
    assert abs(before.mean()) < 0.25  # pixels, of ~190 on average
    assert abs(tau.square().mean() - (0.8 ** 3 - 0.1 ** 3) / 2.1) < 0.01


def test_resizemix_tau_laws():
    """U(scope) by default; with use_alpha, Beta(alpha, alpha) mapped onto
    the scope (alpha 0.2: mostly near its ends)."""
    torch.manual_seed(6)
    uni = ResizeMix(scope=(0.2, 0.6)).sample(4000, SIZE, 'cpu')['tau']
    assert uni.min() >= 0.2 and uni.max() <= 0.6
    assert abs(uni.mean() - 0.4) < 0.01 and abs(uni.var() - 0.4 ** 2 / 12) \
        < 0.002
    beta = ResizeMix(scope=(0.2, 0.6), use_alpha=True, alpha=0.2).sample(
        4000, SIZE, 'cpu')['tau']
    assert beta.min() >= 0.2 and beta.max() <= 0.6
    ends = ((beta < 0.24) | (beta > 0.56)).float().mean()
    assert ends > 0.5  # a uniform tau puts 0.2 there


def _sources(patch, image):
    """Row and column in ``image`` (C, H, W, distinct values) of each pixel
    of ``patch`` (C, h, w), from the first channel: long (h, w) each."""
    flat = image[0].flatten()
    order = flat.argsort()
    found = order[torch.searchsorted(flat[order], patch[0].flatten())]
    assert torch.equal(flat[found], patch[0].flatten())  # partner pixels
    w = image.shape[-1]
    return (found // w).view(patch.shape[1:]), (found % w).view(
        patch.shape[1:])


@pytest.mark.parametrize('mode', ['bilinear', 'nearest'])
def test_resizemix_pastes_the_whole_partner_resized(mode):
    """Inside its box each sample shows its whole partner image resized to
    the (clipped) box: bilinear equals F.interpolate of the partner to the
    box's size; nearest copies partner pixels, row i of the box from one
    source row (likewise columns), rising from the first rows to the last;
    outside the box the base image is untouched."""
    torch.manual_seed(7)
    x = torch.rand(6, 3, *SIZE)
    aug = ResizeMix(interpolation=mode, scope=(0.4, 0.8))
    params = aug.sample(6, SIZE, 'cpu')
    mixed, inside, _ = aug.paste(x, params)
    for i in range(6):
        (top, left), (h, w) = (params['corner'][i].long().tolist(),
                               params['extent'][i].long().tolist())
        patch = mixed[i, :, top:top + h, left:left + w]
        partner = x[params['perm'][i]]
        if mode == 'bilinear':
            want = F.interpolate(partner[None], (h, w), mode='bilinear',
                                 align_corners=False)[0]
            torch.testing.assert_close(patch, want, rtol=0, atol=1e-5)
        else:
            rows, cols = _sources(patch, partner)
            assert (rows == rows[:, :1]).all() and (cols == cols[:1]).all()
            for src, n, side in ((rows[:, 0], h, SIZE[0]),
                                 (cols[0], w, SIZE[1])):
                step = src.diff()
                assert (step >= 0).all() and (step <= side / n + 1).all()
                assert src[0] <= side / n and src[-1] >= side - 1 - side / n
        keep = ~inside[i, 0]
        assert torch.equal(mixed[i][:, keep], x[i][:, keep])


# ------------------------------------------------- per-sample draws
def test_boxes_and_centres_differ_within_a_batch():
    torch.manual_seed(8)
    p = ResizeMix().sample(16, SIZE, 'cpu')
    assert p['tau'].unique().numel() == 16
    assert p['corner'].unique(dim=0).shape[0] > 8
    assert p['extent'].unique(dim=0).shape[0] > 4
    q = SMOOTHMIX.sample(torch.full((16, ), 0.3), SIZE)
    for key in ('cy', 'cx', 'sy'):
        assert q[key].unique().numel() == 16
    masks = SMOOTHMIX.render(q, SIZE)
    assert masks.flatten(1).unique(dim=0).shape[0] == 16
    rec = {}
    SmoothMix().mix(torch.rand(16, 3, *SIZE), torch.eye(16), record=rec)
    assert rec['weight'].unique().numel() == 16


# ------------------------------------------------------------ no sync
def test_no_host_sync_and_batch_free_op_counts():
    """No op that makes the host wait for the device: ResizeMix's whole
    call, SmoothMix's method, and MiAMix's sync-free path with smoothmix
    among other methods (on ``meta`` tensors: the CPU's own path reads
    values back by design); their op counts do not grow with the batch."""
    counts = {}
    resizemix = ResizeMix(interpolation='bilinear')
    miamix = AUGMENTS['MiAMix-among']()
    for b, size in [(4, (16, 16)), (32, (16, 16)), (8, (24, 40))]:
        x, y = torch.rand(b, 3, *size), torch.eye(b)
        lam = torch.rand(b)
        xm, ym = on_meta((x, y))
        assert host_reads(miamix, x, y) == []
        calls = {
            'resizemix': lambda: resizemix(x, y),
            'smoothmix': lambda: SMOOTHMIX.render(SMOOTHMIX.sample(
                lam, size), size),
            'miamix': lambda: miamix(xm, ym)}
        for name, call in calls.items():
            call()  # the first call fills the device tables
            n, ops = count_ops(call)
            assert sync_ops(ops) == [], (name, sync_ops(ops))
            counts.setdefault((name, size), set()).add(n)
    assert all(len(n) == 1 for n in counts.values()), counts
    assert counts[('resizemix', (16, 16))] == counts[('resizemix', (24, 40))]
    assert counts[('smoothmix', (16, 16))] == counts[('smoothmix', (24, 40))]


@pytest.mark.parametrize('make', [
    lambda: ResizeMix(use_alpha=True), lambda: SmoothMix(),
    lambda: AUGMENTS['MiAMix-among']()],
    ids=['ResizeMix', 'SmoothMix', 'MiAMix-with-smoothmix'])
def test_runs_on_the_meta_device(make):
    """On 'meta' tensors (no data) any host read or data-dependent shape
    raises: the path a CUDA device takes cannot sync."""
    x = torch.empty(5, 3, 16, 24, device='meta')
    y = torch.empty(5, 7, device='meta')
    mixed, scores = make().mix(x, y)
    assert mixed.shape == x.shape and mixed.device.type == 'meta'
    assert scores.shape == (5, 7)


# ----------------------------------------------------------- arguments
@pytest.mark.parametrize('kwargs,error,match', [
    (dict(scope=(0.0, 0.5)), ValueError, r'scope.*\(0, 1\]'),
    (dict(scope=(0.5, 1.2)), ValueError, r'scope.*\(0, 1\]'),
    (dict(scope=(0.8, 0.1)), ValueError, 'scope must have min <= max'),
    (dict(scope=0.5), TypeError, 'scope must be a'),
    (dict(scope=(0.1, '0.8')), TypeError, 'scope must be a'),
    (dict(alpha=0), ValueError, 'alpha'),
    (dict(alpha=-1.0), ValueError, 'alpha'),
    (dict(use_alpha='yes'), TypeError, 'use_alpha'),
    (dict(interpolation='area'), ValueError, 'interpolation must be one of'),
    (dict(prob=1.5), ValueError, 'prob'),
])
def test_resizemix_bad_arguments(kwargs, error, match):
    with pytest.raises(error, match=match):
        ResizeMix(**kwargs)


@pytest.mark.parametrize('kwargs,error,match', [
    (dict(sigma_range=(0.0, 0.5)), ValueError, 'sigma_range must satisfy'),
    (dict(sigma_range=(0.5, 0.25)), ValueError, 'sigma_range must satisfy'),
    (dict(sigma_range=(0.25, float('inf'))), ValueError, 'sigma_range'),
    (dict(sigma_range=(0.25, )), TypeError, 'sigma_range must be a'),
    (dict(sigma_range=(True, 0.5)), TypeError, 'sigma_range must be a'),
    (dict(alpha=0.0), ValueError, 'alpha'),
    (dict(sigma=0.3), ValueError, r"unknown arguments \['sigma'\]"),
])
def test_smoothmix_bad_arguments(kwargs, error, match):
    with pytest.raises(error, match=match):
        SmoothMix(**kwargs)
    if 'sigma_range' in kwargs:
        with pytest.raises(error, match=match):
            MiAMix(methods=('mixup', 'smoothmix'), method_weights=(1, 1),
                   method_kwargs={'smoothmix': kwargs})
        with pytest.raises(error, match=match):
            smoothmix_mask(torch.rand(3), SIZE, **kwargs)


# ------------------------------------------- determinism, shapes, dtypes
BUILDERS = {
    'ResizeMix': lambda: ResizeMix(),
    'ResizeMix-bicubic': lambda: ResizeMix(interpolation='bicubic'),
    'SmoothMix': lambda: SmoothMix(sigma_range=(0.1, 0.3)),
    'MiAMix-smoothmix': lambda: _miamix(('smoothmix', 'cutmix')),
}


@pytest.mark.parametrize('name', list(BUILDERS))
@pytest.mark.parametrize('b,size', [(1, (8, 8)), (2, (17, 31)),
                                    (5, (40, 9))])
def test_determinism_shapes_and_dtypes(name, b, size):
    aug = BUILDERS[name]()
    x = torch.rand(b, 3, *size, dtype=torch.float64)
    y = torch.randint(0, 4, (b, ))
    onehot = F.one_hot(y, 4)  # int scores
    runs = []
    for seed in (0, 0, 1):
        torch.manual_seed(seed)
        runs.append(aug(x, onehot))
    assert torch.equal(runs[0][0], runs[1][0])
    assert torch.equal(runs[0][1], runs[1][1])
    mixed, scores = runs[0]
    assert mixed.shape == x.shape and mixed.dtype == torch.float64
    assert scores.shape == (b, 4) and scores.dtype == torch.float32
    torch.testing.assert_close(scores.sum(1), torch.ones(b))
    gens = [torch.Generator().manual_seed(9) for _ in range(2)]
    a, c = (aug(x, onehot, generator=g) for g in gens)
    assert torch.equal(a[0], c[0]) and torch.equal(a[1], c[1])
    if b > 1 and size[0] * size[1] > 64:  # another seed, other draws
        assert not torch.equal(runs[0][0], runs[2][0])
    if b == 1:  # its only partner is itself: the label stays
        torch.testing.assert_close(scores, onehot.float())


@pytest.mark.parametrize('aug', [ResizeMix(interpolation='bilinear'),
                                 SmoothMix()], ids=['ResizeMix', 'SmoothMix'])
def test_memory_format_and_gradients(aug):
    """The mixed images keep the memory format of the inputs, and gradients
    flow back to the inputs through the paste and the blend."""
    x = torch.rand(4, 3, 16, 16).to(memory_format=torch.channels_last)
    mixed, _ = aug(x, torch.eye(4))
    assert mixed.is_contiguous(memory_format=torch.channels_last)
    x = torch.rand(4, 3, 16, 16, requires_grad=True)
    mixed, _ = aug(x, torch.eye(4))
    mixed.sum().backward()
    assert x.grad is not None and x.grad.abs().sum() > 0


def test_augments_pickle_and_keep_their_settings():
    for aug in (ResizeMix(scope=(0.2, 0.7), use_alpha=True, alpha=0.5,
                          interpolation='bilinear', num_classes=5),
                SmoothMix(alpha=0.2, sigma_range=(0.3, 0.4), num_classes=5)):
        back = pickle.loads(pickle.dumps(aug))
        assert repr(back) == repr(aug)
        x, y = torch.rand(4, 3, *SIZE), torch.arange(4)
        torch.manual_seed(0)
        a = aug(x, y)
        torch.manual_seed(0)
        c = back(x, y)
        assert torch.equal(a[0], c[0]) and torch.equal(a[1], c[1])
    assert 'sigma_range=(0.3, 0.4)' in repr(back)


def test_mm_registry_names():
    """ResizeMix is registered as PerSampleResizeMix beside mmpretrain's own
    ResizeMix; SmoothMix under its name. Both build from a config dict."""
    pytest.importorskip('mmpretrain')
    from mmpretrain.registry import BATCH_AUGMENTS

    import mmmiamix  # noqa: F401  (registers the augments)
    assert BATCH_AUGMENTS.get('ResizeMix').__module__.startswith(
        'mmpretrain')
    ours = BATCH_AUGMENTS.build(dict(type='PerSampleResizeMix', alpha=1.0,
                                     scope=(0.1, 0.8), use_alpha=True))
    smooth = BATCH_AUGMENTS.build(dict(type='SmoothMix', alpha=0.2))
    assert isinstance(ours, ResizeMix) and isinstance(smooth, SmoothMix)
    assert type(ours).__name__ == 'PerSampleResizeMix'
    for aug in (ours, smooth):
        mixed, scores = aug(torch.rand(4, 3, 16, 16), torch.eye(4))
        assert mixed.shape == (4, 3, 16, 16) and scores.shape == (4, 4)
