"""Cut-mask generators and mask augmentation of the pure-PyTorch core."""
import math
import subprocess
import sys

import pytest
import torch

from mmmiamix.core import (
    MASK_METHODS,
    box_filter,
    default_smooth_windows,
    make_mask,
)
from mmmiamix.core.geometry import rotation_shear
from mmmiamix.core.methods import fmix as fmix_module
from mmmiamix.core.methods.boxes import box_axes, render_boxes

sample_cutmix = MASK_METHODS['cutmix'].sample
render_cutmix = MASK_METHODS['cutmix'].render
sample_fmix = MASK_METHODS['fmix'].sample
render_fmix = MASK_METHODS['fmix'].render

SIZES = [(32, 32), (24, 40), (8, 8)]


@pytest.mark.parametrize('method', sorted(MASK_METHODS))
@pytest.mark.parametrize('size', SIZES)
def test_shape_dtype_range(method, size):
    torch.manual_seed(0)
    for n in (1, 7):
        lam = torch.rand(n)
        mask = make_mask(method, lam, size)
        assert mask.shape == (n, 1, *size)
        assert mask.dtype == torch.float32
        assert mask.device == lam.device
        assert torch.isfinite(mask).all()
        assert mask.min() >= 0 and mask.max() <= 1


@pytest.mark.parametrize('method', sorted(MASK_METHODS))
def test_lam_extremes(method):
    """lam = 0 gives an empty cut mask; lam = 1 a full one, except CutMix,
    whose full-size box is clipped where its uniform centre puts it, and
    GridMix, whose square holes fill at most their cells of its region."""
    size = (32, 24)
    empty = make_mask(method, torch.zeros(4), size)
    assert empty.max() == 0
    torch.manual_seed(0)
    spec = MASK_METHODS[method]
    params = spec.sample(torch.ones(200), size)
    full = spec.render(params, size).expand(200, 1, *size)
    if method == 'cutmix':  # the part of the image the box covers
        top, left = params['corner'].unbind(1)
        h, w = params['extent'].unbind(1)
        rows = (torch.minimum(top + h, torch.tensor(32.)) - top.clamp(0))
        cols = (torch.minimum(left + w, torch.tensor(24.)) - left.clamp(0))
        torch.testing.assert_close(full.mean((1, 2, 3)),
                                   rows * cols / (32 * 24))
        assert (params['extent'] == torch.tensor([32., 24.])).all()
    elif method == 'gridmix':  # square holes of the cell's area, clipped
        box = params['box']
        cell, hole = box[:, :, 2], box[:, :, 3]
        side = cell.prod(1, keepdim=True).sqrt()
        torch.testing.assert_close(hole, torch.minimum(side, cell))
        region = box[:, :, 1].prod(1) / (32 * 24)
        assert (full.mean((1, 2, 3)) <= region + 1 / 24).all()
        assert full.mean() > 0.3
    else:
        assert (full == 1).all(), full.mean((1, 2, 3))


def test_mixup_mean_exact():
    lam = torch.rand(1000)
    mask = make_mask('mixup', lam, (24, 40))
    assert torch.allclose(mask.mean((1, 2, 3)), lam, atol=1e-6)


@pytest.mark.parametrize('size', SIZES)
@pytest.mark.parametrize('max_soft', [0.0, 0.1])
def test_fmix_mean_exact(size, max_soft):
    torch.manual_seed(1)
    lam = torch.rand(1000)
    mask = make_mask('fmix', lam, size, max_soft=max_soft)
    hw = size[0] * size[1]
    err = (mask.mean((1, 2, 3)) - lam).abs()
    # Exactly round(lam * H * W) pixels: within half a pixel (+ float sums).
    assert err.max() <= 0.5 / hw + 1e-5
    if max_soft == 0:
        assert ((mask == 0) | (mask == 1)).all()
    else:
        assert ((mask > 0) & (mask < 1)).any()


def test_fmix_is_low_frequency():
    """Thresholded 1/f^3 noise gives few large blobs: the mask's edge
    length is far below that of thresholded white noise."""
    torch.manual_seed(2)
    lam = torch.full((200, ), 0.5)
    mask = make_mask('fmix', lam, (64, 64))
    edges = (mask[..., 1:, :] != mask[..., :-1, :]).float().mean()
    white = (torch.rand(200, 1, 64, 64) < 0.5).float()
    white_edges = (white[..., 1:, :] != white[..., :-1, :]).float().mean()
    assert edges < 0.15 * white_edges


@pytest.mark.parametrize('size', SIZES)
def test_cutmix_exact_before_clipping(size):
    """A centred box (no clipping) covers lam * H * W pixels to within half a
    row, and the mask is binary."""
    torch.manual_seed(3)
    h, w = size
    lam = torch.rand(1000)
    params = sample_cutmix(lam, size)
    box_h, box_w = params['extent'].unbind(1)
    params['corner'] = torch.floor((torch.tensor([h, w]) -
                                    params['extent']) / 2)
    mask = render_cutmix(params, size)
    assert ((mask == 0) | (mask == 1)).all()
    area = mask.sum((1, 2, 3))
    assert torch.equal(area, box_h * box_w)
    assert ((area - lam * h * w).abs() <=
            box_h.clamp_min(1) / 2 + 1e-4).all()


def test_cutmix_clipped_mean_below_lam():
    torch.manual_seed(4)
    lam = torch.rand(2000)
    mean = make_mask('cutmix', lam, (32, 32)).mean((1, 2, 3))
    # Clipping at the borders only removes pixels (up to rounding).
    assert (mean - lam <= 0.5 * 32 / 1024 + 1e-6).all()
    assert (mean - lam).mean() < -0.05


def test_gridmix_statistics():
    """Over 2,000 draws with lam in [0.2, 0.5] (where the holes fit), the
    cover is lam on average within 0.02, and within 0.15 for each draw."""
    torch.manual_seed(5)
    lam = 0.2 + 0.3 * torch.rand(2000)
    mask = make_mask('gridmix', lam, (32, 32))
    err = mask.mean((1, 2, 3)) - lam
    assert err.mean().abs() < 0.02
    assert err.abs().max() < 0.15
    assert ((mask == 0) | (mask == 1)).all()
    # Several holes: a grid, not one box. Count the runs of rows with
    # holes: GridMix has two or more in most masks (2-6 holes a side),
    # CutMix, one box, never.
    def runs(masks):
        rows = (masks.sum(-1) > 0).squeeze(1)
        starts = rows[:, 1:] & ~rows[:, :-1]
        return starts.sum(1) + rows[:, 0]

    assert (runs(mask) >= 2).float().mean() > 0.75
    torch.manual_seed(5)
    boxes = make_mask('cutmix', lam, (32, 32))
    assert (runs(boxes) == 1).all()


@pytest.mark.parametrize('method', ['gmix', 'agmix'])
def test_gaussian_mean_statistics(method):
    """Untruncated blobs integrate to lam * H * W: centred, small blobs have
    mean lam within 3%; with uniform centres, 2,000 draws stay below lam
    (truncation at the borders) and above lam / 5 on average."""
    torch.manual_seed(6)
    size = (64, 64)
    lam = 0.02 + 0.08 * torch.rand(1000)
    spec = MASK_METHODS[method]
    params = spec.sample(lam, size)
    params['cy'] = torch.full_like(lam, 32.0)
    params['cx'] = torch.full_like(lam, 32.0)
    if method == 'agmix':
        params['q'] = params['q'].clamp(-0.6, 0.6)
    mean = spec.render(params, size).mean((1, 2, 3))
    assert ((mean / lam - 1).abs() < 0.03).all()


@pytest.mark.parametrize('method', ['gmix', 'agmix'])
def test_gaussian_smaller_share_rule(method):
    """The mask convention (docs/design.md): the blob carries
    min(lam, 1 - lam) and is inverted above 1/2, so the delivered share is
    close to the asked one on both sides (a blob of the larger share gave
    0.30-0.44 at lam = 0.5-0.9). Over 2,000 uniform centres per
    lam = 0.1 ... 0.9 at 32x32: truncation only moves the mean towards 1/2,
    by at most 0.45 min(lam, 1 - lam) + 0.01, and the rule is symmetric."""
    torch.manual_seed(11)
    means = {}
    for lam in [0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9]:
        mask = make_mask(method, torch.full((2000, ), lam), (32, 32))
        means[lam] = mean = mask.mean().item()
        small = min(lam, 1 - lam)
        assert abs(mean - lam) <= 0.45 * small + 0.01, (lam, mean)
        assert (mean <= lam + 1e-6) if lam <= 0.5 else (mean >= lam), lam
    for lam in [0.1, 0.2, 0.3, 0.4]:
        assert abs(means[lam] + means[round(1 - lam, 1)] - 1) < 0.03
    assert means[0.9] > 0.9 and means[0.7] > 0.75


def _second_moments(mask):
    """Covariance of the pixel coordinates weighted by the mask: (N, 2, 2)."""
    n, _, h, w = mask.shape
    ys = torch.arange(h, dtype=torch.float32).view(1, h, 1)
    xs = torch.arange(w, dtype=torch.float32).view(1, 1, w)
    m = mask[:, 0]
    total = m.sum((1, 2))
    my = (m * ys).sum((1, 2)) / total
    mx = (m * xs).sum((1, 2)) / total
    dy = ys - my.view(-1, 1, 1)
    dx = xs - mx.view(-1, 1, 1)
    vyy = (m * dy * dy).sum((1, 2)) / total
    vxx = (m * dx * dx).sum((1, 2)) / total
    vxy = (m * dx * dy).sum((1, 2)) / total
    return torch.stack([vxx, vxy, vxy, vyy], 1).view(n, 2, 2)


def test_agmix_anisotropic_and_rotated():
    """Centred blobs: GMix's second moments are isotropic; AGMix's are
    elongated, along directions spread over all angles."""
    torch.manual_seed(7)
    size, n = (64, 64), 1000
    lam = torch.full((n, ), 0.05)
    cov = {}
    for method in ('gmix', 'agmix'):
        spec = MASK_METHODS[method]
        params = spec.sample(lam, size)
        params['cy'] = torch.full_like(lam, 32.0)
        params['cx'] = torch.full_like(lam, 32.0)
        cov[method] = _second_moments(spec.render(params, size))
    eig = torch.linalg.eigvalsh(cov['gmix'])
    assert (eig[:, 1] / eig[:, 0] < 1.02).all()
    assert (cov['gmix'][:, 0, 1].abs() < 0.01 * eig[:, 1]).all()

    eig, vec = torch.linalg.eigh(cov['agmix'])
    ratio = eig[:, 1] / eig[:, 0]
    # q ~ U(-1, 1): axis ratio sqrt((1+|q|)/(1-|q|)) > 1.5 when |q| > 0.38.
    assert (ratio > 1.5).float().mean() > 0.5
    # Orientation of the major axis, in [0, pi): spread over all quadrants.
    angle = torch.atan2(vec[:, 1, 1], vec[:, 0, 1]) % math.pi
    elongated = angle[ratio > 1.5]
    hist = torch.histc(elongated, bins=4, min=0, max=math.pi)
    assert (hist > 0.1 * elongated.numel()).all()


def _point_rule(affine, size):
    """Where each output pixel samples the mask, written out: ``A (p - c)
    + c`` for the pixel centre ``p = (x, y)``, the image centre ``c`` and
    ``A`` on ``(x, y)``; returns ``(y, x)``, float64 ``(H, W)``."""
    h, w = size
    ys = torch.arange(h, dtype=torch.float64) + 0.5
    xs = torch.arange(w, dtype=torch.float64) + 0.5
    y, x = torch.meshgrid(ys, xs, indexing='ij')
    a = affine.double()
    dx, dy = x - w / 2, y - h / 2
    return (a[1, 0] * dx + a[1, 1] * dy + h / 2,
            a[0, 0] * dx + a[0, 1] * dy + w / 2)


def _rotation_then_shear(degrees, shear_degrees):
    """``R(t) S(s)`` on ``(x, y)``: ``R = [[cos t, -sin t], [sin t, cos
    t]]``, ``S = [[1, tan s], [0, 1]]``, written out."""
    t, sh = math.radians(degrees), math.radians(shear_degrees)
    rot = torch.tensor([[math.cos(t), -math.sin(t)],
                        [math.sin(t), math.cos(t)]], dtype=torch.float64)
    shear = torch.tensor([[1.0, math.tan(sh)], [0.0, 1.0]],
                         dtype=torch.float64)
    return rot @ shear


def test_warp_convention_off_centre_bar():
    """An off-centre bar (rows 8-15, columns 30-53 of 48x64) rotated by
    +30 degrees and sheared by +15: every pixel of the rendered box is 1
    exactly where the point rule puts it inside the bar. The angle's sign,
    the transposed matrix and S R instead of R S each give other masks."""
    size = (48, 64)
    params = {'lam': torch.tensor([0.06]),
              'corner': torch.tensor([[8.0, 30.0]]),
              'extent': torch.tensor([[8.0, 24.0]])}
    affine = rotation_shear(torch.tensor([math.radians(30.0)]),
                            torch.tensor([math.radians(15.0)]))
    want = _rotation_then_shear(30, 15)
    torch.testing.assert_close(affine[0].double(), want, rtol=0, atol=1e-6)
    mask = render_cutmix(params, size, affine)[0, 0]

    def bar(matrix):
        y, x = _point_rule(matrix, size)
        return ((y >= 8) & (y < 16) & (x >= 30) & (x < 54)).float()

    expected = bar(want)
    assert 150 < expected.sum() < 250
    disagree = (mask != expected).sum()
    assert disagree <= 2, disagree  # float rounding on an edge, at most
    for wrong in (_rotation_then_shear(-30, 15), want.T,
                  torch.tensor([[1.0, math.tan(math.radians(15))],
                                [0.0, 1.0]], dtype=torch.float64) @
                  _rotation_then_shear(30, 0)):
        assert (mask != bar(wrong)).sum() > 40


def test_resampling_follows_the_point_rule():
    """``geometry.warp`` (FMix's noise, the second view) samples each pixel
    at the point rule's place: a smooth ramp image, warped by the same
    rotation and shear, equals the ramp evaluated there (inside the
    image, away from the reflected border)."""
    from mmmiamix.core.geometry import warp
    size = (48, 64)
    y0, x0 = _point_rule(torch.eye(2), size)
    ramp = (0.5 * x0 + 0.25 * y0).float().view(1, 1, *size)
    affine = rotation_shear(torch.tensor([math.radians(30.0)]),
                            torch.tensor([math.radians(15.0)]))
    y, x = _point_rule(_rotation_then_shear(30, 15), size)
    inside = (y > 1) & (y < size[0] - 1) & (x > 1) & (x < size[1] - 1)
    want = 0.5 * x + 0.25 * y
    for lean in (False, True):
        got = warp(ramp, affine, lean=lean)[0, 0].double()
        torch.testing.assert_close(got[inside], want[inside], rtol=0,
                                   atol=1e-3)
        assert inside.float().mean() > 0.5


def test_rotated_cutmix_is_exact_binary_box():
    size = (64, 64)
    lam = torch.full((1, ), 0.25)
    params = sample_cutmix(lam, size)
    params['corner'] = torch.tensor([[16.0, 16.0]])
    affine = rotation_shear(torch.tensor([math.pi / 4]), torch.tensor([0.0]))
    mask = render_cutmix(params, size, affine)
    assert ((mask == 0) | (mask == 1)).all()
    # Rotating a centred square by 45 degrees keeps its area...
    assert abs(mask.sum().item() - 32 * 32) < 0.03 * 32 * 32
    # ... and makes a diamond: the middle row is wider than the top one.
    rows = mask[0, 0].sum(1)
    nonzero = rows.nonzero().squeeze(1)
    assert rows[32] > 2 * rows[nonzero[0]]


@pytest.mark.parametrize('method', ['cutmix', 'gridmix'])
@pytest.mark.parametrize('size', [(32, 32), (24, 40)])
def test_unwarped_boxes_render_separably_as_the_identity_warp(method, size):
    """With no warp the boxes render as rows x columns; that equals the
    general path given the identity, bit for bit."""
    torch.manual_seed(12)
    lam = torch.rand(64)
    spec = MASK_METHODS[method]
    params = spec.sample(lam, size)
    identity = torch.eye(2).expand(64, 2, 2)
    plain = spec.render(params, size)
    assert torch.equal(plain, spec.render(params, size, identity))
    assert ((plain == 0) | (plain == 1)).all()
    turned = spec.render(params, size, rotation_shear(
        torch.full((64, ), 0.3), torch.zeros(64)))
    assert not torch.equal(plain, turned)  # the general path still warps
    assert (plain.sum(dim=(1, 2, 3)) > 0).float().mean() > 0.9


def test_rotated_fmix_keeps_exact_mean():
    torch.manual_seed(8)
    size = (32, 48)
    lam = torch.rand(50)
    params = sample_fmix(lam, size)
    affine = rotation_shear(torch.rand(50) - 0.5, torch.rand(50) - 0.5)
    mask = render_fmix(params, size, affine)
    err = (mask.mean((1, 2, 3)) - lam).abs()
    assert err.max() <= 0.5 / (32 * 48) + 1e-5


def test_box_filter():
    torch.manual_seed(9)
    const = torch.full((3, 1, 16, 20), 0.7)
    assert torch.allclose(box_filter(const, 5), const, atol=1e-5)
    mask = make_mask('cutmix', torch.full((100, ), 0.3), (32, 32))
    smooth = box_filter(mask, 7)
    assert smooth.shape == mask.shape
    assert smooth.min() >= -1e-6 and smooth.max() <= 1 + 1e-6
    # Softened edges: fractional values appear where the box had edges.
    assert ((smooth > 0.01) & (smooth < 0.99)).sum() > 0
    # Replicated borders keep the mean close.
    assert (smooth.mean((1, 2, 3)) - mask.mean((1, 2, 3))).abs().max() < 0.05
    # Matches a direct average over the window, away from the borders.
    direct = torch.nn.functional.avg_pool2d(mask, 7, stride=1)
    assert torch.allclose(smooth[..., 3:-3, 3:-3], direct, atol=1e-5)


def test_default_smooth_windows():
    assert default_smooth_windows((64, 64)) == (5, 7, 11, 13)
    assert default_smooth_windows((224, 224)) == (9, 15, 25, 35, 45)
    assert default_smooth_windows((32, 32)) == (3, 5, 7)
    for size in [(8, 8), (24, 40), (100, 300)]:
        windows = default_smooth_windows(size)
        assert all(w % 2 == 1 and 3 <= w <= min(size) for w in windows)


def test_generator_makes_masks_reproducible():
    for method in MASK_METHODS:
        lam = torch.rand(6)
        a = make_mask(method, lam, (16, 16),
                      torch.Generator().manual_seed(3))
        b = make_mask(method, lam, (16, 16),
                      torch.Generator().manual_seed(3))
        assert torch.equal(a, b)


def test_unknown_method():
    with pytest.raises(ValueError, match='method must be one of'):
        make_mask('saliencymix', torch.rand(2), (8, 8))


def test_core_imports_without_openmmlab():
    """The core serves timm or a bare loop: it must import with mmengine,
    mmcv and mmpretrain absent."""
    code = ('import sys\n'
            'for m in ("mmpretrain", "mmengine", "mmcv"):\n'
            '    sys.modules[m] = None\n'
            'import mmmiamix.core as core\n'
            'import torch\n'
            'x = torch.rand(4, 3, 16, 16)\n'
            'y = torch.eye(4)\n'
            'out, s = core.MiAMix()(x, y)\n'
            'assert out.shape == x.shape\n'
            'assert not any(k.split(".")[0] in ("mmpretrain", "mmengine",'
            ' "mmcv") for k, v in sys.modules.items() if v is not None)\n'
            'print("ok")\n')
    res = subprocess.run([sys.executable, '-c', code], capture_output=True,
                         text=True)
    assert res.returncode == 0, res.stderr
    assert res.stdout.strip() == 'ok'


def test_saliency_finds_the_odd_region():
    """Spectral-residual saliency peaks near a small bright square on a
    faint textured background, wherever it is, on any image size."""
    from mmmiamix.core import salient_points
    g = torch.Generator().manual_seed(0)
    for size, (y, x) in [((64, 64), (28, 36)), ((96, 160), (60, 40)),
                         ((224, 224), (100, 150)), ((64, 64), (40, 8))]:
        img = 0.2 * torch.rand(1, 3, *size, generator=g)
        img[..., y:y + 8, x:x + 8] = 1
        cy, cx = salient_points(img)[0].tolist()
        assert abs(cy - (y + 4)) <= 8 and abs(cx - (x + 4)) <= 8, (size, cy,
                                                                  cx)


def test_saliencymix_centres_box_on_partner_saliency():
    from mmmiamix.core import SaliencyMix, salient_points
    torch.manual_seed(0)
    x = 0.2 * torch.rand(4, 3, 64, 64)
    for i in range(4):
        x[i, :, 8 + 10 * i:16 + 10 * i, 40 - 8 * i:48 - 8 * i] = 1
    aug = SaliencyMix(alpha=1.0)
    params = aug.place(aug.sample(4, (64, 64), 'cpu'), x)
    centre = salient_points(x[params['perm']])
    box_cy, box_cx = (params['corner'] + params['extent'] / 2).unbind(1)
    assert ((box_cy - centre[:, 0]).abs() <= 1).all()
    assert ((box_cx - centre[:, 1]).abs() <= 1).all()


def test_fmix_select_by_sort_equals_kthvalue():
    """The dense path thresholds with a sort, the compact one with a padded
    kthvalue: the same masks, ties and the extremes included."""
    _fmix_rank_select = fmix_module._fmix_rank_select
    torch.manual_seed(12)
    flat = torch.randn(64, 300)
    flat[0] = 0.5  # a row of ties
    flat[1, ::3] = 1.0  # many ties
    count = torch.randint(0, 301, (64, 1)).float()
    count[2], count[3] = 0, 300
    a = _fmix_rank_select(flat, count, 'sort')
    b = _fmix_rank_select(flat, count, 'kth')
    assert torch.equal(a, b)
    assert torch.equal(a.sum(1, keepdim=True), count)
    top = flat.masked_fill(a == 0, float('inf')).amin(1)
    rest = flat.masked_fill(a == 1, float('-inf')).amax(1)
    assert (top >= rest).all()  # the ones hold the largest values


@pytest.mark.parametrize('case', ['noise', 'ties', 'fallback'])
def test_fmix_band_select_equals_sort(case, monkeypatch):
    """The CPU's band select (a sample's bounds around the threshold, then
    a padded kthvalue inside the band) gives the sort's masks: smooth noise,
    rows of ties, the extremes, and rows whose strided sample misleads the
    bounds (then the whole batch falls back to the full kthvalue)."""
    masks = fmix_module
    monkeypatch.setattr(masks, 'SELECT_SAMPLE', 64)
    torch.manual_seed(14)
    n, p = 32, 1600
    if case == 'noise':
        flat = masks.fmix_noise(sample_fmix(torch.rand(n), (40, 40)),
                                (40, 40)).view(n, p)
    else:
        flat = torch.randn(n, p)
        flat[0] = 0.5  # a row of ties
        flat[1, ::3] = 1.0  # many ties
    if case == 'fallback':
        flat[4] = 1.0
        flat[4, ::25] = 0.0  # the stride-25 sample sees only the zeros
    count = torch.randint(0, p + 1, (n, 1)).float()
    count[2], count[3], count[4] = 0, p, p // 2
    fallbacks = []
    full = masks._padded_kth
    monkeypatch.setattr(masks, '_padded_kth', lambda f, c: (
        fallbacks.append(c is count) or full(f, c)))
    got = masks._fmix_rank_select(flat, count, 'band')
    assert any(fallbacks) == (case == 'fallback')
    want = masks._fmix_rank_select(flat, count, 'sort')
    assert torch.equal(got, want)
    assert torch.equal(got.sum(1, keepdim=True), count)


def test_smoothing_is_gaussian_by_default_box_as_option():
    """Paper §4.7: Gaussian kernels with OpenCV's sigma for the
    window; §3.2.3's average filter as smooth_filter='box'. Each mask is
    filtered with its own window in one pass."""
    from mmmiamix.core import MiAMix, smooth_masks, smoothing_kernels
    from mmmiamix.core.mask_augment import gaussian_sigma
    windows = (5, 9, 45)
    gauss = smoothing_kernels(windows, 'gaussian')
    assert gauss.shape == (4, 45)
    assert torch.allclose(gauss.sum(1), torch.ones(4))
    for row, k in zip(gauss, windows):
        sigma = 0.3 * ((k - 1) * 0.5 - 1) + 0.8
        assert gaussian_sigma(k) == pytest.approx(sigma)
        taps = row[row > 0]
        assert taps.numel() == k
        x = torch.arange(k, dtype=torch.float64) - (k - 1) / 2
        want = torch.exp(-x ** 2 / (2 * sigma ** 2))
        assert torch.allclose(taps.double(), want / want.sum(), atol=1e-6)
    box = smoothing_kernels(windows, 'box')
    assert torch.allclose(box[0][box[0] > 0], torch.full((5, ), 0.2))
    # per-mask windows in one call equal one call per window
    masks = make_mask('cutmix', torch.full((3, ), 0.3), (32, 32))
    both = smooth_masks(masks, box[:3])
    for i, k in enumerate(windows):
        single = smooth_masks(masks[i:i + 1],
                              smoothing_kernels((k, ), 'box')[:1])
        assert torch.allclose(both[i], single[0], atol=1e-6)
    # the box option matches the integral-image box filter
    assert torch.allclose(smooth_masks(masks[:1], box[:1]), box_filter(
        masks[:1], 5), atol=1e-5)
    assert MiAMix().smooth_filter == 'gaussian'
    # a Gaussian smooths less than the box of the same window
    g = smooth_masks(masks[:1], gauss[:1])
    b = smooth_masks(masks[:1], box[:1])
    soft = ((g > 0.01) & (g < 0.99)).sum()
    assert 0 < soft < ((b > 0.01) & (b < 0.99)).sum()


def test_separable_smoothing_equals_the_two_dimensional_one():
    """The compact path smooths unwarped boxes as rows times columns: equal
    to smoothing the rendered mask, edges included."""
    from mmmiamix.core.mask_augment import (
        smooth_masks,
        smooth_separable,
        smoothing_kernels,
    )
    torch.manual_seed(13)
    size = (40, 28)
    spec = MASK_METHODS['gridmix']
    box = spec.stack(spec.sample(torch.rand(9) * 0.6, size), size)
    box[0, :, 0] = -3.0  # a box over the top-left corner: replicated edges
    kernels = smoothing_kernels((3, 7, 11))[torch.arange(9) % 4]
    rows, cols = box_axes(box, size)
    plain = render_boxes(box, size)
    assert torch.equal((rows & cols).float(), plain)
    got = smooth_separable(rows.float(), cols.float(), kernels)
    want = smooth_masks(plain, kernels)
    assert not torch.equal(want, plain)
    torch.testing.assert_close(got, want, rtol=0, atol=1e-6)
