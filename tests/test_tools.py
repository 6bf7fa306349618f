"""End-to-end checks of tools/ on tiny data (CPU, no downloads).

One module-scoped run trains a tiny classifier for one epoch, resumes it to
epoch 2 and evaluates it with tools/test.py; the other tests reuse it.
"""
import json
import os
import os.path as osp
import re
import socket
import subprocess
import sys
import textwrap

import pytest

sys.path.insert(0, osp.dirname(osp.abspath(__file__)))
import tinydata  # noqa: E402

REPO = osp.dirname(osp.dirname(osp.abspath(__file__)))
TOOLS = osp.join(REPO, 'tools')
FIXTURES = osp.join(REPO, 'tests', 'fixtures_logs')

# the batch augment the tiny training runs use, loaded through the plugin
AUGMENT = dict(type='MiAMix')
PLUGIN = True


def _env(**extra):
    env = dict(os.environ)
    env['PYTHONPATH'] = REPO + os.pathsep + env.get('PYTHONPATH', '')
    env.setdefault('OMP_NUM_THREADS', '1')
    env.update(extra)
    return env


def _run(cmd, cwd, timeout=300, **env):
    proc = subprocess.run(
        cmd, cwd=cwd, env=_env(**env), capture_output=True, text=True,
        timeout=timeout)
    out = proc.stdout + proc.stderr
    assert proc.returncode == 0, f'{cmd} failed:\n{out[-6000:]}'
    return out


def _free_port():
    with socket.socket() as s:
        s.bind(('127.0.0.1', 0))
        return s.getsockname()[1]


def _build_trained(tmp, prefetched):
    """Train 1 epoch, resume to epoch 2, test; return paths and outputs."""
    data = tmp / 'data'
    tinydata.make_png_dataset(str(data))
    cfg = tinydata.write_config(
        tmp / 'cfg.py', data, max_epochs=2, augment=AUGMENT, plugin=PLUGIN)
    work = tmp / 'work'
    py = sys.executable
    out1 = _run([py, osp.join(TOOLS, 'train.py'), cfg, '--work-dir',
                 str(work), '--cfg-options', 'train_cfg.max_epochs=1'],
                cwd=tmp)
    ckpts_after_first = sorted(p for p in os.listdir(work)
                               if p.endswith('.pth'))
    out2 = _run([py, osp.join(TOOLS, 'train.py'), cfg, '--work-dir',
                 str(work), '--resume'], cwd=tmp)
    metrics_file = tmp / 'metrics.json'
    out3 = _run([py, osp.join(TOOLS, 'test.py'), cfg,
                 str(work / 'epoch_2.pth'), '--work-dir', str(tmp / 'test'),
                 '--out', str(metrics_file)], cwd=tmp)
    return dict(tmp=tmp, data=data, cfg=cfg, work=work, out1=out1, out2=out2,
                out3=out3, first=ckpts_after_first, metrics=metrics_file)


PREFETCH = {'trained': _build_trained}


@pytest.fixture(scope='module')
def trained(prefetched):
    return prefetched(_build_trained)


def test_train_one_epoch(trained):
    assert trained['first'] == ['epoch_1.pth']
    assert 'Epoch(train) [1]' in trained['out1']
    assert 'accuracy/top1' in trained['out1']


def test_resume_continues_at_epoch_2(trained):
    out = trained['out2']
    # torch >= 2.6 loads the full checkpoint (optimizer, message hub, meta)
    assert 'Weights only load failed' not in out
    assert re.search(r'resumed epoch: 1, iter: 6', out), out[-3000:]
    assert 'Epoch(train) [2]' in out
    assert 'Epoch(train) [1]' not in out  # did not restart
    assert osp.isfile(trained['work'] / 'epoch_2.pth')


def test_test_tool_writes_metrics(trained):
    out = trained['out3']
    assert 'Load checkpoint from' in out
    line = [ln for ln in out.splitlines() if ln.startswith('metrics: ')][-1]
    printed = json.loads(line[len('metrics: '):])
    with open(trained['metrics']) as f:
        saved = json.load(f)
    assert saved == printed
    assert 0.0 <= saved['accuracy/top1'] <= 100.0


def _build_dist(tmp, prefetched):
    """tools/dist_train.sh, 2 CPU processes, one epoch of the trained
    config: the work dir and the output."""
    trained = prefetched(_build_trained)
    work = tmp / 'dist_work'
    out = _run(['bash', osp.join(TOOLS, 'dist_train.sh'), trained['cfg'], '2',
                '--work-dir', str(work), '--cfg-options',
                'train_cfg.max_epochs=1'],
               cwd=tmp, PORT=str(_free_port()))
    return work, out


def _build_robustness(tmp, prefetched):
    """tools/test_robustness.py on the trained checkpoint over a CIFAR-C
    folder whose s1-s3 repeat the clean images: its JSON, CSV rows and
    output."""
    trained = prefetched(_build_trained)
    root = tmp / 'CIFAR-10-C'
    tinydata.make_cifar_c_from_pngs(
        str(trained['data']), str(root), corruptions=('fog', 'snow'))
    out_file = tmp / 'robust.json'
    out = _run([sys.executable, osp.join(TOOLS, 'test_robustness.py'),
                trained['cfg'], str(trained['work'] / 'epoch_2.pth'),
                '--dataset', 'CIFAR10C', '--data-root', str(root),
                '--corruptions', 'fog', 'snow', '--num-workers', '0',
                '--out', str(out_file)], cwd=tmp)
    with open(out_file) as f:
        res = json.load(f)
    return res, (tmp / 'robust.csv').read_text().splitlines(), out


PREFETCH.update(dist=_build_dist, robustness=_build_robustness)


@pytest.fixture(scope='module')
def dist(prefetched):
    return prefetched(_build_dist)


@pytest.fixture(scope='module')
def robustness(prefetched):
    return prefetched(_build_robustness)


def test_dist_train_two_cpu_processes(dist):
    work, out = dist
    assert osp.isfile(work / 'epoch_1.pth'), out[-4000:]
    assert 'Distributed training: True' in out
    assert "backend='gloo'" in out or "'backend': 'gloo'" in out
    assert 'diff_rank_seed is not True' not in out
    assert 'Epoch(train) [1][3/3]' in out  # 24 images / (2 ranks x 4)
    # RandomStateHook gathered both ranks' states into the checkpoint
    from mmmiamix.resume import setup_torch_load_compat
    setup_torch_load_compat()
    import torch
    states = torch.load(work / 'epoch_1.pth', map_location='cpu',
                        weights_only=True)['random_states']
    assert states['world_size'] == 2 and len(states['ranks']) == 2
    assert not torch.equal(states['ranks'][0]['torch_cpu'],
                           states['ranks'][1]['torch_cpu'])


def test_robustness_tool(trained, robustness):
    """s1-s3 repeat the clean images (accuracy = tools/test.py's), s4-s5 are
    noise; the mean is the average of the table."""
    res, rows, out = robustness
    with open(trained['metrics']) as f:
        clean = json.load(f)['accuracy/top1']
    assert set(res['accuracy']) == {'fog', 'snow'}
    # the model learnt something (chance is 33%), so the equality below
    # compares real predictions, not a constant guess
    assert clean > 50
    for c in ('fog', 'snow'):
        assert set(res['accuracy'][c]) == {'1', '2', '3', '4', '5'}
        for s in ('1', '2', '3'):
            assert res['accuracy'][c][s] == pytest.approx(clean, abs=1e-3)
    values = [v for c in res['accuracy'].values() for v in c.values()]
    assert res['mean'] == pytest.approx(sum(values) / 10)
    assert 'corrupted accuracy' in out and f"{res['mean']:.2f}" in out
    assert res['complete'] is True
    assert res['corruptions'] == ['fog', 'snow']
    assert res['severities'] == [1, 2, 3, 4, 5]
    # the CSV next to the JSON: one row per (corruption, severity)
    assert rows[0] == 'corruption,severity,top1'
    assert len(rows) == 11
    for line in rows[1:]:
        c, sev, top1 = line.split(',')
        assert float(top1) == pytest.approx(res['accuracy'][c][sev],
                                            abs=1e-4)


def _robustness_tool():
    import importlib.util
    spec = importlib.util.spec_from_file_location(
        'test_robustness_tool', osp.join(TOOLS, 'test_robustness.py'))
    tool = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(tool)
    return tool


def test_robustness_tool_checks_inputs_first(trained, tmp_path,
                                             monkeypatch):
    """A missing corruption file (and a missing checkpoint) are reported
    together, before the model is built or anything evaluated."""
    from mmmiamix.utils.preflight import PreflightError
    root = tmp_path / 'CIFAR-10-C'
    tinydata.make_cifar_c_from_pngs(str(trained['data']), str(root),
                                    corruptions=('fog', ))
    tool = _robustness_tool()
    built = []
    monkeypatch.setattr(tool, 'build_model', lambda *a: built.append(a))
    out = tmp_path / 'r.json'
    with pytest.raises(PreflightError) as err:
        tool.main([trained['cfg'], str(tmp_path / 'missing.pth'),
                   '--dataset', 'CIFAR10C', '--data-root', str(root),
                   '--corruptions', 'fog', 'spatter', '--out', str(out)])
    msg = str(err.value)
    assert f"corruption file {str(root / 'spatter.npy')!r} not found" in msg
    assert 'missing.pth' in msg and 'does not exist' in msg
    assert 'fog.npy' not in msg
    assert not built and not out.exists()


def test_robustness_tool_writes_partial_results(trained, tmp_path,
                                                monkeypatch):
    """Killed during the second corruption, the first one is on disk;
    --resume then evaluates only the rest."""
    root = tmp_path / 'CIFAR-10-C'
    tinydata.make_cifar_c_from_pngs(str(trained['data']), str(root),
                                    corruptions=('fog', 'snow'))
    tool = _robustness_tool()
    real = tool.evaluate
    seen = []

    def evaluate(model, dataset, *args):
        seen.append(dataset.corruptions[0])
        if dataset.corruptions[0] == 'snow':
            raise KeyboardInterrupt  # stands for a kill
        return real(model, dataset, *args)

    monkeypatch.setattr(tool, 'evaluate', evaluate)
    out = tmp_path / 'r.json'
    argv = [trained['cfg'], str(trained['work'] / 'epoch_2.pth'),
            '--dataset', 'CIFAR10C', '--data-root', str(root),
            '--corruptions', 'fog', 'snow', '--severities', '1', '4',
            '--num-workers', '0', '--out', str(out)]
    with pytest.raises(KeyboardInterrupt):
        tool.main(argv)
    with open(out) as f:
        part = json.load(f)
    assert part['complete'] is False and list(part['accuracy']) == ['fog']
    assert part['mean'] == pytest.approx(part['mean_per_corruption']['fog'])
    assert (tmp_path / 'r.csv').read_text().splitlines()[1:] == [
        f"fog,{s},{part['accuracy']['fog'][s]:.4f}" for s in ('1', '4')]

    monkeypatch.setattr(tool, 'evaluate', real)
    seen.clear()
    monkeypatch.setattr(tool, 'evaluate', lambda m, d, *a: (
        seen.append(d.corruptions[0]), real(m, d, *a))[1])
    res = tool.main(argv + ['--resume'])
    assert set(seen) == {'snow'}
    assert res['complete'] is True
    assert res['accuracy']['fog'] == part['accuracy']['fog']


def test_shell_scripts_parse():
    for name in ('dist_train.sh', 'dist_test.sh', 'slurm_train.sh',
                 'slurm_test.sh'):
        subprocess.run(['bash', '-n', osp.join(TOOLS, name)], check=True)


@pytest.mark.parametrize('name', ['slurm_train.sh', 'slurm_test.sh'])
def test_slurm_scripts_pass_arguments_as_given(name, tmp_path):
    """Extra arguments reach train.py / test.py as the words they were
    (a value with a space or a glob stays one argument), with a stand-in
    srun that records what it is given."""
    fake = tmp_path / 'srun'
    record = tmp_path / 'args.txt'
    fake.write_text(f'#!/bin/sh\nprintf "%s\\n" "$@" > {record}\n')
    fake.chmod(0o755)
    env = dict(os.environ, PATH=f'{tmp_path}{os.pathsep}{os.environ["PATH"]}',
               SRUN_ARGS='--quiet --exclusive')
    subprocess.run(['bash', osp.join(TOOLS, name), 'part', 'job',
                    'my config.py', 'out dir', '--cfg-options',
                    'work_dir=a b', '*.pth'], check=True, env=env,
                   cwd=tmp_path, capture_output=True)
    args = record.read_text().splitlines()
    assert '--quiet' in args and '--exclusive' in args  # split on purpose
    i = args.index('python')
    assert args[i + 3] == 'my config.py'
    assert args[-3:] == ['--cfg-options', 'work_dir=a b', '*.pth']
    assert ('--work-dir=out dir' in args) == (name == 'slurm_train.sh')
    assert ('out dir' in args) == (name == 'slurm_test.sh')


def _build_torch_load_compat(tmp, prefetched):
    """A fresh process loads the resumed checkpoint without and with the
    allow-list and tries a getattr the allow-list refuses: its output."""
    ckpt = str(prefetched(_build_trained)['work'] / 'epoch_2.pth')
    script = textwrap.dedent(f'''
        import pickle, torch
        try:  # before importing mmmiamix, which installs the allow-list
            torch.load({ckpt!r}, map_location='cpu')
            print('PLAIN_OK')
        except pickle.UnpicklingError:
            print('PLAIN_FAILED')
        from mmmiamix.resume import setup_torch_load_compat
        from mmmiamix.resume.allow_list import _restricted_getattr
        setup_torch_load_compat()
        ck = torch.load({ckpt!r}, map_location='cpu', weights_only=True)
        assert ck['meta']['epoch'] == 2
        assert 'optimizer' in ck and 'message_hub' in ck
        buf = ck['message_hub']['log_scalars']['train/loss']
        print('MEAN', buf.mean())
        import os
        try:
            _restricted_getattr(os, 'system')
        except RuntimeError:
            print('REFUSED')
        ''')
    return _run([sys.executable, '-c', script], cwd=tmp)


PREFETCH.update(loaded=_build_torch_load_compat)


@pytest.fixture(scope='module')
def loaded(prefetched):
    return prefetched(_build_torch_load_compat)


def test_torch_load_compat(loaded):
    """The allow-list loads a resume checkpoint with weights_only=True and
    refuses other getattr calls; without it torch >= 2.6 refuses the file."""
    out = loaded
    import torch
    major, minor = (int(x) for x in torch.__version__.split('.')[:2])
    if (major, minor) >= (2, 6):
        assert 'PLAIN_FAILED' in out
    assert 'MEAN' in out and 'REFUSED' in out


def test_rank_seed_warning():
    from mmengine.config import Config

    from mmmiamix.utils import check_rank_seed
    cfg = Config(dict(
        model=dict(data_preprocessor=dict(
            batch_augments=dict(augments=dict(type='MiAMix')))),
        randomness=dict(seed=0, diff_rank_seed=False)))
    with pytest.warns(UserWarning, match='diff_rank_seed'):
        assert not check_rank_seed(cfg, world_size=2)
    assert check_rank_seed(cfg, world_size=1)
    cfg.randomness.diff_rank_seed = True
    assert check_rank_seed(cfg, world_size=4)


def test_robustness_model_takes_top_level_preprocessor():
    """The dataset base files put mean/std in a top-level data_preprocessor,
    which mmengine's Runner gives the model: the robustness tool must too
    (it built the model unnormalised)."""
    import importlib.util

    from mmengine.config import Config
    spec = importlib.util.spec_from_file_location(
        'test_robustness_tool', osp.join(TOOLS, 'test_robustness.py'))
    tool = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(tool)
    cfg = Config.fromfile(osp.join(REPO, 'configs', 'cifar10',
                                   'resnet18_vanilla.py'))
    assert 'data_preprocessor' not in cfg.model or \
        cfg.model.data_preprocessor.get('mean') is None
    from unittest import mock

    import torch

    import mmmiamix  # noqa: F401  (registers the project's modules)
    with mock.patch.object(tool, 'load_checkpoint'):
        model = tool.build_model(cfg, 'unused.pth', 'cpu')
    mean = model.data_preprocessor.mean.flatten()
    assert torch.allclose(mean, torch.tensor(cfg.data_preprocessor.mean))
