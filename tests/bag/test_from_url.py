"""``cairn.bag.from_url`` (Dask's ``dask.bag.from_url``) was missing. Read here from an HTTP
server on 127.0.0.1 that the test starts."""

import functools
import http.server
import threading
import urllib.error

import pytest

import cairn.bag as cb


@pytest.fixture
def served(tmp_path):
    (tmp_path / "a.txt").write_bytes(b"one\ntwo\n")
    (tmp_path / "b.txt").write_bytes(b"three")
    handler = functools.partial(_QuietHandler, directory=str(tmp_path))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass


def test_from_url_gives_each_url_lines_as_bytes(served):
    b = cb.from_url([f"{served}/a.txt", f"{served}/b.txt"])
    assert b.npartitions == 2
    assert b.compute() == [b"one\n", b"two\n", b"three"]
    assert cb.from_url(f"{served}/a.txt").count().compute() == 2


def test_from_url_missing_page_names_the_url(served):
    url = f"{served}/no-such-page.txt"
    with pytest.raises(urllib.error.HTTPError) as excinfo:
        cb.from_url(url).compute(scheduler="sync")
    assert any(url in note for note in excinfo.value.__notes__)


def test_from_url_of_no_urls_is_refused():
    with pytest.raises(ValueError, match="empty list of URLs"):
        cb.from_url([])
