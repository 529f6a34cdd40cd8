"""``cairn push``, ``fetch`` and ``pull`` as functions: what a remote must receive or give
(the closure of the pointers' objects), copied and verified object by object, with damaged
local objects repaired from the remote."""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path

from .. import filesystems
from .ops import Progress, _no_progress, checkout
from .repo import (POINTER_SUFFIX, CairnError, Repo, _store, manifest_entries,
                   missing_bucket_hint, parse_pointer)

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
