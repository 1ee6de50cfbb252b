# Copyright (c) esam3 contributors. Licensed under the Apache License 2.0.
"""Helpers for the tool tests: paths, subprocess runs, free ports."""
import importlib.util
import os
import os.path as osp
import socket
import subprocess
import sys
from types import ModuleType
from typing import Dict, List, Optional

TOY_DIR = osp.dirname(osp.abspath(__file__))
REPO_ROOT = osp.dirname(osp.dirname(TOY_DIR))
TOY_CONFIG = osp.join(TOY_DIR, 'toy_config.py')
TOOLS = osp.join(REPO_ROOT, 'tools')


def tool_env(extra: Optional[Dict[str, str]] = None) -> Dict[str, str]:
    """Environment for tool subprocesses: toy modules importable, 1 thread.

    Args:
        extra: additional variables.

    Returns:
        The environment mapping.
    """
    env = dict(os.environ)
    paths = [TOY_DIR, REPO_ROOT]
    if env.get('PYTHONPATH'):
        paths.append(env['PYTHONPATH'])
    env['PYTHONPATH'] = os.pathsep.join(paths)
    env.update(OMP_NUM_THREADS='1', MKL_NUM_THREADS='1', PYTHONUNBUFFERED='1')
    env.pop('LOCAL_RANK', None)
    if extra:
        env.update(extra)
    return env


def run(cmd: List[str],
        cwd: str,
        timeout: int = 240,
        env: Optional[Dict[str, str]] = None) -> subprocess.CompletedProcess:
    """Run a command, capturing output.

    Args:
        cmd: the command.
        cwd: working directory.
        timeout: seconds.
        env: environment (default :func:`tool_env`).

    Returns:
        The completed process.
    """
    return subprocess.run(
        cmd,
        cwd=cwd,
        env=env or tool_env(),
        capture_output=True,
        text=True,
        timeout=timeout)


def run_train(args: List[str], cwd: str) -> subprocess.CompletedProcess:
    """``python tools/train.py TOY_CONFIG *args`` that must succeed.

    Args:
        args: extra arguments.
        cwd: working directory.

    Returns:
        The completed process.
    """
    proc = run(
        [sys.executable,
         osp.join(TOOLS, 'train.py'), TOY_CONFIG] + args,
        cwd=cwd)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    return proc


def start(cmd: List[str],
          cwd: str,
          env: Optional[Dict[str, str]] = None) -> subprocess.Popen:
    """Start a command in the background (output captured as text).

    Args:
        cmd: the command.
        cwd: working directory.
        env: environment (default :func:`tool_env`).

    Returns:
        The process; pass it to :func:`finish`.
    """
    return subprocess.Popen(
        cmd,
        cwd=cwd,
        env=env or tool_env(),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True)


def finish(proc: subprocess.Popen, timeout: int = 300) -> str:
    """Wait for a :func:`start`-ed process that must succeed.

    Args:
        proc: the process.
        timeout: seconds.

    Returns:
        Its combined output.
    """
    try:
        out, _ = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        out, _ = proc.communicate()
        raise AssertionError(f'timed out: {proc.args}\n{out[-3000:]}')
    assert proc.returncode == 0, f'{proc.args} failed:\n{out[-4000:]}'
    return out


def train_cmd(args: List[str]) -> List[str]:
    """``python tools/train.py TOY_CONFIG *args``."""
    return [sys.executable, osp.join(TOOLS, 'train.py'), TOY_CONFIG] + args


def free_port() -> int:
    """A TCP port that is free right now on localhost."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(('127.0.0.1', 0))
        return s.getsockname()[1]


def load_tool(relpath: str) -> ModuleType:
    """Import a script under ``tools/`` as a module (to call ``main``).

    Args:
        relpath: path relative to ``tools/``, e.g. ``'train.py'``.

    Returns:
        The module.
    """
    name = 'esam3_tool_' + relpath.replace('/', '_').replace('.py', '')
    if name in sys.modules:
        return sys.modules[name]
    spec = importlib.util.spec_from_file_location(name,
                                                  osp.join(TOOLS, relpath))
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module
