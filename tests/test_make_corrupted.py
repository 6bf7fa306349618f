"""tools/make_corrupted.py on a tiny image folder: the CIFAR-C layout that
CIFAR10C reads, image folders, determinism under a seed, severities."""
import os.path as osp
import subprocess
import sys

import numpy as np
import pytest
from PIL import Image

HERE = osp.dirname(osp.abspath(__file__))
REPO = osp.dirname(HERE)
sys.path.insert(0, HERE)
sys.path.insert(0, osp.join(REPO, 'tools'))
import make_corrupted as mc  # noqa: E402

import tinydata  # noqa: E402

CORRUPTIONS = ['gaussian_noise', 'impulse_noise', 'contrast']


@pytest.fixture(scope='module')
def made(tmp_path_factory):
    tmp = tmp_path_factory.mktemp('corrupt')
    src = tmp / 'src'
    tinydata.make_png_dataset(str(src), num_classes=3, per_class=4)
    out = tmp / 'out'
    rc = mc.main([str(src), str(out), '--corruptions'] + CORRUPTIONS +
                 ['--seed', '3', '--no-progress'])
    assert rc == 0
    return dict(tmp=tmp, src=src, out=out)


def _clean(src):
    images, labels, classes, files = mc.read_folder(str(src))
    return np.stack(images), np.asarray(labels), classes, files


def test_cifar_c_layout(made):
    clean, labels, classes, files = _clean(made['src'])
    n = len(clean)
    assert n == 12 and classes == ['class_0', 'class_1', 'class_2']
    assert list(labels) == [0] * 4 + [1] * 4 + [2] * 4
    assert files[5] == osp.join('class_1', '001.png')
    for c in CORRUPTIONS:
        arr = np.load(made['out'] / f'{c}.npy')
        assert arr.shape == (5 * n, 32, 32, 3) and arr.dtype == np.uint8
    lab = np.load(made['out'] / 'labels.npy')
    assert lab.dtype == np.int64 and lab.tolist() == labels.tolist() * 5
    assert not list(made['out'].glob('*.part'))
    # image folders hold the same pixels as the arrays, RGB
    arr = np.load(made['out'] / 'gaussian_noise.npy')
    png = np.asarray(Image.open(made['out'] / 'gaussian_noise' / '3' /
                                'class_1' / '001.png'))
    np.testing.assert_array_equal(png, arr[2 * n + 5])
    assert (made['out'] / 'classes.txt').read_text().split() == classes
    assert (made['out'] / 'files.txt').read_text().split() == files


def test_loads_with_cifar10c(made):
    import mmmiamix.datasets  # noqa: F401
    from mmmiamix.datasets import CIFAR10C
    clean, labels, _, _ = _clean(made['src'])
    n = len(clean)
    ds = CIFAR10C(data_root=str(made['out']), corruptions=['contrast'],
                  severities=[2, 5], pipeline=[])
    assert len(ds) == 2 * n
    arr = np.load(made['out'] / 'contrast.npy')
    item = ds[n + 7]  # severity 5, image 7
    assert item['severity'] == 5 and item['image_idx'] == 7
    assert item['gt_label'] == labels[7]
    np.testing.assert_array_equal(item['img'], arr[4 * n + 7])


def test_severity_changes_pixels(made):
    clean, _, _, _ = _clean(made['src'])
    n = len(clean)
    for c in CORRUPTIONS:
        arr = np.load(made['out'] / f'{c}.npy').astype(np.float64)
        dist = [np.abs(arr[(s - 1) * n:s * n] - clean).mean()
                for s in range(1, 6)]
        assert dist[0] > 0.5, (c, dist)
        assert all(a < b for a, b in zip(dist, dist[1:])), (c, dist)


def test_deterministic_under_seed(made, tmp_path):
    src = made['src']
    # same seed, one corruption, two processes: the same bytes as the
    # first run (seeds depend on corruption, severity and image only)
    again = tmp_path / 'again'
    mc.main([str(src), str(again), '--corruptions', 'impulse_noise',
             'gaussian_noise', '--seed', '3', '--workers', '2',
             '--format', 'npy', '--no-progress'])
    for c in ('impulse_noise', 'gaussian_noise'):
        np.testing.assert_array_equal(np.load(again / f'{c}.npy'),
                                      np.load(made['out'] / f'{c}.npy'))
    assert not (again / 'gaussian_noise').exists()  # npy only
    other = tmp_path / 'other'
    mc.main([str(src), str(other), '--corruptions', 'gaussian_noise',
             '--seed', '4', '--format', 'npy', '--no-progress'])
    a = np.load(other / 'gaussian_noise.npy')
    b = np.load(made['out'] / 'gaussian_noise.npy')
    assert (a != b).mean() > 0.5


def test_corrupt_image_matches_the_package():
    import imagecorruptions
    rng = np.random.default_rng(0)
    img = rng.integers(0, 256, (32, 40, 3), dtype=np.uint8)
    for c in ('shot_noise', 'impulse_noise', 'fog', 'pixelate'):
        np.random.seed(11)
        kwargs = {'seed': 11} if c == 'impulse_noise' else {}
        ref = imagecorruptions.corrupt(img, 4, c, **kwargs)
        out = mc.corrupt_image(img, c, 4, 11)
        assert out.shape == img.shape and out.dtype == np.uint8
        np.testing.assert_array_equal(out, ref)


def test_config_source_digits():
    from mmmiamix.datasets import Digits
    images, labels, classes, files = mc.read_config(
        osp.join(REPO, 'configs', 'quickstart', 'vanilla_resnet18_digits.py'))
    test = Digits(split='test')
    assert len(images) == len(test) == 359
    assert classes == [str(i) for i in range(10)]
    assert labels[:20] == [test.get_data_info(i)['gt_label']
                           for i in range(20)]
    np.testing.assert_array_equal(images[3], test.get_data_info(3)['img'])


def test_bad_input(tmp_path):
    small = [np.zeros((16, 16, 3), np.uint8)]
    with pytest.raises(ValueError, match='32x32'):
        mc.make_corrupted(small, [0], ['a'], ['a/0.png'], str(tmp_path))
    img = [np.zeros((32, 32, 3), np.uint8)]
    with pytest.raises(ValueError, match='5 severities'):
        mc.make_corrupted(img, [0], ['a'], ['a/0.png'], str(tmp_path),
                          severities=[1, 2])
    with pytest.raises(ValueError, match='unknown'):
        mc.make_corrupted(img, [0], ['a'], ['a/0.png'], str(tmp_path),
                          corruptions=['rain'])
    with pytest.raises(ValueError, match='class folders'):
        mc.read_folder(str(tmp_path))


def test_missing_package_message(monkeypatch):
    monkeypatch.setitem(sys.modules, 'imagecorruptions', None)
    with pytest.raises(ImportError) as e:
        mc.require_imagecorruptions()
    assert 'imagecorruptions-imaug' in str(e.value)
    assert 'pip install imagecorruptions-imaug' in str(e.value)


def _build_cli_help(tmp, prefetched):
    code = ('import sys; sys.modules["imagecorruptions"] = None; '
            f'sys.argv = ["make_corrupted.py", "--help"]; '
            f'sys.path.insert(0, {osp.join(REPO, "tools")!r}); '
            'import make_corrupted; make_corrupted.main()')
    return subprocess.run([sys.executable, '-c', code], capture_output=True,
                          text=True, timeout=60)


PREFETCH = {'cli_help': _build_cli_help}


@pytest.fixture(scope='module')
def cli_help(prefetched):
    return prefetched(_build_cli_help)


def test_cli_help_without_package(cli_help):
    assert cli_help.returncode == 0 and '--corruptions' in cli_help.stdout


def test_one_list_of_corruptions():
    """The tools read the corruption names of mmmiamix.datasets.cifar_c:
    the 15 benchmark ones first, then the 4 extra ones."""
    from mmmiamix.datasets import cifar_c
    assert mc.CORRUPTIONS is cifar_c.CIFAR_C_CORRUPTIONS
    assert mc.COMMON == cifar_c.BENCHMARK_CORRUPTIONS
    assert len(cifar_c.BENCHMARK_CORRUPTIONS) == 15
    assert cifar_c.EXTRA_CORRUPTIONS == ('speckle_noise', 'gaussian_blur',
                                         'spatter', 'saturate')
    assert cifar_c.BENCHMARK_CORRUPTIONS + cifar_c.EXTRA_CORRUPTIONS == \
        cifar_c.CIFAR_C_CORRUPTIONS
