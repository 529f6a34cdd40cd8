"""Kill soak for the store: ``cairn add``, ``compact``, ``push``, ``pull`` and ``gc --force``
SIGKILLed at random moments, each kill followed by the checks a user relies on.

Setup: a git repository with ``cairn init``, a folder remote, four committed (tagged)
versions of a random file, a text file and a tracked folder (tens of MB; each version edits
the last, so chunks dedupe), pushed. Then rounds of the five commands; in each round every
command is started as a ``python -m cairn`` subprocess and SIGKILLed after a random delay
between the interpreter's start-up (``cairn --help``'s time; 0 with ``--from-zero``) and the
median duration of its uninterrupted runs (a kill that comes after the command ended is
counted as missed, not as a kill). The work a round gives each command:

- ``add``: a new edit of the work tree (a few MB of new data, stored raw: autocompaction is
  off), never committed;
- ``compact``: compresses what that add stored raw;
- ``push``: sends that new data to the remote;
- ``pull``: a second clone checks out a random committed version with its cache emptied;
- ``gc --force``: the work tree is put back to the last commit, so the round's add is garbage;
  every other round ``gc --remote origin --force`` collects it on the remote instead.

After every kill: ``cairn fsck`` (and ``fsck --remote origin`` after push and gc) must pass,
or name what to repair; the named command is run and fsck must then pass. ``git status``
must show no ``.cairn-tmp-*`` file. The killed command is run again and must exit 0, after
which no temporary file of cairn may remain in the work tree or in ``.cairn``. Then every
committed version must read back byte-identical (sha256): from the local cache through
``cairn.data.read_bytes`` with the cache holding every object (no fetch hides a loss), after
a kill of push or gc from the remote into a third clone with an empty cache (``git checkout``
+ ``cairn pull``), and at the end of each round in the main work tree (``git checkout`` +
``cairn checkout``). Run as a script::

    nice -n 10 python tests/soak/store_kill_soak.py --kills 50 [--seed 1] [--dir /tmp/soak]
        [--scale 1.0] [--from-zero]

It exits 0 only if every check passed and prints a table of the counts (see docs/store.md,
"Reliability"). tests/store/test_kill_soak_short.py runs a short version (two kills each).
"""

from __future__ import annotations

import argparse
import hashlib
import os
import random
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import traceback
from dataclasses import dataclass, field
from pathlib import Path

COMMANDS = ("add", "compact", "push", "pull", "gc --force")
VERSIONS = 4
FOLDER_FILES = 6
TEMP_PREFIX = ".cairn-tmp-"


def _env() -> dict:
    env = dict(os.environ, CAIRN_AUTOCOMPACT="0")
    # The commands run the cairn this process imports (a work tree's python/ with its built
    # extension, or the installed package), never a source folder without the extension.
    import cairn

    python_dir = str(Path(cairn.__file__).resolve().parents[1])
    env["PYTHONPATH"] = python_dir + os.pathsep + env.get("PYTHONPATH", "")
    return env


ENV = _env()


def git(cwd: Path, *args: str) -> str:
    return subprocess.run(["git", *args], cwd=cwd, check=True, capture_output=True,
                          text=True).stdout


def cairn_cmd(*args: str) -> list[str]:
    return [sys.executable, "-m", "cairn", "-q", *args]


def cairn(cwd: Path, *args: str, check: bool = True) -> subprocess.CompletedProcess:
    proc = subprocess.run(cairn_cmd(*args), cwd=cwd, capture_output=True, text=True, env=ENV,
                          timeout=600)
    if check and proc.returncode != 0:
        raise AssertionError(f"cairn {' '.join(args)} in {cwd} exited {proc.returncode}:\n"
                             f"{proc.stdout}{proc.stderr}")
    return proc


def sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


@dataclass
class Counts:
    kills: dict = field(default_factory=lambda: {c: 0 for c in COMMANDS})
    missed: dict = field(default_factory=lambda: {c: 0 for c in COMMANDS})
    fsck_pass: dict = field(default_factory=lambda: {c: 0 for c in COMMANDS})
    fsck_repair: dict = field(default_factory=lambda: {c: 0 for c in COMMANDS})
    fsck_fail: dict = field(default_factory=lambda: {c: 0 for c in COMMANDS})
    rerun_failures: dict = field(default_factory=lambda: {c: 0 for c in COMMANDS})
    wrong_reads: dict = field(default_factory=lambda: {c: 0 for c in COMMANDS})
    temp_files: dict = field(default_factory=lambda: {c: 0 for c in COMMANDS})
    problems: list = field(default_factory=list)
    repairs: dict = field(default_factory=dict)  # (command, what fsck named) -> times

    def ok(self) -> bool:
        return not any(sum(d.values()) for d in (self.fsck_fail, self.rerun_failures,
                                                  self.wrong_reads, self.temp_files))

    def table(self) -> str:
        rows = ["| command | kills | missed | fsck passed | fsck named a repair (fixed) | "
                "fsck failed | rerun failures | wrong reads | leftover temp files |",
                "|---|---|---|---|---|---|---|---|---|"]
        for c in COMMANDS:
            rows.append(f"| `{c}` | {self.kills[c]} | {self.missed[c]} | {self.fsck_pass[c]} | "
                        f"{self.fsck_repair[c]} | {self.fsck_fail[c]} | "
                        f"{self.rerun_failures[c]} | {self.wrong_reads[c]} | "
                        f"{self.temp_files[c]} |")
        return "\n".join(rows)


class Soak:
    def __init__(self, base: Path, seed: int, log=print, scale: float = 1.0,
                 skip_startup: bool = True):
        self.base = base
        self.scale = scale  # of the data sizes (the short test in the suite uses a fraction)
        self.rng = random.Random(seed)
        self.log = log
        self.main = base / "work"
        self.clone = base / "clone"      # pull's repository
        self.check = base / "check"      # reads the remote back after push and gc kills
        self.remote = base / "remote"
        self.versions: list[dict[str, str]] = []   # per tag: path -> sha256
        self.durations = {c: [] for c in COMMANDS}
        self.counts = Counts()
        self.round = 0
        self.extra: list[Path] = []      # files a round's add put into the tracked folder
        self.skip_startup = skip_startup
        self.startup = 0.0               # seconds `python -m cairn` takes to get going

    # -- setup ------------------------------------------------------------------------------
    def setup(self) -> None:
        self.main.mkdir(parents=True)
        git(self.main, "init", "-q", "-b", "main")
        for key, value in (("user.email", "soak@example.com"), ("user.name", "soak"),
                           ("commit.gpgsign", "false")):
            git(self.main, "config", key, value)
        cairn(self.main, "init")
        cairn(self.main, "remote", "add", "origin", str(self.remote))
        data = self.main / "data"
        (data / "folder").mkdir(parents=True)
        rng = self.rng
        big = rng.randbytes(self._size(12 << 20))
        words = [f"w{i}" for i in range(500)]
        text = "".join(" ".join(rng.choices(words, k=10)) + "\n" for _ in range(self._size(80_000))).encode()
        folder = {f"f{i}.bin": rng.randbytes(self._size(rng.randint(256 << 10, 2 << 20)))
                  for i in range(FOLDER_FILES)}
        for v in range(VERSIONS):
            if v:  # edits: an insert into the big file, a line, one folder file rewritten
                big = self._edited(big, self._size(1 << 20))
                lines = text.split(b"\n")
                lines.insert(rng.randrange(len(lines)), f"version {v}".encode())
                text = b"\n".join(lines)
                name = f"f{rng.randrange(FOLDER_FILES)}.bin"
                folder[name] = self._edited(folder[name], self._size(64 << 10))
            (data / "big.bin").write_bytes(big)
            (data / "text.txt").write_bytes(text)
            for name, content in folder.items():
                (data / "folder" / name).write_bytes(content)
            cairn(self.main, "add", "data/big.bin", "data/text.txt", "data/folder")
            git(self.main, "add", "-A")
            git(self.main, "commit", "-qm", f"v{v}")
            git(self.main, "tag", f"v{v}")
            self.versions.append(self._snapshot(self.main))
        cairn(self.main, "compact")
        cairn(self.main, "push", "--all-commits")
        for repo in (self.clone, self.check):
            git(self.base, "clone", "-q", str(self.main), str(repo))
            cairn(repo, "pull")
        self.log(f"setup: {VERSIONS} versions of "
                 f"{sum(len(b) for b in self._files(self.main).values()) >> 20} MiB")

    def _size(self, n: int) -> int:
        return max(1, int(n * self.scale))

    def _edited(self, data: bytes, new: int) -> bytes:
        at = self.rng.randrange(len(data))
        return data[:at] + self.rng.randbytes(new) + data[at + new // 2:]

    def _files(self, root: Path) -> dict[str, bytes]:
        data = root / "data"
        out = {"data/big.bin": (data / "big.bin").read_bytes(),
               "data/text.txt": (data / "text.txt").read_bytes()}
        for p in sorted((data / "folder").iterdir()):
            if not p.name.startswith(TEMP_PREFIX):
                out[f"data/folder/{p.name}"] = p.read_bytes()
        return out

    def _snapshot(self, root: Path) -> dict[str, str]:
        return {k: sha(v) for k, v in self._files(root).items()}

    # -- what each round gives the commands to do ----------------------------------------
    def prepare(self, command: str) -> tuple[Path, list[str]]:
        if command == "add":
            data = self.main / "data"
            big = data / "big.bin"
            big.write_bytes(self._edited(big.read_bytes(), self._size(3 << 20)))
            with open(data / "text.txt", "ab") as f:
                f.write(f"round {self.round}\n".encode())
            extra = data / "folder" / f"round{self.round}.bin"
            extra.write_bytes(self.rng.randbytes(self._size(1 << 20)))
            self.extra.append(extra)
            return self.main, ["add", "data/big.bin", "data/text.txt", "data/folder"]
        if command == "compact":
            return self.main, ["compact"]
        if command == "push":
            return self.main, ["push"]
        if command == "pull":
            tag = f"v{self.rng.randrange(VERSIONS)}"
            shutil.rmtree(self.clone / "data", ignore_errors=True)
            if self.rng.random() < 0.5:  # else the cache has it and pull checks it out
                shutil.rmtree(self.clone / ".cairn" / "cache", ignore_errors=True)
            git(self.clone, "checkout", "-q", "-f", tag)
            self.pull_tag = tag
            return self.clone, ["pull"]
        # gc: the round's add becomes garbage
        git(self.main, "checkout", "-q", "--", ".")
        for p in self.extra:
            p.unlink(missing_ok=True)
        self.extra.clear()
        cairn(self.main, "checkout", "--force")
        if self.round % 2:
            return self.main, ["gc", "--remote", "origin", "--force"]
        return self.main, ["gc", "--force"]

    # -- one kill and its checks ------------------------------------------------------------
    def kill_one(self, command: str) -> None:
        cwd, args = self.prepare(command)
        known = self.durations[command]
        limit = sorted(known)[len(known) // 2] if known else 1.0  # the median: few misses
        # Past the interpreter's start-up (nothing is written before it) unless --from-zero.
        delay = self.rng.uniform(min(self.startup, limit) if self.skip_startup else 0.0, limit)
        proc = subprocess.Popen(cairn_cmd(*args), cwd=cwd, env=ENV, stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, start_new_session=True)
        start = time.monotonic()
        try:
            proc.wait(timeout=delay)
            proc.communicate()
            self.durations[command].append(time.monotonic() - start)
            self.counts.missed[command] += 1
            if proc.returncode != 0:
                self._problem(command, "rerun_failures", f"uninterrupted {args} exited "
                              f"{proc.returncode}")
            killed = False
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)  # the command and any child it started
            proc.communicate()
            self.counts.kills[command] += 1
            killed = True
        self._after_kill(command, cwd, args, killed)

    def _after_kill(self, command: str, cwd: Path, args: list[str], killed: bool) -> None:
        if killed:
            status = git(cwd, "status", "--porcelain", "--untracked-files=all")
            if TEMP_PREFIX in status:
                self._problem(command, "temp_files", f"git status shows:\n{status}")
            self._fsck(command, cwd)
            if command in ("push", "gc --force"):
                self._fsck(command, cwd, "--remote", "origin", count=False)
        rerun = cairn(cwd, *args, check=False)
        if rerun.returncode != 0:
            self._problem(command, "rerun_failures", f"rerun of {args} exited "
                          f"{rerun.returncode}:\n{rerun.stdout}{rerun.stderr}")
            return
        left = self._temp_files(cwd)
        if left:
            self._problem(command, "temp_files", f"after the rerun: {left}")
        if command == "pull":
            self._compare(command, self.clone, self.versions[int(self.pull_tag[1:])],
                          self.pull_tag)
        self._read_local(command)
        if command in ("push", "gc --force"):
            self._read_remote(command)

    def _fsck(self, command: str, cwd: Path, *extra: str, count: bool = True) -> None:
        out = cairn(cwd, "fsck", *extra, check=False)
        text = out.stdout + out.stderr
        if out.returncode == 0 and "left by killed" not in text:
            if count:
                self.counts.fsck_pass[command] += 1
            return
        fixes = re.findall(r"`(cairn [^`]+)`", text)
        if out.returncode != 0 and not fixes:
            self._problem(command, "fsck_fail", f"fsck {extra} names no repair:\n{text}")
            return
        fix = fixes[0].split()[1:] if fixes else ["gc", "--force"]
        fixed = cairn(cwd, *fix, check=False)
        again = cairn(cwd, "fsck", *extra, check=False)
        if fixed.returncode != 0 or again.returncode != 0:
            self._problem(command, "fsck_fail", f"fsck {extra} said:\n{text}\n`cairn "
                          f"{' '.join(fix)}` exited {fixed.returncode}:\n{fixed.stdout}"
                          f"{fixed.stderr}\nfsck then:\n{again.stdout}{again.stderr}")
        elif count:
            self.counts.fsck_repair[command] += 1
            key = (command, "cairn " + " ".join(fix))
            self.counts.repairs[key] = self.counts.repairs.get(key, 0) + 1

    def _temp_files(self, cwd: Path) -> list[str]:
        found = [str(p.relative_to(cwd)) for p in cwd.rglob(TEMP_PREFIX + "*")
                 if ".git" not in p.parts]
        tmp = cwd / ".cairn" / "tmp"
        if tmp.is_dir():
            found += [str(p.relative_to(cwd)) for p in tmp.rglob("*") if p.is_file()]
        return found

    def _compare(self, command: str, root: Path, want: dict[str, str], tag: str) -> None:
        got = self._snapshot(root)
        for path in sorted(set(want) | set(got)):
            if path.startswith("data/folder/round"):
                continue  # what a round's add put in the folder (left in place, a known limit)
            if got.get(path) != want.get(path):
                self._problem(command, "wrong_reads", f"{root.name} at {tag}: {path} differs")

    def _read_local(self, command: str) -> None:
        """Every committed version from the main repository's cache, which must hold all of
        it (read_bytes would fetch a lost object from the remote and hide the loss)."""
        import cairn.data
        from cairn.data.repo import Repo, _store

        repo = Repo(self.main)
        _, missing, _, damaged = _store.closure([repo.cache()], repo.pointers_in_history())
        if missing or damaged:
            self._problem(command, "wrong_reads", f"the cache lacks {len(missing)} and has "
                          f"{len(damaged)} damaged object(s) of committed versions")
            return
        for v, want in enumerate(self.versions):
            for path, digest in want.items():
                try:
                    got = sha(cairn.data.read_bytes(self.main / path, rev=f"v{v}",
                                                   repo=self.main))
                except Exception as e:  # noqa: BLE001 - counted and shown
                    got = f"{type(e).__name__}: {e}"
                if got != digest:
                    self._problem(command, "wrong_reads", f"cache at v{v}: {path}: {got}")

    def _read_remote(self, command: str) -> None:
        shutil.rmtree(self.check / ".cairn" / "cache", ignore_errors=True)
        shutil.rmtree(self.check / "data", ignore_errors=True)
        for v, want in enumerate(self.versions):
            git(self.check, "checkout", "-q", "-f", f"v{v}")
            out = cairn(self.check, "pull", check=False)
            if out.returncode != 0:
                self._problem(command, "wrong_reads", f"pull of v{v} from the remote exited "
                              f"{out.returncode}:\n{out.stdout}{out.stderr}")
                continue
            self._compare(command, self.check, want, f"v{v}")

    def checkout_every_version(self) -> None:
        """git checkout + cairn checkout of each committed version in the main work tree
        (clean after gc's step), back to main."""
        for v, want in enumerate(self.versions):
            git(self.main, "checkout", "-q", f"v{v}")
            out = cairn(self.main, "checkout", check=False)
            if out.returncode != 0:
                self._problem("gc --force", "wrong_reads", f"checkout of v{v} exited "
                              f"{out.returncode}:\n{out.stdout}{out.stderr}")
                continue
            self._compare("gc --force", self.main, want, f"v{v}")
        git(self.main, "checkout", "-q", "main")
        cairn(self.main, "checkout")

    def _problem(self, command: str, kind: str, what: str) -> None:
        getattr(self.counts, kind)[command] += 1
        self.counts.problems.append(f"round {self.round}, {command}, {kind}: {what}")
        self.log(f"PROBLEM round {self.round}, {command}, {kind}: {what}")

    # -- the loop ---------------------------------------------------------------------------
    def measure(self) -> None:
        """One uninterrupted run of each command, for the kill delays, and the start-up time
        (the fastest of three `cairn --help` runs)."""
        runs = []
        for _ in range(3):
            start = time.monotonic()
            cairn(self.main, "--help")
            runs.append(time.monotonic() - start)
        self.startup = min(runs)
        for command in COMMANDS:
            cwd, args = self.prepare(command)
            start = time.monotonic()
            cairn(cwd, *args)
            self.durations[command].append(time.monotonic() - start)
        self.checkout_every_version()
        self.log(f"start-up {self.startup:.2f} s; uninterrupted: " + ", ".join(
            f"{c} {self.durations[c][0]:.2f} s" for c in COMMANDS))

    def run(self, kills: int) -> Counts:
        self.setup()
        self.measure()
        started = time.monotonic()
        while min(self.counts.kills.values()) < kills:
            self.round += 1
            for command in COMMANDS:
                try:
                    self.kill_one(command)
                except Exception:  # noqa: BLE001 - a broken check is a problem, not a crash
                    self._problem(command, "rerun_failures", traceback.format_exc())
            self.checkout_every_version()
            c = self.counts
            self.log(f"round {self.round} ({time.monotonic() - started:.0f} s): kills "
                     + ", ".join(f"{k} {c.kills[k]}" for k in COMMANDS)
                     + f"; problems {len(c.problems)}")
        return self.counts


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--kills", type=int, default=50, help="kills per command (at least)")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--dir", help="work folder (default: a new temporary folder, removed)")
    parser.add_argument("--from-zero", action="store_true",
                        help="kill delays from 0 s (default: from the interpreter's start-up)")
    parser.add_argument("--scale", type=float, default=1.0, help="of the data sizes")
    args = parser.parse_args(argv)
    base = Path(args.dir) if args.dir else Path(tempfile.mkdtemp(prefix="cairn-soak-"))
    started = time.monotonic()
    try:
        counts = Soak(base, args.seed, log=lambda s: print(s, flush=True), scale=args.scale,
                      skip_startup=not args.from_zero).run(args.kills)
    finally:
        if not args.dir:
            shutil.rmtree(base, ignore_errors=True)
    print(f"\n{time.strftime('%Y-%m-%d')}, seed {args.seed}, "
          f"{(time.monotonic() - started) / 60:.1f} min\n{counts.table()}")
    for (command, fix), n in sorted(counts.repairs.items()):
        print(f"after {command}: fsck named `{fix}` {n} time(s)")
    for p in counts.problems:
        print(p)
    return 0 if counts.ok() else 1


if __name__ == "__main__":
    sys.exit(main())
