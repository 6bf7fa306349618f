"""Attention-weighted labels in the core (mmmiamix.core.attention,
mmmiamix.core.class_attention): the TransMix weight for any keep mask,
mixup and self-mixes unchanged, label smoothing once, no gradient, every
augment's record, and the errors."""
import pytest
import torch

from mmmiamix import core
from mmmiamix.core import (
    MixRecord,
    attention_share,
    attention_targets,
    attention_weight,
    class_token_attention,
    pool_keep,
    split_qkv,
)

B, K, S, P = 6, 5, 16, 4  # batch, classes, image side, patch side
G = S // P  # patch grid side


def top_half_attention(b=B, mass=0.7, uniform=False):
    """Class-token attention on the top half of the 4x4 grid only (rows
    summing to ``mass``: the share must not depend on it), uniform there or
    not."""
    attn = torch.zeros(b, G, G)
    attn[:, :G // 2] = 1.0 if uniform else torch.rand(b, G // 2, G) + 0.1
    return (attn / attn.sum((1, 2), keepdim=True) * mass).view(b, -1)


def top_half_keep(b=B, seed=0):
    """Keep the top half of every image, and some random pixels of the
    bottom half (so the area differs between samples)."""
    g = torch.Generator().manual_seed(seed)
    keep = (torch.rand(b, 1, S, S, generator=g) < 0.4).float()
    keep[:, :, :S // 2] = 1
    return keep


def record(keep, partner=None, weight=None, mixed=None, seed=0):
    g = torch.Generator().manual_seed(seed)
    labels = torch.randperm(K, generator=g)[torch.arange(B) % K]
    scores = torch.nn.functional.one_hot(labels, K).float()
    if partner is None:
        partner = (torch.arange(B) + 1) % B
    if weight is None:
        weight = keep.mean((1, 2, 3))
    return MixRecord(keep=keep, partner=partner, weight=weight,
                     scores=scores, mixed=mixed)


def test_top_half_attention_gives_area_plus_one_over_two():
    keep = top_half_keep()
    area = keep.mean((1, 2, 3))
    assert len(set(area.tolist())) > 1  # the samples' areas differ
    attn = top_half_attention()
    share = attention_share(keep, attn)
    assert torch.allclose(share, torch.ones(B), atol=1e-6)
    w = attention_weight(keep, area, attn)
    assert torch.allclose(w, (area + 1) / 2, atol=1e-6)
    w = attention_weight(keep, area, attn, ratio=0.25)
    assert torch.allclose(w, 0.25 * area + 0.75, atol=1e-6)
    rec = record(keep)
    targets = attention_targets(rec, attn)
    want = ((area + 1) / 2)[:, None] * rec.scores + \
        ((1 - area) / 2)[:, None] * rec.scores[rec.partner]
    assert torch.allclose(targets, want, atol=1e-6)
    assert targets.dtype == torch.float32
    assert torch.allclose(targets.sum(1), torch.ones(B))


def test_share_is_the_attention_weighted_patch_mean_of_keep():
    """Against a per-patch loop: the keep's mean over each 4x4 patch,
    weighted by the attention of that patch token (row-major)."""
    g = torch.Generator().manual_seed(1)
    keep = torch.rand(B, 1, S, S, generator=g)
    attn = torch.rand(B, G * G, generator=g)
    want = torch.zeros(B)
    for b in range(B):
        for p in range(G * G):
            i, j = divmod(p, G)
            patch = keep[b, 0, i * P:(i + 1) * P, j * P:(j + 1) * P]
            want[b] += patch.mean() * attn[b, p]
    want /= attn.sum(1)
    assert torch.allclose(attention_share(keep, attn), want, atol=1e-6)
    # a non-square grid: 16x8 images, patches of 4 -> 4x2
    keep = torch.rand(B, 1, S, S // 2, generator=g)
    attn = torch.rand(B, 8, generator=g)
    pooled = pool_keep(keep, (4, 2))
    assert torch.allclose(pooled[:, 1], keep[:, 0, :4, 4:].mean((1, 2)))
    assert attention_share(keep, attn, grid=(4, 2)).shape == (B, )


def test_mixup_keeps_its_weight():
    """A uniform keep (mixup, (B, 1, 1, 1)) pools to itself: the weight is
    the area weight exactly, whatever the attention."""
    lam = torch.rand(B)
    keep = lam.view(B, 1, 1, 1)
    attn = top_half_attention()
    assert torch.equal(attention_weight(keep, lam, attn), lam)
    rec = record(keep, weight=lam)
    assert torch.equal(attention_targets(rec, attn),
                       core.mix_scores(rec.scores, rec.partner, lam))
    # the same keep written out in full gives the same weight
    full = keep.expand(B, 1, S, S)
    assert torch.allclose(attention_weight(full, lam, attn), lam, atol=1e-6)


def test_self_mixes_and_unmixed_samples_keep_their_labels():
    keep = top_half_keep()
    attn = top_half_attention()
    partner = torch.tensor([0, 1, 2, 4, 3, 5])  # 0, 1, 2, 5 with themselves
    mixed = torch.tensor([True, True, False, True, True, False])
    rec = record(keep, partner=partner, mixed=mixed)
    targets = attention_targets(rec, attn)
    for i in (0, 1, 2, 5):
        assert torch.equal(targets[i], rec.scores[i])
    w = attention_weight(keep, rec.weight, attn, mixed=mixed)
    assert torch.equal(w[~mixed], torch.ones(2))
    assert not torch.allclose(targets[3], rec.scores[3])  # really mixed


def test_label_smoothing_applied_once():
    """With the augment's own smoothing passed on, ratio=1 (area weights)
    gives exactly the augment's smoothed scores; any ratio keeps rows
    summing to 1 and every class at least eps / K, never (eps / K) twice
    over."""
    eps = 0.1
    aug = core.MiAMix(num_classes=K, label_smoothing=eps)
    torch.manual_seed(0)
    images = torch.rand(B, 3, S, S)
    labels = torch.arange(B) % K
    _, scores, rec = aug.mix_recorded(images, labels)
    attn = top_half_attention()
    same = attention_targets(rec, attn, ratio=1.0, label_smoothing=eps)
    assert torch.allclose(same, scores, atol=1e-6)
    targets = attention_targets(rec, attn, label_smoothing=eps)
    plain = attention_targets(rec, attn)
    assert torch.allclose(targets, (1 - eps) * plain + eps / K)
    assert torch.allclose(targets.sum(1), torch.ones(B))
    assert targets.min() >= eps / K - 1e-7


@pytest.mark.parametrize('make', [
    lambda: core.MiAMix(num_classes=K),
    lambda: core.MiAMix(num_classes=K, prob=0.6, p_self=0.5),
    lambda: core.FMix(num_classes=K),
    lambda: core.GridMix(num_classes=K),
    lambda: core.GMix(num_classes=K),
    lambda: core.AGMix(num_classes=K, prob=0.7),
    lambda: core.SaliencyMix(num_classes=K),
    lambda: core.MaskMix(method='mixup', num_classes=K),
    lambda: core.MaskMix(method='cutmix', num_classes=K),
], ids=['MiAMix', 'MiAMix-prob', 'FMix', 'GridMix', 'GMix', 'AGMix-prob',
        'SaliencyMix', 'mixup', 'cutmix'])
def test_every_augment_record(make):
    """Each augment's record: a uniform attention gives back its own
    labels; the top-half attention gives ratio * area + (1 - ratio) *
    (the keep's mean over the top half)."""
    aug = make()
    torch.manual_seed(3)
    images = torch.rand(B, 3, S, S)
    labels = torch.arange(B) % K
    _, scores, rec = aug.mix_recorded(images, labels)
    uniform = torch.full((B, G * G), 1.0 / (G * G))
    assert torch.allclose(attention_targets(rec, uniform), scores,
                          atol=1e-5)
    keep = rec.keep.expand(B, 1, S, S)
    top = keep[:, :, :S // 2].mean((1, 2, 3))
    want = 0.5 * rec.weight + 0.5 * top
    if rec.mixed is not None:
        want = torch.where(rec.mixed, want, 1.0)
    w = attention_weight(rec.keep, rec.weight,
                         top_half_attention(uniform=True), mixed=rec.mixed)
    assert torch.allclose(w, want, atol=1e-5)


def test_no_gradient_through_the_labels():
    keep = top_half_keep()
    attn = top_half_attention().requires_grad_()
    targets = attention_targets(record(keep), attn)
    assert not targets.requires_grad
    q = torch.randn(B, 2, 17, 8, requires_grad=True)
    assert not class_token_attention(q, q.detach()).requires_grad


def test_class_token_attention_is_the_softmax_row_of_the_class_token():
    g = torch.Generator().manual_seed(0)
    heads, n, d = 3, 1 + 2 + G * G, 8  # class, distillation, patches
    q = torch.randn(B, heads, n, d, generator=g)
    k = torch.randn(B, heads, n, d, generator=g)
    full = torch.softmax(q @ k.transpose(-2, -1) / d ** 0.5, dim=-1)
    want = full[:, :, 0].mean(1)
    for extra in (1, 2):
        got = class_token_attention(q, k, num_extra_tokens=extra)
        assert got.shape == (B, n - extra) and got.dtype == torch.float32
        assert torch.allclose(got, want[:, extra:], atol=1e-6)
    # split_qkv: the (B, N, 3, heads, d) layout of a qkv Linear
    qkv = torch.stack([q, k, torch.zeros_like(q)], 2)  # (B, H, 3, N, d)
    qkv = qkv.permute(0, 3, 2, 1, 4).reshape(B, n, 3 * heads * d)
    q2, k2 = split_qkv(qkv, heads)
    assert torch.equal(q2, q) and torch.equal(k2, k)


def test_errors_name_the_argument():
    keep, attn = top_half_keep(), top_half_attention()
    area = keep.mean((1, 2, 3))
    rec = record(keep)
    with pytest.raises(ValueError, match='ratio'):
        attention_weight(keep, area, attn, ratio=1.5)
    with pytest.raises(ValueError, match='ratio'):
        attention_targets(rec, attn, ratio=-0.1)
    with pytest.raises(TypeError, match='ratio'):
        attention_targets(rec, attn, ratio='0.5')
    with pytest.raises(ValueError, match='label_smoothing'):
        attention_targets(rec, attn, label_smoothing=1.0)
    with pytest.raises(ValueError, match=r'15x15 pixels .* 4x4 patch grid'):
        attention_share(torch.ones(B, 1, 15, 15), attn)
    with pytest.raises(ValueError, match='not a square grid: pass grid'):
        attention_share(keep, torch.rand(B, 12))
    with pytest.raises(ValueError, match='grid=2x4 has 8 patches'):
        attention_share(keep, attn, grid=(2, 4))
    with pytest.raises(TypeError, match='grid'):
        attention_share(keep, attn, grid=4)
    with pytest.raises(ValueError, match='attn must be'):
        attention_share(keep, attn[:3])
    with pytest.raises(TypeError, match='attn must be a float'):
        attention_share(keep, (attn > 0).long())
    with pytest.raises(ValueError, match='keep must be'):
        attention_share(torch.ones(B, 3, S, S), attn)
    with pytest.raises(ValueError, match='area_weight'):
        attention_weight(keep, area[:2], attn)
    with pytest.raises(ValueError, match='mixed'):
        attention_weight(keep, area, attn, mixed=torch.ones(B))
    with pytest.raises(TypeError, match='record must be a MixRecord'):
        attention_targets(dict(keep=keep), attn)
    q = torch.randn(B, 2, 5, 8)
    with pytest.raises(ValueError, match='num_extra_tokens'):
        class_token_attention(q, q, num_extra_tokens=5)
    with pytest.raises(ValueError, match='q and k'):
        class_token_attention(q, q[:, :1])
    with pytest.raises(ValueError, match='num_heads'):
        split_qkv(torch.randn(B, 5, 30), 4)
