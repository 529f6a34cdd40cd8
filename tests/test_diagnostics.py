"""Progress callbacks, ProgressBar and graph drawing."""

import io
import os
import shutil

import pytest

import cairn
from cairn import delayed
from cairn.diagnostics import Callback, ProgressBar


def inc(x):
    return x + 1


def test_callback_hooks_are_called_in_order(scheduler):
    events = []
    cb = Callback(start=lambda dsk: events.append(("start", len(dsk))),
                  progress=lambda d, t: events.append(("progress", d, t)),
                  finish=lambda dsk, errored: events.append(("finish", errored)))
    xs = [delayed(inc)(i) for i in range(100)]
    with cb:
        assert delayed(sum)(xs).compute() == 5050
    assert events[0] == ("start", 101)
    assert events[-1] == ("finish", False)
    progress = [e for e in events if e[0] == "progress"]
    assert progress[-1] == ("progress", 101, 101)
    dones = [p[1] for p in progress]
    assert dones == sorted(dones)
    events.clear()
    delayed(inc)(1).compute()
    assert events == []  # the context ended


def test_finish_reports_errors(scheduler):
    seen = []
    with Callback(finish=lambda dsk, errored: seen.append(errored)):
        with pytest.raises(ZeroDivisionError):
            delayed(lambda: 1 / 0)().compute()
    assert seen == [True]


def test_error_in_a_callback_stops_the_run():
    def boom(done, total):
        raise RuntimeError("callback failed")

    with Callback(progress=boom):
        with pytest.raises(RuntimeError, match="callback failed"):
            delayed(sum)([delayed(inc)(i) for i in range(10)]).compute()


def test_registered_callback_sees_every_compute():
    calls = []
    cb = Callback(start=lambda dsk: calls.append(1))
    cb.register()
    try:
        delayed(inc)(1).compute()
        delayed(inc)(2).compute()
    finally:
        cb.unregister()
    delayed(inc)(3).compute()
    assert calls == [1, 1]


def test_progress_bar_writes_a_bar(scheduler):
    out = io.StringIO()
    with ProgressBar(out=out) as pbar:
        xs = [delayed(inc)(i) for i in range(200)]
        assert delayed(sum)(xs).compute() == sum(range(1, 201))
    text = out.getvalue()
    assert "100%" in text and "201/201" in text
    assert pbar.last_duration is not None and pbar.last_duration >= 0


def test_progress_bar_minimum_hides_short_runs():
    out = io.StringIO()
    with ProgressBar(minimum=10.0, out=out):
        delayed(inc)(1).compute()
    assert out.getvalue() == ""


def test_progress_bar_closes_on_error():
    out = io.StringIO()
    with ProgressBar(out=out):
        with pytest.raises(ValueError):
            delayed(int)("not a number").compute()
    delayed(inc)(1).compute()


def test_visualize_writes_dot_text_without_graphviz(tmp_path):
    x = delayed(inc)(1, dask_key_name="x")
    y = delayed(sum)([x, 2], dask_key_name="y")
    path = cairn.visualize(y, filename=str(tmp_path / "g"), format="dot")
    with open(path) as f:
        text = f.read()
    assert text.startswith("digraph")
    assert '"x"' in text and '"y"' in text and '"inc"' in text and '"sum"' in text


@pytest.mark.skipif(shutil.which("dot") is None, reason="graphviz not installed")
@pytest.mark.parametrize("fmt", ["svg", "png"])
def test_visualize_renders_with_graphviz(tmp_path, fmt):
    x = delayed(inc)(1)
    target = tmp_path / f"graph.{fmt}"
    x.visualize(filename=str(target))
    data = target.read_bytes()
    assert data.startswith(b"<?xml" if fmt == "svg" else b"\x89PNG")


def test_visualize_without_graphviz_says_how_to_install(tmp_path, monkeypatch):
    monkeypatch.setenv("PATH", str(tmp_path))
    with pytest.raises(RuntimeError, match="apt-get install graphviz"):
        delayed(inc)(1).visualize(filename=str(tmp_path / "g.png"))
    assert not os.path.exists(tmp_path / "g.png")


def test_visualize_rejects_unknown_format(tmp_path):
    with pytest.raises(ValueError, match="format"):
        delayed(inc)(1).visualize(filename=str(tmp_path / "g.bmpx"))
