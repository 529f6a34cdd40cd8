"""Ctrl-C (KeyboardInterrupt) stops a computation quickly, in a terminal and in Jupyter."""

import os
import signal
import subprocess
import sys
import textwrap
import threading
import time

import pytest

import cairn
from cairn import delayed


def _interrupt_after(seconds):
    def send():
        time.sleep(seconds)
        os.kill(os.getpid(), signal.SIGINT)

    threading.Thread(target=send, daemon=True).start()


@pytest.mark.parametrize("scheduler", ["threads", "sync"])
def test_ctrl_c_stops_compute_quickly(scheduler):
    started = []

    def slow(i):
        started.append(i)
        time.sleep(0.02)
        return i

    tasks = [delayed(slow)(i) for i in range(1000)]  # ~10-20 s of work
    _interrupt_after(0.2)
    t0 = time.perf_counter()
    with pytest.raises(KeyboardInterrupt):
        cairn.compute(*tasks, scheduler=scheduler, num_workers=2)
    elapsed = time.perf_counter() - t0
    assert elapsed < 0.2 + 0.5 + 0.3  # signal time + the 0.5 s budget + slack for CI noise
    n = len(started)
    assert n < 1000
    time.sleep(0.2)
    assert len(started) <= n + 2  # at most the tasks already running finish


def test_compute_works_again_after_interrupt():
    tasks = [delayed(time.sleep)(0.02) for _ in range(500)]
    _interrupt_after(0.1)
    with pytest.raises(KeyboardInterrupt):
        cairn.compute(*tasks)
    assert delayed(sum)([delayed(abs)(-i) for i in range(100)]).compute() == 4950


SCRIPT = textwrap.dedent("""
    import sys, time, cairn
    def slow(i):
        time.sleep(0.05)
        return i
    tasks = [cairn.delayed(slow)(i) for i in range(2000)]
    print("started", flush=True)
    try:
        cairn.compute(*tasks)
    except KeyboardInterrupt:
        print("interrupted", flush=True)
        sys.exit(42)
""")


def test_ctrl_c_in_a_terminal_process():
    with subprocess.Popen([sys.executable, "-c", SCRIPT], stdout=subprocess.PIPE,
                          text=True) as proc:
        assert proc.stdout.readline().strip() == "started"
        time.sleep(0.3)
        t0 = time.perf_counter()
        proc.send_signal(signal.SIGINT)
        rc = proc.wait(timeout=10)
        assert time.perf_counter() - t0 < 1.5  # includes interpreter shutdown
        assert rc == 42
        assert proc.stdout.read().strip() == "interrupted"


def test_interrupt_in_jupyter_kernel():
    jupyter_client = pytest.importorskip("jupyter_client")
    pytest.importorskip("ipykernel")
    km, kc = jupyter_client.manager.start_new_kernel(kernel_name="python3")
    try:
        code = textwrap.dedent("""
            import time, cairn
            def slow(i):
                time.sleep(0.05)
                return i
            tasks = [cairn.delayed(slow)(i) for i in range(2000)]
            cairn.compute(*tasks)
        """)
        msg_id = kc.execute(code)
        time.sleep(1.5)  # the kernel imports cairn and starts computing
        t0 = time.perf_counter()
        km.interrupt_kernel()
        reply = kc.get_shell_msg(timeout=10)
        while reply["parent_header"].get("msg_id") != msg_id:
            reply = kc.get_shell_msg(timeout=10)
        elapsed = time.perf_counter() - t0
        assert reply["content"]["status"] == "error"
        assert reply["content"]["ename"] == "KeyboardInterrupt"
        assert elapsed < 1.5
        # The kernel is still usable afterwards.
        kc.execute_interactive("x = cairn.delayed(sum)([1, 2]).compute()", timeout=10)
    finally:
        kc.stop_channels()
        km.shutdown_kernel(now=True)


def test_progress_bar_is_a_widget_in_jupyter():
    jupyter_client = pytest.importorskip("jupyter_client")
    pytest.importorskip("ipykernel")
    pytest.importorskip("ipywidgets")
    km, kc = jupyter_client.manager.start_new_kernel(kernel_name="python3")
    try:
        outputs = []
        reply = kc.execute_interactive(
            "import cairn\n"
            "with cairn.ProgressBar():\n"
            "    r = cairn.delayed(sum)([cairn.delayed(abs)(-i) for i in range(100)]).compute()\n"
            "print(r)",
            timeout=30, output_hook=outputs.append)
        assert reply["content"]["status"] == "ok"
        mimes = [m["content"].get("data", {}) for m in outputs if m["msg_type"] == "display_data"]
        assert any("application/vnd.jupyter.widget-view+json" in d for d in mimes)
        text = "".join(m["content"].get("text", "") for m in outputs if m["msg_type"] == "stream")
        assert "4950" in text
    finally:
        kc.stop_channels()
        km.shutdown_kernel(now=True)
