"""Pictures of the mixing methods, on your images or on a dataset config.

Usage::

    python tools/visualize_mixing.py --method MiAMix --images FOLDER \\
        --out-dir figs                       # Figure 2: MiAMix's stages
    python tools/visualize_mixing.py --figure gmix-vs-agmix --images FOLDER \\
        --lam 0.7 --out-dir figs             # Figure 1: GMix vs AGMix
    python tools/visualize_mixing.py --method AGMix --args alpha=1.0 \\
        --config configs/quickstart/miamix_resnet18_digits.py --out-dir figs
    python tools/visualize_mixing.py --method MiAMix \\
        --args k_max=3 "methods=[fmix,agmix]" "method_weights=[1,1]" ...

``--method``: ``MiAMix``, ``AGMix``, ``GMix``, ``FMix``, ``GridMix``,
``SaliencyMix`` (this
project) or ``Mixup``, ``CutMix`` (drawn with this project's masks, one λ per
batch like mmpretrain's). ``--args key=value ...``: the method's arguments
(those of the ``mmmiamix.core`` classes). ``--figure``:

* ``stages`` (MiAMix; the default for it): per sample the pair (base,
  partner), the sampled cut masks with their method and λ_j, the augmented
  masks, the merged keep mask with λ_merged (the label weight of the base
  image) and the output -> ``miamix_stages.png``;
* ``gmix-vs-agmix``: GMix and AGMix at partner share ``--lam`` (default 0.7),
  output and mask side by side, one row per image -> ``gmix_vs_agmix.png``;
* ``grid`` (the default for the others): base / partner / mask / output per
  sample with λ -> ``<method>_grid.png``.

Images: ``--images FOLDER`` (any PIL-readable files, resized and centre-cropped
to ``--size``, default 224), ``--sample-images`` (scikit-learn's two sample
photos and a crop of each; no download) or ``--config CONFIG`` (the config's
``train_dataloader.dataset``, or ``test_dataloader.dataset`` with ``--split
test``, built through mmpretrain's registry without its pipeline;
``--cfg-options`` edit the config first). ``--num`` images are used (cycled
if the folder has fewer). ``--seed`` fixes every draw. No Runner, no GPU.
"""
import argparse
import os
import os.path as osp

import matplotlib

matplotlib.use('Agg')

import numpy as np
import torch
import torch.nn.functional as F

from mmmiamix import core
from mmmiamix import visualization as vis

METHODS = {
    'miamix': 'MiAMix',
    'agmix': 'AGMix',
    'gmix': 'GMix',
    'fmix': 'FMix',
    'gridmix': 'GridMix',
    'saliencymix': 'SaliencyMix',
    'mixup': 'Mixup',
    'cutmix': 'CutMix',
}
FIGURES = ('auto', 'stages', 'gmix-vs-agmix', 'grid')


def parse_args(argv=None):
    from mmengine.config import DictAction
    parser = argparse.ArgumentParser(
        description='Save PNG figures of a mixing method',
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog=__doc__.split('``--method``')[0].split('Usage::')[1])
    parser.add_argument('--method', default='MiAMix',
                        help='MiAMix, AGMix, GMix, FMix, GridMix, '
                        'SaliencyMix, Mixup or CutMix (case-insensitive)')
    parser.add_argument('--args', nargs='+', action=DictAction, default={},
                        metavar='KEY=VALUE',
                        help='arguments of the method, e.g. alpha=1.0 '
                        'k_max=3 "methods=[fmix,agmix]"')
    src = parser.add_mutually_exclusive_group(required=True)
    src.add_argument('--images', help='folder of images')
    src.add_argument('--config', help='a config with train_dataloader')
    src.add_argument('--sample-images', action='store_true',
                     help="scikit-learn's sample photos (china.jpg, "
                     'flower.jpg) and a crop of each (no download)')
    parser.add_argument('--split', choices=['train', 'test'],
                        default='train', help='dataset of --config to use')
    parser.add_argument('--cfg-options', nargs='+', action=DictAction,
                        help='override settings of --config')
    parser.add_argument('--figure', choices=FIGURES, default='auto')
    parser.add_argument('--num', type=int, default=4,
                        help='images (rows) per figure')
    parser.add_argument('--size', type=int, default=None,
                        help='image side (default 224 for --images, the '
                        "dataset's own size for --config)")
    parser.add_argument('--lam', type=float, default=None,
                        help='partner share for every mask (default 0.7 for '
                        'gmix-vs-agmix; drawn by the method otherwise)')
    parser.add_argument('--seed', type=int, default=0)
    parser.add_argument('--out-dir', required=True, help='output folder')
    parser.add_argument('--dpi', type=int, default=100)
    parser.add_argument('--compact', action='store_true',
                        help='save 256-colour PNGs (smaller files)')
    args = parser.parse_args(argv)
    key = args.method.lower()
    if key not in METHODS:
        parser.error(f'--method must be one of {sorted(METHODS.values())}, '
                     f'got {args.method!r}')
    args.method = METHODS[key]
    if args.num < 1:
        parser.error('--num must be >= 1')
    if args.lam is not None and not 0.0 <= args.lam <= 1.0:
        parser.error('--lam must be in [0, 1]')
    if args.figure == 'auto':
        args.figure = 'stages' if args.method == 'MiAMix' else 'grid'
    if args.figure == 'stages' and args.method != 'MiAMix':
        parser.error('--figure stages needs --method MiAMix')
    return args


# ---------------------------------------------------------------- images
def _resize_crop(img: torch.Tensor, size: int) -> torch.Tensor:
    """``(C, H, W)`` float: shorter side to ``size``, centre crop."""
    h, w = img.shape[-2:]
    scale = size / min(h, w)
    nh, nw = max(size, round(h * scale)), max(size, round(w * scale))
    if (nh, nw) != (h, w):
        img = F.interpolate(img[None], size=(nh, nw), mode='bilinear',
                            align_corners=False, antialias=scale < 1)[0]
    top, left = (nh - size) // 2, (nw - size) // 2
    return img[:, top:top + size, left:left + size]


def load_folder(folder: str, num: int, size: int):
    """``num`` images of a folder (cycled) as float ``(num, 3, S, S)`` on
    0..255, labels (index of the file) and class names (file stems)."""
    from PIL import Image
    files = vis.list_images(folder)
    if not files:
        raise SystemExit(f'no image files in {folder!r}')
    images = []
    for path in files[:num]:
        with Image.open(path) as im:
            arr = np.asarray(im.convert('RGB'), dtype=np.float32)
        images.append(_resize_crop(torch.from_numpy(arr).permute(2, 0, 1),
                                   size).clamp(0, 255))
    names = [osp.splitext(osp.basename(p))[0] for p in files[:num]]
    idx = [i % len(images) for i in range(num)]
    return (torch.stack([images[i] for i in idx]), torch.tensor(idx),
            names)


def load_sample_images(num: int, size: int):
    """scikit-learn's two sample photos and a crop of each (the pagoda, the
    dahlia), cycled to ``num`` images."""
    from sklearn.datasets import load_sample_images as load
    data = load()
    names = [osp.splitext(osp.basename(f))[0] for f in data.filenames]
    photos = dict(zip(names, data.images))
    crops = [('china', photos['china'], None),
             ('flower', photos['flower'], None),
             ('pagoda', photos['china'], (30, 230, 130, 330)),
             ('dahlia', photos['flower'], (0, 400, 120, 520))]
    images, classes = [], []
    for name, arr, box in crops:
        if box is not None:
            arr = arr[box[0]:box[1], box[2]:box[3]]
        t = torch.from_numpy(np.array(arr)).permute(2, 0, 1)  # writable copy
        images.append(_resize_crop(t.float(), size).clamp(0, 255))
        classes.append(name)
    idx = [i % len(images) for i in range(num)]
    return (torch.stack([images[i] for i in idx]), torch.tensor(idx),
            classes)


def load_config(config: str, split: str, num: int, size, seed: int,
                cfg_options=None):
    """``num`` seeded random images of the config's dataset, their labels
    and the class names."""
    import mmcv
    from mmengine.config import Config
    from mmengine.registry import init_default_scope
    from mmengine.utils import import_modules_from_strings
    from mmpretrain.registry import DATASETS

    import mmmiamix  # noqa: F401  (registers the datasets)
    cfg = Config.fromfile(config)
    if cfg_options:
        cfg.merge_from_dict(cfg_options)
    if cfg.get('custom_imports'):
        import_modules_from_strings(**cfg.custom_imports)
    init_default_scope(cfg.get('default_scope', 'mmpretrain'))
    loader = cfg.get(f'{split}_dataloader') or cfg.get('train_dataloader')
    ds_cfg = loader.dataset.copy()
    while 'dataset' in ds_cfg and 'pipeline' not in ds_cfg:
        ds_cfg = ds_cfg.dataset.copy()  # dataset wrappers
    ds_cfg.pipeline = []
    dataset = DATASETS.build(ds_cfg)
    gen = np.random.RandomState(seed)
    picks = gen.choice(len(dataset), size=num, replace=len(dataset) < num)
    images, labels = [], []
    for i in picks:
        info = dataset.get_data_info(int(i))
        if 'img' in info:
            img = np.asarray(info['img'])
        elif 'img_path' in info:
            img = mmcv.imread(info['img_path'], channel_order='rgb')
        else:
            raise SystemExit('the dataset gives neither img nor img_path')
        if img.ndim == 2:
            img = np.repeat(img[:, :, None], 3, 2)
        t = torch.from_numpy(np.ascontiguousarray(img[:, :, :3])).permute(
            2, 0, 1).float()
        side = size or min(t.shape[-2:])
        images.append(_resize_crop(t, side) if size or
                      t.shape[-1] != t.shape[-2] else t)
        labels.append(int(np.asarray(info.get('gt_label', -1)).reshape(-1)
                          [0]))
    shapes = {tuple(im.shape) for im in images}
    if len(shapes) > 1:  # unequal sizes: bring all to the smallest side
        side = min(min(s[-2:]) for s in shapes)
        images = [_resize_crop(im, side) for im in images]
    classes = dataset.metainfo.get('classes')
    labels = torch.tensor(labels)
    if (labels < 0).any():
        labels = torch.arange(num)
        classes = None
    return torch.stack(images), labels, (list(classes) if classes else None)


# ---------------------------------------------------------------- figures
def _scores(labels: torch.Tensor, classes) -> torch.Tensor:
    n = max(int(labels.max()) + 1, len(classes) if classes else 0)
    return F.one_hot(labels.long(), n).float()


def _partners(n: int) -> torch.Tensor:
    """Partner of row i: the next row (a different image where possible)."""
    return torch.arange(n).roll(-1) if n > 1 else torch.zeros(1).long()


def figure_stages(args, images, labels, classes):
    aug = core.MiAMix(**args.args)
    gen = torch.Generator().manual_seed(args.seed)
    details = aug.explain(images, _scores(labels, classes), generator=gen)
    path = osp.join(args.out_dir, 'miamix_stages.png')
    return vis.plot_stages(details, path, aug.methods, images=images,
                           classes=classes, max_samples=args.num,
                           dpi=args.dpi)


def figure_gmix_vs_agmix(args, images, labels, classes):
    lam_value = 0.7 if args.lam is None else args.lam
    n = images.shape[0]
    size = tuple(images.shape[-2:])
    gen = torch.Generator().manual_seed(args.seed)
    lam = torch.full((n, ), lam_value)
    agmix_kwargs = {k: v for k, v in args.args.items() if k != 'alpha'} \
        if args.method == 'AGMix' else {}
    gm = core.gmix_mask(lam, size, generator=gen)
    am = core.agmix_mask(lam, size, generator=gen, **agmix_kwargs)
    partners = images[_partners(n)]
    outs = [(1 - m) * images + m * partners for m in (gm, am)]
    path = osp.join(args.out_dir, 'gmix_vs_agmix.png')
    return vis.plot_gmix_vs_agmix(outs[0], gm, outs[1], am, path,
                                  lam=lam_value, dpi=args.dpi)


def figure_grid(args, images, labels, classes):
    n = images.shape[0]
    size = tuple(images.shape[-2:])
    gen = torch.Generator().manual_seed(args.seed)
    kwargs = dict(args.args)
    if args.method in ('Mixup', 'CutMix'):
        # mmpretrain's Mixup / CutMix: one lam per batch ~ Beta(alpha, alpha)
        alpha = float(kwargs.pop('alpha', 1.0))
        method = args.method.lower()
        if args.lam is None:
            lam = core.sample_beta(1, alpha, 'cpu', gen).expand(n)
        else:
            lam = torch.full((n, ), args.lam)
    else:
        aug = getattr(core, args.method)(**kwargs)  # validates the arguments
        method, kwargs = aug.method, dict(aug.method_kwargs)
        lam = core.sample_beta(n, aug.alpha, 'cpu', gen) \
            if args.lam is None else torch.full((n, ), args.lam)
    partner_idx = _partners(n)
    spec = core.MASK_METHODS[method]
    params = spec.sample(lam.contiguous(), size, gen, **kwargs)
    if args.method == 'SaliencyMix':  # box on the partner's salient point
        params = aug.place(dict(params, perm=partner_idx), images)
    mask = spec.render(params, size)
    partners = images[partner_idx]
    out = (1 - mask) * images + mask * partners
    scores = _scores(labels, classes)
    keep = 1 - mask.mean(dim=(1, 2, 3))
    mixed_scores = keep[:, None] * scores + (1 - keep[:, None]) * scores[
        partner_idx]
    path = osp.join(args.out_dir, f'{args.method.lower()}_grid.png')
    return vis.plot_simple(images, partners, mask, out, path, lam=lam,
                           method=f'{args.method}: cut masks (white = '
                           'partner), \u03bb = partner share asked',
                           scores=mixed_scores, classes=classes,
                           dpi=args.dpi)


def main(argv=None):
    args = parse_args(argv)
    if args.images:
        images, labels, classes = load_folder(args.images, args.num,
                                              args.size or 224)
    elif args.sample_images:
        images, labels, classes = load_sample_images(args.num,
                                                     args.size or 224)
    else:
        images, labels, classes = load_config(args.config, args.split,
                                              args.num, args.size,
                                              args.seed, args.cfg_options)
    torch.manual_seed(args.seed)
    vis.COMPACT = args.compact
    os.makedirs(args.out_dir, exist_ok=True)
    make = {
        'stages': figure_stages,
        'gmix-vs-agmix': figure_gmix_vs_agmix,
        'grid': figure_grid,
    }[args.figure]
    path = make(args, images, labels, classes)
    print(f'saved {path}')
    return path


if __name__ == '__main__':
    main()
