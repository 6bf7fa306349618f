"""Make a corrupted copy of a test set: 19 corruptions x 5 severities.

Usage::

    python tools/make_corrupted.py SOURCE OUT
        [--corruptions all|common|NAME ...] [--severities 1 2 3 4 5]
        [--seed 0] [--format npy folder] [--workers N] [--split test|val]

SOURCE is an image folder (``SOURCE/<class>/<image>``, classes sorted by
name, images sorted by path inside each class, as mmpretrain's
``CustomDataset`` reads them) or an mmengine config, whose
``test_dataloader.dataset`` (``--split val``: ``val_dataloader``) is built
without its pipeline and read through the ``img`` or ``img_path`` of each
item (e.g. ``configs/quickstart/vanilla_resnet18_digits.py`` for the
embedded digits).

The corruptions are those of Hendrycks & Dietterich (ImageNet-C,
CIFAR-10-C, CIFAR-100-C: the 15 benchmark ones and 4 extra), computed by the
maintained ``imagecorruptions-imaug`` package (``pip install
imagecorruptions-imaug``), never re-implemented here. Its severity
parameters are ImageNet-C's, adapted to any image size (at least 32x32):
the official CIFAR-10-C was made with milder constants for 32-pixel
images, so accuracies on a set made here are not comparable with published
CIFAR-10-C numbers; methods compared on the same set are.

Every image, corruption and severity is drawn from its own seed, derived
from ``--seed``, the corruption, the severity and the image's index, so
the output is the same for any ``--workers`` and any subset of
corruptions. OUT receives

* ``--format npy`` (the CIFAR-C layout that ``CIFAR10C``/``CIFAR100C`` of
  :mod:`mmmiamix.datasets.cifar_c` read): ``<corruption>.npy``, uint8 of
  shape ``(5 * N, H, W, 3)``, RGB, rows ``[(s - 1) * N, s * N)`` holding
  severity ``s`` of the N images in the order of the source, and
  ``labels.npy`` (int64, ``5 * N``); all 5 severities are needed;
* ``--format folder``: ``<corruption>/<severity>/<class>/<name>.png``, an
  image folder per (corruption, severity) that ``CustomDataset`` reads;
* always ``classes.txt``, ``files.txt`` (the source order) and
  ``meta.json`` (source, seed, corruptions, severities, package version).
"""
import argparse
import json
import os
import os.path as osp
import sys

import numpy as np

#: the 19 corruptions, in the order of CIFAR-10-C / CIFAR-100-C, and the 15
#: benchmark ones
from mmmiamix.datasets.cifar_c import BENCHMARK_CORRUPTIONS as COMMON
from mmmiamix.datasets.cifar_c import CIFAR_C_CORRUPTIONS as CORRUPTIONS

PACKAGE = 'imagecorruptions-imaug'
INSTALL = f'pip install {PACKAGE}'
SEVERITIES = (1, 2, 3, 4, 5)
IMAGE_EXTENSIONS = ('.jpg', '.jpeg', '.png', '.ppm', '.bmp', '.pgm', '.tif',
                    '.tiff', '.webp')
#: corruptions whose randomness the package draws from a ``seed`` argument
#: (the others use numpy's global generator)
_SEED_ARG = ('glass_blur', 'impulse_noise')


def require_imagecorruptions():
    """Import ``imagecorruptions`` or raise ImportError saying how to get it.
    """
    try:
        import imagecorruptions
    except ImportError as e:
        raise ImportError(
            f'tools/make_corrupted.py needs the {PACKAGE!r} package (the '
            'maintained imagecorruptions, working on current numpy and '
            f'scikit-image): {INSTALL}  (or: pip install -e ".[robustness]")'
            f'. Import failed with: {e}') from e
    return imagecorruptions


def package_version():
    try:
        from importlib.metadata import version
        return version(PACKAGE)
    except Exception:
        return None


# --------------------------------------------------------------- sources
def read_folder(root):
    """``(images, labels, classes, files)`` of an image folder: ``images``
    a list of ``(H, W, 3)`` uint8 RGB arrays."""
    from PIL import Image
    classes = sorted(d for d in os.listdir(root)
                     if osp.isdir(osp.join(root, d)))
    if not classes:
        raise ValueError(f'SOURCE {root!r} has no class folders '
                         '(expected SOURCE/<class>/<image>)')
    images, labels, files = [], [], []
    for label, name in enumerate(classes):
        found = []
        for dirpath, _, filenames in os.walk(osp.join(root, name)):
            for fn in filenames:
                if fn.lower().endswith(IMAGE_EXTENSIONS):
                    found.append(osp.relpath(osp.join(dirpath, fn), root))
        for rel in sorted(found):
            with Image.open(osp.join(root, rel)) as im:
                images.append(np.asarray(im.convert('RGB'), dtype=np.uint8))
            labels.append(label)
            files.append(rel)
    if not images:
        raise ValueError(f'SOURCE {root!r} holds no images with extensions '
                         f'{IMAGE_EXTENSIONS}')
    return images, labels, classes, files


def read_config(path, split='test', cfg_options=None):
    """``(images, labels, classes, files)`` of a config's test (or val)
    dataset, read without its pipeline."""
    from mmengine.config import Config
    from mmengine.registry import init_default_scope
    cfg = Config.fromfile(path)
    if cfg_options:
        cfg.merge_from_dict(cfg_options)
    init_default_scope(cfg.get('default_scope', 'mmpretrain'))
    from mmpretrain.registry import DATASETS
    loader = cfg.get(f'{split}_dataloader', None)
    if not loader or 'dataset' not in loader:
        raise ValueError(f'config {path!r} has no {split}_dataloader.dataset')
    ds_cfg = dict(loader['dataset'])
    ds_cfg['pipeline'] = []
    dataset = DATASETS.build(ds_cfg)
    classes = [str(c) for c in (dataset.metainfo.get('classes') or ())]
    images, labels, files = [], [], []
    from PIL import Image
    for i in range(len(dataset)):
        info = dataset.get_data_info(i)
        if info.get('img') is not None:
            img = np.asarray(info['img'])
            name = f'{i:06d}.png'
        elif info.get('img_path'):
            with Image.open(info['img_path']) as im:
                img = np.asarray(im.convert('RGB'))
            name = osp.splitext(osp.basename(info['img_path']))[0] + '.png'
        else:
            raise ValueError(f'item {i} of the {split} dataset has neither '
                             "'img' nor 'img_path'")
        if img.ndim == 2:
            img = np.repeat(img[:, :, None], 3, 2)
        images.append(np.ascontiguousarray(img, dtype=np.uint8))
        label = int(np.asarray(info['gt_label']).reshape(-1)[0])
        labels.append(label)
        files.append(osp.join(classes[label] if label < len(classes)
                              else str(label), name))
    if not images:
        raise ValueError(f'the {split} dataset of {path!r} is empty')
    if not classes:
        classes = [str(c) for c in range(max(labels) + 1)]
    return images, labels, classes, files


# --------------------------------------------------------------- corrupt
def item_seed(seed, corruption, severity, index):
    """The seed of one (corruption, severity, image): a 32-bit integer."""
    c = CORRUPTIONS.index(corruption)
    ss = np.random.SeedSequence([int(seed), c, int(severity), int(index)])
    return int(ss.generate_state(1)[0])


def corrupt_image(image, corruption, severity, seed, retries=10):
    """One corrupted image: ``image`` ``(H, W, 3)`` uint8 RGB, H, W >= 32;
    returns the same shape and dtype. Deterministic in ``seed``.

    Calls the package's corruption function (what ``imagecorruptions.corrupt``
    calls) and casts to uint8 as ``corrupt`` does. A draw that comes out
    non-finite (``spatter`` on a small, dark image can divide 0 by 0, which
    ``corrupt`` would cast to arbitrary bytes) is drawn again from the next
    derived seed, up to ``retries`` times.
    """
    from PIL import Image
    ic = require_imagecorruptions()
    fn = ic.corruption_dict[corruption]
    state = np.random.get_state()
    try:
        for attempt in range(retries + 1):
            s = seed if attempt == 0 else int(np.random.SeedSequence(
                [seed, attempt]).generate_state(1)[0])
            np.random.seed(s)
            kwargs = {'seed': s} if corruption in _SEED_ARG else {}
            with np.errstate(invalid='ignore', divide='ignore'):
                out = np.asarray(fn(Image.fromarray(image), int(severity),
                                    **kwargs))
            if np.isfinite(out).all():
                break
        else:
            raise ValueError(f'{corruption} at severity {severity} gave '
                             f'non-finite pixels {retries + 1} times')
    finally:
        np.random.set_state(state)
    out = np.uint8(out)
    if out.shape != image.shape:  # keep the size of the source
        fixed = np.zeros_like(image)
        h = min(out.shape[0], image.shape[0])
        w = min(out.shape[1], image.shape[1])
        fixed[:h, :w] = out[:h, :w, :3]
        out = fixed
    return out


def corrupt_block(images, corruption, severity, seed, offset=0):
    """Corrupt a list of images at one (corruption, severity)."""
    return [corrupt_image(img, corruption, severity,
                          item_seed(seed, corruption, severity, offset + i))
            for i, img in enumerate(images)]


_WORKER_IMAGES = None


def _init_worker(images):
    global _WORKER_IMAGES
    _WORKER_IMAGES = images


def _work(task):
    corruption, severity, seed, start, stop = task
    return task, corrupt_block(_WORKER_IMAGES[start:stop], corruption,
                               severity, seed, start)


class _Progress:
    """tqdm when it is installed, else a line every 5 %."""

    def __init__(self, total, desc):
        self.total, self.done, self.next = total, 0, 0
        try:
            from tqdm import tqdm
            self.bar = tqdm(total=total, desc=desc, unit='img')
        except ImportError:
            self.bar = None
            print(f'{desc}: {total} images', flush=True)

    def update(self, n):
        self.done += n
        if self.bar is not None:
            self.bar.update(n)
        elif self.done >= self.next or self.done == self.total:
            print(f'  {self.done}/{self.total} '
                  f'({100 * self.done / self.total:.0f} %)', flush=True)
            self.next = self.done + max(1, self.total // 20)

    def close(self):
        if self.bar is not None:
            self.bar.close()


def check_arguments(images, labels, files, corruptions, severities,
                    formats):
    """``(corruptions, severities, formats)`` as lists, or ValueError
    naming the bad argument."""
    corruptions = list(CORRUPTIONS if corruptions is None else corruptions)
    bad = [c for c in corruptions if c not in CORRUPTIONS]
    if bad or not corruptions:
        raise ValueError(f'corruptions: unknown {bad}; expected names from '
                         f"{', '.join(CORRUPTIONS)}, 'all' or 'common'")
    severities = [int(s) for s in severities]
    if not severities or any(s not in SEVERITIES for s in severities):
        raise ValueError(f'severities must be in 1..5, got {severities}')
    if len(set(severities)) != len(severities):
        raise ValueError(f'severities repeat: {severities}')
    formats = list(formats)
    if not formats or any(f not in ('npy', 'folder') for f in formats):
        raise ValueError(f"format must be 'npy' and/or 'folder', got "
                         f'{formats}')
    if 'npy' in formats and sorted(severities) != list(SEVERITIES):
        raise ValueError('the npy (CIFAR-C) layout holds all 5 severities; '
                         'give --severities 1 2 3 4 5 or --format folder')
    check_images(images, labels, files, 'npy' in formats)
    return corruptions, severities, formats


def check_images(images, labels, files, one_size):
    """ValueError unless ``images`` are ``(H, W, 3)`` uint8, H, W >= 32,
    as many as ``labels`` and ``files`` (and of one size if ``one_size``).
    """
    if not images or not len(images) == len(labels) == len(files):
        raise ValueError('images, labels and files must be non-empty and '
                         'of the same length')
    for i, img in enumerate(images):
        if img.dtype != np.uint8 or img.ndim != 3 or img.shape[2] != 3:
            raise ValueError(f'image {files[i]!r}: expected (H, W, 3) uint8, '
                             f'got {img.shape} {img.dtype}')
        if img.shape[0] < 32 or img.shape[1] < 32:
            raise ValueError(f'image {files[i]!r} is {img.shape[:2]}: the '
                             'corruptions need at least 32x32 pixels')
    shapes = {img.shape for img in images}
    if one_size and len(shapes) > 1:
        raise ValueError(f'images have {len(shapes)} different sizes '
                         f'({sorted(shapes)[:3]}...): the npy layout needs '
                         'one size; use --format folder')


def _results(images, tasks, workers):
    """``(task, corrupted block)`` of every task, in order."""
    if workers > 1:
        import multiprocessing as mp
        ctx = mp.get_context('fork') if 'fork' in \
            mp.get_all_start_methods() else mp.get_context()
        with ctx.Pool(workers, _init_worker, (images, )) as pool:
            yield from pool.imap(_work, tasks)
    else:
        _init_worker(images)
        for t in tasks:
            yield _work(t)


class _Writer:
    """Writes the blocks of one corruption after another: an ``.npy.part``
    memmap renamed to ``.npy`` when the corruption is complete, and/or the
    PNGs of the folder layout."""

    def __init__(self, out, formats, n, shape, files):
        self.out, self.formats, self.n, self.shape = out, formats, n, shape
        self.files, self.written = files, []
        self.current, self.array = None, None

    def block(self, c, s, a, block):
        if c != self.current:
            self.finish()
            self.current = c
            if 'npy' in self.formats:
                self.array = np.lib.format.open_memmap(
                    osp.join(self.out, f'{c}.npy.part'), mode='w+',
                    dtype=np.uint8, shape=(5 * self.n, ) + self.shape)
        if 'npy' in self.formats:
            row = (s - 1) * self.n + a
            self.array[row:row + len(block)] = np.stack(block)
        if 'folder' in self.formats:
            from PIL import Image
            for i, img in zip(range(a, a + len(block)), block):
                rel = osp.splitext(self.files[i])[0] + '.png'
                path = osp.join(self.out, c, str(s), rel)
                os.makedirs(osp.dirname(path), exist_ok=True)
                Image.fromarray(img).save(path)

    def finish(self):
        if self.array is not None:
            self.array.flush()
            self.array = None
            c = self.current
            os.replace(osp.join(self.out, f'{c}.npy.part'),
                       osp.join(self.out, f'{c}.npy'))
            self.written.append(osp.join(self.out, f'{c}.npy'))


def _write_index(out, labels, classes, files, meta, npy):
    """labels.npy (npy layout), classes.txt, files.txt and meta.json."""
    written = []
    if npy:
        np.save(osp.join(out, 'labels.npy'),
                np.tile(np.asarray(labels, dtype=np.int64), 5))
        written.append(osp.join(out, 'labels.npy'))
    with open(osp.join(out, 'classes.txt'), 'w') as f:
        f.write('\n'.join(classes) + '\n')
    with open(osp.join(out, 'files.txt'), 'w') as f:
        f.write('\n'.join(files) + '\n')
    with open(osp.join(out, 'meta.json'), 'w') as f:
        json.dump(meta, f, indent=2)
    return written + [osp.join(out, x) for x in ('classes.txt', 'files.txt',
                                                 'meta.json')]


def make_corrupted(images, labels, classes, files, out, corruptions=None,
                   severities=SEVERITIES, seed=0, formats=('npy', 'folder'),
                   workers=1, chunk=256, source=None, progress=True):
    """Write the corrupted copies of ``images`` (list of ``(H, W, 3)``
    uint8 RGB) into ``out``; see the module docstring for the layout.
    Returns the paths written."""
    require_imagecorruptions()
    corruptions, severities, formats = check_arguments(
        images, labels, files, corruptions, severities, formats)
    n, shapes, order = len(images), {img.shape for img in images}, \
        sorted(severities)
    os.makedirs(out, exist_ok=True)
    # ordered work: per corruption, per severity, chunks of images
    tasks = [(c, s, seed, a, min(a + chunk, n)) for c in corruptions
             for s in order for a in range(0, n, chunk)]
    bar = _Progress(n * len(corruptions) * len(order),
                    'corrupting') if progress else None
    writer = _Writer(out, formats, n, images[0].shape, files)
    for (c, s, _, a, _), block in _results(images, tasks, workers):
        writer.block(c, s, a, block)
        if bar is not None:
            bar.update(len(block))
    writer.finish()
    if bar is not None:
        bar.close()
    written = writer.written
    if 'folder' in formats:
        written += [osp.join(out, c) for c in corruptions]
    meta = dict(source=source, images=n, image_shape=sorted(shapes)[0]
                if len(shapes) == 1 else None, corruptions=corruptions,
                severities=order, seed=seed, formats=formats,
                package=PACKAGE, package_version=package_version(),
                note='ImageNet-C severity parameters (imagecorruptions); '
                'not the constants of the official CIFAR-10-C')
    return written + _write_index(out, labels, classes, files, meta,
                                  'npy' in formats)


# --------------------------------------------------------------- main
def parse_args(argv=None):
    p = argparse.ArgumentParser(
        description='Corrupted copy of a test set (19 corruptions x 5 '
        'severities, CIFAR-C layout and image folders), made with '
        f'{PACKAGE}')
    p.add_argument('source', help='image folder SOURCE/<class>/<image>, or '
                   'a config whose test dataset is read')
    p.add_argument('out', help='output folder')
    p.add_argument('--corruptions', nargs='+', default=['all'],
                   help="names, 'all' (19, default) or 'common' (the 15 "
                   'benchmark ones)')
    p.add_argument('--severities', nargs='+', type=int,
                   default=list(SEVERITIES))
    p.add_argument('--seed', type=int, default=0)
    p.add_argument('--format', nargs='+', default=['npy', 'folder'],
                   choices=['npy', 'folder'], dest='formats')
    p.add_argument('--workers', type=int, default=1,
                   help='processes (default 1)')
    p.add_argument('--split', default='test', choices=['test', 'val'],
                   help="a config's dataloader to read (default test)")
    p.add_argument('--no-progress', action='store_true')
    args = p.parse_args(argv)
    if args.corruptions == ['all']:
        args.corruptions = list(CORRUPTIONS)
    elif args.corruptions == ['common']:
        args.corruptions = list(COMMON)
    if args.workers < 1:
        p.error(f'--workers must be >= 1, got {args.workers}')
    return args


def main(argv=None):
    args = parse_args(argv)
    try:
        require_imagecorruptions()
        if osp.isdir(args.source):
            images, labels, classes, files = read_folder(args.source)
        elif osp.isfile(args.source) and args.source.endswith('.py'):
            images, labels, classes, files = read_config(
                args.source, args.split)
        else:
            raise ValueError(f'SOURCE {args.source!r} is neither an image '
                             'folder nor a config file')
        print(f'{len(images)} images, {len(classes)} classes from '
              f'{args.source}; {len(args.corruptions)} corruptions x '
              f'{len(args.severities)} severities -> {args.out}', flush=True)
        make_corrupted(images, labels, classes, files, args.out,
                       args.corruptions, args.severities, args.seed,
                       args.formats, args.workers,
                       source=osp.abspath(args.source),
                       progress=not args.no_progress)
    except (ImportError, ValueError) as e:
        sys.exit(f'error: {e}')
    print(f'wrote {args.out}')
    return 0


if __name__ == '__main__':
    sys.exit(main())
