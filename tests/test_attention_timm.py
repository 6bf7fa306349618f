"""docs/frameworks.md, "timm: attention-weighted labels (TransMix)": the
snippet runs as printed (on 64 embedded digits, one epoch), relabels the
mixed batch from the record and the hooked attention, and that attention
is timm's own class-token softmax row (its unfused path), averaged over
the heads, on the patches."""
import os.path as osp
import re

import pytest
import torch

from mmmiamix.core import attention_targets

ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))
DOC = open(osp.join(ROOT, 'docs', 'frameworks.md'), encoding='utf-8').read()
HEADING = '## timm: attention-weighted labels (TransMix)'
SECTION = DOC.split(HEADING, 1)[1].split('\n## ', 1)[0]
SNIPPETS = re.findall(r'```python\n(.*?)```', SECTION, re.S)
K = 10


@pytest.fixture(scope='module', autouse=True)
def one_thread():
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


@pytest.fixture(scope='module')
def train_set():
    """64 embedded digits: float (3, 32, 32) images, int labels."""
    from mmmiamix.datasets import Digits
    digits = Digits(split='train', indices=64)
    infos = [digits.get_data_info(i) for i in range(len(digits))]
    images = torch.stack([torch.from_numpy(i['img']).permute(2, 0, 1)
                          for i in infos]).float().sub(78.0).div(82.6)
    labels = torch.tensor([i['gt_label'] for i in infos])
    return torch.utils.data.TensorDataset(images, labels)


def test_snippet_runs_as_printed_and_relabels(train_set):
    assert len(SNIPPETS) == 1 and SNIPPETS[0].startswith(
        '# timm: attention-weighted labels')
    scope = dict(__name__='doc_snippet', train_set=train_set,
                 num_classes=K, epochs=1)
    torch.manual_seed(0)
    exec(compile(SNIPPETS[0], 'docs/frameworks.md (timm)', 'exec'), scope)
    model, record, attn = scope['model'], scope['record'], scope['seen'][
        'attn']
    assert torch.isfinite(scope['loss'])
    assert attn.shape == (64, 8 * 8) and not attn.requires_grad
    assert torch.all(attn.sum(1) <= 1 + 1e-5)
    eps = scope['mixup_fn'].label_smoothing
    targets = scope['targets']
    assert torch.allclose(targets, attention_targets(
        record, attn, label_smoothing=eps))
    area = attention_targets(record, attn, ratio=1.0, label_smoothing=eps)
    assert not torch.allclose(targets, area, atol=1e-4)  # relabelled
    assert torch.allclose(targets.sum(1), torch.ones(64))

    # the hooked attention is timm's own softmax row of the class token
    last = model.blocks[-1].attn
    last.fused_attn = False
    full = {}
    handle = last.attn_drop.register_forward_hook(
        lambda m, args, out: full.update(attn=out))
    model.eval()
    with torch.no_grad():
        model(scope['mixed'])
    handle.remove()
    want = full['attn'][:, :, 0].mean(1)[:, model.num_prefix_tokens:]
    assert torch.allclose(scope['seen']['attn'], want, atol=1e-6)
