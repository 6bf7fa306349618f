"""Summaries of training work dirs by method over seeds: what
``tools/summarize.py`` prints and ``tools/sweep.py`` reports per run.

See ``tools/summarize.py`` for the layouts it reads and the numbers it
reports (final, best and median top-1, training cost, corrupted top-1).
"""
import csv
import glob
import json
import math
import os.path as osp
import statistics
import sys
from typing import List, Optional, Sequence, Tuple

ROBUSTNESS_FILE = 'robustness.json'
STATUS_FILE = 'sweep_status.json'
PLAN_FILE = 'sweep.json'


# --------------------------------------------------------------- logs
def _read_json_lines(path):
    records = []
    with open(path) as f:
        text = f.read()
    # mmengine writes one JSON object per line; tolerate objects written
    # back to back without a newline (e.g. a test run's single line).
    decoder = json.JSONDecoder()
    pos = 0
    while pos < len(text):
        while pos < len(text) and text[pos].isspace():
            pos += 1
        if pos >= len(text):
            break
        try:
            obj, pos = decoder.raw_decode(text, pos)
        except json.JSONDecodeError:
            nxt = text.find('\n', pos)
            if nxt < 0:
                break
            pos = nxt + 1
            continue
        if isinstance(obj, dict):
            records.append(obj)
    return records


def find_logs(work_dir):
    """Scalar log files of a work dir, oldest run first."""
    logs = []
    for run_dir in sorted(glob.glob(osp.join(work_dir, '*'))):
        if not osp.isdir(run_dir):
            continue
        stamp = osp.basename(run_dir)
        for cand in (osp.join(run_dir, 'vis_data', 'scalars.json'),
                     osp.join(run_dir, 'vis_data', f'{stamp}.json')):
            if osp.isfile(cand):
                logs.append(cand)
                break
    return logs


def load_run(work_dir, metric='accuracy/top1', skip_iters=0):
    """Parse a work dir; return ``dict(times=[...], val=[(step, acc), ...])``.

    ``val`` is sorted by step (epoch, or iteration for iter-based runs),
    with the latest log winning when a resumed run repeats a step.
    """
    times, val = [], {}
    for log in find_logs(work_dir):
        records = _read_json_lines(log)
        train = [r for r in records if 'iter' in r and 'time' in r
                 and metric not in r]
        if not train and not any(metric in r for r in records):
            continue
        times.extend(float(r['time']) for r in train[skip_iters:])
        last_epoch = None
        for r in records:
            if 'epoch' in r:
                last_epoch = r['epoch']
            if metric in r:
                step = r.get('step', last_epoch)
                val[step] = float(r[metric])
    steps = sorted(val.items(), key=lambda kv: (kv[0] is None, kv[0] or 0))
    return dict(times=times, val=steps)


def read_robustness_json(path):
    """A tools/test_robustness.py JSON as a dict whose ``accuracy`` is a
    dict (``{corruption: {severity: top1}}``); None when the file is
    missing, unreadable or has no such table."""
    try:
        with open(path) as f:
            res = json.load(f)
    except (OSError, ValueError):
        return None
    if not isinstance(res, dict) or not isinstance(res.get('accuracy'),
                                                   dict):
        return None
    return res


def load_robustness(path):
    """Per-corruption and per-severity means of a tools/test_robustness.py
    JSON, recomputed from its table; None when the file is missing,
    unreadable or empty."""
    res = read_robustness_json(path)
    if res is None:
        return None
    acc = res['accuracy']
    per_c, per_s, values = {}, {}, []
    for c, by_sev in acc.items():
        if not isinstance(by_sev, dict):
            continue
        vals = []
        for s, v in by_sev.items():
            try:
                v = float(v)
            except (TypeError, ValueError):
                continue
            vals.append(v)
            per_s.setdefault(str(s), []).append(v)
        if vals:
            per_c[c] = sum(vals) / len(vals)
            values.extend(vals)
    if not values:
        return None
    partial = res.get('complete', True) is False or bool(
        res.get('partial', False))
    return dict(
        mean=sum(values) / len(values),
        per_corruption=per_c,
        per_severity={s: sum(v) / len(v)
                      for s, v in sorted(per_s.items(),
                                         key=lambda kv: _num(kv[0]))},
        cells=len(values),
        partial=partial)


def _num(text):
    try:
        return float(text)
    except ValueError:
        return math.inf


# --------------------------------------------------------------- discovery
def _is_run(path):
    return bool(find_logs(path)) or osp.isfile(osp.join(path, STATUS_FILE))


def _seed_dirs(path):
    return [d for d in sorted(glob.glob(osp.join(path, 'seed_*')))
            if osp.isdir(d) and _is_run(d)]


def _seed_key(run_dir):
    tail = osp.basename(run_dir)
    return int(tail[5:]) if tail[5:].lstrip('-').isdigit() else tail


def discover(item):
    """``[(method, [run_dir, ...]), ...]`` for one command-line DIR."""
    name = None
    if '=' in item and not osp.isdir(item):
        name, item = item.split('=', 1)
    path = osp.normpath(item)
    if not osp.isdir(path):
        raise ValueError(f'work directory {item} does not exist')
    own = name or osp.basename(osp.abspath(path))
    seeds = _seed_dirs(path)
    if seeds:
        return [(own, seeds)]
    if find_logs(path):
        return [(own, [path])]
    children = [d for d in sorted(glob.glob(osp.join(path, '*')))
                if osp.isdir(d)]
    plan = osp.join(path, PLAN_FILE)
    if osp.isfile(plan):  # a sweep: its methods in the order of the plan
        try:
            with open(plan) as f:
                order = [m['label'] for m in json.load(f).get('methods', [])]
        except (OSError, ValueError, KeyError, TypeError):
            order = []
        rank = {label: i for i, label in enumerate(order)}
        children.sort(key=lambda d: (rank.get(osp.basename(d), len(rank)),
                                     osp.basename(d)))
    found = []
    for child in children:
        seeds = _seed_dirs(child)
        if seeds:
            found.append((osp.basename(child), seeds))
        elif find_logs(child):
            found.append((osp.basename(child), [child]))
    if not found:
        raise ValueError(f'no training logs under {item}')
    return found


def _finished(run_dir):
    path = osp.join(run_dir, STATUS_FILE)
    if not osp.isfile(path):
        return True  # a plain training dir: no way to tell, keep it
    try:
        with open(path) as f:
            return json.load(f).get('status') == 'done'
    except (OSError, ValueError):
        return False


# --------------------------------------------------------------- stats
def mean_std(values):
    """``(mean, sample std or None, n)`` of the non-None values."""
    values = [float(v) for v in values if v is not None]
    if not values:
        return None, None, 0
    mean = sum(values) / len(values)
    std = statistics.stdev(values) if len(values) > 1 else None
    return mean, std, len(values)


def run_stats(run_dir, metric='accuracy/top1', skip_iters=0, last=10):
    run = load_run(run_dir, metric, skip_iters)
    accs = [a for _, a in run['val']]
    times = run['times']
    rob = load_robustness(osp.join(run_dir, ROBUSTNESS_FILE))
    return dict(
        run_dir=run_dir,
        seed=_seed_key(run_dir) if osp.basename(run_dir).startswith('seed_')
        else None,
        curve=run['val'],
        final=accs[-1] if accs else None,
        best=max(accs) if accs else None,
        median=statistics.median(accs[-last:]) if accs else None,
        epochs=len(accs),
        iter_time=sum(times) / len(times) if times else None,
        robustness=rob)


def summarize(groups, baseline=None, last=10):
    """``groups``: ``[(method, [run stats, ...]), ...]`` (see
    :func:`run_stats`); ``baseline``: a method name or None. Returns one
    row dict per method; runs get their ``cost``."""
    by_name = dict(groups)
    base_time = None
    if baseline is not None:
        base_time = mean_std(r['iter_time'] for r in by_name[baseline])[0]
    rows = []
    for name, runs in groups:
        for r in runs:
            r['cost'] = (r['iter_time'] / base_time
                         if r['iter_time'] is not None and base_time else None)
        row = dict(name=name, n=len(runs),
                   epochs=sorted({r['epochs'] for r in runs}))
        for key in ('final', 'best', 'median', 'iter_time', 'cost'):
            row[key], row[key + '_std'], row[key + '_n'] = mean_std(
                r[key] for r in runs)
        robs = [r['robustness'] for r in runs if r['robustness']]
        row['corrupted'], row['corrupted_std'], row['corrupted_n'] = \
            mean_std(x['mean'] for x in robs)
        row['corrupted_partial'] = sum(x['partial'] for x in robs)
        per_c, per_s = {}, {}
        for x in robs:
            for c, v in x['per_corruption'].items():
                per_c.setdefault(c, []).append(v)
            for s, v in x['per_severity'].items():
                per_s.setdefault(s, []).append(v)
        row['per_corruption'] = {c: mean_std(v) for c, v in per_c.items()}
        row['per_severity'] = {s: mean_std(v) for s, v in per_s.items()}
        row['clean_of_robust'] = mean_std(
            r['final'] for r in runs if r['robustness'])
        rows.append(row)
    return rows


# --------------------------------------------------------------- output
def _fmt(x, digits):
    return '-' if x is None else f'{x:.{digits}f}'


def _pm(mean, std, digits):
    if mean is None:
        return '-'
    if std is None:
        return f'{mean:.{digits}f}'
    return f'{mean:.{digits}f} ± {std:.{digits}f}'


def to_markdown(rows, last=10):
    robust = any(r['corrupted_n'] for r in rows)
    head = (f'| Method | n | Final top-1 (%) | Best top-1 (%) | Median top-1, '
            f'last {last} (%) | Iter time (s) | Training cost |')
    sep = '| --- | ---: | ---: | ---: | ---: | ---: | ---: |'
    if robust:
        head += ' Corrupted top-1 (%) |'
        sep += ' ---: |'
    lines = [head, sep]
    for r in rows:
        line = (f"| {r['name']} | {r['n']} | "
                f"{_pm(r['final'], r['final_std'], 2)} | "
                f"{_pm(r['best'], r['best_std'], 2)} | "
                f"{_pm(r['median'], r['median_std'], 2)} | "
                f"{_pm(r['iter_time'], r['iter_time_std'], 4)} | "
                f"{_pm(r['cost'], r['cost_std'], 2)} |")
        if robust:
            cell = _pm(r['corrupted'], r['corrupted_std'], 2)
            if r['corrupted_n'] and r['corrupted_n'] != r['n']:
                cell += f" (n={r['corrupted_n']})"
            if r['corrupted_partial']:
                cell += ' (partial)'
            line += f' {cell} |'
        lines.append(line)
    if robust:
        lines += ['', robustness_markdown(rows)]
    return '\n'.join(lines)


def robustness_markdown(rows):
    """Per-corruption and per-severity means over seeds (methods as
    columns)."""
    rows = [r for r in rows if r['corrupted_n']]
    corruptions = []
    for r in rows:
        corruptions += [c for c in r['per_corruption'] if c not in
                        corruptions]
    severities = sorted({s for r in rows for s in r['per_severity']},
                        key=_num)
    names = [r['name'] for r in rows]
    lines = [
        'Corrupted top-1 (%) per corruption and severity, mean over seeds',
        '',
        '| Corruption | ' + ' | '.join(names) + ' |',
        '| --- |' + ' ---: |' * len(names),
    ]
    for c in corruptions:
        cells = [_pm(*r['per_corruption'][c][:2], 2)
                 if c in r['per_corruption'] else '-' for r in rows]
        lines.append(f'| {c} | ' + ' | '.join(cells) + ' |')
    for s in severities:
        cells = [_pm(*r['per_severity'][s][:2], 2)
                 if s in r['per_severity'] else '-' for r in rows]
        lines.append(f'| severity {s} | ' + ' | '.join(cells) + ' |')
    cells = [_pm(r['clean_of_robust'][0], r['clean_of_robust'][1], 2)
             for r in rows]
    lines.append('| clean (same runs) | ' + ' | '.join(cells) + ' |')
    cells = [f"**{_pm(r['corrupted'], r['corrupted_std'], 2)}**"
             for r in rows]
    lines.append('| **mean** | ' + ' | '.join(cells) + ' |')
    return '\n'.join(lines)


def _num_cell(x):
    return '' if x is None else repr(float(x))


def write_csv(rows, path):
    corruptions, severities = [], []
    for r in rows:
        corruptions += [c for c in r['per_corruption'] if c not in
                        corruptions]
        severities += [s for s in r['per_severity'] if s not in severities]
    severities.sort(key=_num)
    head = ['method', 'n']
    for key in ('final', 'best', 'median', 'iter_time', 'cost',
                'corrupted'):
        head += [f'{key}_mean', f'{key}_std', f'{key}_n']
    head += [f'corrupted_{c}' for c in corruptions]
    head += [f'corrupted_severity_{s}' for s in severities]
    with open(path, 'w', newline='') as f:
        w = csv.writer(f)
        w.writerow(head)
        for r in rows:
            line = [r['name'], r['n']]
            for key in ('final', 'best', 'median', 'iter_time', 'cost',
                        'corrupted'):
                line += [_num_cell(r[key]), _num_cell(r[key + '_std']),
                         r[key + '_n']]
            line += [_num_cell(r['per_corruption'][c][0])
                     if c in r['per_corruption'] else '' for c in corruptions]
            line += [_num_cell(r['per_severity'][s][0])
                     if s in r['per_severity'] else '' for s in severities]
            w.writerow(line)


def write_runs_csv(groups, path):
    with open(path, 'w', newline='') as f:
        w = csv.writer(f)
        w.writerow(['method', 'seed', 'run_dir', 'epochs', 'final', 'best',
                    'median', 'iter_time', 'cost', 'corrupted'])
        for name, runs in groups:
            for r in runs:
                rob = r['robustness']
                w.writerow([
                    name, '' if r['seed'] is None else r['seed'],
                    r['run_dir'], r['epochs'], _num_cell(r['final']),
                    _num_cell(r['best']), _num_cell(r['median']),
                    _num_cell(r['iter_time']), _num_cell(r.get('cost')),
                    _num_cell(rob['mean'] if rob else None)
                ])


def _pyplot():
    import matplotlib
    matplotlib.use('Agg')
    import matplotlib.pyplot as plt
    return plt


def plot_curves(groups, path, metric='accuracy/top1'):
    """Validation curves per method: the mean over seeds at every step,
    with a band of ± one std (where at least two seeds have the step)."""
    plt = _pyplot()
    fig, axes = plt.subplots(1, 2, figsize=(12, 4.5))
    for name, runs in groups:
        steps = sorted({s for r in runs for s, _ in r['curve']
                        if s is not None})
        if not steps:
            continue
        by_step = {s: [] for s in steps}
        for r in runs:
            for s, a in r['curve']:
                if s is not None:
                    by_step[s].append(a)
        mean = [sum(by_step[s]) / len(by_step[s]) for s in steps]
        std = [statistics.stdev(by_step[s]) if len(by_step[s]) > 1 else 0.0
               for s in steps]
        half = len(steps) // 2
        for ax, lo in ((axes[0], 0), (axes[1], half)):
            xs, ms, ss = steps[lo:], mean[lo:], std[lo:]
            line, = ax.plot(xs, ms, label=f'{name} (n={len(runs)})')
            ax.fill_between(xs, [m - s for m, s in zip(ms, ss)],
                            [m + s for m, s in zip(ms, ss)],
                            color=line.get_color(), alpha=0.2, linewidth=0)
    axes[0].set_title('validation, all steps')
    axes[1].set_title('validation, second half')
    for ax in axes:
        ax.set_xlabel('epoch (validation step)')
        ax.set_ylabel(f'{metric} (%)')
        ax.grid(alpha=0.3)
    axes[0].legend(fontsize=8)
    fig.suptitle('mean over seeds, band: ± 1 std')
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def plot_bars(rows, path):
    """Clean (final top-1) against corrupted top-1 per method, mean ± std
    over seeds."""
    plt = _pyplot()
    names = [r['name'] for r in rows]
    fig, ax = plt.subplots(figsize=(max(6, 1.1 * len(names) + 2), 4.5))
    xs = list(range(len(names)))
    robust = any(r['corrupted_n'] for r in rows)
    width = 0.38 if robust else 0.6

    def bars(offset, means, stds, label):
        drawn = ax.bar([x + offset for x in xs], [m or 0 for m in means],
                       width, yerr=[s or 0 for s in stds], capsize=3,
                       label=label)
        ax.bar_label(drawn, labels=[_fmt(m, 1) for m in means], fontsize=7,
                     padding=2)

    bars(-width / 2 if robust else 0, [r['final'] for r in rows],
         [r['final_std'] for r in rows], 'clean (final top-1)')
    if robust:
        bars(width / 2, [r['corrupted'] for r in rows],
             [r['corrupted_std'] for r in rows],
             'corrupted (mean over corruptions, severities)')
    ax.set_xticks(xs)
    ax.set_xticklabels(names, rotation=30, ha='right')
    ax.set_ylabel('top-1 (%)')
    ax.set_title('clean vs corrupted accuracy, mean ± std over seeds'
                 if robust else 'clean accuracy (no robustness results)')
    ax.set_ylim(0, 118)
    ax.legend(fontsize=8, loc='upper center', ncol=2)
    ax.grid(axis='y', alpha=0.3)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def collect_groups(items: Sequence[str], metric='accuracy/top1',
                   skip_iters=0, last=10, include_unfinished=False,
                   notes=None) -> List[Tuple[str, list]]:
    """``[(method, [run_stats, ...]), ...]`` of the work dirs ``items``
    (see :func:`discover`); runs that did not finish are left out (a line in
    ``notes``, a list, or on stderr when None) unless ``include_unfinished``.
    Raises ValueError when a method comes from two items."""
    groups, seen = [], {}
    for item in items:
        for name, dirs in discover(item):
            if name in seen:
                raise ValueError(f'method {name!r} appears twice (from '
                                 f'{seen[name]} and {item}); name one '
                                 'with NAME=DIR')
            seen[name] = item
            keep = [d for d in dirs if include_unfinished or _finished(d)]
            for d in sorted(set(dirs) - set(keep)):
                note = f'note: {d} did not finish; left out'
                if notes is None:
                    print(note, file=sys.stderr)
                else:
                    notes.append(note)
            stats = [run_stats(d, metric, skip_iters, last) for d in keep]
            stats = [s for s in stats if s['epochs'] or s['iter_time']]
            if stats:
                groups.append((name, stats))
    return groups


def choose_baseline(names: Sequence[str],
                    baseline: Optional[str] = None) -> Optional[str]:
    """``baseline`` when it is one of ``names`` (ValueError otherwise), else
    the first name containing ``vanilla``, else None."""
    if baseline is not None:
        if baseline not in names:
            raise ValueError(f'baseline {baseline!r} is not among the '
                             f"methods: {', '.join(names)}")
        return baseline
    vanilla = [n for n in names if 'vanilla' in n.lower()]
    return vanilla[0] if vanilla else None
