"""Run every (method, seed) of a comparison through tools/train.py.

Usage::

    python tools/sweep.py CONFIG --methods vanilla Mixup CutMix MiAMix
        [--seeds 0 1 2] [--work-dir work_dirs/sweep] [--jobs N]
        [--gpus 0,1,2,3 | --gpus 4] [--gpus-per-job 1]
        [--launcher none|pytorch|slurm] [--partition P] [--alpha A]
        [--corrupted DIR [--corrupted-dataset CIFAR10C] [--corruptions ...]]
        [--train-args "--amp"] [--dry-run] [--cfg-options k=v ...]

A *method* is

* ``vanilla``: the base config without a batch augment (hard-label loss);
* a registered batch augment (``Mixup``, ``CutMix``, ``FMix``, ``GridMix``,
  ``GMix``, ``AGMix``, ``MiAMix``, ...; any name in mmpretrain's
  ``BATCH_AUGMENTS`` registry, case-insensitive), optionally with arguments:
  ``Mixup:alpha=0.2`` or ``MiAMix:alpha=1,p_self=0``. The base config gets
  ``model.train_cfg = dict(augments=dict(type=NAME, alpha=ALPHA, ...))`` (how
  mmpretrain 1.2 configs name a batch augment), also written into the
  preprocessor's ``batch_augments`` where the base config has that key
  (mmpretrain's classifier then ignores ``train_cfg``), and a
  ``CrossEntropyLoss`` head gets ``use_soft=True`` (mixed batches carry
  soft scores). ``ALPHA`` is ``--alpha`` or the value the project's configs
  use: 2.0 for MiAMix (paper Table 2), 1.0 for the others;
* a config file (``configs/cifar10/resnet18_fmix.py``), run as it is.

``LABEL=METHOD`` names a method; otherwise the label is the registry name,
the config's file name, or ``NAME_key<value>...`` with arguments.

Layout (nothing is written outside ``--work-dir``)::

    WORK_DIR/
    ├── sweep.json                  # the plan of the latest call
    ├── configs/<label>.py          # generated configs (inherit CONFIG)
    └── <label>/seed_<s>/           # tools/train.py's work dir of one run
        ├── sweep_status.json       # running | done | failed, time, command
        ├── train.log               # the run's stdout and stderr
        ├── robustness.json/.log    # with --corrupted
        └── <timestamp>/vis_data/scalars.json, epoch_*.pth, ...

A run whose status is ``done`` is skipped; any other run found on disk (it
failed, or the sweep was killed) is restarted with ``--resume``, which
continues from its latest checkpoint when there is one. Each run gets
``randomness.seed=<seed>`` after the ``--cfg-options``. With ``--corrupted``
the final checkpoint of every run is evaluated by tools/test_robustness.py
(skipped when a complete ``robustness.json`` exists).

Processes: ``--jobs N`` runs N trainings at once. ``--gpus`` (ids or a
count) gives each job its own ``CUDA_VISIBLE_DEVICES`` (``--gpus-per-job``
ids each; with ``--launcher pytorch`` a job is tools/dist_train.sh over
them). Without GPUs and with several jobs, each job gets
``OMP_NUM_THREADS = cores // jobs`` unless it is set. ``--launcher slurm``
submits every run through tools/slurm_train.sh (``srun``, which waits for
the job; ``--jobs`` bounds how many are queued at once, default all) and the
robustness evaluation through ``srun`` on the same partition.
"""
import argparse
import ast
import datetime
import json
import os
import os.path as osp
import pprint
import re
import shlex
import subprocess
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor

from mmmiamix.datasets.cifar_c import CIFAR_C_CORRUPTIONS as ALL_CORRUPTIONS

TOOLS = osp.dirname(osp.abspath(__file__))
REPO = osp.dirname(TOOLS)
STATUS_FILE = 'sweep_status.json'
PLAN_FILE = 'sweep.json'
LOCK_FILE = '.sweep.lock'
ROBUSTNESS_FILE = 'robustness.json'
#: alpha of a registered augment when neither the method nor --alpha sets it
DEFAULT_ALPHA = {'MiAMix': 2.0}
FALLBACK_ALPHA = 1.0
_LABEL_RE = re.compile(r'^[A-Za-z0-9][A-Za-z0-9_.+-]*$')


# --------------------------------------------------------------- methods
class Method:
    """One entry of ``--methods``.

    ``kind`` is ``'vanilla'``, ``'augment'`` (``name`` is the registry name,
    ``kwargs`` its arguments) or ``'config'`` (``config`` is the file).
    """

    def __init__(self, label, kind, name=None, kwargs=None, config=None):
        self.label = label
        self.kind = kind
        self.name = name
        self.kwargs = dict(kwargs or {})
        self.config = config

    def to_dict(self):
        return dict(label=self.label, kind=self.kind, name=self.name,
                    kwargs=self.kwargs, config=self.config)


def _registered_augments():
    """Names of mmpretrain's BATCH_AUGMENTS with the plugin imported."""
    import mmmiamix  # noqa: F401  (registers MiAMix, AGMix, GMix, ...)
    from mmpretrain.registry import BATCH_AUGMENTS
    return sorted(BATCH_AUGMENTS.module_dict)


def _parse_value(text):
    try:
        return ast.literal_eval(text)
    except (ValueError, SyntaxError):
        return text


def _kwargs_label(kwargs):
    parts = []
    for k, v in kwargs.items():
        v = ','.join(map(str, v)) if isinstance(v, (list, tuple)) else str(v)
        parts.append(f'{k}{v}')
    return '_'.join(parts)


def parse_method(spec, registered=None):
    """Turn one ``--methods`` entry into a :class:`Method`.

    ``registered`` is the list of registry names (looked up when None and
    needed).
    """
    if not isinstance(spec, str) or not spec:
        raise ValueError(f'--methods: empty method {spec!r}')
    label = None
    if '=' in spec.split(':', 1)[0]:
        label, spec = spec.split('=', 1)
    if spec.endswith('.py') or osp.isfile(spec):
        if not osp.isfile(spec):
            raise ValueError(f'--methods: config file {spec!r} not found')
        method = Method(
            label or osp.splitext(osp.basename(spec))[0], 'config',
            config=osp.abspath(spec))
    else:
        name, _, arg_text = spec.partition(':')
        kwargs = {}
        if arg_text:
            for item in arg_text.split(','):
                if '=' not in item:
                    raise ValueError(
                        f'--methods: {spec!r}: arguments are key=value '
                        'pairs separated by commas, e.g. Mixup:alpha=0.2')
                k, v = item.split('=', 1)
                kwargs[k.strip()] = _parse_value(v.strip())
        if name.lower() == 'vanilla':
            if kwargs:
                raise ValueError(f'--methods: vanilla takes no arguments, '
                                 f'got {spec!r}')
            method = Method(label or 'vanilla', 'vanilla')
        else:
            if registered is None:
                registered = _registered_augments()
            by_lower = {r.lower(): r for r in registered}
            if name.lower() not in by_lower:
                raise ValueError(
                    f'--methods: unknown method {name!r}; expected '
                    f"'vanilla', a config file, or a registered batch "
                    f"augment: {', '.join(registered)}")
            name = by_lower[name.lower()]
            default_label = name + ('_' + _kwargs_label(kwargs)
                                    if kwargs else '')
            method = Method(label or default_label, 'augment', name=name,
                            kwargs=kwargs)
    if not _LABEL_RE.match(method.label):
        raise ValueError(
            f'--methods: label {method.label!r} must be made of letters, '
            "digits and '_.+-' (name it with LABEL=METHOD)")
    return method


def parse_methods(specs):
    needs_registry = any(
        not (s.split('=', 1)[-1].endswith('.py')
             or osp.isfile(s.split('=', 1)[-1])
             or s.split('=', 1)[-1].split(':')[0].lower() == 'vanilla')
        for s in specs)
    registered = _registered_augments() if needs_registry else []
    methods = [parse_method(s, registered) for s in specs]
    labels = [m.label for m in methods]
    dup = sorted({x for x in labels if labels.count(x) > 1})
    if dup:
        raise ValueError(f'--methods: labels {dup} repeat; name them with '
                         'LABEL=METHOD')
    return methods


# --------------------------------------------------------------- configs
def _is_ce_loss(loss):
    return isinstance(loss, dict) and str(loss.get('type', '')).split(
        '.')[-1] == 'CrossEntropyLoss'


def method_override(method, base_cfg, alpha=None):
    """The top-level keys a generated config sets on top of ``base_cfg``.

    Returns ``(override, notes)``: ``override`` maps config keys to dicts
    merged by mmengine's inheritance (``_delete_`` where the base key is
    replaced as a whole); ``notes`` are warnings for the plan.
    """
    notes = []
    model = base_cfg.get('model', None)
    if not isinstance(model, dict):
        raise ValueError('the base config has no `model` dict')
    model_over = {}
    top = {}
    if method.kind == 'augment':
        aug = dict(type=method.name)
        a = method.kwargs.get('alpha', alpha)
        if a is None:
            a = DEFAULT_ALPHA.get(method.name, FALLBACK_ALPHA)
        aug['alpha'] = float(a)
        aug.update({k: v for k, v in method.kwargs.items() if k != 'alpha'})
        soft = True
    elif method.kind == 'vanilla':
        aug = None
        soft = False
    else:
        raise ValueError(f'method {method.label!r} is a config file')

    def replaced(in_base, new):
        # a dict replaces the base's value (dict or None) as a whole;
        # mmengine refuses a dict over None without `_delete_`
        if new is not None and in_base:
            return dict(_delete_=True, **new)
        return new

    # mmpretrain 1.2's ImageClassifier hands `train_cfg` to the
    # preprocessor only where the preprocessor has no `batch_augments` key
    # (setdefault), so both places are set wherever the base has them.
    train_cfg = model.get('train_cfg', None)
    if aug is not None:
        model_over['train_cfg'] = replaced('train_cfg' in model,
                                           dict(augments=aug))
    elif train_cfg is not None:
        model_over['train_cfg'] = None
    batch_augments = None if aug is None else dict(augments=aug)
    for where, pre in (('model', model.get('data_preprocessor', None)),
                       ('top', base_cfg.get('data_preprocessor', None))):
        if not isinstance(pre, dict) or 'batch_augments' not in pre:
            continue
        if aug is None and pre['batch_augments'] is None:
            continue
        value = dict(batch_augments=replaced(True, batch_augments))
        (model_over if where == 'model' else top)['data_preprocessor'] = value
    head = model.get('head', None)
    loss = head.get('loss', None) if isinstance(head, dict) else None
    if _is_ce_loss(loss):
        if bool(loss.get('use_soft', False)) != soft:
            model_over['head'] = dict(loss=dict(use_soft=soft))
    elif method.kind == 'augment':
        notes.append(
            f'{method.label}: the head loss is {loss!r}, not '
            'CrossEntropyLoss; left unchanged (it must accept soft scores)')
    override = {}
    if model_over:
        override['model'] = model_over
    override.update(top)
    return override, notes


def config_text(base_config, method, override):
    lines = [
        f'# Generated by tools/sweep.py: method {method.label!r} '
        f'({method.kind}{" " + method.name if method.name else ""}) on top',
        f'# of {base_config}. Regenerated by every call of the sweep.',
        f'_base_ = [{base_config!r}]',
    ]
    for key, value in override.items():
        lines.append(f'{key} = {pprint.pformat(value, sort_dicts=False)}')
    return '\n'.join(lines) + '\n'


# --------------------------------------------------------------- plan
class Run:

    def __init__(self, method, seed, run_dir, config):
        self.method = method
        self.seed = seed
        self.run_dir = run_dir
        self.config = config
        self.train_cmd = None
        self.env = {}
        self.rob_cmd = None

    @property
    def name(self):
        return f'{self.method.label} seed={self.seed}'

    def status(self):
        return read_status(self.run_dir)


def read_status(run_dir):
    path = osp.join(run_dir, STATUS_FILE)
    try:
        with open(path) as f:
            return json.load(f)
    except (OSError, ValueError):
        return None


def run_state(run_dir):
    """``'done'``, ``'broken'`` (something on disk, not done) or ``'new'``."""
    st = read_status(run_dir)
    if st is not None and st.get('status') == 'done':
        return 'done'
    if osp.isdir(run_dir) and os.listdir(run_dir):
        return 'broken'
    return 'new'


def robustness_complete(path, corruptions=None, severities=None):
    """Whether ``path`` holds a finished tools/test_robustness.py result
    covering ``corruptions`` x ``severities`` (when given)."""
    try:
        with open(path) as f:
            res = json.load(f)
    except (OSError, ValueError):
        return False
    acc = res.get('accuracy') if isinstance(res, dict) else None
    if not isinstance(acc, dict) or 'mean' not in res:
        return False
    if res.get('complete', True) is False or res.get('partial', False):
        return False
    if corruptions is not None and list(corruptions) == ['all']:
        corruptions = ALL_CORRUPTIONS
    for c in corruptions or ():
        if c not in acc:
            return False
        for s in severities or ():
            if str(s) not in acc[c]:
                return False
    return True


def final_checkpoint(run_dir):
    """The checkpoint mmengine saved last (``last_checkpoint``), else the
    highest ``epoch_*.pth``/``iter_*.pth``; None when there is none."""
    marker = osp.join(run_dir, 'last_checkpoint')
    if osp.isfile(marker):
        with open(marker) as f:
            path = f.read().strip()
        if path and not osp.isabs(path):
            path = osp.join(run_dir, path)
        if path and osp.isfile(path):
            return path
    best = None
    for fn in os.listdir(run_dir) if osp.isdir(run_dir) else ():
        m = re.match(r'^(epoch|iter)_(\d+)\.pth$', fn)
        if m and (best is None or int(m.group(2)) > best[0]):
            best = (int(m.group(2)), osp.join(run_dir, fn))
    return best[1] if best else None


def train_command(run, state):
    """The training command of ``run`` in ``state`` (see :func:`run_state`):
    a broken run is resumed from its latest checkpoint."""
    cmd = list(run.train_cmd)
    if state == 'broken':
        cmd.insert(cmd.index('--cfg-options'), '--resume')
    return cmd


def _parse_gpus(text):
    if text is None:
        return []
    text = str(text).strip()
    if re.fullmatch(r'\d+', text):
        return [str(i) for i in range(int(text))]
    ids = [t for t in re.split(r'[,\s]+', text) if t]
    if not ids or not all(re.fullmatch(r'\d+', t) for t in ids):
        raise ValueError(f'--gpus: expected a count (4) or ids (0,1,2), '
                         f'got {text!r}')
    return ids


def build_plan(args):
    """Check the arguments and return ``(runs, configs_to_write, notes)``."""
    if not args.methods:
        raise ValueError('--methods: give at least one method')
    if not args.seeds:
        raise ValueError('--seeds: give at least one seed')
    if len(set(args.seeds)) != len(args.seeds):
        raise ValueError(f'--seeds: seeds repeat: {args.seeds}')
    for opt in args.cfg_options or ():
        if '=' not in opt:
            raise ValueError(f'--cfg-options: {opt!r} is not key=value')
        if opt.split('=', 1)[0].strip() in ('randomness.seed', 'work_dir'):
            raise ValueError(f'--cfg-options: {opt.split("=")[0]} is set by '
                             'the sweep (use --seeds / --work-dir)')
    methods = parse_methods(args.methods)
    work_dir = osp.abspath(args.work_dir)
    base_cfg = None
    needs_base = [m.label for m in methods if m.kind != 'config']
    if needs_base:
        if args.config is None:
            raise ValueError(f'methods {needs_base} need a base CONFIG')
        if not osp.isfile(args.config):
            raise ValueError(f'CONFIG {args.config!r} not found')
        from mmengine.config import Config
        base_cfg = Config.fromfile(args.config)
    configs, notes = {}, []
    for m in methods:
        if m.kind == 'config':
            continue
        override, n = method_override(m, base_cfg, args.alpha)
        notes.extend(n)
        path = osp.join(work_dir, 'configs', f'{m.label}.py')
        configs[path] = config_text(osp.abspath(args.config), m, override)
        m.config = path

    train_args = shlex.split(args.train_args or '')
    for bad in ('--work-dir', '--launcher', '--cfg-options', '--resume'):
        if any(a == bad or a.startswith(bad + '=') for a in train_args):
            raise ValueError(f'--train-args: {bad} is set by the sweep')
    gpus = _parse_gpus(args.gpus)
    gpj = args.gpus_per_job
    if gpj < 1:
        raise ValueError(f'--gpus-per-job must be >= 1, got {gpj}')
    if args.launcher == 'slurm' and not args.partition:
        raise ValueError('--launcher slurm needs --partition')
    if args.launcher == 'none' and gpj > 1:
        raise ValueError('--gpus-per-job > 1 needs --launcher pytorch or '
                         'slurm')
    if gpus and len(gpus) < gpj:
        raise ValueError(f'--gpus gives {len(gpus)} GPUs, fewer than '
                         f'--gpus-per-job {gpj}')

    runs = []
    py = sys.executable
    for m in methods:
        for seed in args.seeds:
            run_dir = osp.join(work_dir, m.label, f'seed_{seed}')
            run = Run(m, seed, run_dir, m.config)
            opts = list(args.cfg_options or []) + [f'randomness.seed={seed}']
            tail = train_args + ['--cfg-options'] + opts
            if args.launcher == 'slurm':
                run.train_cmd = [
                    'bash', osp.join(TOOLS, 'slurm_train.sh'), args.partition,
                    f'{m.label}_s{seed}', m.config, run_dir
                ] + tail
                run.env = dict(GPUS=str(gpj),
                               GPUS_PER_NODE=str(min(gpj, 8)),
                               CPUS_PER_TASK=str(args.cpus_per_task),
                               SRUN_ARGS=args.srun_args or '')
            elif args.launcher == 'pytorch':
                run.train_cmd = [
                    'bash', osp.join(TOOLS, 'dist_train.sh'), m.config,
                    str(gpj), '--work-dir', run_dir
                ] + tail
            else:
                run.train_cmd = [py, osp.join(TOOLS, 'train.py'), m.config,
                                 '--work-dir', run_dir] + tail
            if args.corrupted:
                rob = [
                    py, '-u', osp.join(TOOLS, 'test_robustness.py'), m.config,
                    '{checkpoint}', '--dataset', args.corrupted_dataset,
                    '--data-root', osp.abspath(args.corrupted), '--out',
                    osp.join(run_dir, ROBUSTNESS_FILE)
                ]
                if args.corruptions:
                    rob += ['--corruptions'] + list(args.corruptions)
                if args.severities:
                    rob += ['--severities'] + [str(s) for s in args.severities]
                if args.robustness_args:
                    rob += shlex.split(args.robustness_args)
                if args.cfg_options:
                    rob += ['--cfg-options'] + list(args.cfg_options)
                if args.launcher == 'slurm':
                    rob = [
                        'srun', '-p', args.partition,
                        f'--job-name={m.label}_s{seed}_rob',
                        '--gres=gpu:1', '--ntasks=1',
                        f'--cpus-per-task={args.cpus_per_task}'
                    ] + shlex.split(args.srun_args or '') + rob
                run.rob_cmd = rob
            runs.append(run)
    return runs, configs, notes, gpus


# --------------------------------------------------------------- running
def _now():
    return datetime.datetime.now().isoformat(timespec='seconds')


def _write_json(path, obj):
    tmp = path + '.tmp'
    with open(tmp, 'w') as f:
        json.dump(obj, f, indent=2)
    os.replace(tmp, path)


def _fmt_time(seconds):
    if seconds is None:
        return '?'
    seconds = int(round(seconds))
    return f'{seconds // 3600}:{seconds // 60 % 60:02d}:{seconds % 60:02d}'


def _final_top1(run_dir):
    """Final and best validation top-1 of a run (None when none)."""
    try:
        from mmmiamix.experiments.summary import load_run
        run = load_run(run_dir)
    except Exception:  # a summary line must never stop the sweep
        return None, None
    accs = [a for _, a in run['val']]
    return (accs[-1], max(accs)) if accs else (None, None)


class Sweep:

    def __init__(self, runs, args, gpus):
        self.runs = runs
        self.args = args
        self.gpus = gpus
        self.lock = threading.Lock()
        self.durations = []
        self.finished = 0
        self.failed = []
        self.running = 0
        self.procs = set()
        self.start = time.time()

    # one progress line per run
    def report(self, run, what):
        with self.lock:
            self.finished += 1
            left = len(self.runs) - self.finished
            eta = None
            if self.durations:
                mean = sum(self.durations) / len(self.durations)
                eta = mean * left / max(1, self.jobs)
            width = len(str(len(self.runs)))
            print(f'[{self.finished:{width}d}/{len(self.runs)}] '
                  f'{run.name:<28s} {what}  | elapsed '
                  f'{_fmt_time(time.time() - self.start)}, {left} left, '
                  f'ETA {_fmt_time(eta) if left else "0:00:00"}',
                  flush=True)

    def _slot_env(self, slot):
        env = dict(os.environ)
        repo_path = REPO + (os.pathsep + env['PYTHONPATH']
                            if env.get('PYTHONPATH') else '')
        env['PYTHONPATH'] = repo_path
        if self.gpus:
            gpj = self.args.gpus_per_job
            ids = self.gpus[slot * gpj:(slot + 1) * gpj]
            env['CUDA_VISIBLE_DEVICES'] = ','.join(ids)
        elif self.jobs > 1 and 'OMP_NUM_THREADS' not in os.environ:
            env['OMP_NUM_THREADS'] = str(max(1, (os.cpu_count() or 1) //
                                             self.jobs))
        if self.args.launcher == 'pytorch':
            env['PORT'] = str(self.args.port + slot)
        return env

    def _call(self, cmd, env, log_path, header):
        with open(log_path, 'a') as log:
            log.write(f'\n===== {_now()} {header}\n$ {shlex.join(cmd)}\n')
            log.flush()
            proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT,
                                    env=env, cwd=os.getcwd())
            with self.lock:
                self.procs.add(proc)
            try:
                return proc.wait()
            finally:
                with self.lock:
                    self.procs.discard(proc)

    def execute(self, run, slot):
        begin = time.time()
        state = run_state(run.run_dir)
        os.makedirs(run.run_dir, exist_ok=True)
        env = self._slot_env(slot)
        env.update(run.env)
        line = []
        if state != 'done':
            cmd = train_command(run, state)
            old = read_status(run.run_dir) or {}
            attempts = int(old.get('attempts', 0)) + 1
            status = dict(status='running', method=run.method.to_dict(),
                          seed=run.seed, config=run.config, cmd=cmd,
                          started=_now(), attempts=attempts,
                          pid=os.getpid())
            _write_json(osp.join(run.run_dir, STATUS_FILE), status)
            t0 = time.time()
            rc = self._call(cmd, env, osp.join(run.run_dir, 'train.log'),
                            f'train (attempt {attempts}, {state})')
            wall = time.time() - t0
            status.update(finished=_now(), rc=rc, train_seconds=wall,
                          status='done' if rc == 0 else 'failed')
            _write_json(osp.join(run.run_dir, STATUS_FILE), status)
            if rc != 0:
                with self.lock:
                    self.failed.append(run)
                self.report(run, f'FAILED (exit {rc}) after {wall:.1f} s, '
                            f'see {osp.join(run.run_dir, "train.log")}')
                return
            line.append(f'{"restarted, " if state == "broken" else ""}'
                        f'done {wall:.1f} s')
        else:
            line.append('skipped (finished)')
        final, best = _final_top1(run.run_dir)
        if final is not None:
            line.append(f'top-1 {final:.2f} (best {best:.2f})')
        if run.rob_cmd is not None:
            line.append(self.robustness(run, env))
        if state != 'done':  # the ETA counts training and evaluation
            with self.lock:
                self.durations.append(time.time() - begin)
        self.report(run, ', '.join(line))

    def robustness(self, run, env):
        out = osp.join(run.run_dir, ROBUSTNESS_FILE)
        if robustness_complete(out, self.args.corruptions,
                               self.args.severities):
            return 'robustness: kept ' + self._rob_mean(out)
        ckpt = final_checkpoint(run.run_dir)
        if ckpt is None:
            with self.lock:
                self.failed.append(run)
            return 'robustness FAILED: no checkpoint'
        cmd = [ckpt if a == '{checkpoint}' else a for a in run.rob_cmd]
        rc = self._call(cmd, env, osp.join(run.run_dir, 'robustness.log'),
                        'robustness')
        if rc != 0 or not osp.isfile(out):
            with self.lock:
                self.failed.append(run)
            return (f'robustness FAILED (exit {rc}), see '
                    f'{osp.join(run.run_dir, "robustness.log")}')
        return 'corrupted ' + self._rob_mean(out)

    @staticmethod
    def _rob_mean(path):
        try:
            with open(path) as f:
                return f"{float(json.load(f)['mean']):.2f}"
        except (OSError, ValueError, KeyError, TypeError):
            return '?'

    @property
    def jobs(self):
        return self.args.jobs

    def run_all(self):
        slots = list(range(self.jobs))
        slot_lock = threading.Lock()

        def task(run):
            with slot_lock:
                slot = slots.pop(0)
            try:
                self.execute(run, slot)
            except Exception as e:  # keep the other runs going
                with self.lock:
                    self.failed.append(run)
                self.report(run, f'FAILED: {type(e).__name__}: {e}')
            finally:
                with slot_lock:
                    slots.append(slot)

        try:
            with ThreadPoolExecutor(max_workers=self.jobs) as pool:
                list(pool.map(task, self.runs))
        except KeyboardInterrupt:
            with self.lock:
                for p in self.procs:
                    p.terminate()
            raise
        return self.failed


# --------------------------------------------------------------- lock
def acquire_lock(work_dir):
    path = osp.join(work_dir, LOCK_FILE)
    for _ in range(2):
        try:
            fd = os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY)
        except FileExistsError:
            try:
                with open(path) as f:
                    pid = int(f.read().strip() or 0)
                os.kill(pid, 0)
            except (ValueError, ProcessLookupError, OSError):
                os.remove(path)  # stale: its sweep is gone
                continue
            raise RuntimeError(
                f'another sweep (pid {pid}) is running in {work_dir}; '
                f'remove {path} if it is not')
        with os.fdopen(fd, 'w') as f:
            f.write(str(os.getpid()))
        return path
    raise RuntimeError(f'cannot create {path}')


# --------------------------------------------------------------- main
def parse_args(argv=None):
    p = argparse.ArgumentParser(
        description='Run every (method, seed) through tools/train.py',
        formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument('config', nargs='?',
                   help='base config (not needed when every method is a '
                   'config file)')
    p.add_argument('--methods', nargs='+', required=True,
                   help="'vanilla', registered batch augments (NAME or "
                   'NAME:key=value,...), config files; LABEL=METHOD names '
                   'one')
    p.add_argument('--seeds', nargs='+', type=int, default=[0])
    p.add_argument('--work-dir', default='work_dirs/sweep')
    p.add_argument('--alpha', type=float,
                   help='alpha of every registered augment (default: 2.0 '
                   'for MiAMix, 1.0 for the others)')
    p.add_argument('--jobs', type=int,
                   help='runs at once (default 1; with --gpus: GPUs / '
                   '--gpus-per-job; with slurm: all)')
    p.add_argument('--gpus', help='GPU ids (0,1,2) or a count (3): each job '
                   'gets its own CUDA_VISIBLE_DEVICES')
    p.add_argument('--gpus-per-job', type=int, default=1)
    p.add_argument('--launcher', choices=['none', 'pytorch', 'slurm'],
                   default='none',
                   help='none: tools/train.py; pytorch: tools/dist_train.sh '
                   'with --gpus-per-job processes; slurm: '
                   'tools/slurm_train.sh')
    p.add_argument('--port', type=int, default=29500,
                   help='first torchrun port (pytorch launcher; job i uses '
                   'port + i)')
    p.add_argument('--partition', help='slurm partition')
    p.add_argument('--cpus-per-task', type=int, default=5,
                   help='slurm CPUS_PER_TASK')
    p.add_argument('--srun-args', help='extra srun arguments (slurm)')
    p.add_argument('--train-args',
                   help='extra tools/train.py arguments, one string, e.g. '
                   '"--amp"')
    p.add_argument('--corrupted',
                   help='CIFAR-C style folder (tools/make_corrupted.py): '
                   'evaluate every final checkpoint on it')
    p.add_argument('--corrupted-dataset', default='CIFAR10C',
                   choices=['CIFAR10C', 'CIFAR100C'])
    p.add_argument('--corruptions', nargs='+',
                   help="corruptions to test (default: test_robustness.py's "
                   "15 benchmark ones; 'all': 19)")
    p.add_argument('--severities', nargs='+', type=int)
    p.add_argument('--robustness-args',
                   help='extra tools/test_robustness.py arguments, one string')
    p.add_argument('--dry-run', action='store_true',
                   help='print the plan, write nothing')
    p.add_argument('--cfg-options', nargs='+',
                   help='passed to every run, e.g. train_cfg.max_epochs=10')
    return p.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    try:
        runs, configs, notes, gpus = build_plan(args)
        if args.jobs is None:
            if args.launcher == 'slurm':
                args.jobs = len(runs)
            elif gpus:
                args.jobs = max(1, len(gpus) // args.gpus_per_job)
            else:
                args.jobs = 1
        if args.jobs < 1:
            raise ValueError(f'--jobs must be >= 1, got {args.jobs}')
        if gpus and args.launcher != 'slurm' and \
                args.jobs * args.gpus_per_job > len(gpus):
            raise ValueError(
                f'--jobs {args.jobs} x --gpus-per-job {args.gpus_per_job} '
                f'needs more than the {len(gpus)} GPUs of --gpus')
        if args.corrupted and not osp.isdir(args.corrupted):
            raise ValueError(f'--corrupted: {args.corrupted!r} is not a '
                             'folder')
    except ValueError as e:
        sys.exit(f'error: {e}')
    work_dir = osp.abspath(args.work_dir)
    for n in notes:
        print(f'note: {n}')

    if args.dry_run:
        n_methods = len({r.method.label for r in runs})
        print(f'plan: {len(runs)} runs ({n_methods}'
              f' methods x {len(args.seeds)} seeds), {args.jobs} at once, '
              f'work dir {work_dir}')
        for path, text in configs.items():
            print(f'--- {path}\n{text}', end='')
        for r in runs:
            state = run_state(r.run_dir)
            cmd = 'skip' if state == 'done' else shlex.join(
                train_command(r, state))
            print(f'[{state}] {r.name}: {cmd}')
            if r.rob_cmd:
                print(f'    then: {shlex.join(r.rob_cmd)}')
        return 0

    os.makedirs(work_dir, exist_ok=True)
    try:
        lock = acquire_lock(work_dir)
    except RuntimeError as e:
        sys.exit(f'error: {e}')
    try:
        for path, text in configs.items():
            os.makedirs(osp.dirname(path), exist_ok=True)
            with open(path, 'w') as f:
                f.write(text)
        plan = dict(
            created=_now(), config=args.config and osp.abspath(args.config),
            methods=[m.to_dict() for m in dict(
                (r.method.label, r.method) for r in runs).values()],
            seeds=args.seeds, cfg_options=args.cfg_options or [],
            corrupted=args.corrupted and osp.abspath(args.corrupted),
            runs=[dict(method=r.method.label, seed=r.seed,
                       run_dir=osp.relpath(r.run_dir, work_dir),
                       config=r.config, train_cmd=r.train_cmd)
                  for r in runs])
        _write_json(osp.join(work_dir, PLAN_FILE), plan)
        done = sum(run_state(r.run_dir) == 'done' for r in runs)
        print(f'sweep: {len(runs)} runs, {done} finished already, '
              f'{args.jobs} at once, work dir {work_dir}', flush=True)
        sweep = Sweep(runs, args, gpus)
        failed = sweep.run_all()
    finally:
        os.remove(lock)
    total = _fmt_time(time.time() - sweep.start)
    if failed:
        names = ', '.join(sorted({r.name for r in failed}))
        print(f'sweep: {len(failed)} failed ({names}) in {total}; run the '
              'same command again to restart them')
        return 1
    print(f'sweep: all {len(runs)} runs finished in {total}; summarize with'
          f' python tools/summarize.py {args.work_dir}')
    return 0


if __name__ == '__main__':
    sys.exit(main())
