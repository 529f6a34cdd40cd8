"""Where data lives: local paths and ``s3://bucket/key`` URLs.

S3 is configured the AWS way: the standard ``AWS_*`` environment variables
(``AWS_ACCESS_KEY_ID``, ``AWS_SECRET_ACCESS_KEY``, ``AWS_SESSION_TOKEN``, ``AWS_REGION`` /
``AWS_DEFAULT_REGION``, ``AWS_ENDPOINT_URL_S3`` / ``AWS_ENDPOINT_URL``, ``AWS_MAX_ATTEMPTS``:
tries per request, with exponential backoff on 5xx, throttling and timeouts), then the AWS SDK's
default credential chain (profiles, SSO, instance roles) when no key is given, and explicit
``storage_options=`` as in Dask and s3fs (``key``, ``secret``, ``token``, ``endpoint_url``,
``region``, ``client_kwargs``). Both the C++ engine (native reads, store remotes) and the
Python side (listing, writing) reach S3 through Arrow's S3 file system. Secrets never
appear in reprs, tokens, logs or error messages.
"""

from __future__ import annotations

import atexit
import fnmatch
import os
import re
import threading
from dataclasses import dataclass, field
from typing import Any

__all__ = ["S3Options", "is_s3", "split_s3", "glob", "info", "open_input", "write_object",
           "delete_object", "S3Error"]

_ALIASES = {"key": "key", "aws_access_key_id": "key", "access_key": "key",
            "secret": "secret", "aws_secret_access_key": "secret", "secret_key": "secret",
            "token": "token", "aws_session_token": "token", "session_token": "token",
            "endpoint_url": "endpoint_url", "endpoint_override": "endpoint_url",
            "region": "region", "region_name": "region", "max_attempts": "max_attempts"}


class S3Error(OSError):
    """An S3 request failed: says what was asked of which URL and what to do."""


def is_s3(path: Any) -> bool:
    return isinstance(path, str) and path.startswith("s3://")


def split_s3(url: str) -> tuple[str, str]:
    """``"s3://bucket/a/b"`` -> ``("bucket", "a/b")``; errors name the URL (never a
    credential pasted into it)."""
    rest = url[len("s3://"):]
    bucket, _, key = rest.partition("/")
    if not bucket or not re.fullmatch(r"[a-z0-9][a-z0-9.\-_]{1,254}", bucket):
        leak = credentials_in_url(url)
        if leak:
            raise ValueError(f"{redact_url(url)!r}: {leak}; {CREDENTIALS_GO}")
        raise ValueError(f"{url!r} is not an S3 URL of the form s3://bucket/key "
                         "(bucket names are lower-case letters, digits, '.', '-')")
    return bucket, key


CREDENTIALS_GO = ("credentials never go into a URL: set AWS_ACCESS_KEY_ID and "
                  "AWS_SECRET_ACCESS_KEY (and AWS_SESSION_TOKEN) in the environment, or "
                  "AWS_PROFILE with a profile in ~/.aws/credentials (docs/s3.md)")

# Query parameters of presigned URLs and of tools that take keys in URLs.
_SECRET_PARAMS = re.compile(
    r"[?&;](x-amz-(credential|signature|security-token)|awsaccesskeyid|signature|"
    r"access[_-]?key([_-]?id)?|secret([_-]?(access[_-]?)?key)?|(session[_-]?)?token|"
    r"password)=", re.IGNORECASE)
# An AWS access key id (AKIA... long-term, ASIA... temporary) anywhere in the text.
_ACCESS_KEY_ID = re.compile(r"(?<![A-Z0-9])(AKIA|ASIA|AROA|AIDA)[A-Z0-9]{16}(?![A-Z0-9])")


def credentials_in_url(url: str) -> str | None:
    """What in ``url`` looks like a credential (user:secret@ before the host, a presigned
    URL's X-Amz-Credential=, an AWS access key id), or None. Says where, never what."""
    scheme, sep, rest = url.partition("://")
    authority = (rest if sep else "").split("/", 1)[0]
    if "@" in authority:
        return "it holds credentials before '@' (user:secret@host)"
    if _SECRET_PARAMS.search(url):
        return "it holds credentials in its query string (a presigned URL or key=...)"
    if _ACCESS_KEY_ID.search(url):
        return "it holds an AWS access key id"
    return None


def redact_url(url: str) -> str:
    """``url`` with anything that looks like a credential replaced by ``***``."""
    scheme, sep, rest = url.partition("://")
    if sep:
        authority, slash, path = rest.partition("/")
        if "@" in authority:
            authority = "***@" + authority.rsplit("@", 1)[1]
        rest = authority + slash + path
    url = scheme + sep + rest
    url = re.sub(_SECRET_PARAMS.pattern + r"[^&;#]*", lambda m: m.group(0).split("=")[0] + "=***",
                 url, flags=re.IGNORECASE)
    return _ACCESS_KEY_ID.sub("***", url)


@dataclass(frozen=True)
class S3Options:
    """How to reach S3: credentials, region and endpoint, after the environment and
    ``storage_options`` are merged (see :meth:`resolve`). The repr hides the secrets.

    Examples
    --------
    >>> from cairn.filesystems import S3Options
    >>> S3Options(key="AKIAEXAMPLE", secret="hunter2", endpoint_url="http://127.0.0.1:9000")
    S3Options(key='AKIAEXAMPLE', secret=***, endpoint_url='http://127.0.0.1:9000')
    """

    key: str = ""
    secret: str = field(default="", repr=False)
    token: str = field(default="", repr=False)
    region: str = ""
    endpoint_url: str = ""
    max_attempts: int = 6

    def __repr__(self) -> str:
        shown = [f"key={self.key!r}"] if self.key else []
        shown += ["secret=***"] if self.secret else []
        shown += ["token=***"] if self.token else []
        shown += [f"region={self.region!r}"] if self.region else []
        shown += [f"endpoint_url={self.endpoint_url!r}"] if self.endpoint_url else []
        return f"S3Options({', '.join(shown)})"

    def __cairn_tokenize__(self) -> tuple:
        return ("S3Options", self.key, self.region, self.endpoint_url)

    @classmethod
    def resolve(cls, storage_options: dict | None = None) -> "S3Options":
        """Options from ``storage_options`` (Dask/s3fs names), falling back on ``AWS_*``
        environment variables. Unknown option names raise ``TypeError`` naming them."""
        given: dict[str, Any] = {}
        for name, value in (storage_options or {}).items():
            if name == "client_kwargs":
                for sub, v in (value or {}).items():
                    if sub not in ("endpoint_url", "region_name"):
                        raise TypeError(f"storage_options: client_kwargs[{sub!r}] is not "
                                        "supported (use endpoint_url or region_name)")
                    given[_ALIASES[sub]] = v
            elif name == "anon":
                if value:
                    raise TypeError("storage_options: anon=True (unsigned requests) is not "
                                    "supported; give credentials")
            elif name in _ALIASES:
                given[_ALIASES[name]] = value
            else:
                raise TypeError(f"storage_options: unknown option {name!r}; use key, secret, "
                                "token, endpoint_url, region or client_kwargs")
        env = os.environ

        def pick(name: str, *variables: str) -> str:
            if given.get(name) is not None:
                return str(given[name])
            for v in variables:
                if env.get(v):
                    return env[v]
            return ""

        key = pick("key", "AWS_ACCESS_KEY_ID")
        secret = pick("secret", "AWS_SECRET_ACCESS_KEY")
        if bool(key) != bool(secret):
            missing = "secret (AWS_SECRET_ACCESS_KEY)" if key else "key (AWS_ACCESS_KEY_ID)"
            raise ValueError(f"S3 credentials are incomplete: the {missing} is missing")
        # A session token from the environment belongs to the environment's key only.
        token = (str(given["token"]) if given.get("token") else
                 env.get("AWS_SESSION_TOKEN", "") if "key" not in given else "")
        endpoint = pick("endpoint_url", "AWS_ENDPOINT_URL_S3", "AWS_ENDPOINT_URL")
        leak = credentials_in_url(endpoint) if endpoint else None
        if leak:
            raise ValueError(f"S3 endpoint_url {redact_url(endpoint)!r}: {leak}; {CREDENTIALS_GO}")
        if endpoint and not re.match(r"https?://[^/]+", endpoint):
            raise ValueError(f"S3 endpoint_url {endpoint!r} must look like "
                             "http://host:port or https://host")
        region = pick("region", "AWS_REGION", "AWS_DEFAULT_REGION")
        if endpoint and not region:
            region = "us-east-1"  # as boto3 does for S3-compatible servers (no region lookup)
        return cls(key=key, secret=secret, token=token, region=region,
                   endpoint_url=endpoint.rstrip("/"),
                   max_attempts=_attempts(given.get("max_attempts") or env.get("AWS_MAX_ATTEMPTS")))

    def core_spec(self) -> tuple:
        """The tuple the C++ engine takes (``cairn._core``)."""
        _register_shutdown()
        return (self.key, self.secret, self.token, self.region, self.endpoint_url,
                self.max_attempts)

    def filesystem(self) -> Any:
        """The pyarrow ``S3FileSystem`` for these options (one per process)."""
        with _lock:
            fs = _pyarrow_filesystems.get(self)
            if fs is None:
                from pyarrow import fs as pafs

                _register_shutdown()
                kwargs: dict[str, Any] = {}
                if self.key:
                    kwargs.update(access_key=self.key, secret_key=self.secret,
                                  session_token=self.token or None)
                if self.endpoint_url:
                    scheme, _, host = self.endpoint_url.partition("://")
                    kwargs.update(scheme=scheme, endpoint_override=host)
                fs = pafs.S3FileSystem(
                    region=self.region or None, connect_timeout=5,
                    retry_strategy=pafs.AwsDefaultS3RetryStrategy(self.max_attempts), **kwargs)
                _pyarrow_filesystems[self] = fs
            return fs


def _attempts(value: Any) -> int:
    """Tries per S3 request (``max_attempts`` / ``AWS_MAX_ATTEMPTS``); 6 by default."""
    if value is None or value == "":
        return 6
    try:
        n = int(value)
    except ValueError:
        n = 0
    if n < 1:
        raise ValueError(f"max_attempts / AWS_MAX_ATTEMPTS must be a whole number >= 1, "
                         f"got {value!r}")
    return n


_lock = threading.Lock()
_pyarrow_filesystems: dict[S3Options, Any] = {}
_shutdown_registered = False


def _register_shutdown() -> None:
    """Arrow's S3 support must be finalised before exit, after the last use: registered
    after pyarrow.fs's own finaliser, so it runs first (atexit is last-in, first-out)."""
    global _shutdown_registered
    if _shutdown_registered:
        return
    _shutdown_registered = True
    import pyarrow.fs  # noqa: F401 - registers pyarrow's finaliser first

    def shutdown() -> None:
        _pyarrow_filesystems.clear()
        from . import _core

        _core.shutdown_s3()

    atexit.register(shutdown)


# --------------------------------------------------------------------------- errors


def explain(error: BaseException, url: str, doing: str) -> BaseException:
    """A clear error for a failed S3 request on ``url``: what failed and what to do."""
    text = str(error)
    bucket = split_s3(url)[0] if is_s3(url) else ""
    if isinstance(error, FileNotFoundError) or "NoSuchKey" in text or "Path does not exist" in text:
        return FileNotFoundError(f"no such S3 object: {url!r} (check the key; list the bucket "
                                 "to see what is there)")
    if "NoSuchBucket" in text or "NO_SUCH_BUCKET" in text or "Bucket does not exist" in text:
        return FileNotFoundError(f"S3 bucket {bucket!r} does not exist ({doing} {url!r}); "
                                 "create it first or check the name")
    if any(s in text for s in ("ACCESS_DENIED", "AccessDenied", "InvalidAccessKeyId",
                               "SignatureDoesNotMatch", "INVALID_ACCESS_KEY", "Forbidden",
                               "SIGNATURE_DOES_NOT_MATCH", "HTTP status 403")):
        return PermissionError(f"S3 refused the credentials ({doing} {url!r}): check "
                               "AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY or the key and "
                               "secret in storage_options")
    if "MissingContentLength" in text or "HTTP status 411" in text:
        return S3Error(f"the S3 server refused a checksummed upload ({doing} {url!r}); it does "
                       "not support AWS's newer upload checksums: set the environment variable "
                       "AWS_REQUEST_CHECKSUM_CALCULATION=when_required and retry")
    if any(s in text for s in ("NETWORK_CONNECTION", "Couldn't connect", "Connection refused",
                               "curlCode", "Timeout")):
        return S3Error(f"cannot reach S3 ({doing} {url!r}): {_first_line(text)}; check "
                       "endpoint_url / AWS_ENDPOINT_URL and that the server is up, then retry")
    return S3Error(f"S3 request failed ({doing} {url!r}): {_first_line(text)}")


_TRANSIENT = ("HTTP status 5", "SLOW_DOWN", "SlowDown", "SERVICE_UNAVAILABLE", "THROTTLING",
              "INTERNAL_FAILURE", "NETWORK_CONNECTION", "REQUEST_TIMEOUT", "UNKNOWN (HTTP status 5")


def retrying(call: Any, options: S3Options) -> Any:
    """``call()``, tried up to ``options.max_attempts`` times while S3 answers with what a
    busy or restarting server says (5xx, throttling, network errors), backing off
    exponentially with jitter, as the C++ side does. pyarrow's own retry strategies let
    a 503 to a HEAD request through (it has no body, so the AWS SDK cannot classify it)."""
    import random
    import time

    for attempt in range(options.max_attempts):
        try:
            return call()
        except OSError as e:
            if attempt + 1 >= options.max_attempts or isinstance(e, FileNotFoundError) or not any(
                    s in str(e) for s in _TRANSIENT):
                raise
            cap = min(5.0, 0.05 * 2 ** attempt)
            time.sleep(cap / 2 + random.random() * cap / 2)


def _request(call: Any, options: S3Options, url: str, doing: str) -> Any:
    """``call()`` through :func:`retrying`; a failure becomes :func:`explain`'s error."""
    try:
        return retrying(call, options)
    except OSError as e:
        raise explain(e, url, doing) from None


def _first_line(text: str) -> str:
    return text.strip().splitlines()[0] if text.strip() else "no details"


# --------------------------------------------------------------------------- listing


def _glob_regex(pattern: str) -> re.Pattern:
    """Glob -> regex over keys: ``*`` and ``?`` stay within one path segment, ``**`` crosses
    segments (as in ``glob.glob(recursive=True)``)."""
    out, i = [], 0
    while i < len(pattern):
        if pattern.startswith("**/", i):
            out.append("(?:.*/)?")
            i += 3
        elif pattern.startswith("**", i):
            out.append(".*")
            i += 2
        elif pattern[i] == "*":
            out.append("[^/]*")
            i += 1
        elif pattern[i] == "?":
            out.append("[^/]")
            i += 1
        elif pattern[i] == "[":
            j = pattern.find("]", i + 1)
            if j < 0:
                out.append(re.escape("["))
                i += 1
            else:
                out.append(fnmatch.translate(pattern[i:j + 1])[4:-3])
                i = j + 1
        else:
            out.append(re.escape(pattern[i]))
            i += 1
    return re.compile("".join(out) + r"\Z")


def glob(url: str, options: S3Options) -> dict[str, tuple[int, float]]:
    """The objects matching an ``s3://`` glob, sorted by URL: ``{url: (size, mtime)}``."""
    from pyarrow import fs as pafs

    bucket, key = split_s3(url)
    magic = re.search(r"[*?\[]", key)
    prefix = key[:magic.start()] if magic else key
    base = prefix.rsplit("/", 1)[0] if "/" in prefix else ""
    recursive = "**" in key or "/" in key[len(base) + 1 if base else 0:]
    selector = pafs.FileSelector(f"{bucket}/{base}".rstrip("/"), recursive=recursive,
                                 allow_not_found=True)
    infos = _request(lambda: options.filesystem().get_file_info(selector), options, url,
                     "listing")
    match = _glob_regex(key)
    found = {f"s3://{i.path}": (int(i.size), i.mtime.timestamp() if i.mtime else 0.0)
             for i in infos
             if i.type == pafs.FileType.File and match.match(i.path[len(bucket) + 1:])}
    return dict(sorted(found.items()))


def info(url: str, options: S3Options) -> tuple[int, float]:
    """``(size, mtime)`` of an S3 object; FileNotFoundError naming it if missing."""
    from pyarrow import fs as pafs

    bucket, key = split_s3(url)
    found = _request(lambda: options.filesystem().get_file_info(f"{bucket}/{key}"), options,
                     url, "looking up")
    if found.type == pafs.FileType.NotFound:
        raise _missing(url, options)
    if found.type == pafs.FileType.Directory:
        raise IsADirectoryError(f"{url!r} is a prefix (a folder), not an object; pass a glob "
                                f"such as {url.rstrip('/') + '/*'!r}")
    return int(found.size), found.mtime.timestamp() if found.mtime else 0.0


def info_bucket(url: str, options: S3Options) -> None:
    """Raises FileNotFoundError naming the bucket of ``url`` if it does not exist."""
    from pyarrow import fs as pafs

    bucket = split_s3(url)[0]
    kind = _request(lambda: options.filesystem().get_file_info(bucket), options, url,
                    "looking up the bucket of").type
    if kind == pafs.FileType.NotFound:
        raise FileNotFoundError(f"S3 bucket {bucket!r} does not exist ({url!r})")


def _missing(url: str, options: S3Options) -> FileNotFoundError:
    from pyarrow import fs as pafs

    bucket = split_s3(url)[0]
    try:
        kind = retrying(lambda: options.filesystem().get_file_info(bucket), options).type
    except OSError:
        kind = None
    if kind == pafs.FileType.NotFound:
        return FileNotFoundError(f"S3 bucket {bucket!r} does not exist (reading {url!r}); "
                                 "create it first or check the name")
    return FileNotFoundError(f"no such S3 object: {url!r}")


def open_input(url: str, options: S3Options) -> Any:
    """A seekable binary file (pyarrow NativeFile) reading the object at ``url``."""
    bucket, key = split_s3(url)
    try:
        return retrying(lambda: options.filesystem().open_input_file(f"{bucket}/{key}"), options)
    except FileNotFoundError:
        raise _missing(url, options) from None
    except OSError as e:
        raise explain(e, url, "reading") from None


def write_object(url: str, data: bytes, options: S3Options) -> None:
    """Writes ``data`` as the object at ``url``: it appears complete or not at all (one PUT,
    or a multipart upload that S3 assembles only when all parts arrived)."""
    bucket, key = split_s3(url)
    if not key or key.endswith("/"):
        raise ValueError(f"{url!r} names no object key")

    def put() -> None:
        with options.filesystem().open_output_stream(f"{bucket}/{key}", compression=None) as out:
            out.write(data)

    _request(put, options, url, "writing")


def delete_object(url: str, options: S3Options) -> None:
    """Deletes the object at ``url`` (gone already is fine)."""
    bucket, key = split_s3(url)
    try:
        retrying(lambda: options.filesystem().delete_file(f"{bucket}/{key}"), options)
    except FileNotFoundError:
        pass
    except OSError as e:
        raise explain(e, url, "deleting") from None
