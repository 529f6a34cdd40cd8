"""``cairn fsck`` and ``gc`` as functions: verifying every pack, index, object and recipe
(of the cache or of a remote), remembering what is damaged for ``pull`` to repair, and
dropping what no commit needs."""

from __future__ import annotations

import shutil
from dataclasses import dataclass, field
from pathlib import Path

from . import remote_leftovers
from .ops import Progress, _no_progress
from .repo import POINTER_SUFFIX, CairnError, Repo, _git, _store, parse_pointer
from .transfer import _paths_of, _save_damage_list

@dataclass
class Damage:
    file: str
    object: str
    what: str
    used_by: list[str] = field(default_factory=list)
    hint: str = ""      # what to do about it


def fsck(repo: Repo, progress: Progress = _no_progress, remote: str | None = None) -> list[Damage]:
    """Verifies every pack, index and object of the cache (or of a remote), and that every
    recipe's chunks make the file its oid names; lists every problem found, each with the
    tracked paths that use it and what to do."""
    with repo.lock():
        name = None if remote is None else repo.remote_store(remote)[0]
        cache = repo.cache() if remote is None else repo.remote_store(remote)[1]
        callback = progress("fsck", max(1, cache.stored_bytes()))
        found = [Damage(*d) for d in _store.verify(cache, callback)]
        bad = {d.object for d in found if d.object}
        for pointer_rel in repo.worktree_pointers():
            try:
                text = repo.read_pointer(pointer_rel)
                kind, oid, _, _, _ = parse_pointer(text, pointer_rel)
            except CairnError as e:
                found.append(Damage(pointer_rel, "", str(e)))
                continue
            if not bad:
                continue
            try:
                ids, _, _, damaged = _store.closure([cache], [(text, pointer_rel)])
                hit = bad.intersection(ids) | bad.intersection(damaged)
            except ValueError:  # its manifest or recipe has no good copy
                hit = {oid} | bad.intersection(_paths_of([cache], [(text, pointer_rel)], bad))
            for d in found:
                if d.object in hit:
                    d.used_by.append(pointer_rel[: -len(POINTER_SUFFIX)])
    for d in found:
        if d.hint:
            continue
        if d.file.endswith(POINTER_SUFFIX):
            d.hint = "restore it with `git checkout -- FILE` or `cairn add` its data again"
        elif "manifest: refused" in d.what:  # it verifies: no copy anywhere is better
            d.hint = ("no remote has a better copy: it was made this way. `git log -- "
                      f"{(d.used_by or ['FOLDER'])[0]}.cairn` shows the commit that brought it; "
                      "check out a revision you trust")
        elif name is not None:
            d.hint = (f"`cairn push` does not replace a damaged copy: delete {Path(d.file).name} "
                      f"(and its .idx) on remote {name} and `cairn push --all-commits` from a "
                      "clone whose `cairn fsck` passes")
        elif d.object:
            d.hint = "`cairn pull` fetches a good copy from the remote (if it has one)"
        else:
            d.hint = "`cairn pull` rebuilds or salvages it and fetches what was lost"
    if remote is None:
        _save_damage_list(repo, [d.object for d in found if d.object])
    return found


@dataclass
class GcResult:
    dry_run: bool
    objects_kept: int
    objects_dropped: int
    bytes_dropped: int
    packs_deleted: int
    packs_rewritten: int
    remote: str | None = None
    leftover_files: int = 0     # files killed commands left (removed with force)
    leftover_bytes: int = 0


def gc(repo: Repo, force: bool = False, remote: str | None = None) -> GcResult:
    """Drops objects no pointer in any commit of any branch (or the work tree) needs.
    A dry run unless ``force``."""
    leftovers = repo.leftovers() or []  # what a dry run reports (--force removes it)
    with repo.lock(exclusive=True, sweep=force):
        # Inside the lock: a concurrent add has either finished (its pointer is seen) or
        # not started writing.
        keep = repo.pointers_in_history()
        if remote is not None:
            # Only this clone's history is known here; fetch first so commits others pushed
            # count too, and never collect a remote that other repositories share.
            name, store = repo.remote_store(remote)
            if force:
                _git(repo.root, "fetch", "--all", "--quiet")
                keep = repo.pointers_in_history()
            stats = _store.collect_garbage(store, keep, not force, str(repo.tmp))
            if force:
                remote_leftovers.remove_stale(repo, name, store)
            return GcResult(not force, remote=name, **stats)
        stats = _store.collect_garbage(repo.cache(), keep, not force, str(repo.tmp))
        if force:
            repo._cache = None
            shutil.rmtree(repo.dir / "cache" / "files", ignore_errors=True)
            repo.prune_state()  # stat-cache entries of deleted files and folders
            repo.save_state()
    return GcResult(not force, leftover_files=len(leftovers),
                    leftover_bytes=sum(size for _, size in leftovers), **stats)
