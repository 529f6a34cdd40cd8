"""The client side of tests/test_cluster_multihost.py, run inside the client's network
namespace: word counts over s3:// and over the store at a revision on the cluster's
workers, then a computation during which one worker process is killed. Prints one JSON
line of what it saw; the test checks it.

Usage: multihost_client.py SCHEDULER_ADDRESS BUCKET WORKDIR
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time


def slow_square(x: int) -> int:
    time.sleep(0.4)
    return x * x


def main(address: str, bucket: str, workdir: str) -> None:
    import boto3
    from distributed import Client, get_task_stream

    import cairn
    import cairn.bag as cb
    import cairn.datasets

    seen: dict = {}
    corpus = cairn.datasets.zipf_corpus(os.path.join(workdir, "corpus"), total_mb=6, files=2,
                                        seed=11)
    s3 = boto3.client("s3")
    s3.create_bucket(Bucket=bucket)
    for path in corpus:
        s3.upload_file(path, bucket, f"corpus/{os.path.basename(path)}")

    repo = os.path.join(workdir, "repo")
    os.makedirs(os.path.join(repo, "data"))
    run = lambda *a: subprocess.run(a, cwd=repo, check=True, capture_output=True)  # noqa: E731
    run("git", "init", "-q")
    run("git", "config", "user.email", "t@example.com")
    run("git", "config", "user.name", "t")
    run(sys.executable, "-m", "cairn", "init")
    with open(corpus[0], "rb") as src, open(os.path.join(repo, "data", "text.txt"), "wb") as dst:
        dst.write(src.read())
    run(sys.executable, "-m", "cairn", "add", "data/text.txt")
    run("git", "add", "-A")
    run("git", "commit", "-qm", "v1")
    with open(os.path.join(repo, "data", "text.txt"), "w") as f:
        f.write("only the second version\n")
    run(sys.executable, "-m", "cairn", "add", "data/text.txt")
    run("git", "commit", "-qam", "v2")

    with Client(address) as client:
        client.wait_for_workers(2, timeout=120)
        seen["workers"] = sorted(client.scheduler_info()["workers"])

        words = (cb.read_text(f"s3://{bucket}/corpus/*.txt", blocksize="1MiB").str.split()
                 .flatten().frequencies().topk(10, key=1))
        seen["s3_on_cluster"] = words.compute(scheduler=client)
        seen["s3_on_threads"] = words.compute(scheduler="threads")
        with get_task_stream(client) as stream:
            words.compute(scheduler=client)
        seen["s3_task_workers"] = sorted({t["worker"] for t in stream.data})

        os.chdir(repo)
        at_v1 = (cb.read_text("data/text.txt", rev="HEAD~1", blocksize="1MiB").str.split()
                 .flatten().frequencies().topk(10, key=1))
        seen["store_on_cluster"] = at_v1.compute(scheduler=client)
        seen["store_expected"] = (cb.read_text(corpus[0], blocksize="1MiB").str.split()
                                  .flatten().frequencies().topk(10, key=1)
                                  .compute(scheduler="threads"))

        pids = client.run(os.getpid)
        victim = seen["workers"][0]
        squares = cb.from_sequence(range(24), npartitions=24).map(slow_square)
        future = client.compute(squares)
        killer = threading.Timer(1.5, os.kill, (pids[victim], signal.SIGKILL))
        killer.start()
        seen["after_kill"] = future.result(timeout=180)
        killer.join()
        seen["killed_pid"] = pids[victim]
        client.wait_for_workers(2, timeout=120)  # the nanny started a new worker process
        seen["pids_after"] = sorted(client.run(os.getpid).values())
    print(json.dumps(seen))


if __name__ == "__main__":
    main(*sys.argv[1:4])
