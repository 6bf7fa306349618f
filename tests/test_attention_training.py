"""Attention-weighted labels through mmengine's Runner on a tiny ViT (the
embedded digits at 16x16, 4x4 patches): one view (mmpretrain's Mixup and
CutMix: TransMix) and two views (MiAMix), relabelling in every mixed step,
``--resume`` exact (2 epochs == 1 epoch + resume: same losses, same
weights), the checkpoint evaluated by mmpretrain's own tools/test.py as an
ImageClassifier's would be; and a DDP train step (gloo) relabelling its
rank's batch."""
import importlib.util
import itertools
import json
import os.path as osp
import socket
import sys

import numpy as np
import pytest
import torch
from mmengine.config import Config
from mmengine.hooks import Hook
from mmengine.runner import Runner

import mmmiamix  # noqa: F401  (registers)
from mmmiamix.models import attention_labels
from mmmiamix.resume import setup_torch_load_compat

ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))
K = 10
_IDS = itertools.count()


@pytest.fixture(scope='module', autouse=True)
def one_thread():
    """Many small ops on shared cores: one intra-op thread avoids OpenMP
    spin-waits (as tests/test_configs.py does)."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


def model_cfg(two_view):
    return dict(
        type='AttentionMixClassifier',
        backbone=dict(type='VisionTransformer', img_size=16, patch_size=4,
                      arch=dict(embed_dims=32, num_layers=2, num_heads=2,
                                feedforward_channels=64)),
        head=dict(type='VisionTransformerClsHead', num_classes=K,
                  in_channels=32,
                  loss=dict(type='LabelSmoothLoss', label_smooth_val=0.1,
                            mode='original')),
        data_preprocessor=dict(
            type='TwoViewClsDataPreprocessor' if two_view else
            'ClsDataPreprocessor', num_classes=K, mean=[78.0] * 3,
            std=[82.6] * 3),
        train_cfg=dict(augments=dict(type='MiAMix') if two_view else [
            dict(type='Mixup', alpha=0.8), dict(type='CutMix', alpha=1.0)]))


def config(work, max_epochs, two_view=False, resume=False):
    views = [dict(type='RandomCrop', crop_size=16, padding=2)]
    train = [dict(type='MultiView', num_views=2, transforms=[views]),
             dict(type='PackInputs')] if two_view else \
        views + [dict(type='PackInputs')]

    def loader(split, pipeline, n):
        return dict(batch_size=8, num_workers=0,
                    dataset=dict(type='Digits', split=split, img_size=16,
                                 indices=n, pipeline=pipeline),
                    sampler=dict(type='DefaultSampler',
                                 shuffle=split == 'train'))

    return dict(
        model=model_cfg(two_view), work_dir=str(work),
        experiment_name=f'attention_{next(_IDS)}',
        train_dataloader=loader('train', train, 16),
        test_dataloader=loader('test', [dict(type='PackInputs')], 16),
        test_evaluator=dict(type='Accuracy', topk=(1, )), test_cfg=dict(),
        optim_wrapper=dict(optimizer=dict(type='AdamW', lr=1e-3)),
        train_cfg=dict(by_epoch=True, max_epochs=max_epochs),
        default_hooks=dict(checkpoint=dict(type='CheckpointHook',
                                           interval=1),
                           logger=dict(type='LoggerHook', interval=1)),
        custom_hooks=[dict(type='RandomStateHook'),
                      dict(type='SafeCheckpointHook')],
        custom_imports=dict(imports=['mmmiamix'],
                            allow_failed_imports=False),
        randomness=dict(seed=0, diff_rank_seed=True),
        default_scope='mmpretrain', resume=resume)


class Losses(Hook):
    def __init__(self):
        self.losses = []

    def after_train_iter(self, runner, batch_idx, data_batch=None,
                         outputs=None):
        self.losses.append(outputs['loss'].item())


def train(cfg):
    losses = Losses()
    runner = Runner.from_cfg(Config(cfg))
    runner.register_hook(losses)
    runner.train()
    return losses.losses


def weights(path):
    setup_torch_load_compat()
    return torch.load(path, map_location='cpu',
                      weights_only=True)['state_dict']


@pytest.fixture
def relabelled(monkeypatch):
    """Per relabelled step: whether the attention changed any target."""
    changed = []
    original = attention_labels.attention_targets

    def spy(record, attn, **kwargs):
        out = original(record, attn, **kwargs)
        area = original(record, attn, **dict(kwargs, ratio=1.0))
        changed.append(not torch.allclose(out, area, atol=1e-6))
        return out

    monkeypatch.setattr(attention_labels, 'attention_targets', spy)
    return changed


@pytest.mark.parametrize('two_view', [False, True], ids=['one', 'two'])
def test_train_resume_exact_and_test_tool(tmp_path, two_view, relabelled,
                                         monkeypatch):
    ref = train(config(tmp_path / 'ref', 2, two_view))
    assert len(ref) == 4 and all(torch.isfinite(torch.tensor(ref)))
    assert len(relabelled) == 4 and any(relabelled)
    half = train(config(tmp_path / 'work', 1, two_view))
    rest = train(config(tmp_path / 'work', 2, two_view, resume=True))
    assert half + rest == ref
    a = weights(tmp_path / 'ref' / 'epoch_2.pth')
    b = weights(tmp_path / 'work' / 'epoch_2.pth')
    assert a.keys() == b.keys()
    assert all(torch.equal(a[k], b[k]) for k in a)
    # mmpretrain's own tools/test.py (as the wheel ships it): the
    # checkpoint evaluates as an ImageClassifier's would
    import mmpretrain
    tool = osp.join(osp.dirname(mmpretrain.__file__), '.mim', 'tools',
                    'test.py')
    spec = importlib.util.spec_from_file_location('stock_test_tool', tool)
    stock = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(stock)
    monkeypatch.setenv('LOCAL_RANK', '0')
    metrics = {}
    for kind in ('AttentionMixClassifier', 'ImageClassifier'):
        cfg = config(tmp_path / kind, 1, two_view)
        cfg['model']['type'] = kind
        path, out = str(tmp_path / f'{kind}.py'), tmp_path / f'{kind}.json'
        Config(cfg).dump(path)
        monkeypatch.setattr(sys, 'argv', [
            tool, path, str(tmp_path / 'ref' / 'epoch_2.pth'), '--work-dir',
            str(tmp_path / kind), '--out', str(out), '--out-item',
            'metrics'])
        stock.main()
        metrics[kind] = json.loads(out.read_text())
    assert 'accuracy/top1' in metrics['ImageClassifier']
    assert metrics['AttentionMixClassifier'] == metrics['ImageClassifier']


# ------------------------------------------------------------------ DDP
def _free_port():
    with socket.socket() as s:
        s.bind(('127.0.0.1', 0))
        return s.getsockname()[1]


def test_ddp_train_step_relabels_the_ranks_own_batch():
    """Through MMDistributedDataParallel (gloo, one rank in this process):
    the module's data preprocessor records, the DDP forward relabels from
    that record and this forward's attention; nothing is gathered (the
    record lives in the rank's data samples). Two ranks drawing different
    masks: tests/test_training.py::test_ranks_draw_different_masks."""
    import torch.distributed as dist
    from mmengine.model import MMDistributedDataParallel
    from mmengine.optim import OptimWrapper
    from mmpretrain.registry import MODELS
    from mmpretrain.structures import DataSample

    from mmmiamix.core import attention_targets
    from mmmiamix.models.sample_records import collect_record
    from mmmiamix.models.vit_attention import reading_class_attention
    dist.init_process_group('gloo', rank=0, world_size=1,
                            init_method=f'tcp://127.0.0.1:{_free_port()}')
    try:
        torch.manual_seed(0)
        model = MODELS.build(model_cfg(two_view=False))
        ddp = MMDistributedDataParallel(model, device_ids=None)
        wrapper = OptimWrapper(torch.optim.SGD(model.parameters(), lr=0.1))
        images = torch.randint(0, 256, (8, 3, 16, 16), dtype=torch.uint8)
        changed = False
        for seed in range(4):  # Mixup or CutMix
            np.random.seed(seed)
            samples = [DataSample().set_gt_label(i % K) for i in range(8)]
            with reading_class_attention(model.backbone) as seen:
                ddp.train_step(dict(inputs=images, data_samples=samples),
                               wrapper)
            record, eps = collect_record(samples)  # relabelled in place
            targets = torch.stack([s.gt_score for s in samples])
            assert torch.allclose(targets, attention_targets(
                record, seen.attn, label_smoothing=eps), atol=1e-6)
            changed |= not torch.allclose(targets, attention_targets(
                record, seen.attn, ratio=1.0), atol=1e-6)
        assert changed
    finally:
        dist.destroy_process_group()
