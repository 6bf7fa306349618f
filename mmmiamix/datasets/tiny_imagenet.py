"""Tiny-ImageNet-200 read from the official ``tiny-imagenet-200`` folder.

Expected layout (as distributed at
http://cs231n.stanford.edu/tiny-imagenet-200.zip)::

    tiny-imagenet-200/
    ├── wnids.txt               # 200 WordNet ids, one a line: class order
    ├── words.txt               # optional: "<wnid>\\t<names>" (class names)
    ├── train/<wnid>/images/<wnid>_<n>.JPEG
    ├── val/images/val_<n>.JPEG
    └── val/val_annotations.txt # "<file>\\t<wnid>\\t<x0>\\t<y0>\\t<x1>\\t<y1>"

The ``test`` split has no labels and is rejected. Nothing is ever downloaded.
"""
import os
import os.path as osp
from typing import List, Optional, Sequence

from mmpretrain.datasets import BaseDataset
from mmpretrain.registry import DATASETS

_LAYOUT = ('tiny-imagenet-200/{wnids.txt, words.txt (optional), '
           'train/<wnid>/images/<wnid>_<n>.JPEG, val/images/val_<n>.JPEG, '
           'val/val_annotations.txt}; download the official archive from '
           'http://cs231n.stanford.edu/tiny-imagenet-200.zip and unzip it '
           'under data/ (see docs/datasets.md)')


def _missing(path: str, what: str) -> FileNotFoundError:
    return FileNotFoundError(
        f'Tiny-ImageNet: {what} not found: {path!r}. Expected the official '
        f'layout {_LAYOUT}.')


@DATASETS.register_module()
class TinyImageNet(BaseDataset):
    """Tiny-ImageNet-200 (200 classes, 64x64 images).

    Args:
        data_root (str): The ``tiny-imagenet-200`` folder.
        split (str): ``'train'`` (100,000 images) or ``'val'`` (10,000
            images, the paper's test set). ``'test'`` has no labels and
            raises ``ValueError``.
        pipeline (Sequence): Processing pipeline. Defaults to ().
        **kwargs: Other arguments of :class:`mmpretrain.datasets.BaseDataset`
            (``test_mode``, ``indices``, ``lazy_init``...).

    Class indices follow the line order of ``wnids.txt``. Class names come
    from ``words.txt`` when present, else the WordNet ids; the ids are kept
    in ``metainfo['wnids']``. Every data item carries ``img_path`` and
    ``gt_label``.
    """

    IMG_EXTENSIONS = ('.jpeg', '.jpg', '.png')

    def __init__(self,
                 data_root: str,
                 split: str = 'train',
                 pipeline: Sequence = (),
                 metainfo: Optional[dict] = None,
                 **kwargs):
        if split == 'test':
            raise ValueError(
                "Tiny-ImageNet: the 'test' split is distributed without "
                "labels; use split='val' (10,000 labelled images) for "
                'evaluation.')
        if split not in ('train', 'val'):
            raise ValueError(
                f"Tiny-ImageNet: split must be 'train' or 'val', got "
                f'{split!r}.')
        if not osp.isdir(data_root):
            raise _missing(data_root, 'dataset folder')
        self.split = split

        wnids_file = osp.join(data_root, 'wnids.txt')
        if not osp.isfile(wnids_file):
            raise _missing(wnids_file, 'class list')
        with open(wnids_file) as f:
            wnids = [line.strip() for line in f if line.strip()]
        if len(set(wnids)) != len(wnids):
            raise ValueError(f'Tiny-ImageNet: duplicate ids in {wnids_file}')
        self.wnids = wnids

        names = dict()
        words_file = osp.join(data_root, 'words.txt')
        if osp.isfile(words_file):
            with open(words_file) as f:
                for line in f:
                    parts = line.rstrip('\n').split('\t', 1)
                    if len(parts) == 2 and parts[0] in wnids:
                        names[parts[0]] = parts[1].strip()
        classes = [names.get(w, w) for w in wnids]
        if len(set(classes)) != len(classes):  # keep names unique
            classes = [f'{w}: {n}' if n != w else w
                       for w, n in zip(wnids, classes)]

        metainfo = dict(metainfo or {})
        metainfo.setdefault('classes', tuple(classes))
        metainfo.setdefault('wnids', tuple(wnids))
        super().__init__(
            ann_file='',
            metainfo=metainfo,
            data_root=data_root,
            data_prefix='',
            pipeline=pipeline,
            **kwargs)

    def _is_image(self, name: str) -> bool:
        return name.lower().endswith(self.IMG_EXTENSIONS)

    def load_data_list(self) -> List[dict]:
        root = self.data_root
        label_of = {w: i for i, w in enumerate(self.wnids)}
        data_list = []
        if self.split == 'train':
            train_dir = osp.join(root, 'train')
            if not osp.isdir(train_dir):
                raise _missing(train_dir, 'train folder')
            for wnid in self.wnids:
                img_dir = osp.join(train_dir, wnid, 'images')
                if not osp.isdir(img_dir):
                    raise _missing(img_dir, f'image folder of class {wnid}')
                files = sorted(f for f in os.listdir(img_dir)
                               if self._is_image(f))
                if not files:
                    raise _missing(osp.join(img_dir, f'{wnid}_<n>.JPEG'),
                                   f'images of class {wnid}')
                for fname in files:
                    data_list.append(
                        dict(
                            img_path=osp.join(img_dir, fname),
                            gt_label=label_of[wnid]))
        else:
            val_dir = osp.join(root, 'val')
            ann_file = osp.join(val_dir, 'val_annotations.txt')
            img_dir = osp.join(val_dir, 'images')
            if not osp.isfile(ann_file):
                raise _missing(ann_file, 'validation annotations')
            if not osp.isdir(img_dir):
                raise _missing(img_dir, 'validation image folder')
            with open(ann_file) as f:
                for lineno, line in enumerate(f, 1):
                    if not line.strip():
                        continue
                    parts = line.rstrip('\n').split('\t')
                    if len(parts) < 2:
                        raise ValueError(
                            f'Tiny-ImageNet: malformed line {lineno} of '
                            f'{ann_file!r}: expected "<file>\\t<wnid>\\t'
                            f'<x0>\\t<y0>\\t<x1>\\t<y1>", got {line!r}')
                    fname, wnid = parts[0].strip(), parts[1].strip()
                    if wnid not in label_of:
                        raise ValueError(
                            f'Tiny-ImageNet: line {lineno} of {ann_file!r} '
                            f'names {wnid!r}, which is not in wnids.txt')
                    img_path = osp.join(img_dir, fname)
                    if not osp.isfile(img_path):
                        raise _missing(img_path, 'validation image')
                    data_list.append(
                        dict(img_path=img_path, gt_label=label_of[wnid]))
        return data_list

    def extra_repr(self) -> List[str]:
        return [f'Split: \t{self.split}', f'Root: \t{self.data_root}']
