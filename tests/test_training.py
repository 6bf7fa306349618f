"""End to end through mmengine's Runner, and per-rank randomness."""
import math
import os
import os.path as osp
import socket

import pytest
import torch
import torch.distributed as dist
import torch.multiprocessing as mp
from mmengine.config import Config
from mmengine.runner import Runner

from tinydata import make_png_dataset, write_config


class MixedBatches:
    """Forward hook on the data preprocessor: per training batch, how many
    rows hold the scores of two classes and how many of those rows have
    pixels other than the unmixed (normalised first-view) batch."""

    def __init__(self):
        self.batches = []

    def __call__(self, module, args, kwargs, output):
        data = args[0] if args else kwargs['data']
        training = args[1] if len(args) > 1 else kwargs.get('training')
        if not training:
            return
        inputs = data['inputs']
        if isinstance(inputs, (list, tuple)) and (
                not isinstance(inputs[0], torch.Tensor)
                or inputs[0].dim() == 4):
            inputs = inputs[0]  # two views: the first is the one mixed
        if isinstance(inputs, (list, tuple)):
            inputs = torch.stack(list(inputs))
        plain = (inputs.float() - module.mean) / module.std
        scores = torch.stack([s.gt_score for s in output['data_samples']])
        two = (scores > 1e-6).sum(1) == 2
        moved = (output['inputs'] - plain).abs().flatten(1).amax(1) > 1e-4
        self.batches.append((int(two.sum()), int((two & moved).sum())))


def train_one_epoch(tmp_path, augment, edit=None):
    data = tmp_path / 'data'
    make_png_dataset(str(data), num_classes=3, per_class=8)
    path = write_config(tmp_path / 'cfg.py', data, batch_size=8, max_epochs=1,
                        augment=augment, plugin=True)
    cfg = Config.fromfile(path)
    cfg.work_dir = str(tmp_path / 'work')
    if edit is not None:
        edit(cfg)
    runner = Runner.from_cfg(cfg)
    record = MixedBatches()
    runner.model.data_preprocessor.register_forward_hook(record,
                                                         with_kwargs=True)
    runner.train()
    loss = runner.message_hub.get_scalar('train/loss').current()
    assert math.isfinite(loss)
    assert osp.isfile(osp.join(cfg.work_dir, 'epoch_1.pth'))
    # 24 images, batches of 8: 3 training batches, each mixed (rows of two
    # classes, 3 classes in a batch of 8), every such row with moved pixels
    assert len(record.batches) == 3
    for two, moved in record.batches:
        assert two > 0 and moved == two, record.batches
    return runner


@pytest.mark.parametrize('augment', [
    dict(type='AGMix', alpha=1.0),
    dict(type='MiAMix'),
])
def test_one_epoch_with_batch_augment(tmp_path, augment):
    runner = train_one_epoch(tmp_path, augment)
    assert type(runner.model.data_preprocessor.batch_augments.augments[0]
                ).__name__ == augment['type']


def test_two_view_preprocessor_with_multiview(tmp_path):
    """MultiView(num_views=2) in the pipeline, TwoViewClsDataPreprocessor
    hands both views to MiAMix; one epoch through the Runner."""
    seen = {}

    def edit(cfg):
        cfg.model.data_preprocessor.type = 'TwoViewClsDataPreprocessor'
        cfg.train_dataloader.dataset.pipeline = [
            dict(type='LoadImageFromFile'),
            dict(type='MultiView', num_views=2, transforms=[[
                dict(type='RandomCrop', crop_size=32, padding=4),
                dict(type='RandomFlip', prob=0.5, direction='horizontal'),
            ]]),
            dict(type='PackInputs'),
        ]

    from mmmiamix.models import MiAMix
    original = MiAMix.__call__

    def spy(self, inputs, batch_score, *, second_view=None, generator=None):
        seen['second_view'] = second_view
        seen['inputs'] = inputs
        return original(self, inputs, batch_score, second_view=second_view,
                        generator=generator)

    MiAMix.__call__ = spy
    try:
        train_one_epoch(tmp_path, dict(type='MiAMix'), edit)
    finally:
        MiAMix.__call__ = original
    assert seen['second_view'] is not None
    assert seen['second_view'].shape == seen['inputs'].shape
    assert not torch.equal(seen['second_view'], seen['inputs'])


def _free_port():
    with socket.socket() as s:
        s.bind(('127.0.0.1', 0))
        return s.getsockname()[1]


def _rank_worker(rank, world, port, diff_rank_seed, out):
    os.environ.update(MASTER_ADDR='127.0.0.1', MASTER_PORT=str(port))
    dist.init_process_group('gloo', rank=rank, world_size=world)
    from mmengine.runner import set_random_seed

    from mmmiamix.core import MiAMix
    set_random_seed(0, diff_rank_seed=diff_rank_seed)
    x = torch.rand(1, 3, 16, 16).expand(8, 3, 16, 16).contiguous()
    torch.manual_seed(torch.initial_seed())  # as the Runner leaves it
    d = MiAMix().explain(x, torch.eye(8))
    keeps = [torch.zeros_like(d['keep']) for _ in range(world)]
    dist.all_gather(keeps, d['keep'])
    if rank == 0:
        torch.save(torch.stack(keeps), out)
    dist.destroy_process_group()


@pytest.mark.parametrize('diff_rank_seed', [True, False])
def test_ranks_draw_different_masks(tmp_path, diff_rank_seed):
    """mmengine's diff_rank_seed gives each rank its own masks; without it
    every rank draws the same ones."""
    out = str(tmp_path / 'keeps.pt')
    mp.start_processes(_rank_worker, args=(2, _free_port(), diff_rank_seed,
                                           out), nprocs=2,
                       start_method='spawn')
    keeps = torch.load(out)
    same = torch.equal(keeps[0], keeps[1])
    assert same != diff_rank_seed
