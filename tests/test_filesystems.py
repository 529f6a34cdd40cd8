"""cairn.filesystems without a server: how S3 options are resolved, globs, URL checks."""

from __future__ import annotations

import pytest

from cairn import filesystems
from cairn.filesystems import S3Options


@pytest.fixture
def aws_env(monkeypatch):
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_REGION",
                 "AWS_DEFAULT_REGION", "AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_S3",
                 "AWS_MAX_ATTEMPTS"):
        monkeypatch.delenv(name, raising=False)
    return monkeypatch


def test_environment_then_storage_options_win(aws_env):
    aws_env.setenv("AWS_ACCESS_KEY_ID", "env-key")
    aws_env.setenv("AWS_SECRET_ACCESS_KEY", "env-secret")
    aws_env.setenv("AWS_SESSION_TOKEN", "env-token")
    aws_env.setenv("AWS_DEFAULT_REGION", "eu-west-1")
    aws_env.setenv("AWS_ENDPOINT_URL", "http://127.0.0.1:9000/")
    aws_env.setenv("AWS_ENDPOINT_URL_S3", "http://127.0.0.1:9001")
    o = S3Options.resolve()
    assert (o.key, o.secret, o.token, o.region) == ("env-key", "env-secret", "env-token",
                                                    "eu-west-1")
    assert o.endpoint_url == "http://127.0.0.1:9001"  # the S3-specific variable first
    o = S3Options.resolve({"key": "k", "secret": "s",
                           "client_kwargs": {"endpoint_url": "https://s3.example.org",
                                             "region_name": "ap-south-1"}})
    assert (o.key, o.secret, o.region, o.endpoint_url) == ("k", "s", "ap-south-1",
                                                           "https://s3.example.org")
    assert o.token == ""  # the environment's session token belongs to the environment's key
    assert S3Options.resolve({"aws_access_key_id": "a", "aws_secret_access_key": "b"}).key == "a"


def test_defaults_and_bad_options(aws_env):
    o = S3Options.resolve()
    assert (o.key, o.region, o.endpoint_url, o.max_attempts) == ("", "", "", 6)
    assert S3Options.resolve({"endpoint_url": "http://127.0.0.1:1"}).region == "us-east-1"
    aws_env.setenv("AWS_MAX_ATTEMPTS", "2")
    assert S3Options.resolve().max_attempts == 2
    aws_env.setenv("AWS_MAX_ATTEMPTS", "zero")
    with pytest.raises(ValueError, match="AWS_MAX_ATTEMPTS"):
        S3Options.resolve()
    aws_env.delenv("AWS_MAX_ATTEMPTS")
    with pytest.raises(ValueError, match="secret .AWS_SECRET_ACCESS_KEY. is missing"):
        S3Options.resolve({"key": "only-a-key"})
    with pytest.raises(ValueError, match="must look like http://host:port"):
        S3Options.resolve({"endpoint_url": "127.0.0.1:9000"})
    with pytest.raises(TypeError, match="unknown option 'endpoint'"):
        S3Options.resolve({"endpoint": "http://x"})
    with pytest.raises(TypeError, match="anon=True"):
        S3Options.resolve({"anon": True})


def test_secrets_stay_out_of_reprs_and_tokens(aws_env):
    from cairn.tokenize import tokenize

    o = S3Options.resolve({"key": "AKIAID", "secret": "s3cr3t-value", "token": "t0ken-value"})
    assert repr(o) == "S3Options(key='AKIAID', secret=***, token=***)"
    assert "s3cr3t" not in str(o) and "t0ken" not in str(o)
    other = S3Options.resolve({"key": "AKIAID", "secret": "another-secret"})
    assert tokenize(o) == tokenize(other)  # tokens hash the key id, never the secret


def test_s3_urls_and_globs():
    assert filesystems.is_s3("s3://b/k") and not filesystems.is_s3("/tmp/s3://x")
    assert filesystems.split_s3("s3://my-bucket/a/b.txt") == ("my-bucket", "a/b.txt")
    for bad in ("s3://", "s3:///key", "s3://Upper/key"):
        with pytest.raises(ValueError, match="not an S3 URL"):
            filesystems.split_s3(bad)
    match = filesystems._glob_regex("data/*.txt").match
    assert match("data/a.txt") and not match("data/sub/a.txt") and not match("data/a.txt.gz")
    deep = filesystems._glob_regex("data/**/*.txt").match
    assert deep("data/a.txt") and deep("data/x/y/a.txt") and not deep("other/a.txt")
    assert filesystems._glob_regex("p/part-[0-2]?.txt").match("p/part-1x.txt")
    assert not filesystems._glob_regex("p/part-[0-2]?.txt").match("p/part-3x.txt")
