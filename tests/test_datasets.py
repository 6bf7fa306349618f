"""TinyImageNet and CIFAR-10-C / CIFAR-100-C on tiny fixtures written in the
exact layouts of the official distributions."""
import os
import os.path as osp

import numpy as np
import pytest
import torch
from mmpretrain.datasets.categories import (
    CIFAR10_CATEGORIES,
    CIFAR100_CATEGORIES,
)
from mmpretrain.registry import DATASETS
from PIL import Image

import mmmiamix  # noqa: F401  (registers the datasets)
from mmmiamix.datasets import CIFAR10C, CIFAR100C, TinyImageNet
from mmmiamix.datasets.cifar_c import CIFAR_C_CORRUPTIONS

# ------------------------------------------------------------ Tiny-ImageNet
WNIDS = ['n02124075', 'n01443537', 'n09256479']  # deliberately not sorted
WORDS = {
    'n01443537': 'goldfish, Carassius auratus',
    'n02124075': 'Egyptian cat',
    'n09256479': 'coral reef',
    'n00000001': 'not one of the classes',
}


def _jpeg(path, value, size=(64, 64), mode='RGB'):
    os.makedirs(osp.dirname(path), exist_ok=True)
    color = value if mode == 'L' else (value, 255 - value, 7)
    Image.new(mode, size, color).save(path, 'JPEG', quality=95)


def make_tiny_imagenet(root, words=True):
    """tiny-imagenet-200 as distributed: 3 classes, 2 train images each,
    4 val images."""
    os.makedirs(root)
    with open(osp.join(root, 'wnids.txt'), 'w') as f:
        f.write('\n'.join(WNIDS) + '\n')
    if words:
        with open(osp.join(root, 'words.txt'), 'w') as f:
            for k, v in WORDS.items():
                f.write(f'{k}\t{v}\n')
    for c, wnid in enumerate(WNIDS):
        d = osp.join(root, 'train', wnid)
        os.makedirs(osp.join(d, 'images'))
        with open(osp.join(d, f'{wnid}_boxes.txt'), 'w') as f:
            for n in range(2):
                f.write(f'{wnid}_{n}.JPEG\t0\t0\t63\t63\n')
                # one grayscale image, as in the real data set
                _jpeg(osp.join(d, 'images', f'{wnid}_{n}.JPEG'), 40 * c + n,
                      mode='L' if (c, n) == (2, 1) else 'RGB')
    val = [('val_0.JPEG', WNIDS[2]), ('val_1.JPEG', WNIDS[0]),
           ('val_2.JPEG', WNIDS[1]), ('val_3.JPEG', WNIDS[2])]
    os.makedirs(osp.join(root, 'val', 'images'))
    with open(osp.join(root, 'val', 'val_annotations.txt'), 'w') as f:
        for i, (name, wnid) in enumerate(val):
            f.write(f'{name}\t{wnid}\t0\t{i}\t62\t63\n')
            _jpeg(osp.join(root, 'val', 'images', name), 100 + i)
    os.makedirs(osp.join(root, 'test', 'images'))
    _jpeg(osp.join(root, 'test', 'images', 'test_0.JPEG'), 3)
    return val


@pytest.fixture
def tiny_root(tmp_path):
    root = str(tmp_path / 'tiny-imagenet-200')
    make_tiny_imagenet(root)
    return root


def test_tiny_imagenet_train(tiny_root):
    ds = TinyImageNet(data_root=tiny_root, split='train')
    assert len(ds) == 6
    # class order = line order of wnids.txt, names from words.txt
    assert ds.metainfo['wnids'] == tuple(WNIDS)
    assert ds.CLASSES == ('Egyptian cat', 'goldfish, Carassius auratus',
                          'coral reef')
    labels = [ds.get_data_info(i)['gt_label'] for i in range(len(ds))]
    assert sorted(labels) == [0, 0, 1, 1, 2, 2]
    for i in range(len(ds)):
        info = ds.get_data_info(i)
        wnid = WNIDS[info['gt_label']]
        assert info['img_path'].startswith(
            osp.join(tiny_root, 'train', wnid, 'images', wnid + '_'))
    assert list(ds.get_gt_labels()) == labels


def test_tiny_imagenet_val_and_pipeline(tiny_root):
    pipeline = [
        dict(type='LoadImageFromFile'),
        dict(type='RandomCrop', crop_size=64, padding=4),
        dict(type='RandomFlip', prob=0.5, direction='horizontal'),
        dict(type='PackInputs'),
    ]
    ds = DATASETS.build(
        dict(type='TinyImageNet', data_root=tiny_root, split='val',
             pipeline=pipeline))
    assert len(ds) == 4
    # val labels come from val_annotations.txt, in the order of the file
    assert [ds.get_data_info(i)['gt_label'] for i in range(4)] == [2, 0, 1, 2]
    assert osp.basename(ds.get_data_info(1)['img_path']) == 'val_1.JPEG'
    item = ds[0]
    assert item['inputs'].shape == (3, 64, 64)
    assert item['inputs'].dtype == torch.uint8
    assert int(item['data_samples'].gt_label) == 2


def test_tiny_imagenet_grayscale_loads_as_3_channels(tiny_root):
    ds = TinyImageNet(
        data_root=tiny_root,
        split='train',
        pipeline=[dict(type='LoadImageFromFile'), dict(type='PackInputs')])
    shapes = {tuple(ds[i]['inputs'].shape) for i in range(len(ds))}
    assert shapes == {(3, 64, 64)}


def test_tiny_imagenet_without_words(tmp_path):
    root = str(tmp_path / 'tiny-imagenet-200')
    make_tiny_imagenet(root, words=False)
    ds = TinyImageNet(data_root=root, split='train')
    assert ds.CLASSES == tuple(WNIDS)


def test_tiny_imagenet_errors(tiny_root, tmp_path):
    with pytest.raises(ValueError, match='test'):
        TinyImageNet(data_root=tiny_root, split='test')
    with pytest.raises(ValueError, match='split'):
        TinyImageNet(data_root=tiny_root, split='training')
    # missing root folder
    missing = str(tmp_path / 'nowhere')
    with pytest.raises(FileNotFoundError, match='nowhere'):
        TinyImageNet(data_root=missing)
    # missing val annotations: named, with the expected layout
    os.remove(osp.join(tiny_root, 'val', 'val_annotations.txt'))
    with pytest.raises(FileNotFoundError) as err:
        TinyImageNet(data_root=tiny_root, split='val')
    msg = str(err.value)
    assert osp.join(tiny_root, 'val', 'val_annotations.txt') in msg
    assert 'wnids.txt' in msg and 'train/<wnid>/images' in msg
    # missing class folder
    os.rename(osp.join(tiny_root, 'train', WNIDS[1]),
              osp.join(tiny_root, 'train', 'elsewhere'))
    with pytest.raises(FileNotFoundError, match=WNIDS[1]):
        TinyImageNet(data_root=tiny_root, split='train')
    # missing wnids.txt
    os.remove(osp.join(tiny_root, 'wnids.txt'))
    with pytest.raises(FileNotFoundError, match='wnids.txt'):
        TinyImageNet(data_root=tiny_root, split='train')


def test_tiny_imagenet_val_image_missing(tiny_root):
    os.remove(osp.join(tiny_root, 'val', 'images', 'val_2.JPEG'))
    with pytest.raises(FileNotFoundError, match='val_2.JPEG'):
        TinyImageNet(data_root=tiny_root, split='val')


# --------------------------------------------------------------------- CIFAR-C
N = 4  # images per severity (10000 in the real files)


def make_cifar_c(root, corruptions=('fog', 'snow'), num_classes=10):
    """<corruption>.npy of shape (5 * N, 32, 32, 3) uint8 and labels.npy.
    Pixel (0, 0) encodes (corruption index, severity, image index)."""
    os.makedirs(root)
    # the same N test images (and labels) repeated for every severity
    labels = np.tile((np.arange(N) * 7 + 3) % num_classes, 5).astype(np.int64)
    np.save(osp.join(root, 'labels.npy'), labels)
    for c, name in enumerate(corruptions):
        arr = np.zeros((5 * N, 32, 32, 3), np.uint8)
        for s in range(5):
            for i in range(N):
                arr[s * N + i, 0, 0] = (c, s + 1, i)
                arr[s * N + i, 1:, :, 0] = 200  # red: checks RGB order
        np.save(osp.join(root, f'{name}.npy'), arr)
    return labels


def test_standard_corruption_list():
    assert len(CIFAR_C_CORRUPTIONS) == 19
    assert len(set(CIFAR_C_CORRUPTIONS)) == 19
    assert {'gaussian_noise', 'jpeg_compression', 'saturate',
            'speckle_noise', 'spatter', 'gaussian_blur'} <= set(
                CIFAR_C_CORRUPTIONS)


def test_cifar10c_items_and_metadata(tmp_path):
    root = str(tmp_path / 'CIFAR-10-C')
    labels = make_cifar_c(root)
    ds = CIFAR10C(data_root=root, corruptions=['fog', 'snow'])
    assert len(ds) == 2 * 5 * N
    assert ds.CLASSES == CIFAR10_CATEGORIES
    seen = set()
    for idx in range(len(ds)):
        info = ds.get_data_info(idx)
        c, sev, i = info['img'][0, 0]
        assert ['fog', 'snow'][c] == info['corruption']
        assert sev == info['severity'] and 1 <= sev <= 5
        assert i == info['image_idx']
        assert info['gt_label'] == labels[(sev - 1) * N + i]
        assert info['img'].shape == (32, 32, 3)
        assert info['img'].dtype == np.uint8
        assert info['img'][5, 5, 0] == 200 and info['img'][5, 5, 2] == 0
        seen.add((info['corruption'], info['severity'], info['image_idx']))
    assert len(seen) == len(ds)


def test_cifar100c_selection_and_pipeline(tmp_path):
    root = str(tmp_path / 'CIFAR-100-C')
    labels = make_cifar_c(root, num_classes=100)
    ds = DATASETS.build(
        dict(
            type='CIFAR100C',
            data_root=root,
            corruptions='snow',
            severities=[2, 5],
            pipeline=[
                dict(type='PackInputs',
                     meta_keys=('sample_idx', 'corruption', 'severity'))
            ]))
    assert isinstance(ds, CIFAR100C)
    assert ds.CLASSES == CIFAR100_CATEGORIES
    assert len(ds) == 2 * N
    assert [ds.get_data_info(i)['severity'] for i in range(len(ds))] == \
        [2] * N + [5] * N
    item = ds[N + 1]
    assert item['inputs'].shape == (3, 32, 32)
    sample = item['data_samples']
    assert sample.corruption == 'snow' and sample.severity == 5
    assert int(sample.gt_label) == labels[4 * N + 1]
    # channel order kept (RGB, like mmpretrain's CIFAR100)
    assert int(item['inputs'][0, 5, 5]) == 200
    assert int(item['inputs'][2, 5, 5]) == 0


def test_cifar_c_default_is_all_19_corruptions(tmp_path):
    root = str(tmp_path / 'CIFAR-10-C')
    make_cifar_c(root, corruptions=CIFAR_C_CORRUPTIONS)
    ds = CIFAR10C(data_root=root)
    assert ds.corruptions == CIFAR_C_CORRUPTIONS
    assert len(ds) == 19 * 5 * N


def test_cifar_c_errors(tmp_path):
    root = str(tmp_path / 'CIFAR-10-C')
    make_cifar_c(root)
    # a corruption whose file is missing: named in the error
    with pytest.raises(FileNotFoundError, match='frost.npy'):
        CIFAR10C(data_root=root, corruptions=['fog', 'frost'])
    # bad severity
    with pytest.raises(ValueError, match='severit'):
        CIFAR10C(data_root=root, corruptions=['fog'], severities=[0, 6])
    # wrong shape
    np.save(osp.join(root, 'snow.npy'), np.zeros((5 * N, 32, 32), np.uint8))
    with pytest.raises(ValueError, match='shape'):
        CIFAR10C(data_root=root, corruptions=['snow'])
    # row count not matching labels.npy
    np.save(osp.join(root, 'snow.npy'),
            np.zeros((5 * N + 5, 32, 32, 3), np.uint8))
    with pytest.raises(ValueError, match='shape'):
        CIFAR10C(data_root=root, corruptions=['snow'])
    # missing labels.npy
    os.remove(osp.join(root, 'labels.npy'))
    with pytest.raises(FileNotFoundError, match='labels.npy'):
        CIFAR10C(data_root=root, corruptions=['fog'])
    # missing folder
    with pytest.raises(FileNotFoundError, match='CIFAR-100-C'):
        CIFAR100C(data_root=str(tmp_path / 'CIFAR-100-C'))


def test_cifar_c_pickles_without_memory_maps(tmp_path):
    import pickle
    root = str(tmp_path / 'CIFAR-10-C')
    make_cifar_c(root)
    ds = CIFAR10C(data_root=root, corruptions=['fog'])
    ds.get_data_info(0)
    clone = pickle.loads(pickle.dumps(ds))
    assert clone._arrays == {}
    assert (clone.get_data_info(3)['img'] == ds.get_data_info(3)['img']).all()
