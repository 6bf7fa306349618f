"""README's "Use it from timm / torchvision / Lightning / a bare loop": each
snippet runs as printed, on the embedded digits written as PNG folders and
read by torchvision's ImageFolder with v2 transforms, and trains; plus the
integrations they use (MixCollate in spawned workers, MixingCallback on
resume)."""
import os
import os.path as osp
import pickle
import re
import subprocess
import sys

import pytest
import torch
import torch.nn.functional as F

from mmmiamix import core
from mmmiamix.integrations import MixCollate

ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))
README = open(osp.join(ROOT, 'README.md'), encoding='utf-8').read()
HEADING = '## Use it from timm / torchvision / Lightning / a bare loop'
SECTION = README.split(HEADING, 1)[1].split('\n## ', 1)[0]
# each snippet names itself in its first line: "# timm", ...
SNIPPETS = {
    code.splitlines()[0][2:]: code
    for code in re.findall(r'```python\n(.*?)```', SECTION, re.S)
}
K = 10
N = 135  # 64 + 64 + 7: the last batch is odd (timm's Mixup refuses it)
# epochs per snippet run (the last one unmixed where the snippet says so):
# torchvision's ResNet-18 learns the digits in a few steps, timm's (zero-
# initialised last BN of every block) needs a few more
EPOCHS = 2
TIMM_EPOCHS = 3
# the bare loop's rate of mixed samples is counted over its mixed epochs
BARE_EPOCHS = 3
# a net that learned nothing scores ln 10 = 2.30 on the unmixed set
LEARNED = 1.8


@pytest.fixture(scope='module')
def train_set(tmp_path_factory):
    """The first 135 training digits as PNG class folders, read by
    ImageFolder with v2 transforms: float (3, 32, 32) images, int labels."""
    from PIL import Image
    from torchvision.datasets import ImageFolder
    from torchvision.transforms import v2

    from mmmiamix.datasets import Digits
    root = tmp_path_factory.mktemp('digits_png')
    digits = Digits(split='train', indices=N)
    for i in range(len(digits)):
        info = digits.get_data_info(i)
        folder = root / str(info['gt_label'])
        folder.mkdir(exist_ok=True)
        Image.fromarray(info['img']).save(folder / f'{i:04d}.png')
    return ImageFolder(str(root), transform=v2.Compose([
        v2.ToImage(), v2.ToDtype(torch.float32, scale=True),
        v2.Normalize(mean=[0.31] * 3, std=[0.32] * 3)]))


@pytest.fixture
def calls(monkeypatch):
    """Spy on MiAMix calls in this process: (enabled, batch size, rows with
    mixed labels, rows with moved pixels) per call."""
    return _spy(monkeypatch)


def _spy(monkeypatch):
    record = []
    original = core.MiAMix.__call__

    def spy(self, inputs, targets, *args, **kwargs):
        mixed, scores = original(self, inputs, targets, *args, **kwargs)
        plain = _smoothed(targets, scores.shape[1], self.label_smoothing)
        labels = ~torch.isclose(scores, plain, atol=1e-5).all(1)
        moved = (mixed != inputs).flatten(1).any(1)
        # a row whose label is mixed is a row whose pixels moved
        assert not (labels & ~moved).any()
        record.append((self.enabled, inputs.shape[0], int(labels.sum()),
                       int(moved.sum())))
        return mixed, scores

    monkeypatch.setattr(core.MiAMix, '__call__', spy)
    return record


def _smoothed(labels, k, eps):
    if labels.dim() == 1:
        labels = F.one_hot(labels.long(), k)
    return (1 - eps) * labels.float() + eps / k


def _run(names, train_set, epochs=EPOCHS):
    """Exec the named snippets (in order, one scope) as printed."""
    scope = dict(__name__='readme_snippet', train_set=train_set,
                 num_classes=K, epochs=epochs)
    torch.manual_seed(0)
    for name in names:
        exec(compile(SNIPPETS[name], f'README.md ({name})', 'exec'), scope)
    return scope


def _unmixed_loss(model, train_set):
    """Cross-entropy on the whole unmixed set (batch-norm statistics of the
    batch): ln 10 = 2.30 for a net that learned nothing."""
    images = torch.stack([train_set[i][0] for i in range(len(train_set))])
    labels = torch.tensor(train_set.targets)
    model.train()
    with torch.no_grad():
        return F.cross_entropy(model(images), labels).item()


def _epochs_of(calls, batches_per_epoch):
    """Group spy records per epoch (the loaders are not dropped-last)."""
    return [calls[i:i + batches_per_epoch]
            for i in range(0, len(calls), batches_per_epoch)]


def test_section_has_the_five_snippets():
    assert set(SNIPPETS) == {
        'timm', 'torchvision: in the collate_fn', 'a bare loop: after the '
        'loader', 'Lightning: a callback', 'Lightning: on_after_batch_transfer'
    }
    for code in SNIPPETS.values():
        assert 'custom_imports' not in code  # not test_readme's config ones
    timm_code = SNIPPETS['timm']
    assert 'timm.create_model(' in timm_code
    assert 'SoftTargetCrossEntropy()' in timm_code


def test_timm_recipe_trains_and_switches_off(train_set, calls):
    import timm
    scope = _run(['timm'], train_set, TIMM_EPOCHS)
    per_epoch = _epochs_of(calls, 3)
    assert len(per_epoch) == TIMM_EPOCHS
    assert [b for _, b, _, _ in per_epoch[0]] == [64, 64, 7]
    for epoch in per_epoch[:-1]:  # mixed, label-smoothed
        assert all(on and rows > 0 for on, _, rows, _ in epoch)
    assert all(not on and rows == 0 for on, _, rows, _ in per_epoch[-1])
    # the last batch (7, odd) of the last epoch: smoothed one-hot targets
    assert scope['mixup_fn'].enabled is False
    assert scope['labels'].shape == (7, )
    assert torch.allclose(scope['targets'],
                          _smoothed(scope['labels'], K, 0.1))
    assert _unmixed_loss(scope['model'], train_set) < LEARNED
    # what the swap buys: timm's own Mixup refuses that odd batch
    with pytest.raises(AssertionError):
        timm.data.Mixup(num_classes=K)(torch.rand(7, 3, 8, 8),
                                       torch.arange(7))


def test_torchvision_collate_snippet_trains(train_set):
    scope = _run(['torchvision: in the collate_fn'], train_set, epochs=1)
    loader = scope['loader']
    assert loader.num_workers == 2
    assert isinstance(loader.collate_fn, MixCollate)
    assert _unmixed_loss(scope['model'], train_set) < LEARNED
    images, targets = next(iter(loader))  # from the workers
    assert images.shape == (64, 3, 32, 32) and images.dtype == torch.float32
    assert targets.shape == (64, K) and targets.dtype == torch.float32
    assert torch.allclose(targets.sum(1), torch.ones(64))
    assert (targets.max(1).values < 1 - 1e-6).any()  # mixed


def test_bare_loop_snippet_trains(train_set, calls):
    scope = _run(['a bare loop: after the loader'], train_set, BARE_EPOCHS)
    per_epoch = _epochs_of(calls, 3)
    assert len(per_epoch) == BARE_EPOCHS
    mixed = [c for epoch in per_epoch[:-1] for c in epoch]
    total = sum(b for _, b, _, _ in mixed)
    moved = sum(m for _, _, _, m in mixed)
    # prob=0.8: each sample is mixed (its pixels move) with probability
    # 0.8, so `moved` is Binomial(total, 0.8): within 4 standard deviations
    # of 0.8 * total (0.70-0.90 of 270); all samples move (1.0) if prob
    # were ignored, 0.2 if it were inverted
    p = 0.8
    assert abs(moved - p * total) < 4 * (total * p * (1 - p)) ** 0.5, \
        (moved, total)
    # labels: fewer rows (a self-mix, or a partner of the same class,
    # keeps its one-hot label), never none
    assert 0 < sum(r for _, _, r, _ in mixed) <= moved
    assert all(not on and rows == 0 and m == 0
               for on, _, rows, m in per_epoch[-1])
    assert _unmixed_loss(scope['model'], train_set) < LEARNED


def test_mixcollate_pickles_into_spawned_workers(train_set):
    """Under spawn (macOS, Windows; forkserver is Python 3.14's Linux
    default) the collate_fn and its augment are pickled into the workers."""
    from torch.utils.data import DataLoader
    collate = MixCollate(core.MiAMix(num_classes=K, label_smoothing=0.1))
    again = pickle.loads(pickle.dumps(collate))
    samples = [train_set[i] for i in range(8)]
    torch.manual_seed(3)
    x1, y1 = collate(samples)
    torch.manual_seed(3)
    x2, y2 = again(samples)
    assert torch.equal(x1, x2) and torch.equal(y1, y2)  # same augment
    loader = DataLoader(train_set, batch_size=45, num_workers=2,
                        multiprocessing_context='spawn', collate_fn=collate)
    batches = list(loader)
    assert [x.shape[0] for x, _ in batches] == [45, 45, 45]
    for _, y in batches:
        assert torch.allclose(y.sum(1), torch.ones(45))
        assert y.min() >= 0.1 / K - 1e-6  # smoothed
        assert (y.max(1).values < 0.9 + 0.1 / K - 1e-6).any()  # mixed


def test_mixcollate_workers_reproducible_with_manual_seed(train_set):
    """The DataLoader seeds each worker's torch generator from the main
    process's: torch.manual_seed before iterating fixes the mixed batches
    (the default start method here: fork)."""
    from torch.utils.data import DataLoader
    loader = DataLoader(train_set, batch_size=45, num_workers=2,
                        collate_fn=MixCollate(core.MiAMix(num_classes=K)))

    def batches(seed):
        torch.manual_seed(seed)
        return list(loader)

    first, again, other = batches(0), batches(0), batches(1)
    for (x1, y1), (x2, y2) in zip(first, again):
        assert torch.equal(x1, x2) and torch.equal(y1, y2)
    assert not torch.equal(first[0][1], other[0][1])


def test_mixcollate_bad_input():
    with pytest.raises(TypeError, match='augment'):
        MixCollate('MiAMix')
    with pytest.raises(TypeError, match='collate_fn'):
        MixCollate(core.MiAMix(num_classes=K), collate_fn=3)
    collate = MixCollate(core.MiAMix(num_classes=K))
    with pytest.raises(TypeError, match='image, label'):
        collate([torch.rand(3, 8, 8), torch.rand(3, 8, 8)])  # images only
    batch = collate([(torch.rand(3, 8, 8), 1, 'a'),
                     (torch.rand(3, 8, 8), 2, 'b'),
                     (torch.rand(3, 8, 8), 3, 'c')])
    assert isinstance(batch, list)  # as default_collate gives it
    images, scores, names = batch
    assert images.shape == (3, 3, 8, 8) and scores.shape == (3, K)
    assert list(names) == ['a', 'b', 'c']  # extra fields pass through


@pytest.fixture(scope='module')
def lightning_run(train_set, tmp_path_factory):
    """The callback snippet, run once: (scope, MiAMix calls)."""
    with pytest.MonkeyPatch.context() as mp:
        mp.chdir(tmp_path_factory.mktemp('lightning'))  # lightning_logs/
        record = _spy(mp)
        scope = _run(['Lightning: a callback'], train_set)
    return scope, record


def test_lightning_callback_snippet_trains(train_set, lightning_run):
    scope, calls = lightning_run
    trainer = scope['trainer']
    assert trainer.current_epoch == EPOCHS
    per_epoch = _epochs_of(calls, 3)
    assert len(per_epoch) == EPOCHS
    for epoch in per_epoch[:-1]:
        assert all(on and rows > 0 for on, _, rows, _ in epoch)
    assert all(not on and rows == 0 for on, _, rows, _ in per_epoch[-1])
    assert _unmixed_loss(trainer.lightning_module.net, train_set) < LEARNED


def test_lightning_on_after_batch_transfer_snippet(train_set, lightning_run,
                                                   calls, tmp_path,
                                                   monkeypatch):
    monkeypatch.chdir(tmp_path)
    scope = dict(lightning_run[0])  # the snippet builds on the first one
    scope['epochs'] = 1
    torch.manual_seed(0)
    name = 'Lightning: on_after_batch_transfer'
    exec(compile(SNIPPETS[name], f'README.md ({name})', 'exec'), scope)
    assert isinstance(scope['trainer'].lightning_module,
                      scope['MixingClassifier'])
    assert len(calls) == 3  # training batches only
    assert all(on and rows > 0 for on, _, rows, _ in calls)
    net = scope['trainer'].lightning_module.net
    assert _unmixed_loss(net, train_set) < LEARNED


# --------------------------------------------- MixingCallback, in detail
def _tiny_lightning(tmp_path, callback, max_epochs, ckpt_path=None):
    import lightning as L
    from torch.utils.data import DataLoader, TensorDataset

    class Tiny(L.LightningModule):

        def __init__(self):
            super().__init__()
            self.net = torch.nn.Sequential(torch.nn.Flatten(),
                                           torch.nn.Linear(3 * 8 * 8, K))
            self.targets = []

        def training_step(self, batch, batch_idx):
            images, targets = batch
            self.targets.append((self.current_epoch, targets.detach()))
            return F.cross_entropy(self.net(images), targets)

        def configure_optimizers(self):
            return torch.optim.SGD(self.parameters(), lr=0.01)

    g = torch.Generator().manual_seed(0)
    data = TensorDataset(torch.rand(16, 3, 8, 8, generator=g),
                         torch.arange(16) % K)
    module = Tiny()
    trainer = L.Trainer(max_epochs=max_epochs, callbacks=[callback],
                        default_root_dir=str(tmp_path), logger=False,
                        enable_progress_bar=False, enable_model_summary=False,
                        accelerator='cpu', devices=1)
    trainer.fit(module, DataLoader(data, batch_size=8), ckpt_path=ckpt_path)
    return trainer, module


def _mixed(targets):
    return bool((targets.max(1).values < 1 - 1e-6).any())


def test_lightning_callback_off_epoch_on_resume(tmp_path):
    from mmmiamix.integrations import MixingCallback
    cb = MixingCallback(core.MiAMix(num_classes=K), off_epoch=2)
    trainer, module = _tiny_lightning(tmp_path, cb, 2)
    assert {e for e, t in module.targets if _mixed(t)} == {0, 1}
    ckpt = sorted((tmp_path / 'checkpoints').glob('*.ckpt'))[-1]
    # resumed after off_epoch: a fresh callback turns mixing off at once
    aug = core.MiAMix(num_classes=K)
    cb = MixingCallback(aug, off_epoch=2)
    trainer, module = _tiny_lightning(tmp_path / 'a', cb, 3, str(ckpt))
    assert [e for e, _ in module.targets] == [2, 2]
    assert not any(_mixed(t) for _, t in module.targets)
    assert cb.off and aug.enabled is False
    # resumed before a later off_epoch: mixing on
    cb = MixingCallback(core.MiAMix(num_classes=K), off_epoch=3)
    trainer, module = _tiny_lightning(tmp_path / 'b', cb, 3, str(ckpt))
    assert all(_mixed(t) for _, t in module.targets)


def test_lightning_callback_batches_and_bad_input():
    from mmmiamix.integrations import MixingCallback
    cb = MixingCallback(core.MiAMix(num_classes=K), keys=('img', 'label'))
    batch = dict(img=torch.rand(4, 3, 8, 8), label=torch.arange(4),
                 name=['a', 'b', 'c', 'd'])
    cb.on_train_batch_start(None, None, batch, 0)
    assert batch['label'].shape == (4, K) and batch['name'][0] == 'a'
    with pytest.raises(TypeError, match='list or a dict'):
        cb.on_train_batch_start(None, None, (torch.rand(4, 3, 8, 8),
                                             torch.arange(4)), 0)
    with pytest.raises(TypeError, match='augment'):
        MixingCallback(None)
    with pytest.raises(ValueError, match='keys'):
        MixingCallback(core.MiAMix(num_classes=K), keys=(0, ))
    with pytest.raises(ValueError, match='off_epoch'):
        MixingCallback(core.MiAMix(num_classes=K), off_epoch=-1)


def _build_lazy_import(tmp, prefetched):
    env = dict(os.environ, PYTHONPATH=ROOT)
    code = ('import sys; sys.modules["mmpretrain"] = None; '  # not there
            'import mmmiamix.integrations as i; '
            'assert "lightning" not in sys.modules; '
            'assert "pytorch_lightning" not in sys.modules; '
            'assert "mmengine" not in sys.modules; '
            'i.MixingCallback; assert "lightning" in sys.modules')
    return subprocess.run([sys.executable, '-c', code], env=env, cwd=ROOT,
                          capture_output=True, text=True, timeout=120)


PREFETCH = {'lazy_import': _build_lazy_import}


@pytest.fixture(scope='module')
def lazy_import(prefetched):
    return prefetched(_build_lazy_import)


def test_integrations_import_lightning_lazily_and_without_openmmlab(
        lazy_import):
    """A timm or Lightning user may have no OpenMMLab stack: the core and
    the integrations import without it, and Lightning only on demand."""
    assert lazy_import.returncode == 0, lazy_import.stderr[-2000:]
