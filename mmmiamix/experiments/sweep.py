"""The plan of a sweep: every (method, seed) of a comparison as a run of
``tools/train.py`` in its own work dir, and what one run does when a job
executes it (:func:`execute_run`). ``tools/sweep.py`` is its command line;
:mod:`mmmiamix.experiments.launch` hands the runs to submitit.

A *method* is ``vanilla`` (the base config without a batch augment), a
registered batch augment with optional arguments (``Mixup:alpha=0.2``), or
a config file run as it is; ``LABEL=METHOD`` names one. See
``docs/sweeps.md``.
"""
import ast
import datetime
import json
import os
import os.path as osp
import pprint
import re
import shlex
import socket
import subprocess
import sys
import time

from ..datasets.cifar_c import CIFAR_C_CORRUPTIONS
from ..resume import newest_intact_checkpoint
from .summary import read_robustness_json

STATUS_FILE = 'sweep_status.json'
PLAN_FILE = 'sweep.json'
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
    from mmpretrain.registry import BATCH_AUGMENTS

    import mmmiamix  # noqa: F401  (registers MiAMix, AGMix, GMix, ...)
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


def _is_ce_loss(loss):
    return isinstance(loss, dict) and str(loss.get('type', '')).split(
        '.')[-1] == 'CrossEntropyLoss'


def _augment_dict(method, alpha):
    """``(augment config or None, soft)`` of a vanilla or augment method."""
    if method.kind == 'vanilla':
        return None, False
    if method.kind != 'augment':
        raise ValueError(f'method {method.label!r} is a config file')
    aug = dict(type=method.name)
    a = method.kwargs.get('alpha', alpha)
    if a is None:
        a = DEFAULT_ALPHA.get(method.name, FALLBACK_ALPHA)
    aug['alpha'] = float(a)
    aug.update({k: v for k, v in method.kwargs.items() if k != 'alpha'})
    return aug, True


def _replaced(in_base, new):
    """A dict replaces the base's value (dict or None) as a whole; mmengine
    refuses a dict over None without ``_delete_``."""
    if new is not None and in_base:
        return dict(_delete_=True, **new)
    return new


def _augment_overrides(base_cfg, aug):
    """``(model keys, top-level keys)`` that put ``aug`` (or no augment)
    wherever the base config names its batch augment.

    mmpretrain 1.2's ImageClassifier hands ``train_cfg`` to the
    preprocessor only where the preprocessor has no ``batch_augments`` key
    (setdefault), so both places are set wherever the base has them."""
    model = base_cfg['model']
    model_over, top = {}, {}
    if aug is not None:
        model_over['train_cfg'] = _replaced('train_cfg' in model,
                                            dict(augments=aug))
    elif model.get('train_cfg', None) is not None:
        model_over['train_cfg'] = None
    batch_augments = None if aug is None else dict(augments=aug)
    for where, pre in (('model', model.get('data_preprocessor', None)),
                       ('top', base_cfg.get('data_preprocessor', None))):
        if not isinstance(pre, dict) or 'batch_augments' not in pre:
            continue
        if aug is None and pre['batch_augments'] is None:
            continue
        value = dict(batch_augments=_replaced(True, batch_augments))
        (model_over if where == 'model' else top)['data_preprocessor'] = value
    return model_over, top


def method_override(method, base_cfg, alpha=None):
    """The top-level keys a generated config sets on top of ``base_cfg``.

    Returns ``(override, notes)``: ``override`` maps config keys to dicts
    merged by mmengine's inheritance (``_delete_`` where the base key is
    replaced as a whole); ``notes`` are warnings for the plan.
    """
    model = base_cfg.get('model', None)
    if not isinstance(model, dict):
        raise ValueError('the base config has no `model` dict')
    aug, soft = _augment_dict(method, alpha)
    model_over, top = _augment_overrides(base_cfg, aug)
    notes = []
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


# --------------------------------------------------------------- state
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
    res = read_robustness_json(path)
    if res is None or 'mean' not in res:
        return False
    acc = res['accuracy']
    if res.get('complete', True) is False or res.get('partial', False):
        return False
    if corruptions is not None and list(corruptions) == ['all']:
        corruptions = CIFAR_C_CORRUPTIONS
    for c in corruptions or ():
        if c not in acc:
            return False
        for s in severities or ():
            if str(s) not in acc[c]:
                return False
    return True


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


# --------------------------------------------------------------- plan
class Run:
    """One (method, seed): its work dir, config and commands. Plain data,
    pickled into the job that executes it."""

    def __init__(self, method, seed, run_dir, config):
        self.method = method
        self.seed = seed
        self.run_dir = run_dir
        self.config = config
        self.train_cmd = None
        self.env = {}
        self.rob_cmd = None
        self.corruptions = None
        self.severities = None

    @property
    def name(self):
        return f'{self.method.label} seed={self.seed}'

    @property
    def log(self):
        return osp.join(self.run_dir, 'train.log')

    def status(self):
        return read_status(self.run_dir)


def check_args(args):
    """ValueError naming the argument of a bad ``--seeds``, ``--cfg-options``,
    ``--train-args``, ``--gpus-per-job`` or launcher combination."""
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
    for bad in ('--work-dir', '--launcher', '--cfg-options', '--resume'):
        if any(a == bad or a.startswith(bad + '=')
               for a in shlex.split(args.train_args or '')):
            raise ValueError(f'--train-args: {bad} is set by the sweep')
    gpj = args.gpus_per_job
    if gpj < 1:
        raise ValueError(f'--gpus-per-job must be >= 1, got {gpj}')
    if args.launcher == 'slurm' and not args.partition:
        raise ValueError('--launcher slurm needs --partition')
    if args.launcher == 'none' and gpj > 1:
        raise ValueError('--gpus-per-job > 1 needs --launcher pytorch or '
                         'slurm')
    gpus = _parse_gpus(args.gpus)
    if gpus and len(gpus) < gpj:
        raise ValueError(f'--gpus gives {len(gpus)} GPUs, fewer than '
                         f'--gpus-per-job {gpj}')
    return gpus


def method_configs(args, methods, work_dir):
    """``(configs, notes)``: the generated config of every method that is
    not a config file (path -> text; ``method.config`` is set to it)."""
    needs_base = [m.label for m in methods if m.kind != 'config']
    configs, notes = {}, []
    if not needs_base:
        return configs, notes
    if args.config is None:
        raise ValueError(f'methods {needs_base} need a base CONFIG')
    if not osp.isfile(args.config):
        raise ValueError(f'CONFIG {args.config!r} not found')
    from mmengine.config import Config
    base_cfg = Config.fromfile(args.config)
    for m in methods:
        if m.kind == 'config':
            continue
        override, n = method_override(m, base_cfg, args.alpha)
        notes.extend(n)
        path = osp.join(work_dir, 'configs', f'{m.label}.py')
        configs[path] = config_text(osp.abspath(args.config), m, override)
        m.config = path
    return configs, notes


def train_cmd(args, tools_dir, config, run_dir, seed):
    """The ``tools/train.py`` command of one run (without ``--resume``)."""
    opts = list(args.cfg_options or []) + [f'randomness.seed={seed}']
    tail = shlex.split(args.train_args or '') + ['--cfg-options'] + opts
    gpj = args.gpus_per_job
    if args.launcher == 'pytorch':
        return ['bash', osp.join(tools_dir, 'dist_train.sh'), config,
                str(gpj), '--work-dir', run_dir] + tail
    cmd = [sys.executable, osp.join(tools_dir, 'train.py'), config,
           '--work-dir', run_dir]
    if args.launcher == 'slurm' and gpj > 1:
        cmd += ['--launcher', 'slurm']  # one srun task per GPU
    return cmd + tail


def robustness_cmd(args, tools_dir, config, run_dir):
    """The ``tools/test_robustness.py`` command of one run; its checkpoint
    is the ``{checkpoint}`` placeholder."""
    rob = [
        sys.executable, '-u', osp.join(tools_dir, 'test_robustness.py'),
        config, '{checkpoint}', '--dataset', args.corrupted_dataset,
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
    return rob


def build_plan(args, tools_dir):
    """Check the arguments; return ``(runs, configs_to_write, notes, gpus)``.

    ``tools_dir`` holds ``train.py``, ``dist_train.sh`` and
    ``test_robustness.py``."""
    gpus = check_args(args)
    methods = parse_methods(args.methods)
    work_dir = osp.abspath(args.work_dir)
    configs, notes = method_configs(args, methods, work_dir)
    runs = []
    for m in methods:
        for seed in args.seeds:
            run_dir = osp.join(work_dir, m.label, f'seed_{seed}')
            run = Run(m, seed, run_dir, m.config)
            run.train_cmd = train_cmd(args, tools_dir, m.config, run_dir,
                                      seed)
            if args.corrupted:
                run.rob_cmd = robustness_cmd(args, tools_dir, m.config,
                                             run_dir)
                run.corruptions = args.corruptions
                run.severities = args.severities
            runs.append(run)
    return runs, configs, notes, gpus


def plan_record(args, runs, work_dir):
    """What ``sweep.json`` holds: the plan of the latest call."""
    return dict(
        created=_now(), config=args.config and osp.abspath(args.config),
        methods=[m.to_dict() for m in dict(
            (r.method.label, r.method) for r in runs).values()],
        seeds=args.seeds, cfg_options=args.cfg_options or [],
        corrupted=args.corrupted and osp.abspath(args.corrupted),
        runs=[dict(method=r.method.label, seed=r.seed,
                   run_dir=osp.relpath(r.run_dir, work_dir),
                   config=r.config, train_cmd=r.train_cmd) for r in runs])


# --------------------------------------------------------------- a run
def _now():
    return datetime.datetime.now().isoformat(timespec='seconds')


def write_json(path, obj):
    """Write ``obj`` to ``path`` atomically (a reader sees old or new)."""
    tmp = f'{path}.{os.getpid()}.tmp'
    with open(tmp, 'w') as f:
        json.dump(obj, f, indent=2)
    os.replace(tmp, path)


def _call(cmd, env, log_path, header):
    with open(log_path, 'a') as log:
        log.write(f'\n===== {_now()} {header}\n$ {shlex.join(cmd)}\n')
        log.flush()
        return subprocess.call(cmd, stdout=log, stderr=subprocess.STDOUT,
                               env=env)


def _job_env(run, extra_env):
    env = dict(os.environ)
    for key, value in dict(run.env, **(extra_env or {})).items():
        if value is None:
            env.pop(key, None)
        else:
            env[key] = value
    return env


def _job_id():
    for key in ('SLURM_ARRAY_JOB_ID', 'SLURM_JOB_ID', 'SUBMITIT_LOCAL_JOB_ID'):
        if os.environ.get(key):
            task = os.environ.get('SLURM_ARRAY_TASK_ID')
            return os.environ[key] + (f'_{task}' if task and key ==
                                      'SLURM_ARRAY_JOB_ID' else '')
    return None


def train(run, env, resume=False):
    """Train ``run`` (resumed when something of it is on disk, or always
    with ``resume``: mmengine then starts afresh where there is no
    checkpoint); returns ``(rc, state, seconds)``. Writes
    ``sweep_status.json`` before and after."""
    state = run_state(run.run_dir)
    os.makedirs(run.run_dir, exist_ok=True)
    cmd = train_command(run, 'broken' if resume else state)
    old = read_status(run.run_dir) or {}
    attempts = int(old.get('attempts', 0)) + 1
    status = dict(status='running', method=run.method.to_dict(),
                  seed=run.seed, config=run.config, cmd=cmd, started=_now(),
                  attempts=attempts, pid=os.getpid(),
                  host=socket.gethostname(), job_id=_job_id())
    path = osp.join(run.run_dir, STATUS_FILE)
    write_json(path, status)
    t0 = time.time()
    rc = _call(cmd, env, run.log, f'train (attempt {attempts}, {state})')
    wall = time.time() - t0
    status.update(finished=_now(), rc=rc, train_seconds=wall,
                  status='done' if rc == 0 else 'failed')
    write_json(path, status)
    return rc, state, wall


def robustness(run, env):
    """``(ok, text)`` of the corrupted evaluation of ``run``'s final
    checkpoint (kept when ``robustness.json`` is complete)."""
    out = osp.join(run.run_dir, ROBUSTNESS_FILE)
    if robustness_complete(out, run.corruptions, run.severities):
        return True, 'robustness: kept ' + _rob_mean(out)
    ckpt = newest_intact_checkpoint(run.run_dir)
    if ckpt is None:
        return False, 'robustness FAILED: no intact checkpoint'
    cmd = [ckpt if a == '{checkpoint}' else a for a in run.rob_cmd]
    log = osp.join(run.run_dir, 'robustness.log')
    rc = _call(cmd, env, log, 'robustness')
    if rc != 0 or not osp.isfile(out):
        return False, f'robustness FAILED (exit {rc}), see {log}'
    return True, 'corrupted ' + _rob_mean(out)


def _rob_mean(path):
    try:
        with open(path) as f:
            return f"{float(json.load(f)['mean']):.2f}"
    except (OSError, ValueError, KeyError, TypeError):
        return '?'


def final_top1(run_dir):
    """Final and best validation top-1 of a run (None when none)."""
    try:
        from .summary import load_run
        accs = [a for _, a in load_run(run_dir)['val']]
    except Exception:  # a summary line must never stop the sweep
        return None, None
    return (accs[-1], max(accs)) if accs else (None, None)


def execute_run(run, extra_env=None):
    """What one job does: train ``run`` unless it is done, then evaluate it
    on the corrupted set when the plan says so.

    ``extra_env`` is laid over the job's environment for the commands (a
    None value removes a variable). Returns ``dict(ok, line, seconds,
    log)``; a failure is a result (``ok`` False, ``line`` naming the log),
    not an exception. With several Slurm tasks, tasks other than the first
    only train."""
    begin = time.time()
    env = _job_env(run, extra_env)
    slurm = os.environ.get('SUBMITIT_EXECUTOR') == 'slurm'
    rank = int(os.environ.get('SLURM_PROCID', '0')) if slurm else 0
    # the tasks of one multi-GPU job must run the same command, whatever
    # the others have written meanwhile: all of them resume
    resume = slurm and int(os.environ.get('SLURM_NTASKS', '1')) > 1
    if rank > 0:
        os.makedirs(run.run_dir, exist_ok=True)
        rc = _call(train_command(run, 'broken'), env,
                   f'{run.log}.rank{rank}', 'train')
        return dict(ok=rc == 0, line=f'rank {rank} exit {rc}',
                    seconds=time.time() - begin, log=run.log)
    line, ok, state = [], True, run_state(run.run_dir)
    if state != 'done':
        rc, state, wall = train(run, env, resume)
        if rc != 0:
            return dict(ok=False, seconds=time.time() - begin, log=run.log,
                        line=f'FAILED (exit {rc}) after {wall:.1f} s, see '
                        f'{run.log}')
        line.append(f'{"restarted, " if state == "broken" else ""}'
                    f'done {wall:.1f} s')
    else:
        line.append('skipped (finished)')
    final, best = final_top1(run.run_dir)
    if final is not None:
        line.append(f'top-1 {final:.2f} (best {best:.2f})')
    if run.rob_cmd is not None:
        ok, text = robustness(run, env)
        line.append(text)
    return dict(ok=ok, line=', '.join(line), log=run.log,
                seconds=time.time() - begin if state != 'done' else None)
