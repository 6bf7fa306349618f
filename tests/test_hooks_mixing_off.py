"""MixingOffHook: the batch augment goes off from ``off_epoch`` (``off_iter``)
on, for one and two views, for mmmiamix's augments (``enabled``) and
mmpretrain's own (replaced by the identity), decided from the runner's
epoch so that resuming before or after ``off_epoch`` does the right thing."""
import itertools
from types import SimpleNamespace

import pytest
import torch
from mmengine.logging import MMLogger
from mmpretrain.registry import HOOKS, MODELS
from mmpretrain.structures import DataSample

import mmmiamix  # noqa: F401  (registers)
from mmmiamix.engine import MixingOffHook

B, K = 8, 10
_IDS = itertools.count()


def _runner(pre, epoch=0, it=0):
    return SimpleNamespace(model=SimpleNamespace(data_preprocessor=pre),
                           epoch=epoch, iter=it,
                           logger=MMLogger.get_current_instance())


def _pre(augments, two_view=False):
    return MODELS.build(dict(
        type='TwoViewClsDataPreprocessor' if two_view else
        'ClsDataPreprocessor', num_classes=K, mean=[128.0] * 3,
        std=[64.0] * 3, batch_augments=dict(augments=augments)))


def _batch(two_view=False, seed=0):
    g = torch.Generator().manual_seed(seed)
    imgs = torch.randint(0, 256, (B, 3, 16, 16), generator=g,
                         dtype=torch.uint8)
    samples = [DataSample().set_gt_label(i % K) for i in range(B)]
    if two_view:
        second = torch.randint(0, 256, (B, 3, 16, 16), generator=g,
                               dtype=torch.uint8)
        return dict(inputs=[imgs, second], data_samples=samples), imgs
    return dict(inputs=imgs, data_samples=samples), imgs


def _forward(pre, two_view=False, seed=0):
    """(mixed?, inputs equal the normalised first view?, scores)"""
    data, first = _batch(two_view, seed)
    torch.manual_seed(seed)
    out = pre(data, training=True)
    # float from an augment, int64 one-hot without one (mmpretrain's)
    scores = torch.stack([s.gt_score for s in out['data_samples']]).float()
    plain = (first.float() - 128.0) / 64.0
    one_hot = torch.nn.functional.one_hot(torch.arange(B) % K, K).float()
    return (not torch.allclose(scores, one_hot),
            torch.allclose(out['inputs'], plain), scores)


def test_registered_and_bad_arguments():
    assert HOOKS.get('MixingOffHook') is MixingOffHook
    assert HOOKS.build(dict(type='MixingOffHook', off_epoch=3)).off_epoch == 3
    with pytest.raises(ValueError, match='off_epoch'):
        MixingOffHook(off_epoch=-1)
    with pytest.raises(TypeError, match='off_epoch'):
        MixingOffHook(off_epoch=2.5)
    with pytest.raises(TypeError, match='off_iter'):
        MixingOffHook(off_iter=True)
    with pytest.raises(ValueError, match='exactly one'):
        MixingOffHook()
    with pytest.raises(ValueError, match='exactly one'):
        MixingOffHook(off_epoch=1, off_iter=10)


@pytest.mark.parametrize('two_view', [False, True], ids=['one', 'two'])
def test_ours_get_enabled_false_then_true(two_view):
    pre = _pre(dict(type='MiAMix', label_smoothing=0.1, num_classes=K),
               two_view)
    aug = pre.batch_augments.augments[0]
    hook = MixingOffHook(off_epoch=2)
    for epoch in (0, 1):
        hook.before_train_epoch(_runner(pre, epoch))
        assert aug.enabled and not hook.off
        mixed, plain, _ = _forward(pre, two_view, seed=epoch)
        assert mixed and not plain
    hook.before_train_epoch(_runner(pre, 2))
    assert hook.off and aug.enabled is False
    assert pre.batch_augments.augments[0] is aug  # kept, only disabled
    mixed, plain, scores = _forward(pre, two_view)
    assert plain  # images unchanged (first view only, for two views)
    # labels still go through the front door: smoothed, not mixed
    one_hot = torch.nn.functional.one_hot(torch.arange(B) % K, K).float()
    assert torch.allclose(scores, 0.9 * one_hot + 0.1 / K)
    hook.before_train_epoch(_runner(pre, 1))  # back before off_epoch
    assert aug.enabled and not hook.off


@pytest.mark.parametrize('two_view', [False, True], ids=['one', 'two'])
def test_mmpretrain_mixup_cutmix_replaced_by_identity(two_view):
    pre = _pre([dict(type='Mixup', alpha=1.0),
                dict(type='CutMix', alpha=1.0)], two_view)
    augs = list(pre.batch_augments.augments)
    hook = MixingOffHook(off_epoch=1)
    hook.before_train_epoch(_runner(pre, 0))
    assert pre.batch_augments.augments == augs
    assert _forward(pre, two_view)[0]
    hook.before_train_epoch(_runner(pre, 1))
    assert pre.batch_augments.augments == [None, None]
    for seed in range(3):  # whichever entry RandomBatchAugment picks
        mixed, plain, _ = _forward(pre, two_view, seed)
        assert not mixed and plain
    hook.before_train_epoch(_runner(pre, 0))
    assert all(a is b for a, b in zip(pre.batch_augments.augments, augs))


def test_mixed_list_and_bare_augment():
    pre = _pre([dict(type='MiAMix'), dict(type='Mixup', alpha=1.0)])
    ours, theirs = pre.batch_augments.augments
    hook = MixingOffHook(off_epoch=0)
    hook.before_train_epoch(_runner(pre, 0))
    assert pre.batch_augments.augments == [ours, None]
    assert ours.enabled is False
    hook._switch_on()
    assert pre.batch_augments.augments == [ours, theirs] and ours.enabled
    # a bare callable without `enabled` in place of RandomBatchAugment
    bare = pre.batch_augments.augments[1]
    pre.batch_augments = bare
    hook = MixingOffHook(off_iter=5)
    hook.before_train_iter(_runner(pre, it=4), 0)
    assert pre.batch_augments is bare
    hook.before_train_iter(_runner(pre, it=5), 0)
    assert pre.batch_augments is None and hook.off
    mixed, plain, _ = _forward(pre)
    assert not mixed and plain
    hook.before_train_iter(_runner(pre, it=0), 0)
    assert pre.batch_augments is bare


def test_respects_a_user_disabled_augment_and_no_augment():
    pre = _pre(dict(type='MiAMix'))
    aug = pre.batch_augments.augments[0]
    aug.enabled = False  # switched off by the user
    hook = MixingOffHook(off_epoch=1)
    hook.before_train_epoch(_runner(pre, 3))
    hook.before_train_epoch(_runner(pre, 0))
    assert aug.enabled is False  # the hook restores only what it switched
    plain = MODELS.build(dict(type='ClsDataPreprocessor', num_classes=K))
    hook = MixingOffHook(off_epoch=0)
    hook.before_train_epoch(_runner(plain, 0))  # warns, does nothing
    assert plain.batch_augments is None and not hook.off


@pytest.mark.parametrize('resume_epoch', [1, 2], ids=['before', 'after'])
def test_fresh_hook_on_resume_decides_from_runner_epoch(resume_epoch):
    """A resumed run builds a fresh hook and fresh augments: what the hook
    does depends only on the epoch the runner resumes at."""
    pre = _pre(dict(type='MiAMix'))
    aug = pre.batch_augments.augments[0]
    hook = MixingOffHook(off_epoch=2)
    hook.before_train_epoch(_runner(pre, resume_epoch))
    assert hook.off == (resume_epoch >= 2)
    assert aug.enabled == (resume_epoch < 2)
    assert _forward(pre)[0] == (resume_epoch < 2)


# ------------------------------------------------------ with a real Runner
class _Record:
    """Forward hook on the data preprocessor: per training epoch, whether
    any batch was mixed, and the number of views each batch came with."""

    def __init__(self):
        self.epochs = {}
        self.views = set()
        self.runner = None

    def __call__(self, module, args, output):
        if not module.training:
            return
        inputs = args[0]['inputs']
        two = isinstance(inputs, (list, tuple)) and not (
            isinstance(inputs[0], torch.Tensor) and inputs[0].dim() == 3)
        self.views.add(2 if two else 1)
        scores = torch.stack([s.gt_score for s in output['data_samples']])
        mixed = bool((scores.max(1).values < 1 - 1e-6).any())
        epoch = self.runner.epoch
        self.epochs[epoch] = self.epochs.get(epoch, False) or mixed


def _model(augment, two_view):
    return dict(
        type='ImageClassifier',
        data_preprocessor=dict(
            type='TwoViewClsDataPreprocessor' if two_view else
            'ClsDataPreprocessor', num_classes=K,
            mean=[78.0] * 3, std=[82.6] * 3,
            batch_augments=dict(augments=augment)),
        backbone=dict(type='ResNet_CIFAR', depth=18, stem_channels=4,
                      base_channels=4, out_indices=(3, )),
        neck=dict(type='GlobalAveragePooling'),
        head=dict(type='LinearClsHead', num_classes=K, in_channels=32,
                  loss=dict(type='CrossEntropyLoss', use_soft=True)))


def _pipeline(two_view):
    """One view: the digits as they are; two views (the paper's path, as
    configs/quickstart/miamix_twoview_resnet18_digits.py): MultiView of two
    random crops."""
    if not two_view:
        return [dict(type='PackInputs')]
    return [dict(type='MultiView', num_views=2, transforms=[[
        dict(type='RandomCrop', crop_size=32, padding=4)]]),
        dict(type='PackInputs')]


def _train(work, max_epochs, off_epoch, resume=False, augment=None,
           two_view=False):
    from mmengine.runner import Runner
    runner = Runner(
        model=_model(augment or dict(type='MiAMix'), two_view),
        work_dir=str(work),
        experiment_name=f'mixing_off_{next(_IDS)}',
        train_dataloader=dict(
            batch_size=8, num_workers=0,
            dataset=dict(type='Digits', split='train', indices=16,
                         pipeline=_pipeline(two_view)),
            sampler=dict(type='DefaultSampler', shuffle=True)),
        optim_wrapper=dict(optimizer=dict(type='SGD', lr=0.01)),
        train_cfg=dict(by_epoch=True, max_epochs=max_epochs),
        default_hooks=dict(checkpoint=dict(type='CheckpointHook',
                                           interval=1),
                           logger=dict(type='LoggerHook', interval=1)),
        custom_hooks=[dict(type='MixingOffHook', off_epoch=off_epoch)],
        randomness=dict(seed=0),
        default_scope='mmpretrain',
        resume=resume)
    record = _Record()
    record.runner = runner
    runner.model.data_preprocessor.register_forward_hook(record)
    runner.train()
    assert record.views == {2 if two_view else 1}
    return record.epochs


@pytest.mark.parametrize('augment, two_view', [
    (None, False), (dict(type='CutMix', alpha=1.0), False),
    (None, True), (dict(type='CutMix', alpha=1.0), True)],
    ids=['MiAMix', 'CutMix', 'MiAMix-two-views', 'CutMix-two-views'])
def test_runner_train_and_resume(tmp_path, augment, two_view):
    work = tmp_path / 'work'
    kw = dict(augment=augment, two_view=two_view)
    # epochs 0, 1 mixed; epoch 2 not
    assert _train(work, 3, off_epoch=2, **kw) == \
        {0: True, 1: True, 2: False}
    # resumed at epoch 3 (after off_epoch): a fresh hook keeps mixing off
    assert _train(work, 4, off_epoch=2, resume=True, **kw) == {3: False}
    # resumed at epoch 4 (before a later off_epoch): mixing is on
    assert _train(work, 5, off_epoch=5, resume=True, **kw) == {4: True}
