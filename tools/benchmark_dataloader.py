"""Data-loading cost of the second view: the train dataloader of a one-view
baseline config against that of the two-view MiAMix config of the same
setting, on CPU.

Every MiAMix config of the paper's tables runs the baseline's training
transforms twice per image (``MultiView(num_views=2)``; docs/design.md,
"Pairing and the second view"). This
tool measures what that costs the data loader. For each setting it writes a
small synthetic data set in the on-disk layout the config's dataset class
reads (CIFAR: the python pickle archive, images held in memory as in the
real set; Tiny-ImageNet: ``tiny-imagenet-200/`` with 64x64 JPEG files; CUB:
``CUB_200_2011/`` with JPEG files of about CUB's size), builds the config's
own ``train_dataloader`` over it (mmengine's ``Runner.build_dataloader``,
the config's pipeline, sampler and collate function) and times ``--iters``
batches after ``--warmup`` ones.

With ``--num-workers 0`` (the default) the loading runs in this process
and the tool reports CPU time per batch (``time.process_time``): the work
the data-loader workers must do, little affected by other load on the
machine. With ``--num-workers N > 0`` it reports wall time per batch of N
workers (throughput; depends on the free cores).

    python tools/benchmark_dataloader.py                       # all settings
    python tools/benchmark_dataloader.py --settings cifar100 deit_s \
        --iters 200 --num-workers 0 --out dataloader.json
    python tools/benchmark_dataloader.py --pair \
        configs/cub200/resnet18_vanilla.py configs/cub200/resnet18_miamix.py

The CIFAR data sets skip mmpretrain's md5 check of the official files
(the synthetic archive cannot match it); nothing is downloaded. Results
and the command used are in docs/reproduce.md ("The second view").
"""
import argparse
import copy
import json
import os
import os.path as osp
import pickle
import tempfile
import time

import numpy as np

REPO = osp.dirname(osp.dirname(osp.abspath(__file__)))

SETTINGS = {
    'cifar10': ('configs/cifar10/resnet18_vanilla.py',
                'configs/cifar10/resnet18_miamix.py'),
    'cifar100': ('configs/cifar100/resnet18_vanilla.py',
                 'configs/cifar100/resnet18_miamix.py'),
    'tiny_imagenet': ('configs/tiny_imagenet/resnet18_vanilla.py',
                      'configs/tiny_imagenet/resnet18_miamix.py'),
    'cub200': ('configs/cub200/resnet18_vanilla.py',
               'configs/cub200/resnet18_miamix.py'),
    'deit_s': ('configs/cifar100/deit_s_vanilla.py',
               'configs/cifar100/deit_s_miamix.py'),
}
DEFAULT_SETTINGS = ('cifar100', 'tiny_imagenet', 'cub200', 'deit_s')


def parse_args(argv=None):
    p = argparse.ArgumentParser(
        description=__doc__.split('\n\n')[0],
        formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument('--settings', nargs='+', default=list(DEFAULT_SETTINGS),
                   choices=sorted(SETTINGS),
                   help='settings to measure (one-view baseline against '
                   'the two-view MiAMix config)')
    p.add_argument('--pair', nargs=2, metavar=('ONE_VIEW', 'TWO_VIEW'),
                   help='measure these two configs instead of --settings')
    p.add_argument('--iters', type=int, default=200,
                   help='timed batches per config (default 200)')
    p.add_argument('--warmup', type=int, default=5,
                   help='untimed batches first (default 5)')
    p.add_argument('--num-workers', type=int, default=0,
                   help='data-loader workers; 0 (default) measures CPU '
                   'time in this process, N > 0 wall time of N workers')
    p.add_argument('--batch-size', type=int, default=None,
                   help="override the configs' batch size")
    p.add_argument('--num-images', type=int, default=500,
                   help='synthetic training images per data set (the '
                   'loader cycles over them; default 500)')
    p.add_argument('--work-dir', default=None,
                   help='where to write the synthetic data (default: a '
                   'temporary folder, removed afterwards)')
    p.add_argument('--seed', type=int, default=0)
    p.add_argument('--out', help='also write the results as JSON here')
    args = p.parse_args(argv)
    for name in ('iters', 'num_images'):
        if getattr(args, name) < 1:
            p.error(f'--{name.replace("_", "-")} must be >= 1')
    if args.warmup < 0 or args.num_workers < 0:
        p.error('--warmup and --num-workers must be >= 0')
    if args.batch_size is not None and args.batch_size < 1:
        p.error('--batch-size must be >= 1')
    return args


# ------------------------------------------------------ synthetic data sets
def _write_cifar(root, num_images, rng, hundred):
    """The official python archive layout, with random images."""
    folder = 'cifar-100-python' if hundred else 'cifar-10-batches-py'
    classes = 100 if hundred else 10
    os.makedirs(osp.join(root, folder), exist_ok=True)
    label_key = 'fine_labels' if hundred else 'labels'

    def batch(n):
        return {'data': rng.integers(0, 256, (n, 3072), dtype=np.uint8),
                label_key: [int(v) for v in rng.integers(0, classes, n)]}

    if hundred:
        files = {'train': batch(num_images), 'test': batch(10)}
        meta = ('meta', {'fine_label_names': [f'c{i}' for i in range(100)]})
    else:
        per = -(-num_images // 5)
        files = {f'data_batch_{i}': batch(per) for i in range(1, 6)}
        files['test_batch'] = batch(10)
        meta = ('batches.meta', {'label_names': [f'c{i}' for i in range(10)]})
    files[meta[0]] = meta[1]
    for name, obj in files.items():
        with open(osp.join(root, folder, name), 'wb') as f:
            pickle.dump(obj, f)


def _jpeg(path, size, rng):
    from PIL import Image
    h, w = size
    # smooth random content: a blurred noise image compresses like a photo
    small = rng.integers(0, 256, (max(h // 8, 2), max(w // 8, 2), 3),
                         dtype=np.uint8)
    img = Image.fromarray(small).resize((w, h), Image.BILINEAR)
    img.save(path, 'JPEG', quality=90)


def _write_tiny_imagenet(root, num_images, rng):
    wnids = [f'n{i:08d}' for i in range(200)]
    with open(osp.join(root, 'wnids.txt'), 'w') as f:
        f.write('\n'.join(wnids) + '\n')
    for k in range(max(num_images, 200)):  # every class has a folder
        w = wnids[k % 200]
        d = osp.join(root, 'train', w, 'images')
        os.makedirs(d, exist_ok=True)
        _jpeg(osp.join(d, f'{w}_{k}.JPEG'), (64, 64), rng)
    os.makedirs(osp.join(root, 'val', 'images'), exist_ok=True)


def _write_cub(root, num_images, rng):
    os.makedirs(osp.join(root, 'images'), exist_ok=True)
    images, labels, split = [], [], []
    for k in range(num_images):
        c = k % 200
        rel = f'{c + 1:03d}.class_{c}/img_{k}.jpg'
        os.makedirs(osp.join(root, 'images', osp.dirname(rel)),
                    exist_ok=True)
        # CUB images are mostly about 500x375 or 375x500
        size = (375, 500) if k % 3 else (500, 375)
        _jpeg(osp.join(root, 'images', rel), size, rng)
        images.append(f'{k + 1} {rel}')
        labels.append(f'{k + 1} {c + 1}')
        split.append(f'{k + 1} 1')
    for name, lines in [('images.txt', images),
                        ('image_class_labels.txt', labels),
                        ('train_test_split.txt', split)]:
        with open(osp.join(root, name), 'w') as f:
            f.write('\n'.join(lines) + '\n')


def _register_cifar_without_md5():
    """CIFAR10/CIFAR100 that read the synthetic archive: mmpretrain checks
    the md5 sums of the official files and would try to download."""
    from mmpretrain.datasets import CIFAR10, CIFAR100
    from mmpretrain.registry import DATASETS

    def patch(base):
        name = f'_Benchmark{base.__name__}'
        if DATASETS.get(name) is not None:
            return name
        cls = type(name, (base, ), {
            'meta': dict(base.meta, md5=None),
            'train_list': [[n, None] for n, _ in base.train_list],
            'test_list': [[n, None] for n, _ in base.test_list],
            '_check_integrity': lambda self: True,
        })
        DATASETS.register_module(name=name, module=cls)
        return name

    return {'CIFAR10': patch(CIFAR10), 'CIFAR100': patch(CIFAR100)}


def prepare_dataset(ds_cfg, work_dir, num_images, rng, cifar_types):
    """Point ``ds_cfg`` (a train dataset config) at synthetic data in the
    layout its class reads; return the new config."""
    ds_cfg = copy.deepcopy(ds_cfg)
    typ = ds_cfg['type']
    root = osp.join(work_dir, typ)
    if typ in ('CIFAR10', 'CIFAR100'):
        if not osp.isdir(root):
            _write_cifar(root, num_images, rng, typ == 'CIFAR100')
        ds_cfg['type'] = cifar_types[typ]
        ds_cfg['download'] = False
    elif typ == 'TinyImageNet':
        if not osp.isdir(root):
            os.makedirs(root)
            _write_tiny_imagenet(root, num_images, rng)
    elif typ == 'CUB':
        if not osp.isdir(root):
            os.makedirs(root)
            _write_cub(root, num_images, rng)
    else:
        raise ValueError(
            f'no synthetic layout for dataset type {typ!r}; supported: '
            'CIFAR10, CIFAR100, TinyImageNet, CUB')
    ds_cfg['data_root'] = root
    return ds_cfg


# ------------------------------------------------------------- measuring
def views_of(batch):
    """Number of views in a collated batch (1, or 2 for MultiView)."""
    inputs = batch['inputs']
    if isinstance(inputs, (list, tuple)) and inputs and \
            isinstance(inputs[0], (list, tuple)):
        return len(inputs)
    return 1


def time_loader(cfg, args, work_dir, rng, cifar_types):
    from mmengine.runner import Runner
    loader_cfg = copy.deepcopy(cfg.train_dataloader.to_dict())
    loader_cfg['dataset'] = prepare_dataset(
        loader_cfg['dataset'], work_dir, args.num_images, rng, cifar_types)
    loader_cfg['num_workers'] = args.num_workers
    loader_cfg['persistent_workers'] = args.num_workers > 0
    if args.batch_size is not None:
        loader_cfg['batch_size'] = args.batch_size
    loader = Runner.build_dataloader(loader_cfg, seed=args.seed)
    clock = time.process_time if args.num_workers == 0 else time.perf_counter

    def batches():
        while True:
            yield from loader

    it = batches()
    first = next(it)
    views = views_of(first)
    for _ in range(args.warmup):
        next(it)
    start = clock()
    for _ in range(args.iters):
        next(it)
    per_batch = (clock() - start) / args.iters
    return dict(batch_size=loader_cfg['batch_size'], views=views,
                ms_per_batch=1000 * per_batch,
                ms_per_image=1000 * per_batch / loader_cfg['batch_size'])


def time_pair(name, one, two, args, work_dir, rng, cifar_types):
    """The row of one setting: both configs timed, and their ratio."""
    from mmengine.config import Config
    row = dict(setting=name, one_view_config=one, two_view_config=two)
    for key, path in (('one', one), ('two', two)):
        cfg = Config.fromfile(osp.join(REPO, path)
                              if not osp.isabs(path) else path)
        row[key] = time_loader(cfg, args, work_dir, rng, cifar_types)
    if row['two']['views'] != 2 or row['one']['views'] != 1:
        raise ValueError(
            f'{name}: expected 1 and 2 views, got '
            f"{row['one']['views']} and {row['two']['views']}")
    row['ratio'] = row['two']['ms_per_batch'] / row['one']['ms_per_batch']
    return row


def main(argv=None):
    args = parse_args(argv)
    import cv2
    import torch
    from mmengine.registry import init_default_scope

    import mmmiamix  # noqa: F401  (registers TinyImageNet, the preprocessor)
    cv2.setNumThreads(0)
    torch.set_num_threads(1)
    init_default_scope('mmpretrain')
    cifar_types = _register_cifar_without_md5()

    if args.pair:
        pairs = [('pair', tuple(args.pair))]
    else:
        pairs = [(s, SETTINGS[s]) for s in args.settings]
    tmp = None
    work_dir = args.work_dir
    if work_dir is None:
        tmp = tempfile.TemporaryDirectory(prefix='benchmark_dataloader_')
        work_dir = tmp.name
    rng = np.random.default_rng(args.seed)
    mode = ('CPU time, in this process' if args.num_workers == 0 else
            f'wall time, {args.num_workers} workers')
    print(f'{args.iters} batches after {args.warmup} warm-up ones; {mode}')
    results = []
    try:
        for name, (one, two) in pairs:
            row = time_pair(name, one, two, args, work_dir, rng,
                            cifar_types)
            results.append(row)
            print(f"{name:14s} batch {row['one']['batch_size']:4d}  "
                  f"one view {row['one']['ms_per_batch']:9.2f} ms  "
                  f"two views {row['two']['ms_per_batch']:9.2f} ms  "
                  f"ratio {row['ratio']:.2f}", flush=True)
    finally:
        if tmp is not None:
            tmp.cleanup()
    print('\n| setting | batch | one view, ms/batch | two views, ms/batch '
          '| two / one |')
    print('| --- | --- | --- | --- | --- |')
    for r in results:
        print(f"| {r['setting']} | {r['one']['batch_size']} | "
              f"{r['one']['ms_per_batch']:.1f} | "
              f"{r['two']['ms_per_batch']:.1f} | {r['ratio']:.2f} |")
    if args.out:
        with open(args.out, 'w') as f:
            json.dump(dict(args=vars(args), mode=mode, results=results), f,
                      indent=1)
    return results


if __name__ == '__main__':
    main()
