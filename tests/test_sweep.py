"""tools/sweep.py: how a method becomes a config, the dry-run plan, a real
tiny sweep (2 methods x 1 seed, with robustness), skipping finished runs,
restarting broken ones, writing only under the work dir, the local jobs'
environments and the Slurm job array's settings (tests/test_sweep_submitit.py
runs the job array against stand-in Slurm commands)."""
import importlib.util
import json
import os
import os.path as osp
import re
import subprocess
import sys

import pytest
from mmengine.config import Config

HERE = osp.dirname(osp.abspath(__file__))
REPO = osp.dirname(HERE)
TOOLS = osp.join(REPO, 'tools')
sys.path.insert(0, HERE)
import tinydata  # noqa: E402
from mmmiamix.experiments import launch  # noqa: E402
from mmmiamix.experiments import sweep as plan  # noqa: E402


def _load_tool():
    spec = importlib.util.spec_from_file_location(
        'sweep_tool', osp.join(TOOLS, 'sweep.py'))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


sweep = _load_tool()


def _env(**extra):
    env = dict(os.environ)
    env['PYTHONPATH'] = REPO + os.pathsep + env.get('PYTHONPATH', '')
    env.setdefault('OMP_NUM_THREADS', '1')
    env.update(extra)
    return env


def _sweep(args, cwd, ok=True, **env):
    proc = subprocess.run([sys.executable, osp.join(TOOLS, 'sweep.py')] +
                          args, cwd=cwd, env=_env(**env),
                          capture_output=True, text=True, timeout=300)
    out = proc.stdout + proc.stderr
    if ok:
        assert proc.returncode == 0, out[-6000:]
    return proc.returncode, proc.stdout, proc.stderr


def _build(cfg):
    """The model the Runner would build (top-level data_preprocessor
    merged in as Runner does)."""
    from mmengine.registry import DefaultScope
    from mmpretrain.registry import MODELS

    import mmmiamix  # noqa: F401
    model = cfg.model.to_dict() if hasattr(cfg.model, 'to_dict') else dict(
        cfg.model)
    if cfg.get('data_preprocessor') is not None:
        model.setdefault('data_preprocessor', dict(cfg.data_preprocessor))
    with DefaultScope.overwrite_default_scope('mmpretrain'):
        return MODELS.build(model)


def _augment_of(model):
    ba = model.data_preprocessor.batch_augments
    if ba is None:
        return None
    assert len(ba.augments) == 1
    return ba.augments[0]


@pytest.mark.parametrize('base', [
    'tiny_miamix', 'tiny_plain',
    'configs/quickstart/vanilla_resnet18_digits.py',
    'configs/cifar10/resnet18_miamix.py'
])
def test_methods_become_working_configs(base, tmp_path):
    """vanilla / Mixup / GMix:alpha=0.5 / MiAMix over bases that keep the
    augment in the preprocessor (a dict, None, or absent) or in
    model.train_cfg: the built model mixes with exactly that augment."""
    if base.startswith('tiny'):
        path = tinydata.write_config(
            tmp_path / 'base.py', tmp_path, plugin=True,
            augment=dict(type='MiAMix') if base == 'tiny_miamix' else None)
    else:
        path = osp.join(REPO, base)
    base_cfg = Config.fromfile(path)
    from mmpretrain.models.utils.batch_augments import Mixup

    from mmmiamix.models.batch_augments import GMix, MiAMix
    expect = {'vanilla': None, 'Mixup': (Mixup, 1.0), 'GMix_alpha0.5':
              (GMix, 0.5), 'MiAMix': (MiAMix, 2.0)}
    registered = plan._registered_augments()
    for spec in ('vanilla', 'mixup', 'GMix:alpha=0.5', 'MiAMix'):
        method = plan.parse_method(spec, registered)
        override, _ = plan.method_override(method, base_cfg)
        cfg_path = tmp_path / f'{method.label}.py'
        cfg_path.write_text(plan.config_text(path, method, override))
        model = _build(Config.fromfile(str(cfg_path)))
        aug = _augment_of(model)
        if expect[method.label] is None:
            assert aug is None, (base, spec)
            assert not model.head.loss_module.use_soft
        else:
            cls, alpha = expect[method.label]
            assert type(aug) is cls, (base, spec, type(aug))
            assert model.head.loss_module.use_soft
            assert float(aug.alpha) == alpha
        # nothing else of the base changed (e.g. the preprocessor's mean)
        resolved = Config.fromfile(str(cfg_path))
        assert resolved.train_cfg == base_cfg.train_cfg
        assert resolved.model.backbone == base_cfg.model.backbone


def test_parse_errors():
    reg = ['CutMix', 'MiAMix', 'Mixup']
    with pytest.raises(ValueError, match="'vanilla', a config file.*Mixup"):
        plan.parse_method('mixupp', reg)
    with pytest.raises(ValueError, match='key=value'):
        plan.parse_method('Mixup:0.2', reg)
    with pytest.raises(ValueError, match='not found'):
        plan.parse_method('missing.py', reg)
    m = plan.parse_method('small=MiAMix:alpha=0.5,p_self=0', reg)
    assert (m.label, m.name) == ('small', 'MiAMix')
    assert m.kwargs == dict(alpha=0.5, p_self=0)
    with pytest.raises(ValueError, match='repeat'):
        plan.parse_methods(['vanilla', 'vanilla'])


def _make_tiny(tmp):
    data = tmp / 'data'
    tinydata.make_png_dataset(str(data), num_classes=3, per_class=4)
    tinydata.make_cifar_c_from_pngs(str(data), str(tmp / 'cifar_c'),
                                    corruptions=('fog', ))
    # two epochs in the config; the sweep's --cfg-options make it one
    cfg = tinydata.write_config(tmp / 'base.py', data, max_epochs=2,
                                plugin=True)
    cwd = tmp / 'cwd'
    cwd.mkdir()
    return dict(tmp=tmp, data=data, cfg=cfg, cwd=cwd,
                cifar_c=str(tmp / 'cifar_c'))


def _build_sweep(tmp, prefetched):
    """The tiny setup, and a real sweep over it: vanilla and Mixup, seed 3,
    one epoch, two jobs at once, then robustness on the CIFAR-C folder."""
    tiny = _make_tiny(tmp)
    work = tiny['tmp'] / 'work'
    before = _snapshot(str(tiny['tmp']), str(work))
    args = [tiny['cfg'], '--methods', 'vanilla', 'Mixup', '--seeds', '3',
            '--work-dir', str(work), '--jobs', '2', '--corrupted',
            tiny['cifar_c'], '--corruptions', 'fog', '--robustness-args',
            '--num-workers 0 --batch-size 8', '--cfg-options',
            'train_cfg.max_epochs=1']
    _, out, _ = _sweep(args, tiny['cwd'])
    after = _snapshot(str(tiny['tmp']), str(work))
    return dict(tiny=tiny, swept=dict(work=work, out=out, args=args,
                                      new=after - before))


PREFETCH = {'tiny': _build_sweep, 'swept': _build_sweep}


@pytest.fixture(scope='module')
def tiny(prefetched):
    return prefetched(_build_sweep)['tiny']


@pytest.fixture(scope='module')
def swept(prefetched):
    return prefetched(_build_sweep)['swept']


def _snapshot(root, skip):
    found = set()
    for dirpath, dirnames, filenames in os.walk(root):
        if osp.abspath(dirpath).startswith(skip):
            dirnames[:] = []
            continue
        for fn in filenames:
            found.add(osp.join(dirpath, fn))
    return found


def test_dry_run_plan(tiny, capsys):
    work = str(tiny['tmp'] / 'plan')
    assert sweep.main([
        tiny['cfg'], '--methods', 'vanilla', 'Mixup', 'GMix:alpha=0.5',
        tiny['cfg'], '--seeds', '0', '7', '--work-dir', work, '--dry-run',
        '--cfg-options', 'train_cfg.max_epochs=1',
        'optim_wrapper.optimizer.lr=0.01'
    ]) == 0
    out = capsys.readouterr().out
    assert not osp.exists(work)  # a dry run writes nothing
    runs = re.findall(r'^\[new\] (\S+) seed=(\d+): (.*)$', out, re.M)
    assert [(m, s) for m, s, _ in runs] == [
        ('vanilla', '0'), ('vanilla', '7'), ('Mixup', '0'), ('Mixup', '7'),
        ('GMix_alpha0.5', '0'), ('GMix_alpha0.5', '7'), ('base', '0'),
        ('base', '7')]
    for label, seed, cmd in runs:
        assert f'--work-dir {work}/{label}/seed_{seed}' in cmd
        # the options pass through, the seed comes last
        assert cmd.endswith('--cfg-options train_cfg.max_epochs=1 '
                            f'optim_wrapper.optimizer.lr=0.01 '
                            f'randomness.seed={seed}')
    assert f'{work}/configs/GMix_alpha0.5.py' in runs[4][2]
    assert tiny['cfg'] in runs[6][2]  # a config-file method runs as it is
    assert "'type': 'GMix', 'alpha': 0.5" in out
    assert 'plan: 8 runs (4 methods x 2 seeds)' in out


def test_bad_arguments(tiny):
    with pytest.raises(SystemExit) as e:
        sweep.main([tiny['cfg'], '--methods', 'vanila', '--dry-run'])
    assert "unknown method 'vanila'" in str(e.value)
    assert 'MiAMix' in str(e.value)
    with pytest.raises(SystemExit, match='--seeds'):
        sweep.main([tiny['cfg'], '--methods', 'vanilla', '--dry-run',
                    '--cfg-options', 'randomness.seed=3'])
    with pytest.raises(SystemExit, match='--partition'):
        sweep.main([tiny['cfg'], '--methods', 'vanilla', '--dry-run',
                    '--launcher', 'slurm'])


def _build_rerun(tmp, prefetched):
    """The real sweep, Mixup's run broken (a run killed before it finished
    leaves no 'done' status), called again: what test_real_sweep reads,
    recorded before, and what the second call did."""
    built = prefetched(_build_sweep)
    tiny, swept = built['tiny'], built['swept']
    work = swept['work']
    before = {label: _run_files(work / label / 'seed_3')
              for label in ('vanilla', 'Mixup')}
    before['Mixup.py'] = Config.fromfile(str(work / 'configs' / 'Mixup.py'))
    before['sweep.json'] = json.loads((work / 'sweep.json').read_text())
    vanilla = work / 'vanilla' / 'seed_3'
    stamps = sorted(p.name for p in vanilla.iterdir() if p.is_dir())
    status_path = work / 'Mixup' / 'seed_3' / 'sweep_status.json'
    status = json.loads(status_path.read_text())
    status['status'] = 'running'
    status_path.write_text(json.dumps(status))
    _, out, _ = _sweep(swept['args'], tiny['cwd'])
    return dict(before=before, stamps=stamps, out=out, work=work,
                stamps_after=sorted(p.name for p in vanilla.iterdir()
                                    if p.is_dir()),
                lock=(work / '.sweep.lock').exists())


def _run_files(run):
    """What test_real_sweep checks of one run directory."""
    return dict(status=json.loads((run / 'sweep_status.json').read_text()),
                ckpts=sorted(p.name for p in run.glob('epoch_*.pth')),
                dumped={p.name: p.read_text() for p in run.glob('*.py')},
                robustness=json.loads((run / 'robustness.json').read_text()))


PREFETCH.update(rerun=_build_rerun)


@pytest.fixture(scope='module')
def rerun(prefetched):
    return prefetched(_build_rerun)


def test_real_sweep(swept, rerun):
    """The first call (as it left the runs, before test_skip_finished_
    restart_broken's second call)."""
    out, before = swept['out'], rerun['before']
    lines = [x for x in out.splitlines() if x.startswith('[')]
    assert len(lines) == 2 and all('ETA' in x for x in lines)
    assert {x.split()[1] for x in lines} == {'vanilla', 'Mixup'}
    for label in ('vanilla', 'Mixup'):
        run = before[label]
        status = run['status']
        assert status['status'] == 'done' and status['rc'] == 0
        # --cfg-options passed through: one epoch of the config's two
        assert run['ckpts'] == ['epoch_1.pth']
        dumped = run['dumped'][f'{label}.py']
        assert re.search(r'seed=3\b', dumped)
        rob = run['robustness']
        assert set(rob['accuracy']) == {'fog'}
        assert 0 <= rob['mean'] <= 100
    mixup = before['Mixup.py']
    assert mixup.model.train_cfg.augments.type == 'Mixup'
    assert mixup.model.head.loss.use_soft is True
    plan = before['sweep.json']
    assert [r['method'] for r in plan['runs']] == ['vanilla', 'Mixup']


def test_never_writes_outside_work_dir(swept, tiny):
    assert swept['new'] == set()
    assert os.listdir(tiny['cwd']) == []


def test_skip_finished_restart_broken(rerun):
    work, out = rerun['work'], rerun['out']
    lines = {x.split()[1]: x for x in out.splitlines() if x.startswith('[')}
    assert 'skipped (finished)' in lines['vanilla']
    assert 'robustness: kept' in lines['vanilla']
    assert 'restarted, done' in lines['Mixup']
    # the finished run was not trained again
    assert rerun['stamps_after'] == rerun['stamps']
    status_path = work / 'Mixup' / 'seed_3' / 'sweep_status.json'
    status = json.loads(status_path.read_text())
    assert status['status'] == 'done' and status['attempts'] == 2
    assert '--resume' in status['cmd']
    log = (work / 'Mixup' / 'seed_3' / 'train.log').read_text()
    assert 'attempt 2, broken' in log
    assert 'resumed epoch: 1' in log  # from its checkpoint
    assert not rerun['lock']


def test_gpu_slots_and_threads(tiny, tmp_path, monkeypatch):
    """Each concurrent job gets its own CUDA_VISIBLE_DEVICES and port; CPU
    jobs share the cores; a job without --gpus keeps the sweep's
    CUDA_VISIBLE_DEVICES (submitit's local executor would empty it)."""
    args = sweep.parse_args([tiny['cfg'], '--methods', 'vanilla', '--gpus',
                             '4,5,6,7', '--gpus-per-job', '2', '--launcher',
                             'pytorch', '--work-dir', str(tmp_path / 'w')])
    runs, _, _, gpus = plan.build_plan(args, TOOLS)
    assert launch.slot_env(args, gpus, 0, 2)['CUDA_VISIBLE_DEVICES'] == '4,5'
    assert launch.slot_env(args, gpus, 1, 2)['CUDA_VISIBLE_DEVICES'] == '6,7'
    assert launch.slot_env(args, gpus, 1, 2)['PORT'] == '29501'
    assert runs[0].train_cmd[:4] == ['bash', osp.join(TOOLS, 'dist_train.sh'),
                                     runs[0].config, '2']
    cpu = sweep.parse_args([tiny['cfg'], '--methods', 'vanilla', '--jobs',
                            '2', '--work-dir', str(tmp_path / 'w')])
    runs, _, _, gpus = plan.build_plan(cpu, TOOLS)
    monkeypatch.delenv('OMP_NUM_THREADS', raising=False)
    monkeypatch.setenv('CUDA_VISIBLE_DEVICES', '3')
    monkeypatch.setattr(os, 'cpu_count', lambda: 16)
    env = launch.slot_env(cpu, gpus, 0, 2)
    assert env == {'CUDA_VISIBLE_DEVICES': '3', 'OMP_NUM_THREADS': '8'}
    monkeypatch.delenv('CUDA_VISIBLE_DEVICES')
    # None: the job removes the variable submitit set
    assert launch.slot_env(cpu, gpus, 0, 1) == {'CUDA_VISIBLE_DEVICES': None}
    job_env = plan._job_env(runs[0], dict(CUDA_VISIBLE_DEVICES=None, A='1'))
    assert 'CUDA_VISIBLE_DEVICES' not in job_env and job_env['A'] == '1'


def test_slurm_parameters(tiny, tmp_path):
    """--partition, --gpus-per-job, --jobs and --time become the job
    array's sbatch settings; a multi-GPU job trains one task per GPU."""
    args = sweep.parse_args([
        tiny['cfg'], '--methods', 'vanilla', 'Mixup', '--seeds', '0', '1',
        '2', '--launcher', 'slurm', '--partition', 'gpu', '--gpus-per-job',
        '4', '--jobs', '2', '--time', '90', '--cpus-per-task', '8',
        '--srun-args', '--exclusive --mem=0', '--work-dir',
        str(tmp_path / 'w')])
    runs, _, _, _ = plan.build_plan(args, TOOLS)
    assert launch.slurm_parameters(args, len(runs)) == dict(
        partition='gpu', job_name='sweep', gpus_per_node=4,
        ntasks_per_node=4, cpus_per_task=8, array_parallelism=2, time=90,
        srun_args=['--exclusive', '--mem=0'])
    cmd = runs[0].train_cmd
    assert cmd[1].endswith('tools/train.py')
    assert cmd[cmd.index('--launcher') + 1] == 'slurm'
    args.jobs, args.gpus_per_job = None, 1
    args.time, args.srun_args = None, None
    p = launch.slurm_parameters(args, len(runs))
    assert p['array_parallelism'] == 6 and 'time' not in p
    runs, _, _, _ = plan.build_plan(args, TOOLS)
    assert '--launcher' not in runs[0].train_cmd  # one GPU: one process


def test_without_submitit(tiny, tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, 'submitit', None)
    with pytest.raises(SystemExit) as e:
        sweep.main([tiny['cfg'], '--methods', 'vanilla', '--work-dir',
                    str(tmp_path / 'w')])
    assert 'pip install "mmmiamix[sweep]"' in str(e.value)
    assert not (tmp_path / 'w').exists()
    # a dry run needs no submitit
    assert sweep.main([tiny['cfg'], '--methods', 'vanilla', '--work-dir',
                       str(tmp_path / 'w'), '--dry-run']) == 0


def _echo_run(tmp_path):
    method = plan.Method('echo', 'config', config='c.py')
    run = plan.Run(method, 0, str(tmp_path / 'run'), 'c.py')
    run.train_cmd = [sys.executable, '-c', 'import sys; print(sys.argv[1:])',
                     '--cfg-options', 'randomness.seed=0']
    return run


def test_execute_run_one_job(tmp_path, monkeypatch):
    """What a job does, with a stand-in training command: status, log,
    the command of a new run; a failing command is a failed result naming
    the log; the tasks of a multi-GPU Slurm job all resume."""
    for key in ('SUBMITIT_EXECUTOR', 'SLURM_PROCID', 'SLURM_NTASKS'):
        monkeypatch.delenv(key, raising=False)
    run = _echo_run(tmp_path)
    res = plan.execute_run(run)
    assert res['ok'] and res['line'].startswith('done ')
    status = run.status()
    assert status['status'] == 'done' and status['rc'] == 0
    assert "['--cfg-options', 'randomness.seed=0']" in open(run.log).read()
    assert plan.execute_run(run)['line'] == 'skipped (finished)'

    bad = _echo_run(tmp_path / 'bad')
    bad.train_cmd[2] = 'import sys; sys.exit(3)'
    res = plan.execute_run(bad)
    assert not res['ok']
    assert res['line'].startswith('FAILED (exit 3)')
    assert res['line'].endswith(f'see {bad.log}')
    assert bad.status()['status'] == 'failed'

    monkeypatch.setenv('SUBMITIT_EXECUTOR', 'slurm')
    monkeypatch.setenv('SLURM_NTASKS', '2')
    for rank in ('1', '0'):
        monkeypatch.setenv('SLURM_PROCID', rank)
        fresh = _echo_run(tmp_path / f'rank{rank}')
        assert plan.execute_run(fresh)['ok']
        log = fresh.log + ('.rank1' if rank == '1' else '')
        assert "['--resume', '--cfg-options'" in open(log).read(), rank


def test_a_run_still_training_is_left_alone(tmp_path):
    """A run whose training process (of a sweep killed alone) still lives
    on this host is not started twice."""
    import socket
    run = _echo_run(tmp_path)
    os.makedirs(run.run_dir)
    status = dict(status='running', host=socket.gethostname(),
                  pid=os.getpid())
    plan.write_json(osp.join(run.run_dir, 'sweep_status.json'), status)
    assert launch.still_training(run) == os.getpid()
    dead = subprocess.Popen([sys.executable, '-c', 'pass'])
    dead.wait()
    plan.write_json(osp.join(run.run_dir, 'sweep_status.json'),
                    dict(status, pid=dead.pid))
    assert launch.still_training(run) is None
    plan.write_json(osp.join(run.run_dir, 'sweep_status.json'),
                    dict(status, host='elsewhere'))
    assert launch.still_training(run) is None
