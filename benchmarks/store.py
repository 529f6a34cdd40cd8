"""Versioned data store: cairn's add/push/pull/checkout against Git LFS and DVC, side by side
on the same data, each tool in its own fresh git repository with folder remotes.

- **(a) add** (best of ``--repeat`` fresh repositories) of a new 1 GiB Zipf text file
  (``cairn.datasets.zipf_corpus``), then once of an edited version (5 lines inserted
  mid-file: mostly known chunks); and of a folder of 10,000 text files of 1-8 KiB.
- **(b) five versions**, each added, committed, tagged ``vK`` and pushed, of a 200 MiB text
  file (5 lines inserted near the middle each time) and of a 100 MiB float64 ``.npy`` array
  (1% of the values replaced each time, at random positions, or, as a separate workload, in
  10 contiguous runs); then the bytes in the local cache and on the remote, and a timed pull
  of ``v5`` into a fresh clone.
- **(c) checkout** of ``v1`` there: ``git checkout v1``, then ``cairn checkout`` / ``dvc
  checkout`` (Git LFS's smudge filter runs inside ``git checkout``).

Each tool command is a fresh process timed as a whole; the report says what is untimed.
Pulled and checked-out files are compared with the SHA-256 of what was added (a difference:
exit 1). Everything lives under ``$CAIRN_BENCH_STORE`` (``/tmp/cairn-bench-store``): data
(generated once), repositories and remotes (deleted after each workload unless ``--keep``),
a command log. A missing git-lfs is installed by apt-get, DVC by pip into a virtualenv
there (``tools/dvc-venv``): the system Python is not touched.

``python benchmarks/store.py`` writes ``results/store.md``; ``--quick`` (64 MiB file, 1,000
files, 20 MiB text, 10 MiB arrays; about a minute) writes ``results/store-quick.md``.
"""

import argparse
import os
import re
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

from harness import Row, cpu_snapshot, machine_header, markdown_table, other_load_note, save_report
from store_data import (FULL, INSERTED_LINES, QUICK, ROOT, VERSIONS, MiB, Plan, ensure_data,
                        sha256_file)

GB = 10**9
CAIRN = [sys.executable, "-m", "cairn"]

# Targets (this project's goals for the store).
TARGET_NEW_VS_LFS = 3.0      # add of a new 1 GiB file: >= 3x faster than git add under LFS
TARGET_EDIT_RATE = 1.0 * GB  # add of an edited version: >= 1 GB/s ...
TARGET_EDIT_VS_LFS = 8.0     # ... and >= 8x faster than Git LFS
TARGET_DIR_VS_DVC = 10.0     # 10k-file folder: >= 10x faster than dvc add
TARGET_REMOTE_VS_ZSTD = 1.2  # 5 text versions on the remote: <= 1.2x one zstd-1 copy
TARGET_LOCAL_VS_RAW = 0.5    # ... and in the local cache: <= 0.5x one raw copy

ENV = {**os.environ, "GIT_AUTHOR_NAME": "cairn bench", "GIT_AUTHOR_EMAIL": "bench@cairn",
       "GIT_COMMITTER_NAME": "cairn bench", "GIT_COMMITTER_EMAIL": "bench@cairn",
       "GIT_TERMINAL_PROMPT": "0", "DVC_NO_ANALYTICS": "1"}




# --------------------------------------------------------------------------- running commands


class CommandFailed(RuntimeError):
    pass


@dataclass
class Timed:
    seconds: float
    peak_rss_mb: float
    steps: list[float] = field(default_factory=list)
    output: str = ""


@dataclass
class Ctx:
    log: Path
    work_root: Path
    remote_root: Path
    repeat: int
    keep: bool
    rows: list[Row] = field(default_factory=list)
    storage: list[list[str]] = field(default_factory=list)  # rows of the bytes table
    stored: dict[tuple[str, str], tuple[int, int]] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    failed: bool = False

    def run(self, argv: list[str], cwd: Path, env: dict | None = None) -> Timed:
        """Run a command (output to the log); its wall time and peak RSS (``wait4``)."""
        with open(self.log, "ab") as out:
            out.write(f"\n$ {' '.join(map(str, argv))}    # in {cwd}\n".encode())
            out.flush()
            offset = out.tell()
            t0 = time.perf_counter()
            proc = subprocess.Popen([str(a) for a in argv], cwd=cwd, env={**ENV, **(env or {})},
                                    stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
            _, status, usage = os.wait4(proc.pid, 0)
            seconds = time.perf_counter() - t0
            proc.returncode = os.waitstatus_to_exitcode(status)
        with open(self.log, "rb") as f:
            f.seek(offset)
            output = f.read().decode(errors="replace")
        if proc.returncode != 0:
            raise CommandFailed(f"`{' '.join(map(str, argv))}` exited with {proc.returncode}: "
                                + " / ".join(output.strip().splitlines()[-4:]))
        return Timed(seconds, usage.ru_maxrss / 1024, [seconds], output)

    def timed(self, commands: list[list[str]], cwd: Path) -> Timed:
        """Run commands one after the other, each after a ``sync``; summed time, max RSS."""
        parts = []
        for argv in commands:
            os.sync()
            parts.append(self.run(argv, cwd))
        return Timed(sum(p.seconds for p in parts), max(p.peak_rss_mb for p in parts),
                     [p.seconds for p in parts], "".join(p.output for p in parts))

    def fresh(self, workload: str, tool: str) -> tuple[Path, Path]:
        """Empty work-tree and remote folders for one tool's run of a workload."""
        work, remote = self.work_root / workload / tool, self.remote_root / workload / tool
        for p in (work, remote):
            shutil.rmtree(p, ignore_errors=True)
            p.mkdir(parents=True)
        return work, remote

    def cleanup(self, workload: str) -> None:
        if not self.keep:
            for base in (self.work_root, self.remote_root):
                shutil.rmtree(base / workload, ignore_errors=True)

    def check(self, path: Path, want: str, what: str) -> None:
        if sha256_file(path) != want:
            self.failed = True
            self.notes.append(f"DIFFERS: {what}: {path} does not have the content that was added")


def fs_type(path: Path) -> str:
    """The type of the filesystem ``path`` is on (from /proc/mounts), e.g. 'ext4'."""
    try:
        mounts = [ln.split()[1:3] for ln in Path("/proc/mounts").read_text().splitlines()]
    except OSError:
        return "filesystem unknown"
    return max((m for m in mounts if str(path.resolve()).startswith(m[0])),
               key=lambda m: len(m[0]), default=["", "filesystem unknown"])[1]


def replace_file(src: str | Path, dst: Path) -> None:
    if dst.exists():
        dst.unlink()
    shutil.copyfile(src, dst)


def tree_bytes(path: Path) -> tuple[int, int]:
    """(apparent bytes, bytes in files with more than one hard link) below ``path``."""
    total = linked = 0
    for dirpath, _, names in os.walk(path):
        for n in names:
            st = os.lstat(os.path.join(dirpath, n))
            total += st.st_size
            linked += st.st_size if st.st_nlink > 1 else 0
    return total, linked


# --------------------------------------------------------------------------- the tools


@dataclass
class Tool:
    """One tool's commands; ``{store}`` is its remote folder. Each repository is a work tree
    with a bare git remote ``<remote>/git.git`` and the tool's store ``<remote>/store``."""

    name: str
    init: list[list[str]]         # after `git init`
    add: list[str]                # + the paths
    push: list[list[str]]
    pull: list[list[str]]         # in a fresh clone
    checkout: list[list[str]]     # after `git checkout REV`
    after_clone: list[list[str]]
    local_store: str              # relative to the work tree
    remote_store: str             # relative to the remote folder
    settle: list[list[str]] = field(default_factory=list)  # after add: wait for background work

    def init_repo(self, ctx: "Ctx", work: Path, remote: Path, lfs_pattern: str) -> None:
        ctx.run(["git", "init", "-q", "--bare", "-b", "main", remote / "git.git"], remote)
        ctx.run(["git", "init", "-q", "-b", "main"], work)
        ctx.run(["git", "remote", "add", "origin", remote / "git.git"], work)
        for argv in self.init:
            ctx.run([str(a).format(store=remote / "store") for a in argv], work)
        if self.name == "git-lfs":
            ctx.run(["git", "lfs", "track", lfs_pattern], work)
        commit(ctx, work, "init")

    def push_git(self, ctx: "Ctx", work: Path) -> None:
        """The commits' push to the bare remote (untimed; Git LFS's timed push is this)."""
        if self.name != "git-lfs":
            ctx.run(["git", "push", "-q", "origin", "main", "--tags"], work)

    def clone(self, ctx: "Ctx", remote: Path, dest: Path) -> None:
        shutil.rmtree(dest, ignore_errors=True)
        ctx.run(["git", "clone", "-q", remote / "git.git", dest], dest.parent,
                env={"GIT_LFS_SKIP_SMUDGE": "1"})
        for argv in self.after_clone:
            ctx.run(argv, dest)


def commit(ctx: "Ctx", work: Path, message: str, tag: bool = False) -> None:
    ctx.run(["git", "add", "-A"], work)
    ctx.run(["git", "commit", "-q", "--allow-empty", "-m", message], work)
    if tag:
        ctx.run(["git", "tag", message], work)


def make_tools(dvc: str) -> list[Tool]:
    c, site = CAIRN, [dvc, "config", "--local", "core.site_cache_dir", str(ROOT / "dvc-site")]
    lfs_install = ["git", "lfs", "install", "--local"]
    return [
        Tool("cairn", [[*c, "init"], [*c, "remote", "add", "origin", "{store}"]],
             [*c, "-q", "add"], [[*c, "-q", "push"]], [[*c, "-q", "pull"]],
             [[*c, "-q", "checkout"]], [], ".cairn/cache", "store",
             settle=[[*c, "-q", "compact"]]),
        Tool("git-lfs", [lfs_install], ["git", "add"],
             [["git", "push", "-q", "origin", "main", "--tags"]], [["git", "lfs", "pull"]], [],
             [lfs_install], ".git/lfs/objects", "git.git/lfs/objects"),
        Tool("dvc", [[dvc, "init", "-q"], site, [dvc, "remote", "add", "-d", "origin", "{store}"]],
             [dvc, "add", "-q"], [[dvc, "push", "-q"]], [[dvc, "pull", "-q"]],
             [[dvc, "checkout", "-q"]], [site], ".dvc/cache", "store")]


def _version(argv: list[str]) -> str | None:
    try:
        p = subprocess.run(argv, capture_output=True, text=True, env=ENV, timeout=60)
    except (OSError, subprocess.TimeoutExpired):
        return None
    return p.stdout.strip().splitlines()[0] if p.returncode == 0 and p.stdout.strip() else None


def find_tools(notes: list[str]) -> tuple[list[Tool], list[str]]:
    """cairn, Git LFS and DVC; installs a missing peer (apt-get / pip into a virtualenv)."""
    if _version(["git", "lfs", "version"]) is None and shutil.which("apt-get"):
        print("installing git-lfs (apt-get) ...", flush=True)
        for cmd in (["apt-get", "update", "-qq"], ["apt-get", "install", "-y", "-qq", "git-lfs"]):
            subprocess.run(cmd, capture_output=True)
    venv = ROOT / "tools" / "dvc-venv"
    dvc = shutil.which("dvc") or str(venv / "bin" / "dvc")
    if not Path(dvc).exists():
        print(f"installing dvc with pip into {venv} ...", flush=True)
        subprocess.run([sys.executable, "-m", "venv", str(venv)], capture_output=True)
        subprocess.run([str(venv / "bin" / "pip"), "install", "-q", "dvc"], capture_output=True)
    cairn, lfs, dvc_tool = make_tools(dvc)
    tools = [cairn]
    versions = [f"cairn CLI `{' '.join(CAIRN)}`", str(_version(["git", "--version"]))]
    for tool, version, missing in (
            (lfs, _version(["git", "lfs", "version"]),
             "`git lfs version` fails and `apt-get install git-lfs` did not help (root?)"),
            (dvc_tool, _version([dvc, "--version"]), f"`pip install dvc` into {venv} failed")):
        if version:
            tools.append(tool)
            versions.append(f"{tool.name} {version.removeprefix('git-lfs/')}"
                            + (f" (`{dvc}`)" if tool is dvc_tool else ""))
        else:
            notes.append(f"{tool.name} MISSING: {missing}; its rows are absent")
    return tools, versions


# --------------------------------------------------------------------------- workloads


EACH = "each (s)"


def _row(workload: str, tool: Tool, t: Timed | None, size: int | None = None,
         status: str = "", **extra: str) -> Row:
    cells = {"peak RSS (MB)": f"{t.peak_rss_mb:,.0f}"} if t else {}
    if t and size:
        cells["MiB/s"] = f"{size / MiB / t.seconds:,.0f}"
    own = re.findall(r"^added .* in ([0-9.]+) s, ", t.output, re.M) if t else []
    if own:  # what `cairn add` reports for itself (no start-up); a mean over versions
        cells["cairn's own (s)"] = f"{sum(map(float, own)) / len(own):.2f}"
    cells.update({EACH if k == "each" else k: v for k, v in extra.items()})
    return Row(workload, tool.name, t.seconds if t else None, baseline=tool.name == "cairn",
               status=status, extra=cells)


def mean(ts: list[Timed]) -> Timed:
    return Timed(sum(t.seconds for t in ts) / len(ts), max(t.peak_rss_mb for t in ts),
                 output="".join(t.output for t in ts))


def each(ts: list[Timed]) -> str:
    return ", ".join(f"{t.seconds:.2f}" for t in ts)


def _failed(ctx: Ctx, workload: str, tool: Tool, exc: Exception) -> None:
    ctx.failed = True
    ctx.notes.append(f"FAILED: {workload}, {tool.name}: {exc}")
    ctx.rows.append(_row(workload, tool, None, status="FAILED"))


def settle(ctx: Ctx, tool: Tool, work: Path) -> Timed | None:
    """After an add: wait until the tool's background work is done (cairn: the compaction
    that `cairn add` starts, through `cairn compact`, which waits for it). Its time is how
    long after the add the data was compressed; nothing else runs meanwhile."""
    if not tool.settle:
        return None
    return ctx.run(tool.settle[0], work)


def _settle_row(workload: str, tool: Tool, t: Timed, size: int, **cells) -> Row:
    return _row(workload + ", then until compressed (background compaction)", tool, t, None,
                note=f"after the add, {size / MiB:,.0f} MiB; `cairn compact` waits for it",
                **cells)


def bench_add(ctx: Ctx, tools: list[Tool], data: dict, plan: Plan, which: str) -> None:
    """(a) add into a fresh repository (best of --repeat); for the big file, then its edit."""
    folder = Path(data["folder"])
    if which == "big":
        src, target, size = folder / "big.txt", "big.txt", (folder / "big.txt").stat().st_size
        workload = f"(a) new {plan.big_mb:,} MiB text file: add"
    else:
        src, target, size = folder / "files", "files", data["small_bytes"]
        workload = f"(a) folder of {plan.files:,} files ({size / MiB:,.0f} MiB): add"
    for tool in tools:
        try:
            best = edit = None
            for _ in range(ctx.repeat):
                work, remote = ctx.fresh(which, tool.name)
                tool.init_repo(ctx, work, remote, target + ("/**" if src.is_dir() else ""))
                (shutil.copytree if src.is_dir() else shutil.copyfile)(src, work / target)
                t = ctx.timed([[*tool.add, target]], work)
                settled = settle(ctx, tool, work)
                if best is None or t.seconds < best[0].seconds:
                    best = (t, settled)
                local = tree_bytes(work / tool.local_store)[0]
                if which == "big":  # then the edited version, in each repository
                    commit(ctx, work, "v1", tag=True)
                    replace_file(folder / "big-edited.txt", work / target)
                    t = ctx.timed([[*tool.add, target]], work)
                    settle(ctx, tool, work)
                    ctx.check(work / target, data["big"][1], f"{tool.name}: edited big file")
                    edit = t if edit is None or t.seconds < edit.seconds else edit
            row = _row(workload, tool, best[0], size, runs=str(ctx.repeat))
            row.n_tasks = plan.files if which == "folder" else None  # per-task = per file
            ctx.rows.append(row)
            if best[1] is not None:
                ctx.rows.append(_settle_row(workload, tool, best[1], size))
            cells = [f"{size / MiB:,.1f}", f"{local / MiB:,.1f}", f"{local / size:.2f}"]
            if which == "big":
                ctx.rows.append(_row(f"(a) same file, {INSERTED_LINES} lines inserted "
                                     "mid-file: add", tool, edit, size, runs=str(ctx.repeat)))
                both = tree_bytes(work / tool.local_store)[0]
                cells = [f"{size / MiB:,.1f} x 2", f"{local / MiB:,.1f} -> {both / MiB:,.1f}",
                         f"{both / size:.2f}"]
            ctx.storage.append([workload.split(":")[0] + ("" if which != "big" else
                                " + its edit"), tool.name, *cells, "—", "—", "—"])
        except CommandFailed as exc:
            _failed(ctx, workload, tool, exc)
        ctx.cleanup(which)


def bench_versions(ctx: Ctx, tools: list[Tool], data: dict, name: str, label: str) -> None:
    """(b) five versions added and pushed, a pull into a fresh clone; (c) checkout of v1."""
    paths = sorted((Path(data["folder"]) / name).iterdir(), key=lambda p: int(p.stem[1:]))
    hashes, target = data[name], "data" + paths[0].suffix
    one, zstd1 = paths[0].stat().st_size, data[f"{name}_zstd1"][0]
    for tool in tools:
        try:
            work, remote = ctx.fresh(name, tool.name)
            tool.init_repo(ctx, work, remote, target)
            adds, pushes, settles = [], [], []
            for k, src in enumerate(paths, 1):
                replace_file(src, work / target)
                adds.append(ctx.timed([[*tool.add, target]], work))
                settles.append(settle(ctx, tool, work))
                commit(ctx, work, f"v{k}", tag=True)
                pushes.append(ctx.timed(tool.push, work))
                tool.push_git(ctx, work)
            local, _ = tree_bytes(work / tool.local_store)
            remote_bytes, linked = tree_bytes(remote / tool.remote_store)
            clone = ctx.work_root / name / f"{tool.name}-clone"
            tool.clone(ctx, remote, clone)
            pull = ctx.timed(tool.pull, clone)
            ctx.check(clone / target, hashes[-1], f"{tool.name}: {name} v{VERSIONS} pulled")
            cloned, _ = tree_bytes(clone / tool.local_store)
            checkout = ctx.timed([["git", "checkout", "-q", "v1"], *tool.checkout], work)
            ctx.check(work / target, hashes[0], f"{tool.name}: {name} v1 checked out")
        except CommandFailed as exc:
            _failed(ctx, f"(b) {label}", tool, exc)
            ctx.cleanup(name)
            continue

        linked_note = {"note": "remote objects are hard links"} if linked else {}
        later = f"v2-v{VERSIONS} (mean)"
        ctx.rows += [
            _row(f"(b) {label}: add v1", tool, adds[0], one),
            _row(f"(b) {label}: add {later}", tool, mean(adds[1:]), one, each=each(adds[1:])),
            *([_settle_row(f"(b) {label}: add v1", tool, settles[0], one),
               _settle_row(f"(b) {label}: add {later}", tool, mean(settles[1:]), one,
                           each=each(settles[1:]))] if settles[0] is not None else []),
            _row(f"(b) {label}: push v1", tool, pushes[0], one, **linked_note),
            _row(f"(b) {label}: push {later}", tool, mean(pushes[1:]), None,
                 each=each(pushes[1:]), **linked_note),
            _row(f"(b) {label}: pull v{VERSIONS} into a fresh clone", tool, pull, one,
                 **linked_note),
            _row(f"(c) {label}: checkout v1", tool, checkout, one,
                 each=" + ".join(f"{s:.3f}" for s in checkout.steps)),
        ]
        ctx.stored[(name, tool.name)] = (local, remote_bytes)
        ctx.storage.append([
            f"(b) {label}", tool.name, f"{one / MiB:,.1f} x {VERSIONS}", f"{local / MiB:,.1f}",
            f"{local / one:.2f}", f"{remote_bytes / MiB:,.1f}" + (
                f" ({linked / MiB:,.1f} hard-linked)" if linked else ""),
            f"{remote_bytes / zstd1:.2f}" if zstd1 else "—", f"{cloned / MiB:,.1f}"])
        ctx.cleanup(name)


# --------------------------------------------------------------------------- report


def verdicts(ctx: Ctx, data: dict, plan: Plan) -> list[str]:
    """VERDICT lines for the store's targets (NOT MEASURED when a tool did not run)."""
    sizes = " [--quick sizes, not the targets' sizes]" if plan.quick else ""

    def best(prefix: str, tool: str) -> float | None:
        return next((r.time_s for r in ctx.rows if r.workload.startswith(prefix)
                     and r.tool == tool and r.time_s is not None), None)

    def line(what: str, ready: bool, text: str = "", met: bool = False) -> str:
        if not ready:
            return f"VERDICT: {what}: NOT MEASURED (a tool is missing or failed)"
        return f"VERDICT: {what}: {text}: {'MET' if met else 'NOT MET'}{sizes}"

    out = []
    c, p = best("(a) new", "cairn"), best("(a) new", "git-lfs")
    out.append(line(f"add of a new {plan.big_mb:,} MiB file vs git add under Git LFS",
                    bool(c and p), c and p and f"cairn {c:.2f} s, Git LFS {p:.2f} s = "
                    f"{p / c:.2f}x (target >= {TARGET_NEW_VS_LFS}x)",
                    bool(c and p and p / c >= TARGET_NEW_VS_LFS)))
    c, p = best("(a) same", "cairn"), best("(a) same", "git-lfs")
    rate = os.path.getsize(Path(data["folder"]) / "big-edited.txt") / c if c else 0
    out.append(line(f"add of an edited version ({INSERTED_LINES} lines inserted in the "
                    f"{plan.big_mb:,} MiB file)", bool(c and p),
                    c and p and f"cairn {c:.2f} s = {rate / GB:.2f} GB/s, {p / c:.2f}x Git LFS "
                    f"({p:.2f} s) (targets >= 1 GB/s and >= {TARGET_EDIT_VS_LFS}x)",
                    bool(c and p and rate >= TARGET_EDIT_RATE and p / c >= TARGET_EDIT_VS_LFS)))
    c, p = best("(a) folder", "cairn"), best("(a) folder", "dvc")
    out.append(line(f"add of a {plan.files:,}-file folder vs dvc add", bool(c and p),
                    c and p and f"cairn {c:.2f} s, DVC {p:.2f} s = {p / c:.2f}x (target >= "
                    f"{TARGET_DIR_VS_DVC}x)", bool(c and p and p / c >= TARGET_DIR_VS_DVC)))
    zstd1, how = data["text_zstd1"]
    local, remote = ctx.stored.get(("text", "cairn"), (0, 0))
    one = os.path.getsize(Path(data["folder"]) / "text" / "v1.txt")
    out.append(line(
        f"{VERSIONS} versions of the {plan.text_mb} MiB text file in cairn", bool(local),
        f"remote {remote / MiB:,.1f} MiB = {remote / zstd1:.2f}x one zstd-1 copy "
        f"({zstd1 / MiB:,.1f} MiB, {how}), local cache {local / MiB:,.1f} MiB = "
        f"{local / one:.2f}x one raw copy (targets <= {TARGET_REMOTE_VS_ZSTD}x and <= "
        f"{TARGET_LOCAL_VS_RAW}x)",
        remote / zstd1 <= TARGET_REMOTE_VS_ZSTD and local / one <= TARGET_LOCAL_VS_RAW))
    return out


def write(ctx: Ctx, plan: Plan, data: dict, versions: list[str], notes: list[str]) -> Path:
    """Print the report and write it to results/store.md (store-quick.md with --quick)."""
    head = ["workload", "tool", "data (MiB)", "local cache (MiB)", "local / data",
            "remote (MiB)", "remote / one zstd-1 copy", "fresh clone's cache after pull (MiB)"]
    table = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    table += ["| " + " | ".join(r) + " |" for r in ctx.storage]
    zstd = ", ".join(f"{n}: {data[n + '_zstd1'][0] / MiB:,.1f} MiB" for n in
                     ("text", "array", "array-clustered") if data[n + "_zstd1"][0])
    parts = [f"## Versioned data store: cairn vs Git LFS vs DVC{' (--quick)' * plan.quick}",
             "", machine_header(), "- tools: " + "; ".join(versions), "",
             "### Times (ratio = tool time / cairn time; > 1: cairn is faster)", "",
             markdown_table(ctx.rows, ["MiB/s", "cairn's own (s)", EACH, "note",
                                       "peak RSS (MB)", "runs"]), "",
             "### Bytes stored (apparent file sizes; 'data' is one version's size)", "",
             *table, "", f"One zstd level-1 copy of v1, compressed whole: {zstd}.", "",
             *[f"- {n}" for n in verdicts(ctx, data, plan) + ctx.notes + notes]]
    return save_report("store-quick" if plan.quick else "store", "\n".join(parts) + "\n")


WORKLOADS = ("big", "folder", "text", "array", "array-clustered")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small data (a smoke test)")
    parser.add_argument("--repeat", type=int, help="fresh-repository runs of the (a) adds, "
                        "the best is kept (default 2; 1 with --quick)")
    parser.add_argument("--remote-root", help="folder for the remotes (default: <root>/remotes)")
    parser.add_argument("--workloads", default=",".join(WORKLOADS),
                        help=f"comma-separated subset of {','.join(WORKLOADS)}")
    parser.add_argument("--keep", action="store_true", help="keep the repositories")
    args = parser.parse_args(argv)
    plan = QUICK if args.quick else FULL
    chosen = [w.strip() for w in args.workloads.split(",") if w.strip()]
    if unknown := set(chosen) - set(WORKLOADS):
        parser.error(f"unknown workload(s): {', '.join(sorted(unknown))}")
    t_start, start = time.perf_counter(), cpu_snapshot()
    notes: list[str] = []
    tools, versions = find_tools(notes)
    data = ensure_data(plan)
    remote_root = Path(args.remote_root) if args.remote_root else ROOT / "remotes"
    (ROOT / "logs").mkdir(parents=True, exist_ok=True)
    ctx = Ctx(ROOT / "logs" / f"{'quick' if plan.quick else 'full'}.log", ROOT / "run",
              remote_root, args.repeat or (1 if plan.quick else 2), args.keep, notes=notes)
    ctx.log.write_text("")
    floor = ctx.run(["true"], ROOT).peak_rss_mb
    labels = {"text": f"text {plan.text_mb} MiB x {VERSIONS} versions",
              "array": f"npy {plan.array_mb} MiB x {VERSIONS}, 1% scattered",
              "array-clustered": f"npy {plan.array_mb} MiB x {VERSIONS}, 1% in 10 runs"}
    try:
        for w in chosen:
            print(f"workload {w} ...", flush=True)
            if w in ("big", "folder"):
                bench_add(ctx, tools, data, plan, w)
            else:
                bench_versions(ctx, tools, data, w, labels[w])
    finally:
        if not args.keep:
            shutil.rmtree(remote_root, ignore_errors=True)
    tail = [
        f"Data (generated once into {data['folder']}): Zipf text (`cairn.datasets.zipf_corpus`)"
        f", float64 standard-normal `.npy` arrays. Repositories under {ctx.work_root} "
        f"({fs_type(ctx.work_root)}), each with a bare git remote and a store folder under "
        f"{remote_root}. Tools ran in the order {', '.join(t.name for t in tools)}.",
        "Timed: the tools' commands, each a fresh process, start-up included ('cairn's own "
        "(s)': the time `cairn add` reports for itself). Untimed: copying data into the work "
        "tree (so inputs are warm in the page cache; dropping it is not possible here), "
        "committing pointer files, and for cairn and DVC the `git push` of those commits (Git "
        "LFS's push is `git push`: it uploads in the pre-push hook). `sync` runs before each "
        "timed command. Checkout = `git checkout -q v1` + `cairn -q checkout` / `dvc checkout "
        "-q` ('each (s)' splits them); Git LFS smudges inside `git checkout`. Pull: untimed "
        f"`git clone` (GIT_LFS_SKIP_SMUDGE=1), then the timed pull of v{VERSIONS}.",
        "Git LFS's add (clean filter) hashes each file and copies it into .git/lfs/objects; "
        "DVC hashes (MD5) and copies into .dvc/cache (cache.type reflink,copy: a copy without "
        "reflinks); cairn cuts chunks and writes new ones raw into packs (fsynced), then "
        "compresses them (zstd-1) in a background compaction, which the 'until compressed' "
        "rows wait for before anything else runs; local sizes are measured after it. Git "
        "LFS and DVC keep every version whole and uncompressed. Git LFS hard-links objects "
        "into a file:// remote on the same filesystem and back on pull: rows marked 'remote "
        "objects are hard links' are no copies (a real remote costs a transfer per version).",
        f"peak RSS: `wait4`'s ru_maxrss of the command and its children; about "
        f"{floor:,.0f} MB of it can be the parent's (what `true` shows). Whole run: "
        f"{(time.perf_counter() - t_start) / 60:.1f} min; command log: {ctx.log}.",
        other_load_note(start)]
    path = write(ctx, plan, data, versions, tail)
    print(f"wrote {path}")
    return 1 if ctx.failed else 0


if __name__ == "__main__":
    sys.exit(main())
