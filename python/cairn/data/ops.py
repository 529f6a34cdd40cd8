"""The store commands (``cairn add``, ``status``, ``checkout``, ``push`` …) as functions.

Each takes a :class:`~cairn.data.repo.Repo`, does its work through ``cairn._core.store``
and returns what happened; ``cairn.cli`` prints it. Errors a user can cause raise
:class:`~cairn.data.repo.CairnError` (or OSError/ValueError from the core) with a message
that names the file and what to do.
"""

from __future__ import annotations

import os
import shutil
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

from .. import filesystems
from . import remote_leftovers
from .repo import (POINTER_SUFFIX, CairnError, Repo, _git, _store, manifest_entries,
                   missing_bucket_hint, parse_pointer, scan_directory)

Progress = Callable[[str, int], Callable[[int], None] | None]
"""progress(description, total_bytes) -> callback(done_bytes), or None for no progress."""


def _no_progress(description: str, total: int):
    return None


@dataclass
class AddResult:
    path: str
    pointer: str
    kind: str
    size: int
    files: int
    new_bytes: int
    stored_bytes: int
    seconds: float
    unchanged: bool = False     # already recorded by its pointer: nothing was read


def add(repo: Repo, paths: list[str], progress: Progress = _no_progress, level: int = 0) -> list[AddResult]:
    """Stores files or folders in the cache and writes their pointer files. New data is
    compressed at zstd ``level``, or with 0 stored raw for compaction to compress
    (``cairn.data.compact``; the CLI starts it in the background)."""
    if not paths:
        raise CairnError("nothing to add: give one or more files or folders")
    targets = []
    for given in paths:
        rel = repo.rel(given)
        if rel.endswith(POINTER_SUFFIX):
            raise CairnError(f"'{given}' is a cairn pointer file; add the data it names instead")
        full = repo.root / rel
        if full.is_symlink():
            raise CairnError(f"cannot add '{given}': it is a symlink (track the file it points to)")
        if not full.exists():
            raise CairnError(f"cannot add '{given}': no such file or folder")
        if repo.is_tracked_by_git(rel):
            raise CairnError(
                f"'{rel}' is already tracked by git; run `git rm -r --cached {rel}` first so "
                "cairn can track it instead"
            )
        targets.append((given, rel, full))
    results = []
    with repo.lock(sweep=True):
        cache = repo.cache()
        adder = _store.Adder.make(cache, str(repo.tmp), level)
        staged, folders = [], []
        for given, rel, full in targets:
            start = time.perf_counter()
            before = adder.stats()
            is_dir = full.is_dir()
            scan = None
            if is_dir:
                unchanged, scan = _unchanged_dir(repo, cache, rel, full)
            else:
                unchanged = _unchanged_file(repo, cache, rel, full)
            if unchanged is not None:
                kind, oid, size, executable, files = parse_pointer(unchanged, rel + POINTER_SUFFIX)
                results.append(AddResult(rel, rel + POINTER_SUFFIX, kind, size,
                                         files if kind == "dir" else 1, 0, 0,
                                         time.perf_counter() - start, unchanged=True))
                continue
            hashed_at = time.time_ns()
            total = _tree_size(full) if is_dir else full.stat().st_size
            callback = progress(f"add {rel}", total)
            try:
                if is_dir:  # files the stat cache vouches for are not read again
                    pointer = adder.add_directory(str(full), callback,
                                                  repo.known_oids(full, scan))
                else:
                    pointer = adder.add_file(str(full), callback)
            except ValueError as e:
                raise CairnError(str(e)) from None
            after = adder.stats()
            kind, oid, size, executable, files = parse_pointer(pointer, rel + POINTER_SUFFIX)
            if kind == "file":
                repo.remember_oid(full, oid, hashed_at)
            elif scan:
                folders.append((full, scan, (oid, size, files), hashed_at))
            staged.append((rel, pointer))
            results.append(AddResult(
                rel, rel + POINTER_SUFFIX, kind, size, files if kind == "dir" else 1,
                after["new_bytes"] - before["new_bytes"],
                after["stored_bytes"] - before["stored_bytes"], time.perf_counter() - start))
        # Data first, durable; pointers after: a crash never leaves a pointer without data.
        start = time.perf_counter()
        adder.commit()
        committed = time.perf_counter() - start
        for r in results:  # each path's data is durable only now
            if not r.unchanged:
                r.seconds += committed
        for full, scan, recorded, hashed_at in folders:  # their files' oids, from the manifest
            files = {p: o for p, o, _, _ in manifest_entries(cache, recorded[0], str(full))}
            repo.remember_tree(full, scan, recorded, hashed_at, files)
        for rel, pointer in staged:
            repo.add_to_gitignore(rel)
            repo.write_pointer(rel + POINTER_SUFFIX, pointer)
        repo.save_state()
    return results


def _recorded_pointer(repo: Repo, rel: str) -> tuple[str, tuple] | None:
    """(text, parsed fields) of the pointer that records ``rel`` now, or None if there is
    none or it cannot be read (add then writes a new one)."""
    if not (repo.root / (rel + POINTER_SUFFIX)).is_file():
        return None
    try:
        text = repo.read_pointer(rel + POINTER_SUFFIX)
    except CairnError:
        return None
    return text, parse_pointer(text, rel + POINTER_SUFFIX)


def _unchanged_file(repo: Repo, cache, rel: str, full: Path) -> str | None:
    """The current pointer text if the file is already recorded by it (per the stat cache)
    and its data is in the cache: `cairn add` of an unchanged file is then instant."""
    pointer = None if full.is_symlink() else _recorded_pointer(repo, rel)
    if pointer is None:
        return None
    text, (kind, oid, size, executable, _) = pointer
    st = full.stat()
    if kind != "file" or st.st_size != size or bool(st.st_mode & 0o100) != executable:
        return None
    return text if repo.cached_oid(full) == oid and cache.contains(oid) else None


def _unchanged_dir(repo: Repo, cache, rel: str, full: Path):
    """(the current pointer text if the folder is already recorded by it, per the stat
    cache, and its manifest is in the cache, else None; the folder's scan now)."""
    recorded, scan = repo.cached_tree(full)
    pointer = _recorded_pointer(repo, rel) if recorded is not None else None
    if pointer is None:
        return None, scan
    text, (kind, oid, size, _, files) = pointer
    if kind == "dir" and (oid, size, files) == recorded and cache.contains(oid):
        return text, scan
    return None, scan


def _tree_size(folder: Path) -> int:
    total = 0
    for dirpath, _, names in os.walk(folder):
        for n in names:
            try:
                total += os.lstat(os.path.join(dirpath, n)).st_size
            except OSError:
                pass
    return total


@dataclass
class Status:
    path: str           # the data path
    state: str          # "ok", "modified", "missing", "not in cache"
    detail: str = ""


def _current_oid(repo: Repo, full: Path, kind: str) -> tuple[str, int] | None:
    """(oid, size) of what is in the work tree now, or None if nothing is there."""
    if kind == "file":
        if not full.is_file() or full.is_symlink():
            return None
        return repo.file_oid(full), full.stat().st_size
    if not full.is_dir():
        return None
    oid, size, _ = repo.tree_oid(full)
    return oid, size


def status(repo: Repo, paths: list[str] | None = None) -> list[Status]:
    """How the work tree differs from the pointers (and what the cache lacks)."""
    out = []
    cache = repo.cache()
    for pointer_rel in repo.worktree_pointers(paths):
        data_rel = pointer_rel[: -len(POINTER_SUFFIX)]
        text = repo.read_pointer(pointer_rel)
        kind, oid, size, _, _ = parse_pointer(text, pointer_rel)
        full = repo.data_path(pointer_rel)
        try:
            now = _current_oid(repo, full, kind)
        except CairnError as e:  # e.g. a file name in the folder that is not UTF-8
            out.append(Status(data_rel, "cannot check", str(e)))
            continue
        if now is None:
            state = Status(data_rel, "missing", "run `cairn checkout` to restore it")
        elif now[0] != oid:
            state = Status(data_rel, "modified", f"{_fmt(size)} -> {_fmt(now[1])}; `cairn add` to record it")
        else:
            state = Status(data_rel, "ok")
        if state.state != "modified" and not cache.contains(oid):
            state = Status(data_rel, "not in cache", "run `cairn fetch` to get its data")
        out.append(state)
    repo.save_state()
    return out


@dataclass
class CheckoutResult:
    path: str
    written: int        # files written (0: already up to date)


def checkout(repo: Repo, paths: list[str] | None = None, force: bool = False,
             progress: Progress = _no_progress) -> list[CheckoutResult]:
    """Materialises the data the current pointers name. Refuses to overwrite data whose
    content is not in the cache (it would be lost) unless ``force``."""
    results = []
    with repo.lock(sweep=True):
        cache = repo.cache()
        materializer = _store.Materializer.make(cache)
        pointers = repo.worktree_pointers(paths)
        plans = []
        for pointer_rel in pointers:
            text = repo.read_pointer(pointer_rel)
            kind, oid, size, _, _ = parse_pointer(text, pointer_rel)
            full = repo.data_path(pointer_rel)
            if kind == "dir":  # refuses names that are not UTF-8 before anything is written
                _manifest_or_none(cache, oid, pointer_rel)
            if not force:
                _refuse_unsaved(repo, cache, full, kind, oid, pointer_rel)
            plans.append((pointer_rel, text, kind, oid, size, full))
        for pointer_rel, text, kind, oid, size, full in plans:
            data_rel = pointer_rel[: -len(POINTER_SUFFIX)]
            if kind == "file" and full.is_file() and full.stat().st_size == size \
                    and repo.file_oid(full) == oid:
                results.append(CheckoutResult(data_rel, 0))
                continue
            if kind == "file" and full.is_dir():
                raise CairnError(f"cannot check out '{data_rel}': a folder is in the way")
            if kind == "dir" and full.exists() and not full.is_dir():
                raise CairnError(f"cannot check out '{data_rel}': a file is in the way")
            callback = progress(f"checkout {data_rel}", size)
            started = time.time_ns()
            try:
                written = materializer.write(text, pointer_rel, str(full), callback)
            except (OSError, LookupError, ValueError) as e:
                raise CairnError(f"cannot check out '{data_rel}': {e}") from None
            if kind == "file":
                repo.remember_oid(full, oid, started)
            results.append(CheckoutResult(data_rel, written))
        repo.save_state()
    return results


def _refuse_unsaved(repo: Repo, cache, full: Path, kind: str, oid: str, pointer_rel: str) -> None:
    data_rel = pointer_rel[: -len(POINTER_SUFFIX)]
    hint = (f"; `cairn add {data_rel}` to keep them, or `cairn checkout --force` to discard them")
    if kind == "file":
        if full.is_file() and not full.is_symlink():
            now = repo.file_oid(full)
            if now != oid and not cache.contains(now):
                raise CairnError(f"'{data_rel}' has changes that are not in the cache{hint}")
        return
    if not full.is_dir():
        return
    wanted = {}
    for path, file_oid, _, _ in _manifest_or_none(cache, oid, pointer_rel):
        wanted[path] = file_oid
    for path, file_oid, _, _ in scan_directory(full, pointer_rel):
        if path in wanted and wanted[path] != file_oid and not cache.contains(file_oid):
            raise CairnError(f"'{data_rel}/{path}' has changes that are not in the cache{hint}")


def _manifest_or_none(cache, oid: str, where: str) -> list:
    if not cache.contains(oid):
        return []
    return manifest_entries(cache, oid, where)


@dataclass
class TransferResult:
    remote: str
    objects: int
    bytes: int
    packs: int
    already: int        # objects the destination had
    seconds: float
    repaired: int = 0

    def absorb(self, more: "TransferResult") -> None:
        """Counts a further transfer (a repair) into this one."""
        self.objects += more.objects
        self.bytes += more.bytes
        self.repaired += more.repaired


def _pointers_for(repo: Repo, paths: list[str] | None, all_commits: bool) -> list[tuple[str, str]]:
    if all_commits:
        return repo.pointers_in_history()
    return [(repo.read_pointer(p), p) for p in repo.worktree_pointers(paths)]


PUSH_LEVEL = 3  # zstd level of what push sends (the cache has level 1 after compaction)


def push(repo: Repo, remote: str | None = None, paths: list[str] | None = None,
         all_commits: bool = False, progress: Progress = _no_progress,
         level: int = PUSH_LEVEL) -> TransferResult:
    """Uploads the objects the remote lacks for the current pointers (or every commit's),
    compressed again at zstd ``level`` on the way when that is smaller (0: as stored)."""
    start = time.perf_counter()
    with repo.lock(sweep=True):
        name, dest = repo.remote_store(remote)
        cache = repo.cache()
        pointers = _pointers_for(repo, paths, all_commits)
        ids, missing, _, _ = _closure([cache], pointers, "the cache")
        if missing:
            raise CairnError(
                f"{len(missing)} object(s) needed by the pointers are not in the local cache "
                f"(e.g. {missing[0][:12]}); run `cairn fetch` from a remote that has them, or "
                "`cairn add` the data again")
        return _copy(name, cache, dest, ids, [], repo, f"push to {name}", progress, start,
                     level, pointers)


def missing_on_remote(name: str, source, missing: list[str], needed_by: str) -> CairnError:
    """The error for objects that neither the cache nor remote `name` has: a damaged index
    there (what it lists cannot be read) or data never pushed."""
    if source.damaged_indexes():
        bad = ", ".join(Path(p).name for p in source.damaged_indexes())
        return CairnError(
            f"{len(missing)} object(s) needed by {needed_by} are neither in the cache nor in a "
            f"readable index of remote '{name}' (e.g. {missing[0][:12]}): its {bad} is damaged. "
            f"`cairn fsck --remote {name}` names the damage; delete that pack and index there "
            "and `cairn push --all-commits` from a clone whose `cairn fsck` passes")
    return CairnError(
        f"{len(missing)} object(s) needed by {needed_by} are neither in the cache nor on remote "
        f"'{name}' (e.g. {missing[0][:12]}); run `cairn push` (or `cairn push --all-commits` "
        "for older revisions) where the data was added")


def _closure(sources: list, pointers: list[tuple[str, str]], where: str):
    """_store.closure, with an error that names the tracked path whose data has no good copy
    in any of `sources` (`where` says which)."""
    try:
        return _store.closure(sources, pointers)
    except ValueError as e:
        for text, pointer_rel in pointers:
            try:
                _store.closure(sources, [(text, pointer_rel)])
            except ValueError as inner:
                raise CairnError(
                    f"cannot read the data of '{pointer_rel[: -len(POINTER_SUFFIX)]}' from "
                    f"{where}: {inner}\n(`cairn fsck` lists all damage, `cairn fsck --remote NAME` "
                    "a remote's)") from None
        raise CairnError(str(e)) from None


def _paths_of(stores: list, pointers: list[tuple[str, str]], oids: set[str]) -> dict[str, list[str]]:
    """The tracked paths (files, and files inside tracked folders) whose oid is in `oids`."""
    out: dict[str, list[str]] = {}
    for text, pointer_rel in pointers:
        try:
            kind, oid, _, _, _ = parse_pointer(text, pointer_rel)
        except CairnError:
            continue
        data_rel = pointer_rel[: -len(POINTER_SUFFIX)]
        if oid in oids:
            out.setdefault(oid, []).append(data_rel)
        if kind != "dir":
            continue
        for store in stores:
            if not store.contains(oid):
                continue
            try:
                entries = _store.Materializer.make(store, 1).read_manifest(oid)
            except (OSError, ValueError, LookupError):
                continue
            for path, file_oid, _, _ in entries:
                if file_oid in oids:
                    out.setdefault(file_oid, []).append(f"{data_rel}/{path}")
            break
    return out


def _copy(name: str, source, dest, ids: list[str], repair: list[str], repo: Repo,
          description: str, progress: Progress, start: float, level: int = 0,
          pointers: list[tuple[str, str]] = ()) -> TransferResult:
    lacking = [i for i in ids if not dest.contains(i)]
    moving = lacking + repair
    callback = progress(description, source.stored_size(moving)) if moving else None
    command = description.split()[0]
    pushing = command == "push"
    try:
        stats = _store.copy_objects(source, dest, lacking, repair, str(repo.tmp), callback,
                                    level=level)
    except ValueError as e:  # the source's only copies are damaged: retrying cannot help
        check = "`cairn fsck`" if pushing else f"`cairn fsck --remote {name}`"
        raise CairnError(
            f"{description} stopped: {e}\nNothing damaged was stored; {check} lists what is "
            "damaged there.") from None
    except OSError as e:
        url = repo.remote_url(name)[1]
        explained = filesystems.explain(e, url, description) if filesystems.is_s3(url) else e
        if isinstance(explained, (FileNotFoundError, PermissionError)) or "disk full" in str(e):
            # Running it again changes nothing until this is fixed: no "resume" hint.
            raise CairnError(f"{description} ({url}) failed: {explained}"
                             + missing_bucket_hint(name, url, explained)) from None
        raise CairnError(
            f"{description} ({url}) stopped: {e}\nNothing half-written is visible there; run "
            f"`cairn {command}` again to resume (what already arrived is kept).") from None
    if stats["rejected"]:
        rejected = dict(stats["rejected"])
        named = _paths_of([dest, source], list(pointers), set(rejected))
        lines = "\n".join(f"  {', '.join(named.get(oid, ['a tracked file']))} (oid {oid}): {why}"
                          for oid, why in rejected.items())
        if pushing:
            raise CairnError(
                f"{description} stopped: the cache has a bad recipe for\n{lines}\nNothing was "
                "sent for these files; `cairn fsck` lists the damage, `cairn add` them again "
                "to store them anew.")
        raise CairnError(
            f"{description}: remote '{name}' has a forged or damaged copy of\n{lines}\nIt was not "
            "stored and nothing was written; the rest of what arrived is kept. `cairn fsck "
            f"--remote {name}` names the pack; delete it there and `cairn push --all-commits` "
            "from a clone whose `cairn fsck` passes.")
    return TransferResult(name, stats["objects"], stats["bytes"], stats["packs"],
                          len(ids) - len(lacking), time.perf_counter() - start, len(repair))


def fetch(repo: Repo, remote: str | None = None, paths: list[str] | None = None,
          all_commits: bool = False, repair: list[str] | None = None,
          progress: Progress = _no_progress) -> TransferResult:
    """Downloads the objects the cache lacks for the current pointers; ``repair`` lists ids
    whose local copies are damaged, fetched again."""
    start = time.perf_counter()
    with repo.lock(sweep=True):
        name, source = repo.remote_store(remote)
        cache = repo.cache()
        pointers = _pointers_for(repo, paths, all_commits)
        ids, missing, _, damaged = _closure([cache, source], pointers,
                                            f"the cache or remote '{name}'")
        if missing:
            raise missing_on_remote(name, source, missing, "the pointers")
        # Manifests and recipes the cache has only bad copies of come again from the remote.
        repair = sorted(set(repair or []) | set(damaged))
        for text, where in pointers:  # before anything is stored or checked out from them
            kind, oid, _, _, _ = parse_pointer(text, where)
            if kind == "dir":
                good_here = cache.contains(oid) and oid not in repair
                try:
                    manifest_entries(cache if good_here else source, oid, where)
                except CairnError as e:
                    raise CairnError(f"refusing what remote '{name}' has for {e}") from None
        result = _copy(name, source, cache, ids, repair, repo, f"fetch from {name}", progress,
                       start, pointers=pointers)
    if repair:
        with repo.lock(exclusive=True):  # it deletes packs
            _store.drop_damaged_copies(repo.cache(), repair, str(repo.tmp))
            repo._cache = None  # packs were rewritten: read the indexes again
    return result


def pull(repo: Repo, remote: str | None = None, paths: list[str] | None = None,
         force: bool = False, progress: Progress = _no_progress):
    """fetch, then checkout. Repairs the cache on the way: damaged indexes and packs that are
    gone or cut short (what verifies is kept, the rest fetched again), manifests and recipes
    with no good copy, objects checkout finds damaged, and what the last `cairn fsck` named."""
    repaired = _repair_packs(repo)
    fetched = fetch(repo, remote, paths, progress=progress)
    fetched.repaired += repaired
    try:
        written = checkout(repo, paths, force=force, progress=progress)
    except (OSError, CairnError) as e:
        if "damaged" not in str(e) and "corrupt" not in str(e):
            raise
        damaged = sorted({obj for _, obj, _ in _store.verify(repo.cache()) if obj})
        if not damaged:
            raise
        fetched.absorb(fetch(repo, remote, paths, repair=_on_remote(repo, remote, damaged),
                             progress=progress))
        written = checkout(repo, paths, force=force, progress=progress)
    listed = _damage_list(repo)
    if listed:  # what fsck found, used by these pointers or not
        ids = _on_remote(repo, remote, listed)
        if ids:
            fetched.absorb(fetch(repo, remote, paths, repair=ids, progress=progress))
        _save_damage_list(repo, [i for i in listed if i not in set(ids)])
    return fetched, written


def _on_remote(repo: Repo, remote: str | None, ids: list[str]) -> list[str]:
    """The ids the remote has a copy of (only those can be repaired from it)."""
    _, source = repo.remote_store(remote)
    return [i for i in ids if source.contains(i)]


def _repair_packs(repo: Repo) -> int:
    """Rebuilds damaged indexes, salvages packs cut short and drops indexes of packs that are
    gone (exclusive lock only when something is found); returns the problems repaired."""
    with repo.lock():
        found = _store.repair_packs(repo.cache(), True)["problems"]
    if not found:
        return 0
    with repo.lock(exclusive=True):  # it deletes packs
        done = _store.repair_packs(repo.cache(), False)
        repo._cache = None  # read the indexes again
    return len(done["problems"])


def _damage_file(repo: Repo) -> Path:
    return repo.dir / "cache" / "fsck-damaged"


def _damage_list(repo: Repo) -> list[str]:
    """The damaged object ids the last local `cairn fsck` found (pull repairs them)."""
    try:
        text = _damage_file(repo).read_text()
    except (OSError, UnicodeDecodeError):
        return []
    return [line for line in text.split() if len(line) == 64
            and all(c in "0123456789abcdef" for c in line)]


def _save_damage_list(repo: Repo, ids: list[str]) -> None:
    path = _damage_file(repo)
    if not ids:
        path.unlink(missing_ok=True)
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(f"{i}\n" for i in sorted(set(ids))))


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


@dataclass
class Version:
    commit: str
    date: str
    subject: str
    oid: str
    size: int
    files: int


def log(repo: Repo, path: str) -> list[Version]:
    """The versions of a tracked path across git history, newest first."""
    rel = repo.rel(path)
    if rel.endswith(POINTER_SUFFIX):
        rel = rel[: -len(POINTER_SUFFIX)]
    pointer_rel = rel + POINTER_SUFFIX
    out = _git(repo.root, "log", "--format=%H%x1f%ad%x1f%s", "--date=short", "--", pointer_rel).decode()
    versions = []
    for line in out.splitlines():
        commit, date, subject = line.split("\x1f", 2)
        text = _git(repo.root, "show", f"{commit}:{pointer_rel}", check=False).decode("utf-8", "replace")
        if not text:
            versions.append(Version(commit, date, subject, "", 0, 0))  # deleted in this commit
            continue
        kind, oid, size, _, files = parse_pointer(text, f"{pointer_rel} at {commit[:12]}")
        versions.append(Version(commit, date, subject, oid, size, files if kind == "dir" else 1))
    if not versions:
        raise CairnError(f"'{rel}' has no committed versions (no {pointer_rel} in git history)")
    return versions


@dataclass
class Change:
    path: str
    change: str         # "added", "deleted", "modified"
    old_size: int
    new_size: int


def diff(repo: Repo, path: str, rev: str = "HEAD") -> list[Change]:
    """What changed in a tracked path between ``rev`` and the work tree (file by file for a
    folder)."""
    rel = repo.rel(path)
    if rel.endswith(POINTER_SUFFIX):
        rel = rel[: -len(POINTER_SUFFIX)]
    pointer_rel = rel + POINTER_SUFFIX
    old_text = repo.pointers_at(rev).get(pointer_rel)
    full = repo.data_path(pointer_rel)
    old = parse_pointer(old_text, f"{pointer_rel} at {rev}") if old_text else None
    kind = old[0] if old else ("dir" if full.is_dir() else "file")
    if kind == "file":
        now = _current_oid(repo, full, "file")
        if old is None and now is None:
            raise CairnError(f"'{rel}' is neither in {rev} nor in the work tree")
        if old is None:
            return [Change(rel, "added", 0, now[1])]
        if now is None:
            return [Change(rel, "deleted", old[2], 0)]
        return [] if now[0] == old[1] else [Change(rel, "modified", old[2], now[1])]
    old_entries = {}
    if old:
        cache = repo.cache()
        if not cache.contains(old[1]):
            from .files import _ensure

            _ensure(repo, old_text, pointer_rel, top_only=True)  # just the listing
        old_entries = {p: (o, s) for p, o, s, _ in
                       manifest_entries(cache, old[1], f"{pointer_rel} at {rev}")}
    new_entries = {}
    if full.is_dir():
        new_entries = {p: (o, s) for p, o, s, _ in scan_directory(full, rel)}
    changes = []
    for p in sorted(set(old_entries) | set(new_entries)):
        if p not in new_entries:
            changes.append(Change(f"{rel}/{p}", "deleted", old_entries[p][1], 0))
        elif p not in old_entries:
            changes.append(Change(f"{rel}/{p}", "added", 0, new_entries[p][1]))
        elif old_entries[p][0] != new_entries[p][0]:
            changes.append(Change(f"{rel}/{p}", "modified", old_entries[p][1], new_entries[p][1]))
    return changes


def _fmt(n: int) -> str:
    for unit in ("B", "KiB", "MiB", "GiB", "TiB"):
        if n < 1024 or unit == "TiB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024
    return f"{n} B"
