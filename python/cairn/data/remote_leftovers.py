"""What killed pushes leave on a remote: temporary files (a folder remote) and packs whose
index never arrived (folder or S3). Neither is part of the store, and other clones may be
pushing to the remote now (their locks are not ours), so ``cairn fsck --remote`` lists them
and ``cairn gc --remote NAME --force`` removes them only once they are STALE_AFTER old."""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path

from .. import filesystems
from .repo import TEMP_PREFIX, Repo

STALE_AFTER = 3600.0  # seconds: what a killed command left is removed once this old


@dataclass
class Leftover:
    where: str      # a path (folder remote) or an s3:// URL
    size: int
    mtime: float


def find(repo: Repo, name: str, store) -> list[Leftover]:
    """What killed pushes left on remote ``name`` (its store is ``store``), oldest first."""
    url = repo.remote_url(name)[1]
    found: list[Leftover] = []
    if filesystems.is_s3(url):
        listed = filesystems.glob(url + "/packs/pack-*", repo.remote_s3_options(name))
        for where, (size, mtime) in listed.items():
            if where.endswith(".pack") and where[:-5] + ".idx" not in listed:
                found.append(Leftover(where, size, mtime))
    else:
        folder = Path(store.dir)
        paths = list(folder.glob(TEMP_PREFIX + "*"))
        paths += [p for p in folder.glob("pack-*.pack") if not p.with_suffix(".idx").exists()]
        for p in sorted(set(paths)):
            try:
                st = p.stat()
            except OSError:
                continue  # gone meanwhile
            if p.is_file():
                found.append(Leftover(str(p), st.st_size, st.st_mtime))
    return sorted(found, key=lambda f: f.mtime)


def remove_stale(repo: Repo, name: str, store) -> list[Leftover]:
    """Removes what :func:`find` lists once it is STALE_AFTER old (a push in progress is
    younger); returns what it removed."""
    cutoff = time.time() - STALE_AFTER
    url = repo.remote_url(name)[1]
    removed = []
    for f in find(repo, name, store):
        if f.mtime >= cutoff:
            continue
        if filesystems.is_s3(url):
            filesystems.delete_object(f.where, repo.remote_s3_options(name))
        else:
            try:
                Path(f.where).unlink()
            except OSError:
                continue
        removed.append(f)
    return removed
