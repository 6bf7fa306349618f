"""MiAMix's stages: statistics of the draws, masks, merges and dtypes."""
import pytest
import torch

from mmmiamix.core import MiAMix


def batch(b=8, size=(16, 16), classes=5):
    x = torch.rand(b, 3, *size)
    y = torch.nn.functional.one_hot(torch.arange(b) % classes, classes)
    return x, y


def test_layer_and_method_frequencies():
    aug = MiAMix(k_max=3, layer_weights=(1, 2, 1),
                 method_weights=(2, 1, 1, 1, 1))
    torch.manual_seed(0)
    n = 20000
    p = aug.sample(n, (8, 8), 'cpu')
    freq_k = torch.bincount(p.k, minlength=4)[1:].float() / n
    assert torch.allclose(freq_k, torch.tensor([0.25, 0.5, 0.25]), atol=0.015)
    active = p.active
    # Exactly k active layers per sample, the first ones.
    assert torch.equal(active.sum(1), p.k)
    assert torch.equal(active, torch.arange(3) < p.k[:, None])
    freq_m = torch.bincount(p.method[active], minlength=5).float()
    freq_m /= active.sum()
    assert torch.allclose(freq_m, torch.tensor([2, 1, 1, 1, 1.]) / 6,
                          atol=0.01)


def test_per_slot_marginals_over_many_calls():
    """The stratified draws keep every slot's own probabilities: over many
    calls of a small batch, each sample's k and self-pairing and each
    slot's method, warp and smoothing have the paper's marginals (and warp
    and smoothing are independent); inside one call the self-pairings are
    the floor or the ceiling of their expectation (1.8), and the samples
    with one layer are within those of the joint (self, k) categories
    (0.9 and 2.1)."""
    b, calls = 6, 2000
    aug = MiAMix(p_self=0.3, p_aug=0.25, p_smooth=0.5)
    torch.manual_seed(13)
    k, self_, method, warp, smooth = [], [], [], [], []
    for _ in range(calls):
        d = aug.sample(b, (16, 16), 'cpu')
        k.append(d.k)
        self_.append(d.partner == torch.arange(b))
        method.append(d.method)
        warp.append(d.warp)
        smooth.append(d.smooth)
        assert 2 <= d.k.eq(1).sum() <= 4 and self_[-1].sum() in (1, 2)
    k, self_ = torch.stack(k).float(), torch.stack(self_).float()
    method, warp, smooth = (torch.stack(t) for t in (method, warp, smooth))

    def close(freq, p, n):  # within 4.5 binomial standard deviations
        bound = 4.5 * (p * (1 - p) / n) ** 0.5
        assert ((freq - p).abs() <= bound).all(), (freq, p, bound)

    for i in (0, 5):  # first and last sample
        close(k[:, i].eq(2).float().mean(), 0.5, calls)
        close(self_[:, i].mean(), 0.3, calls)
        for j in (0, 1):
            m = method[:, i, j]
            on = m >= 0
            n = int(on.sum())
            for index, weight in enumerate((2, 1, 1, 1, 1)):
                close((m[on] == index).float().mean(), weight / 6, n)
            aug_on = on & (m >= 1) & (m <= 3)  # cutmix, fmix, gridmix
            n = int(aug_on.sum())
            w, sm = warp[:, i, j][aug_on], smooth[:, i, j][aug_on]
            close(w.float().mean(), 0.25, n)
            close(sm.float().mean(), 0.5, n)
            close((w & sm).float().mean(), 0.125, n)
            assert not warp[:, i, j][~aug_on].any()


def test_dirichlet_ratios():
    """(lam_1..lam_k, lam_base) ~ Dir(a, ..., a, k a): means a / (2 k a)."""
    torch.manual_seed(1)
    aug = MiAMix(alpha=2.0, k_max=2, layer_weights=(0, 1))  # always k = 2
    p = aug.sample(20000, (8, 8), 'cpu')
    lam = p.ratios
    assert torch.allclose(lam.sum(1), torch.ones(20000), atol=1e-5)
    assert torch.allclose(lam.mean(0), torch.tensor([0.25, 0.25, 0.5]),
                          atol=0.01)
    # Var of the base share: Beta(k a, k a) = 1 / (4 (2 k a + 1)).
    assert abs(lam[:, 2].var().item() - 1 / 36) < 0.003


def test_orig_lambda_base_share_is_half():
    torch.manual_seed(2)
    aug = MiAMix(lam_merge='orig')
    x, y = batch(4000, (8, 8), 4)
    y = y.float()
    p = aug.sample(4000, (8, 8), 'cpu')
    _, scores = aug.apply(x, y, p)
    base = p.ratios[:, -1]
    assert abs(base.mean().item() - 0.5) < 0.01
    own = (scores * y).sum(1)
    partner = y[p.partner]
    own += ((scores * partner).sum(1) * (p.partner == torch.arange(4000)))
    same = (y.argmax(1) == partner.argmax(1))
    assert torch.allclose(own[~same], base[~same], atol=1e-5)


def test_mixup_single_layer_follows_beta():
    """methods=('mixup',), k = 1: the label weight is Beta(a, a)."""
    torch.manual_seed(3)
    alpha = 2.0
    aug = MiAMix(alpha=alpha, k_max=1, methods=('mixup', ),
                 method_weights=(1, ), p_self=0.0)
    x, y = batch(20000, (8, 8), 2)
    d = aug.explain(x, y)
    lam = d['weight']
    assert abs(lam.mean().item() - 0.5) < 0.01
    assert abs(lam.var().item() - 1 / (4 * (2 * alpha + 1))) < 0.003
    # Constant masks: the keep mask is lam everywhere.
    assert torch.allclose(d['keep'].amax((1, 2, 3)), lam, atol=1e-6)


def test_self_mixing_probability():
    x, y = batch(64)
    torch.manual_seed(4)
    p = MiAMix(p_self=0.0).sample(2000, (8, 8), 'cpu')
    assert (p.partner != torch.arange(2000)).all()
    aug = MiAMix(p_self=1.0)
    mixed, scores = aug(x, y)
    assert torch.equal(scores, y.float())
    assert not torch.allclose(mixed, x)  # mixed with a *different* view
    p = MiAMix(p_self=0.3).sample(20000, (8, 8), 'cpu')
    assert abs((p.partner == torch.arange(20000)).float().mean() - 0.3) \
        < 0.015


def test_second_view_maps_constant_image_to_itself():
    aug = MiAMix(p_self=1.0)
    x = torch.full((6, 3, 20, 28), 0.3)
    mixed, _ = aug(x, torch.eye(6))
    assert torch.allclose(mixed, x, atol=1e-6)


def test_cutmix_without_augmentation_is_binary():
    torch.manual_seed(5)
    aug = MiAMix(methods=('cutmix', ), method_weights=(1, ), p_aug=0.0,
                 p_smooth=0.0)
    d = aug.explain(*batch(50, (32, 32)))
    keep = d['keep']
    assert ((keep == 0) | (keep == 1)).all()


def test_smoothing_softens_edges():
    torch.manual_seed(6)
    aug = MiAMix(methods=('cutmix', ), method_weights=(1, ), p_aug=0.0,
                 p_smooth=1.0, k_max=1)
    d = aug.explain(*batch(50, (32, 32)))
    raw, cut = d['raw_cut'], d['cut']
    assert ((raw == 0) | (raw == 1)).all()
    fractional = ((cut > 0.01) & (cut < 0.99)).flatten(1).any(1)
    has_edge = (raw > 0).flatten(1).any(1) & (raw < 1).flatten(1).any(1)
    assert fractional[has_edge].all()
    assert torch.equal(d['draws'].smooth, torch.ones(50, 1, dtype=torch.bool))


def test_rotation_changes_masks():
    torch.manual_seed(7)
    aug = MiAMix(methods=('cutmix', 'gridmix', 'fmix'),
                 method_weights=(1, 1, 1), p_aug=1.0, p_smooth=0.0)
    d = aug.explain(*batch(40, (32, 32)))
    active = d['draws'].active
    changed = (d['cut'] != d['raw_cut']).flatten(2).any(2)
    assert changed[active].float().mean() > 0.8
    assert d['draws'].warp[active].all()


def test_mixup_and_agmix_never_augmented():
    torch.manual_seed(8)
    aug = MiAMix(methods=('mixup', 'agmix', 'gmix'), method_weights=(1, 1, 1),
                 p_aug=1.0, p_smooth=1.0)
    d = aug.explain(*batch(40, (32, 32)))
    assert torch.equal(d['cut'], d['raw_cut'])
    assert not d['draws'].warp.any()
    assert not d['draws'].smooth.any()


def test_merges():
    torch.manual_seed(10)
    for merge in ('mul', 'sum'):
        aug = MiAMix(mask_merge=merge, k_max=3, layer_weights=(0, 0, 1))
        d = aug.explain(*batch(20, (16, 16)))
        cut = d['cut']
        expected = ((1 - cut).prod(1, keepdim=True) if merge == 'mul' else
                    1 - cut.sum(1, keepdim=True).clamp(max=1))
        # the keep mask merges each row into its sample as it renders; the
        # recorded cut masks are the same rows, slot by slot
        assert torch.allclose(d['keep'], expected, atol=1e-6)
        assert torch.equal(d['weight'], d['keep'].mean((1, 2, 3)))
        # every sample has 3 layers here: each slot got its own mask
        assert (cut.flatten(2).amax(2) > 0).float().mean() > 0.9


@pytest.mark.parametrize('dtype', [torch.float16, torch.bfloat16])
def test_half_precision(dtype):
    x, y = batch(8, (16, 16))
    mixed, scores = MiAMix()(x.to(dtype), y)
    assert mixed.dtype == dtype
    assert scores.dtype == torch.float32
    # Constant images: label weights still match the pixel weights.
    values = torch.arange(1, 9, dtype=torch.float32)
    const = values.view(8, 1, 1, 1).expand(8, 3, 16, 16).to(dtype)
    mixed, scores = MiAMix()(const, torch.eye(8))
    assert torch.allclose(mixed.float().mean((1, 2, 3)), scores @ values,
                          rtol=1e-2)


def test_channels_last():
    x, y = batch(8, (16, 16))
    x = x.contiguous(memory_format=torch.channels_last)
    mixed, _ = MiAMix()(x, y)
    assert mixed.is_contiguous(memory_format=torch.channels_last)


def test_two_view_partners_come_from_second_view():
    """With a second view, every partner (self or not) is taken from it."""
    torch.manual_seed(11)
    b = 6
    x = torch.zeros(b, 3, 16, 16)
    views = torch.ones(b, 3, 16, 16)
    aug = MiAMix(p_self=0.5)
    d = aug.explain(x, torch.eye(b), second_view=views)
    assert torch.equal(d['partner_images'], views)
    assert torch.allclose(d['mixed'], 1 - d['keep'].expand(b, 3, 16, 16))


def test_generator_argument():
    x, y = batch(6)
    aug = MiAMix()
    a = aug(x, y, generator=torch.Generator().manual_seed(5))
    b = aug(x, y, generator=torch.Generator().manual_seed(5))
    assert torch.equal(a[0], b[0])


@pytest.mark.parametrize('kwargs, match', [
    (dict(k_max=0), 'k_max'),
    (dict(k_max=1.5), 'k_max'),
    (dict(layer_weights=(1, 1, 1)), 'layer_weights'),
    (dict(layer_weights=(0, 0)), 'layer_weights'),
    (dict(method_weights=(1, 1)), 'method_weights'),
    (dict(method_weights=(0, 0, 0, 0, 0)), 'method_weights'),
    (dict(method_weights=(-1, 1, 1, 1, 1)), 'method_weights'),
    (dict(methods=('mixup', 'saliencymix'), method_weights=(1, 1)),
     'methods'),
    (dict(methods=('mixup', 'mixup'), method_weights=(1, 1)), 'methods'),
    (dict(methods='mixup'), 'methods'),
    (dict(mask_merge='max'), 'mask_merge'),
    (dict(lam_merge='out'), 'lam_merge'),
    (dict(p_self=1.5), 'p_self'),
    (dict(p_aug=-0.1), 'p_aug'),
    (dict(p_smooth=2), 'p_smooth'),
    (dict(alpha=0), 'alpha'),
    (dict(smooth_windows=(4, 6)), 'smooth_windows'),
    (dict(rotation_range=(45, -45)), 'rotation_range'),
    (dict(view_cfg=dict(flip=2.0)), 'view_cfg.flip'),
    (dict(method_kwargs=dict(fmix=dict(max_soft=0.9))), 'max_soft'),
])
def test_bad_arguments(kwargs, match):
    with pytest.raises((ValueError, TypeError), match=match):
        MiAMix(**kwargs)


def test_bad_second_view():
    x, y = batch(4)
    with pytest.raises(ValueError, match='second_view'):
        MiAMix()(x, y, second_view=torch.rand(4, 3, 8, 8))


def test_call_has_no_host_read_on_its_sync_free_path():
    """A GPU call must run asynchronously: no op may read a device value
    back to the host (``.item()``, ``bool(tensor)``, ``nonzero``,
    boolean-mask indexing, a copy to the host, a tensor literal). Checked
    by running the call on ``meta`` tensors (the structure of a GPU call,
    without data: any such read fails there) under a recorder."""
    from mmmiamix.utils.profiling import host_reads
    x, y = batch(6, (24, 40))
    for kwargs in (dict(p_aug=1.0, p_smooth=1.0, p_self=0.5),
                   dict(mask_merge='sum', lam_merge='orig', k_max=3),
                   dict(prob=0.7, label_smoothing=0.1, num_classes=5),
                   dict(methods=('mixup', 'cutmix', 'fmix', 'gridmix',
                                 'gmix', 'agmix'),
                        method_weights=(1, ) * 6)):
        aug = MiAMix(**kwargs)
        labels = y.argmax(1) if 'num_classes' in kwargs else y
        assert host_reads(aug, x, labels) == []
        assert host_reads(lambda a, t: aug(a, t, second_view=a.flip(-1)),
                          x, labels) == []
        assert host_reads(aug.mix_recorded, x, labels) == []
    # the CPU's eager path reads values back by design (free there), and
    # the checker sees it
    found = host_reads(lambda a, t: MiAMix()(a.cpu(), t.cpu()), x, y)
    assert found and 'copy' in found[0]


def test_host_read_checker_catches_an_item():
    from mmmiamix.utils.profiling import host_reads
    x, y = batch(6)

    def reads(a, t):
        mixed, scores = MiAMix()(a, t)
        return mixed * scores.sum().item()

    found = host_reads(reads, x, y)
    assert found and found[0].startswith('_local_scalar_dense')


def test_under_autocast():
    """`--amp` runs the data preprocessor inside autocast: outputs keep the
    input dtype and label weights still equal pixel weights."""
    values = torch.arange(1, 9, dtype=torch.float32)
    const = values.view(8, 1, 1, 1).expand(8, 3, 16, 16).contiguous()
    aug = MiAMix(p_aug=1.0, p_smooth=1.0, p_self=0.3)
    with torch.autocast('cpu', dtype=torch.bfloat16):
        results = [aug(const, torch.eye(8)) for _ in range(3)]
    for mixed, scores in results:
        assert mixed.dtype == torch.float32
        assert scores.dtype == torch.float32
        assert torch.allclose(mixed.mean((1, 2, 3)), scores @ values,
                              atol=1e-4)
