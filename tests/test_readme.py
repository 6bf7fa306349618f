"""README.md as a reader uses it: its snippets run, its commands exist and
parse, and the cheap ones run for real (the expensive ones, training on the
paper's datasets, run on tiny data in test_tools.py and test_quickstart.py;
the two install-and-run commands run in CI)."""
import json
import os
import os.path as osp
import re
import shlex
import shutil
import subprocess
import sys

import numpy as np
import pytest
import torch
from mmengine.config import Config

ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))
README = open(osp.join(ROOT, 'README.md'), encoding='utf-8').read()
BLOCKS = re.findall(r'```(\w+)\n(.*?)```', README, re.S)
PYTHON = [code for lang, code in BLOCKS if lang == 'python']
COMMANDS = [
    line.split('  #')[0].strip() for lang, code in BLOCKS if lang == 'bash'
    for line in code.splitlines() if line.strip()
] + re.findall(r'`((?:python|bash) tools/[^`]+)`', README.replace('\n', ' '))


def _env():
    env = dict(os.environ)
    env['PYTHONPATH'] = ROOT + os.pathsep + env.get('PYTHONPATH', '')
    return env


def test_readme_has_the_two_commands_and_ci_runs_the_second():
    first, second = COMMANDS[0], COMMANDS[1]
    assert first.endswith('python tools/demo.py')
    assert second.endswith('python -m pytest tests -q')
    ci = open(osp.join(ROOT, '.ci', 'run')).read()
    assert second in ci.splitlines()


def _installed_by(path):
    """The project names a requirements file installs (``-r`` followed),
    lower case, without versions."""
    names = set()
    folder = osp.dirname(path)
    for line in open(path, encoding='utf-8'):
        line = line.split('#')[0].strip()
        if line.startswith('-r'):
            names |= _installed_by(osp.join(folder, line[2:].strip()))
        elif line:
            names.add(re.split(r'[<>=!~\[ ]', line)[0].lower())
    return names


def _requirements_of(command):
    files = re.findall(r'pip install -r (\S+)', command)
    assert len(files) == 1, command
    return _installed_by(osp.join(ROOT, files[0]))


OPTIONAL = {'timm', 'lightning', 'submitit', 'imagecorruptions-imaug'}


def test_main_job_installs_only_the_runtime():
    """The main-job command installs the pinned stack and the demo's needs,
    none of the optional frameworks nor the test tools; the test command
    installs all of them."""
    main = _requirements_of(COMMANDS[0])
    stack = {'torch', 'torchvision', 'mmengine', 'mmcv-lite', 'mmpretrain'}
    assert main == stack | {'scikit-learn', 'matplotlib'}
    for line in open(osp.join(ROOT, 'requirements', 'runtime.txt')):
        name = line.split('==')[0].strip()
        assert name not in stack or '==' in line, f'{name} is not pinned'
    tests = _requirements_of(COMMANDS[1])
    assert tests == main | OPTIONAL | {'pytest', 'ruff'}
    assert _installed_by(osp.join(ROOT, 'requirements.txt')) == tests


def test_plain_pytorch_snippet():
    code = next(c for c in PYTHON if 'from mmmiamix.core import' in c)
    scope = {}
    exec(compile(code, 'README.md', 'exec'), scope)
    assert scope['mixed'].shape == scope['images'].shape
    assert torch.allclose(scope['soft_targets'].sum(1), torch.ones(8))
    assert 'keep' in scope['stages']


def test_own_mask_method_snippet():
    """The "Your own mask method" example runs as printed: its masks have
    the share asked, and MiAMix mixes with it."""
    code = next(c for c in PYTHON if 'register_mask_method(' in c)
    assert len(code.splitlines()) <= 40
    scope = {}
    torch.manual_seed(0)
    exec(compile(code, 'README.md', 'exec'), scope)
    from mmmiamix.core import MASK_METHODS
    assert 'stripes' in MASK_METHODS
    assert scope['masks'].shape == (4, 1, 32, 32)
    assert abs(scope['masks'].mean().item() - 0.3) < 0.05
    assert scope['mixed'].shape == (8, 3, 32, 32)
    assert torch.allclose(scope['soft_targets'].sum(1), torch.ones(8))


@pytest.mark.parametrize('which', ['one view', 'two views'])
def test_config_snippets(which):
    """The one-view and two-view snippets are complete: their preprocessor,
    batch augment, pipeline and soft loss work together."""
    from mmengine.dataset import default_collate
    from mmengine.registry import DefaultScope
    from mmpretrain.registry import MODELS, TRANSFORMS

    import mmmiamix  # noqa: F401
    snippets = [c for c in PYTHON if 'custom_imports' in c]
    assert len(snippets) == 2
    scope = {'dict': dict}
    exec(compile(snippets[which == 'two views'], 'README.md', 'exec'), scope)
    assert scope['custom_imports']['imports'] == ['mmmiamix']
    model = scope['model']
    pre_cfg = dict(model.get('data_preprocessor',
                             dict(type='ClsDataPreprocessor',
                                  num_classes=10)))
    pre_cfg['batch_augments'] = dict(augments=model['train_cfg']['augments'])
    pre = MODELS.build(pre_cfg)
    classes = pre_cfg['num_classes']
    with DefaultScope.overwrite_default_scope('mmpretrain'):  # as configs
        pipeline = [TRANSFORMS.build(t) for t in scope.get(
            'train_pipeline', [dict(type='PackInputs')])]
    rng = np.random.default_rng(0)
    items = []
    for i in range(4):
        result = dict(img=rng.integers(0, 256, (32, 32, 3), dtype=np.uint8),
                      gt_label=i % classes, img_shape=(32, 32),
                      ori_shape=(32, 32))
        for t in pipeline:
            result = t(result)
        items.append(result)
    out = pre(default_collate(items), training=True)
    assert out['inputs'].shape == (4, 3, 32, 32)
    scores = torch.stack([s.gt_score for s in out['data_samples']])
    assert scores.shape == (4, classes)
    loss = MODELS.build(model['head']['loss'])
    value = loss(torch.randn(4, classes), scores)
    assert torch.isfinite(value)


# `--help` of every python tool, in one process (each tool as __main__,
# its folder first on sys.path as `python tools/x.py` has it): the exit
# status and what it printed, per tool
HELP = r'''
import contextlib, io, json, os, runpy, sys
res = {}
for tool in sys.argv[1:]:
    out, code = io.StringIO(), 'no exit'
    sys.argv = [tool, '--help']
    sys.path.insert(0, os.path.dirname(os.path.abspath(tool)))
    try:
        with contextlib.redirect_stdout(out):
            runpy.run_path(tool, run_name='__main__')
    except SystemExit as e:
        code = e.code or 0
    except BaseException as e:  # noqa
        code = repr(e)
    finally:
        sys.path.pop(0)
    res[tool] = [code, out.getvalue()]
print('HELP ' + json.dumps(res))
'''


def _tools():
    """The tools README's commands name: (python tools, shell tools)."""
    tools = {word for cmd in COMMANDS for word in shlex.split(cmd)
             if word.startswith('tools/')}
    python = sorted(t for t in tools if t.endswith('.py'))
    return python, sorted(tools - set(python))


def _build_helps(tmp, prefetched):
    """HELP over README's python tools: {tool: [exit status, output]} and
    the process's stderr."""
    proc = subprocess.run([sys.executable, '-c', HELP] + _tools()[0],
                          cwd=ROOT, env=_env(), capture_output=True,
                          text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
    line = [x for x in proc.stdout.splitlines() if x.startswith('HELP ')]
    return json.loads(line[-1][5:]), proc.stderr


def _run(cmd, cwd):
    proc = subprocess.run(shlex.split(cmd.replace('python ', sys.executable +
                                                  ' ', 1)),
                          cwd=cwd, env=_env(), capture_output=True, text=True,
                          timeout=300)
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-3000:]
    return proc.stdout


def _build_visualize(tmp, prefetched):
    """README's visualize command on a folder of three images, in ``tmp``:
    the figures it wrote."""
    from PIL import Image
    cmd = next(c for c in COMMANDS if 'visualize_mixing.py' in c)
    folder = tmp / 'images'
    folder.mkdir()
    rng = np.random.default_rng(1)
    for i in range(3):
        Image.fromarray(rng.integers(0, 256, (40, 48, 3), dtype=np.uint8)
                        ).save(folder / f'{i}.png')
    cmd = cmd.replace('tools/', ROOT + '/tools/').replace('FOLDER',
                                                          str(folder))
    _run(cmd, tmp)
    return list((tmp / 'figs').glob('*.png'))


def _build_summarize(tmp, prefetched):
    """`python tools/summarize.py work_dirs/* --baseline resnet18_vanilla`
    on work directories laid out as tools/train.py writes them: what it
    printed."""
    cmd = next(c for c in COMMANDS if 'summarize.py' in c)
    fixtures = osp.join(ROOT, 'tests', 'fixtures_logs')
    for src, name in [('vanilla', 'resnet18_vanilla'),
                      ('miamix', 'resnet18_miamix')]:
        shutil.copytree(osp.join(fixtures, src), tmp / 'work_dirs' / name)
    dirs = ' '.join(sorted(str(p) for p in (tmp / 'work_dirs').iterdir()))
    cmd = cmd.replace('tools/', ROOT + '/tools/').replace('work_dirs/*', dirs)
    return _run(cmd, tmp)


PREFETCH = {'helps': _build_helps, 'visualized': _build_visualize,
            'summarized': _build_summarize}


@pytest.fixture(scope='module')
def helps(prefetched):
    return prefetched(_build_helps)


@pytest.fixture(scope='module')
def visualized(prefetched):
    return prefetched(_build_visualize)


@pytest.fixture(scope='module')
def summarized(prefetched):
    return prefetched(_build_summarize)


def test_commands_name_real_tools_and_configs(helps):
    for cmd in COMMANDS:
        for word in shlex.split(cmd):
            if word.startswith('tools/'):
                assert osp.isfile(osp.join(ROOT, word)), word
            if word.startswith('configs/') and word.endswith('.py'):
                Config.fromfile(osp.join(ROOT, word))  # loads
    python, shell = _tools()
    for tool in shell:
        assert subprocess.run(['bash', '-n', tool], cwd=ROOT).returncode \
            == 0
    results, stderr = helps
    assert sorted(results) == python
    for tool, (code, out) in results.items():
        assert code == 0, (tool, code, stderr[-2000:])
        assert out.startswith('usage: '), (tool, out[:500])


def test_visualize_command(visualized):
    assert visualized and all(p.stat().st_size > 0 for p in visualized)


def test_summarize_command(summarized):
    assert 'resnet18_miamix' in summarized and 'resnet18_vanilla' in \
        summarized
    assert '1.10' in summarized  # the fixture's cost against the vanilla run
