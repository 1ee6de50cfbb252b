# Copyright (c) esam3 contributors. Licensed under the Apache License 2.0.
"""Work-directory safety for ``tools/train.py``: one run per work dir (a lock
file), and ``--resume`` that finds the newest *valid* checkpoint of this work
dir.

mmengine has neither: two runs in one work dir interleave their logs and
overwrite each other's checkpoints, and its auto-resume reads the path in
``last_checkpoint`` as written (absolute, so a copied work dir resumes from
the original folder) and loads it even when it was cut short by a kill
during the save.
"""
import os
import os.path as osp
import re
import socket
from typing import List, Optional

from mmengine.logging import print_log

from esam3.utils.checkpoint import (CorruptCheckpointError,
                                    check_checkpoint_file)

LOCK_FILE = '.esam3_train.lock'
_CKPT_NAME = re.compile(r'(?:iter|epoch)_(\d+)\.pth')


class WorkDirLockedError(RuntimeError):
    """Another live training run holds the work dir."""


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # exists, owned by someone else
        return True
    return True


class WorkDirLock:
    """An exclusive lock file ``<work_dir>/.esam3_train.lock``.

    The file holds ``pid host``. A lock whose process is gone (same host,
    pid not running: a killed run) is stale and taken over with a warning.
    A lock held by a live process refuses the run. A lock from another host
    cannot be checked: it refuses unless ``resume`` (the user continues a
    run they know is dead).

    Args:
        work_dir: the work directory (created).
        resume: whether the run resumes (``--resume``).
    """

    def __init__(self, work_dir: str, resume: bool = False) -> None:
        self.work_dir = work_dir
        self.path = osp.join(work_dir, LOCK_FILE)
        self.resume = resume
        self.held = False

    def _read(self) -> tuple:
        try:
            with open(self.path) as f:
                parts = f.read().split()
            return int(parts[0]), parts[1] if len(parts) > 1 else ''
        except (OSError, ValueError, IndexError):
            return None, ''

    def _stale(self, pid: Optional[int], host: str) -> Optional[str]:
        """Why the existing lock may be taken over, or None."""
        if pid is None:
            return 'unreadable lock file'
        if host == socket.gethostname():
            if pid == os.getpid():
                return 'left by this process'
            if not _pid_alive(pid):
                return f'process {pid} is not running'
            return None
        if self.resume:
            return f'held by {host}, taken over because of --resume'
        return None

    def acquire(self) -> 'WorkDirLock':
        """Create the lock file, or take over a stale one.

        Raises:
            WorkDirLockedError: a live run (or another host's run, without
                ``--resume``) holds it; the message names the lock file,
                the pid and the host.
        """
        os.makedirs(self.work_dir, exist_ok=True)
        for _ in range(2):
            try:
                fd = os.open(self.path, os.O_CREAT | os.O_EXCL | os.O_WRONLY)
            except FileExistsError:
                pid, host = self._read()
                reason = self._stale(pid, host)
                if reason is None:
                    raise WorkDirLockedError(
                        f'work dir {self.work_dir} is in use by another '
                        f'training run (pid {pid} on {host or "?"}, lock '
                        f'file {self.path}): running both would interleave '
                        'their logs and overwrite their checkpoints. Use '
                        'another --work-dir, or wait for that run to end. '
                        'If it is dead, delete the lock file (or pass '
                        '--resume to continue it).')
                print_log(
                    f'taking over stale lock {self.path} ({reason})',
                    logger='current',
                    level=30)
                try:
                    os.remove(self.path)
                except FileNotFoundError:
                    pass
                continue
            with os.fdopen(fd, 'w') as f:
                f.write(f'{os.getpid()} {socket.gethostname()}\n')
            self.held = True
            return self
        raise WorkDirLockedError(f'could not create lock file {self.path}')

    def release(self) -> None:
        """Remove the lock file if this process still holds it."""
        if not self.held:
            return
        self.held = False
        pid, host = self._read()
        if pid == os.getpid() and host == socket.gethostname():
            try:
                os.remove(self.path)
            except FileNotFoundError:
                pass

    def __enter__(self) -> 'WorkDirLock':
        return self.acquire()

    def __exit__(self, *exc) -> None:
        self.release()


def _recorded_checkpoint(work_dir: str) -> Optional[str]:
    """The checkpoint named in ``last_checkpoint``, resolved relative to
    ``work_dir`` first (a copied or moved work dir keeps the original's
    absolute path there)."""
    record = osp.join(work_dir, 'last_checkpoint')
    if not osp.isfile(record):
        return None
    with open(record) as f:
        written = f.read().strip()
    if not written:
        return None
    local = osp.join(work_dir, osp.basename(written))
    if osp.isfile(local):
        if osp.abspath(local) != osp.abspath(written):
            print_log(
                f'{record} names {written}; resuming from the copy in '
                f'this work dir, {local}',
                logger='current')
        return local
    return written


def find_resume_checkpoint(work_dir: str) -> Optional[str]:
    """The newest valid checkpoint of ``work_dir`` for ``--resume``.

    Candidates: the file named in ``last_checkpoint`` (relative to the
    work dir, see above), then ``iter_N.pth`` / ``epoch_N.pth`` in the work
    dir, highest N first. Each is checked with
    :func:`~esam3.utils.checkpoint.check_checkpoint_file`; a truncated or
    empty one (a kill during the save) is skipped with a warning naming it.

    Args:
        work_dir: the work directory.

    Returns:
        The checkpoint path, or None when the work dir has no checkpoint at
        all (a fresh start, as mmengine does).

    Raises:
        CorruptCheckpointError: checkpoints exist but none is valid (all
            named).
    """
    candidates: List[str] = []
    recorded = _recorded_checkpoint(work_dir)
    if recorded is not None:
        candidates.append(recorded)
    numbered = []
    if osp.isdir(work_dir):
        for name in os.listdir(work_dir):
            match = _CKPT_NAME.fullmatch(name)
            if match:
                numbered.append((int(match.group(1)), name))
    for _, name in sorted(numbered, reverse=True):
        path = osp.join(work_dir, name)
        if all(osp.abspath(path) != osp.abspath(c) for c in candidates):
            candidates.append(path)
    rejected = []
    for path in candidates:
        try:
            check_checkpoint_file(path)
        except (CorruptCheckpointError, FileNotFoundError) as err:
            rejected.append(str(err))
            continue
        if rejected:
            print_log(
                '--resume: skipped ' + '; '.join(rejected) +
                f'; resuming from {path}',
                logger='current',
                level=30)
        return path
    if rejected:
        raise CorruptCheckpointError(
            f'--resume: no valid checkpoint in {work_dir}: ' +
            '; '.join(rejected))
    return None


__all__ = [
    'LOCK_FILE', 'WorkDirLock', 'WorkDirLockedError', 'find_resume_checkpoint'
]
