"""AttentionMixClassifier on a tiny mmpretrain ViT (16x16 images, 4x4
patches, one layer of 32 dims): the record travels from the data
preprocessor to the loss in the data samples, the class token's attention
is read in the same forward, mmpretrain's Mixup / CutMix are reproduced
exactly, unmixed batches, evaluation and checkpoints are ImageClassifier's,
and the errors name what is wrong."""
import copy
from types import SimpleNamespace

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from mmpretrain.registry import BATCH_AUGMENTS, MODELS
from mmpretrain.structures import DataSample

import mmmiamix  # noqa: F401  (registers)
from mmmiamix.core import attention_targets
from mmmiamix.engine import MixingOffHook
from mmmiamix.models.recorded_mixes import mix_recorded
from mmmiamix.models.sample_records import FIELD, collect_record
from mmmiamix.models.vit_attention import reading_class_attention

B, K, S, G = 6, 10, 16, 4  # batch, classes, image side, patch grid side
TRANSMIX = [dict(type='Mixup', alpha=0.8), dict(type='CutMix', alpha=1.0)]


@pytest.fixture(scope='module', autouse=True)
def one_thread():
    """Many small ops on shared cores: one intra-op thread avoids OpenMP
    spin-waits (as tests/test_configs.py does)."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


def vit(**kwargs):
    return dict(type='VisionTransformer', img_size=S, patch_size=S // G,
                arch=dict(embed_dims=32, num_layers=1, num_heads=2,
                          feedforward_channels=64), **kwargs)


def build(augments=TRANSMIX, kind='AttentionMixClassifier', two_view=False,
          backbone=None, probs=None, head=None, data_preprocessor=None,
          **kwargs):
    cfg = dict(
        type=kind, backbone=backbone or vit(),
        head=head or dict(type='VisionTransformerClsHead', num_classes=K,
                          in_channels=32,
                          loss=dict(type='CrossEntropyLoss', use_soft=True)),
        data_preprocessor=data_preprocessor or dict(
            num_classes=K, mean=[128.0] * 3, std=[64.0] * 3,
            **(dict(type='TwoViewClsDataPreprocessor') if two_view else {})),
        **kwargs)
    if augments is not None:
        cfg['train_cfg'] = dict(augments=augments, probs=probs)
    return MODELS.build(cfg)


def batch(seed=0, two_view=False, size=S):
    g = torch.Generator().manual_seed(seed)
    imgs = torch.randint(0, 256, (B, 3, size, size), generator=g,
                         dtype=torch.uint8)
    samples = [DataSample().set_gt_label(i % K) for i in range(B)]
    if two_view:
        second = torch.randint(0, 256, (B, 3, size, size), generator=g,
                               dtype=torch.uint8)
        return dict(inputs=[imgs, second], data_samples=samples)
    return dict(inputs=imgs, data_samples=samples)


def preprocess(model, seed=0, two_view=False, size=S, training=True):
    np.random.seed(seed)
    torch.manual_seed(seed)
    return model.data_preprocessor(batch(seed, two_view, size), training)


def scores_of(data):
    return torch.stack([s.gt_score for s in data['data_samples']]).float()


def force_top_half(model, extra=1):
    """Make the last layer's class token attend to the top half of the
    patch grid only: its query and the keys of the top patches are large
    and aligned, every other key opposite (softmax weights exp(-800) = 0)."""
    attn = model.backbone.layers[-1].attn
    c = attn.embed_dims

    def hook(module, args, out):
        out = out.clone()
        out[:, 0, :c] = 10.0
        keys = out[:, :, c:2 * c]
        keys[:] = -10.0
        keys[:, extra:extra + G * G // 2] = 10.0
        return out

    return attn.qkv.register_forward_hook(hook)


# ------------------------------------------------------ relabelling
@pytest.mark.parametrize('distilled', [False, True], ids=['ViT', 'DeiT'])
def test_top_half_attention_through_the_classifier(distilled):
    """CutMix pastes the partner into the bottom-left quarter: the base
    keeps 3/4 of the pixels and all the attended ones, so its label weight
    becomes (3/4 + 1) / 2; the head's loss takes those targets."""
    if distilled:
        model = build([dict(type='CutMix', alpha=1.0)], backbone=dict(
            vit(), type='DistilledVisionTransformer'), head=dict(
                type='DeiTClsHead', num_classes=K, in_channels=32,
                loss=dict(type='CrossEntropyLoss', use_soft=True)))
    else:
        model = build([dict(type='CutMix', alpha=1.0)])
    cutmix = model.data_preprocessor.batch_augments.augments[0]
    cutmix.cutmix_bbox_and_lam = lambda shape, lam, count=None: (
        (S // 2, S, 0, S // 2), 0.75)
    data = preprocess(model)
    one_hot = F.one_hot(torch.arange(B) % K, K).float()
    partner = torch.stack([s.get(FIELD).partner
                           for s in data['data_samples']])
    assert torch.allclose(scores_of(data),
                          0.75 * one_hot + 0.25 * one_hot[partner])
    handle = force_top_half(model, extra=2 if distilled else 1)
    try:
        losses = model(**data, mode='loss')
        logits = model(data['inputs'], mode='tensor')
    finally:
        handle.remove()
    targets = scores_of(data)
    want = 0.875 * one_hot + 0.125 * one_hot[partner]
    assert torch.allclose(targets, want, atol=1e-6)
    if distilled:  # DeiTClsHead in training: mean of both tokens' logits
        logits = logits.view(B, 2, K).mean(1) if logits.dim() == 3 \
            else logits
    ce = -(want * F.log_softmax(logits, 1)).sum(1).mean()
    assert torch.allclose(losses['loss'], ce, atol=1e-5)


def test_hooked_attention_is_the_last_layers_class_token_row():
    model = build()
    model.train()
    attn = model.backbone.layers[-1].attn
    seen_input = {}
    pre = attn.register_forward_pre_hook(
        lambda m, args: seen_input.update(x=args[0]))
    x = torch.randn(B, 3, S, S)
    with reading_class_attention(model.backbone) as seen:
        model.extract_feat(x)
    pre.remove()
    qkv = attn.qkv(seen_input['x']).view(B, 1 + G * G, 3, 2, 16)
    q, k = qkv[:, :, 0].transpose(1, 2), qkv[:, :, 1].transpose(1, 2)
    full = torch.softmax(q @ k.transpose(-2, -1) / 4.0, -1)
    assert seen.grid == (G, G)
    assert torch.allclose(seen.attn, full[:, :, 0, 1:].mean(1), atol=1e-6)
    assert not attn.qkv._forward_hooks  # removed after the block


def test_mixup_self_mixes_and_smoothing_through_the_classifier():
    # mixup: a uniform keep, labels unchanged
    model = build([dict(type='Mixup', alpha=0.8)])
    data = preprocess(model)
    before = scores_of(data)
    model(**data, mode='loss')
    assert torch.allclose(scores_of(data), before, atol=1e-6)
    # two views, every sample a self-mix: labels unchanged, exactly
    model = build(dict(type='MiAMix', p_self=1.0), two_view=True)
    data = preprocess(model, two_view=True)
    assert FIELD in data['data_samples'][0]
    before = scores_of(data)
    model(**data, mode='loss')
    assert torch.equal(scores_of(data), before)
    # the augment's label smoothing, applied once after relabelling
    eps = 0.1
    for ratio in (1.0, 0.5):
        model = build(dict(type='MiAMix', label_smoothing=eps),
                      two_view=True, ratio=ratio)
        data = preprocess(model, two_view=True)
        before = scores_of(data)
        rec, smoothing = collect_record(data['data_samples'])
        assert smoothing == eps
        with reading_class_attention(model.backbone) as seen:
            model(**data, mode='loss')
        after = scores_of(data)
        assert torch.allclose(after, attention_targets(
            rec, seen.attn, ratio=ratio, label_smoothing=eps), atol=1e-6)
        assert torch.allclose(after.sum(1), torch.ones(B))
        assert after.min() >= eps / K - 1e-7
        if ratio == 1.0:
            assert torch.allclose(after, before, atol=1e-6)
        else:
            assert not torch.allclose(after, before, atol=1e-4)


# ------------------------------------------- mmpretrain's own augments
@pytest.mark.parametrize('cfg', [
    dict(type='Mixup', alpha=0.8),
    dict(type='CutMix', alpha=1.0),
    dict(type='CutMix', alpha=1.0, cutmix_minmax=[0.2, 0.8]),
    dict(type='CutMix', alpha=2.0, correct_lam=False),
], ids=['Mixup', 'CutMix', 'CutMix-minmax', 'CutMix-uncorrected'])
def test_recorded_mmpretrain_augments_equal_mmpretrains(cfg):
    aug = BATCH_AUGMENTS.build(cfg)
    x = torch.randn(B, 3, S, 12)
    y = F.one_hot(torch.arange(B) % K, K)
    for seed in range(3):
        np.random.seed(seed)
        torch.manual_seed(seed)
        want_x, want_y = aug(x.clone(), y)
        np.random.seed(seed)
        torch.manual_seed(seed)
        got_x, got_y, rec, eps = mix_recorded(aug, x.clone(), y)
        assert torch.equal(got_x, want_x) and torch.equal(got_y, want_y)
        assert eps == 0.0 and rec.mixed is None
        blended = rec.keep * x + (1 - rec.keep) * x[rec.partner]
        assert torch.allclose(got_x, blended, atol=1e-6)
        assert torch.allclose(got_y, torch.lerp(
            y.float()[rec.partner], y.float(), rec.weight[:, None]),
            atol=1e-6)
        if cfg.get('correct_lam', True):  # the label weight is the area
            assert torch.allclose(rec.weight, rec.keep.expand(
                B, 1, S, 12).mean((1, 2, 3)), atol=1e-6)


@pytest.mark.parametrize('probs', [None, [0.4, 0.4]])
def test_recording_preprocessor_draws_as_the_stock_one(probs):
    """One view: the same augment picked (numpy, as RandomBatchAugment),
    the same images and scores as ImageClassifier's ClsDataPreprocessor;
    a record exactly when a batch was mixed."""
    ours = build(probs=copy.deepcopy(probs))
    stock = build(kind='ImageClassifier', probs=copy.deepcopy(probs))
    assert type(stock.data_preprocessor).__name__ == 'ClsDataPreprocessor'
    picks = []
    for seed in range(8):
        a, b = preprocess(ours, seed), preprocess(stock, seed)
        assert torch.equal(a['inputs'], b['inputs'])
        assert torch.equal(scores_of(a), scores_of(b))
        np.random.seed(seed)  # RandomBatchAugment's pick; 2: its identity
        pick = np.random.choice(3 if probs else 2,
                                p=None if probs is None else [0.4, 0.4, 0.2])
        assert (FIELD in a['data_samples'][0]) == (pick != 2)
        picks.append(pick)
    assert set(picks) == ({0, 1, 2} if probs else {0, 1})


# ----------------------------------------- unmixed, evaluation, weights
def _plain_twin(model, augments=TRANSMIX, two_view=False):
    twin = build(augments, kind='ImageClassifier', two_view=two_view)
    twin.load_state_dict(model.state_dict())
    return twin


def _runner(model, epoch=0):
    from mmengine.logging import MMLogger
    return SimpleNamespace(model=model, epoch=epoch, iter=0, _resume=False,
                           logger=MMLogger.get_current_instance())


@pytest.mark.parametrize('two_view', [False, True], ids=['one', 'two'])
def test_mixing_off_gives_plain_labels(two_view):
    """MixingOffHook: no record, one-hot labels, ImageClassifier's loss."""
    model = build(TRANSMIX + [dict(type='MiAMix')], two_view=two_view)
    twin = _plain_twin(model, two_view=two_view)
    MixingOffHook(off_epoch=0).before_train_epoch(_runner(model))
    one_hot = F.one_hot(torch.arange(B) % K, K).float()
    for seed in range(3):
        data = preprocess(model, seed, two_view)
        assert FIELD not in data['data_samples'][0]
        assert torch.equal(scores_of(data), one_hot)
        loss = model(**data, mode='loss')['loss']
        assert torch.equal(loss, twin(**data, mode='loss')['loss'])


def test_switch_recipe_hook():
    """mmpretrain's SwitchRecipeHook: to no augment (plain labels), to a
    new RandomBatchAugment (recorded again), to one that hands over no
    record (refused, naming it)."""
    from mmpretrain.engine.hooks import SwitchRecipeHook
    model = build()
    hook = SwitchRecipeHook(schedule=[
        dict(action_epoch=1, batch_augments=None),
        dict(action_epoch=2, batch_augments=dict(
            augments=dict(type='CutMix', alpha=1.0))),
        dict(action_epoch=3, batch_augments=dict(
            augments=dict(type='ResizeMix', alpha=1.0)))])
    hook.before_train_epoch(_runner(model, epoch=0))
    data = preprocess(model)
    assert FIELD not in data['data_samples'][0]
    hook.before_train_epoch(_runner(model, epoch=1))
    data = preprocess(model)
    assert FIELD in data['data_samples'][0]
    model(**data, mode='loss')
    hook.before_train_epoch(_runner(model, epoch=2))
    with pytest.raises(TypeError, match='ResizeMix does not hand over'):
        preprocess(model)


def test_evaluation_and_checkpoints_are_image_classifiers():
    model = build()
    twin = _plain_twin(model)
    assert model.state_dict().keys() == twin.state_dict().keys()
    model.eval()
    twin.eval()
    data = preprocess(model, training=False)
    assert FIELD not in data['data_samples'][0]
    with torch.no_grad():
        a = model(**copy.deepcopy(data), mode='predict')
        b = twin(**copy.deepcopy(data), mode='predict')
    assert all(torch.equal(x.pred_score, y.pred_score) for x, y in zip(a, b))
    back = build()
    back.load_state_dict(twin.state_dict(), strict=True)


# ---------------------------------------------------------------- errors
def test_errors_name_what_is_wrong():
    with pytest.raises(ValueError, match='ResNet has no class token'):
        build(backbone=dict(type='ResNet', depth=18), head=dict(
            type='LinearClsHead', num_classes=K, in_channels=512))
    with pytest.raises(ValueError, match=r'VisionTransformer has no class '
                       r'token \(built with with_cls_token=False\)'):
        build(backbone=vit(with_cls_token=False, out_type='avg_featmap'))
    with pytest.raises(TypeError, match='ResizeMix'):
        build([dict(type='ResizeMix', alpha=1.0)])
    with pytest.raises(ValueError, match='ratio'):
        build(ratio=1.5)
    with pytest.raises(TypeError, match=r'needs a ClsDataPreprocessor '
                       r'\(config\) or a TwoViewClsDataPreprocessor, got '
                       'SelfSupDataPreprocessor'):
        MODELS.build(dict(
            type='AttentionMixClassifier', backbone=vit(),
            data_preprocessor=dict(type='SelfSupDataPreprocessor'),
            head=dict(type='VisionTransformerClsHead', num_classes=K,
                      in_channels=32)))
    plain = MODELS.build(dict(type='ClsDataPreprocessor', num_classes=K))
    with pytest.raises(TypeError, match='got ClsDataPreprocessor'):
        build(data_preprocessor=plain)
    # 18x18 images: the patch embedding pads them to a 5x5 grid of 4x4
    model = build([dict(type='CutMix', alpha=1.0)])
    data = preprocess(model, size=18)
    with pytest.raises(ValueError, match=r'18x18 pixels do not tile the '
                       r'5x5 patch grid of 4x4 patches'):
        model(**data, mode='loss')
