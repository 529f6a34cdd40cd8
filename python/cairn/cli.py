"""The ``cairn`` command: versioned data beside git (``cairn --help``)."""

from __future__ import annotations

import argparse
import os
import sys
from contextlib import contextmanager

from .data import check, compact, ops, remote_leftovers, transfer
from .data.repo import CairnError, Repo
from .filesystems import redact_url

_bars: list = []


def _progress(quiet: bool):
    """A tqdm byte bar per long operation (shown on terminals only, unless quiet)."""

    def make(description: str, total: int):
        if quiet:
            return None
        from tqdm.auto import tqdm

        bar = tqdm(total=total, desc=description, unit="B", unit_scale=True, unit_divisor=1024,
                   leave=False, disable=None, file=sys.stderr)
        _bars.append(bar)
        state = {"done": 0}

        def update(done: int) -> None:
            if done > bar.total:
                bar.total = done
            bar.update(done - state["done"])
            state["done"] = done

        return update

    return make


@contextmanager
def _bars_closed():
    try:
        yield
    finally:
        while _bars:
            _bars.pop().close()


def _size(n: int) -> str:
    return ops._fmt(n)


def _leftovers_line(repo: Repo, fix: str) -> str | None:
    """A line naming what killed commands left (with its size), or None if nothing."""
    found = repo.leftovers()
    if not found:
        return None
    total = sum(size for _, size in found)
    shown = ", ".join(str(p.relative_to(repo.root)) for p, _ in found[:3])
    more = f" and {len(found) - 3} more" if len(found) > 3 else ""
    return (f"{len(found)} file(s) left by killed cairn commands, {_size(total)} ({shown}{more}); "
            f"{fix}")


def _remote_leftovers_line(repo: Repo, remote: str) -> str | None:
    """A line naming what killed pushes left on ``remote``, or None if nothing."""
    name, store = repo.remote_store(remote)
    found = remote_leftovers.find(repo, name, store)
    if not found:
        return None
    shown = ", ".join(redact_url(f.where).rsplit("/", 1)[-1] for f in found[:3])
    more = f" and {len(found) - 3} more" if len(found) > 3 else ""
    hours = remote_leftovers.STALE_AFTER / 3600
    return (f"{len(found)} file(s) on remote {name} left by killed pushes (not part of the "
            f"store), {_size(sum(f.size for f in found))} ({shown}{more}); `cairn gc --remote "
            f"{name} --force` removes those older than {hours:g} hour(s) (younger ones may "
            "belong to a push running elsewhere)")


_LEFTOVER_FIX = ("the next add, checkout, pull, push, fetch or compact removes them, "
                 "as does `cairn gc --force`")


def _cmd_init(args) -> int:
    repo, created = Repo.init()
    print(("Initialized" if created else "Reinitialized") + f" cairn repository in {repo.dir}")
    print("commit .cairn/config and .cairn/.gitignore with your code")
    return 0


def _cmd_add(args) -> int:
    repo = Repo.find()
    results = ops.add(repo, args.paths, _progress(args.quiet), level=args.level)
    background = compact.after_add(repo) if args.level == 0 else None
    for r in results:
        if r.unchanged:
            print(f"unchanged {r.path}: {_size(r.size)}, already recorded in {r.pointer}")
            continue
        rate = r.size / r.seconds / 2**20 if r.seconds > 0 else 0
        what = f"{r.files} files, " if r.kind == "dir" else ""
        print(f"added {r.path}: {what}{_size(r.size)} ({_size(r.new_bytes)} new, "
              f"{_size(r.stored_bytes)} stored) in {r.seconds:.2f} s, {rate:.0f} MiB/s")
    if background is not None and not args.quiet:
        print("compressing the new data in the background (`cairn compact` waits for it)")
    if not args.quiet:
        print("next: git add the .cairn pointer file(s) and the .gitignore, then git commit")
    return 0


def _cmd_compact(args) -> int:
    repo = Repo.find()
    if args.auto:
        r = compact.run_auto(repo)
    else:
        r = compact.compact(repo, args.level, _progress(args.quiet))
    if args.auto:  # quiet in the background (a run that found another one is skipped)
        return 0
    if r.packs == 0:
        print("compact: nothing to compress")
        return 0
    print(f"compact: {r.objects} object(s) in {r.packs} pack(s), {_size(r.bytes_before)} -> "
          f"{_size(r.bytes_after)} in {r.seconds:.2f} s; {r.dropped} old pack(s) deleted")
    return 0


def _cmd_status(args) -> int:
    repo = Repo.find()
    rows = ops.status(repo, args.paths or None)
    changed = [s for s in rows if s.state != "ok"]
    if not rows:
        print("nothing tracked by cairn yet (`cairn add PATH`)")
    elif not changed:
        print(f"{len(rows)} tracked path(s), all up to date")
    for s in changed:
        print(f"{s.state + ':':14} {s.path}" + (f"  ({s.detail})" if s.detail else ""))
    deferred, running = compact.pending(repo)
    if deferred:
        print(f"{_size(deferred)} of added data "
              + ("is being compressed by a background compaction" if running else
                 "waits to be compressed (`cairn compact` does it now)"))
    leftover = _leftovers_line(repo, _LEFTOVER_FIX)
    if leftover:
        print(leftover)
    return 1 if changed and args.exit_code else 0


def _cmd_checkout(args) -> int:
    repo = Repo.find()
    results = ops.checkout(repo, args.paths or None, force=args.force, progress=_progress(args.quiet))
    written = sum(r.written for r in results)
    print(f"checked out {len(results)} path(s), {written} file(s) written")
    return 0


def _print_transfer(verb: str, r: transfer.TransferResult) -> None:
    print(f"{verb} {r.objects} object(s), {_size(r.bytes)} in {r.packs} pack(s) "
          f"({r.already} already there) in {r.seconds:.2f} s"
          + (f"; repaired {r.repaired} damaged object(s)" if r.repaired else ""))


def _cmd_push(args) -> int:
    repo = Repo.find()
    r = transfer.push(repo, args.remote, args.paths or None, args.all_commits, _progress(args.quiet),
                 level=args.level)
    _print_transfer(f"pushed to {r.remote}:", r)
    return 0


def _cmd_fetch(args) -> int:
    repo = Repo.find()
    r = transfer.fetch(repo, args.remote, args.paths or None, args.all_commits, progress=_progress(args.quiet))
    _print_transfer(f"fetched from {r.remote}:", r)
    return 0


def _cmd_pull(args) -> int:
    repo = Repo.find()
    fetched, written = transfer.pull(repo, args.remote, args.paths or None, args.force, _progress(args.quiet))
    _print_transfer(f"fetched from {fetched.remote}:", fetched)
    print(f"checked out {len(written)} path(s), {sum(w.written for w in written)} file(s) written")
    return 0


def _cmd_remote(args) -> int:
    repo = Repo.find()
    if args.action == "add":
        repo.add_remote(args.name, args.url, default=not args.no_default,
                        endpoint_url=args.endpoint_url, region=args.region)
        print(f"remote '{args.name}' -> {repo.remotes()[args.name]}")
    elif args.action == "remove":
        repo.remove_remote(args.name)
    else:
        for name, url in sorted(repo.remotes().items()):
            print(f"{name}\t{redact_url(url)}")  # one saved before secrets were refused
    return 0


def _cmd_gc(args) -> int:
    repo = Repo.find()
    r = check.gc(repo, force=args.force, remote=args.remote)
    where = f"remote {r.remote}" if r.remote else "the cache"
    verb = "would drop" if r.dry_run else "dropped"
    print(f"{where}: {verb} {r.objects_dropped} object(s), {_size(r.bytes_dropped)} "
          f"({r.packs_deleted} pack(s) deleted, {r.packs_rewritten} rewritten); "
          f"{r.objects_kept} object(s) kept")
    if r.leftover_files:
        print(f"{'would remove' if r.dry_run else 'removed'} {r.leftover_files} file(s) left by "
              f"killed cairn commands, {_size(r.leftover_bytes)}")
    if r.dry_run:
        print("dry run: nothing deleted; run `cairn gc --force` to do it")
    return 0


def _cmd_fsck(args) -> int:
    repo = Repo.find()
    leftover = (_remote_leftovers_line(repo, args.remote) if args.remote
                else _leftovers_line(repo, _LEFTOVER_FIX))
    damage = check.fsck(repo, _progress(args.quiet), remote=args.remote)
    if leftover:
        print(leftover)
    if not damage:
        print("fsck: every pack and object verified" + (f" on remote {args.remote}" if args.remote else ""))
        return 0
    for d in damage:
        used = f" (used by {', '.join(d.used_by)})" if d.used_by else ""
        obj = f" object {d.object}" if d.object else ""
        print(f"damaged: {d.file}{obj}: {d.what}{used}\n  to repair: {d.hint}")
    print(f"fsck: {len(damage)} problem(s)")
    return 1


def _cmd_log(args) -> int:
    repo = Repo.find()
    for v in ops.log(repo, args.path):
        if not v.oid:
            print(f"{v.commit[:10]} {v.date}  (deleted)  {v.subject}")
            continue
        files = f" {v.files} files" if v.files != 1 else ""
        print(f"{v.commit[:10]} {v.date}  {v.oid[:12]} {_size(v.size):>10}{files}  {v.subject}")
    return 0


def _cmd_diff(args) -> int:
    repo = Repo.find()
    changes = ops.diff(repo, args.path, args.rev)
    if not changes:
        print(f"no changes in {args.path} since {args.rev}")
    for c in changes:
        print(f"{c.change + ':':10} {c.path}  {_size(c.old_size)} -> {_size(c.new_size)}")
    return 0


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="cairn",
        description="Versioned data beside git: large files and folders are stored "
        "deduplicated in .cairn/ and on remotes; small pointer files go into git.")
    p.add_argument("-q", "--quiet", action="store_true", help="no progress bars")
    sub = p.add_subparsers(dest="command", required=True, metavar="COMMAND")

    def cmd(name, func, help):
        s = sub.add_parser(name, help=help, description=help)
        s.set_defaults(func=func)
        s.add_argument("-q", "--quiet", action="store_true", default=argparse.SUPPRESS,
                       help="no progress bars")
        return s

    cmd("init", _cmd_init, "create .cairn/ in the current git work tree")
    s = cmd("add", _cmd_add, "store files or folders and write their .cairn pointer files")
    s.add_argument("paths", nargs="+", metavar="PATH")
    s.add_argument("--level", type=int, default=0, help="zstd level for new chunks now (default 0: "
                   "store raw and compress in the background, see `cairn compact`)")
    s = cmd("status", _cmd_status, "show tracked data that differs from its pointer")
    s.add_argument("paths", nargs="*", metavar="PATH")
    s.add_argument("--exit-code", action="store_true", help="exit with 1 if anything differs")
    s = cmd("checkout", _cmd_checkout, "write the data the current pointers name into the work tree")
    s.add_argument("paths", nargs="*", metavar="PATH")
    s.add_argument("-f", "--force", action="store_true", help="overwrite changes that are not in the cache")
    s = cmd("remote", _cmd_remote, "list, add or remove remotes: a folder, or s3://bucket/prefix "
            "(credentials from the AWS environment: AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, "
            "AWS_PROFILE ...)")
    s.add_argument("action", nargs="?", choices=["add", "remove", "list"], default="list")
    s.add_argument("name", nargs="?")
    s.add_argument("url", nargs="?")
    s.add_argument("--no-default", action="store_true", help="do not make it the default remote")
    s.add_argument("--endpoint-url", help="S3-compatible server, e.g. http://127.0.0.1:9000 "
                   "(default: AWS_ENDPOINT_URL, else AWS)")
    s.add_argument("--region", help="S3 region (default: AWS_REGION or the profile's)")
    for name, func, help in (
            ("push", _cmd_push, "upload the data the pointers name that the remote lacks"),
            ("fetch", _cmd_fetch, "download the data the pointers name into the cache"),
            ("pull", _cmd_pull, "fetch, then checkout (repairs damaged cache objects)")):
        s = cmd(name, func, help)
        s.add_argument("paths", nargs="*", metavar="PATH")
        s.add_argument("-r", "--remote", help="remote name (default: core.remote)")
        if name != "pull":
            s.add_argument("--all-commits", action="store_true",
                           help="every pointer in every commit of every branch, not just the work tree's")
        if name == "push":
            s.add_argument("--level", type=int, default=transfer.PUSH_LEVEL, choices=range(0, 20),
                           metavar="N", help="zstd level of the data sent (default "
                           f"{transfer.PUSH_LEVEL}; 0: as stored in the cache)")
        else:
            s.add_argument("-f", "--force", action="store_true", help="overwrite changes not in the cache")
    s = cmd("gc", _cmd_gc, "drop data no pointer in any commit needs (a dry run unless --force)")
    s.add_argument("-f", "--force", action="store_true", help="really delete")
    s.add_argument("-r", "--remote", help="collect a remote (folder or S3) instead of the cache (only "
                   "if no other repository pushes to it)")
    s = cmd("compact", _cmd_compact, "compress the data `add` stored raw (the background "
            "compaction that add starts does the same; this waits for it)")
    s.add_argument("--level", type=int, default=compact.COMPACT_LEVEL, choices=range(1, 20),
                   metavar="N", help=f"zstd level (default {compact.COMPACT_LEVEL})")
    s.add_argument("--auto", action="store_true", help=argparse.SUPPRESS)
    s = cmd("fsck", _cmd_fsck, "verify every pack and object in the cache (or a remote)")
    s.add_argument("-r", "--remote", help="verify this remote instead of the cache")
    s = cmd("log", _cmd_log, "versions of a tracked path across git history")
    s.add_argument("path")
    s = cmd("diff", _cmd_diff, "changes of a tracked path since a revision")
    s.add_argument("path")
    s.add_argument("rev", nargs="?", default="HEAD")
    return p


def main(argv: list[str] | None = None) -> int:
    parser = _parser()
    args = parser.parse_args(argv)
    if args.command == "remote" and args.action in ("add", "remove") and not args.name:
        parser.error(f"cairn remote {args.action} needs a NAME" + (" and a URL" if args.action == "add" else ""))
    if args.command == "remote" and args.action == "add" and not args.url:
        parser.error("cairn remote add needs a NAME and a URL")
    try:
        with _bars_closed():
            return args.func(args)
    except BrokenPipeError:
        # The reader went away (`cairn status | head`): stop quietly, as git does.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return 141
    except (CairnError, ValueError, OSError, LookupError) as e:
        print(f"cairn {args.command}: error: {e}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"cairn {args.command}: interrupted; nothing stored before was changed", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
