"""The embedded default's data directory (var/) is for this user only (issue 12: the SQLite
file holding every case was world-readable).

The dev stack sets umask 077 before it creates anything, so whatever it and its children make
(the SQLite file and its -wal/-shm, Redis data, the cached models, the embedded store's key)
is 0600 in 0700 folders; files left by earlier versions are put right at each start.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path

PRIVATE_UMASK = 0o077  # files 0600, folders 0700
OTHERS = 0o077  # group and other permission bits


def secure_data_dir(path: Path) -> list[Path]:
    """Take group and other permissions off `path` and everything in it (files 0644 -> 0600,
    folders 0755 -> 0700; symbolic links are not followed, others' files not touched); returns
    what changed. Sets the process umask to 077 first, for all that is created next."""
    os.umask(PRIVATE_UMASK)
    path.mkdir(mode=0o700, parents=True, exist_ok=True)
    changed = []
    for entry in [path, *path.rglob("*")]:
        info = entry.lstat()
        if stat.S_ISLNK(info.st_mode) or info.st_uid != os.getuid():
            continue
        mode = stat.S_IMODE(info.st_mode)
        if mode & OTHERS:
            os.chmod(entry, mode & ~OTHERS)
            changed.append(entry)
    return changed
