"""tools/run_study.sh: its settings are checked before anything runs."""
import os
import os.path as osp
import subprocess

import pytest

SCRIPT = osp.join(osp.dirname(osp.dirname(osp.abspath(__file__))), 'tools',
                  'run_study.sh')


def _run(tmp_path, **env):
    # PYTHON=false: should a check let the script through, it stops at its
    # first python call (exit 1) instead of training
    return subprocess.run(['bash', SCRIPT, str(tmp_path / 'study')],
                          env={**os.environ, 'PYTHON': 'false', **env},
                          capture_output=True, text=True, timeout=60,
                          check=False)


@pytest.mark.parametrize('value', ['sometimes', '40x', '-1'])
def test_bad_two_view(tmp_path, value):
    res = _run(tmp_path, TWO_VIEW=value, LENGTHS='2 3')
    assert res.returncode == 2
    assert 'TWO_VIEW must be none, auto or a length' in res.stderr
    assert not (tmp_path / 'study').exists()


def test_missing_base(tmp_path):
    res = _run(tmp_path, BASE=str(tmp_path / 'nope.py'))
    assert res.returncode == 2 and 'nope.py not found' in res.stderr
    assert not (tmp_path / 'study').exists()
