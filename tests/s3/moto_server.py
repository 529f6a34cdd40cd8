"""A moto S3 server on 127.0.0.1 for the tests, with real credential checks.

Prints one JSON line (port, key, secret), then obeys lines on stdin: ``stop`` shuts the
HTTP server down (the stored buckets stay in this process, as a real server keeps its disk)
and ``start`` serves them again on the same port. Exits when stdin closes.
"""

from __future__ import annotations

import json
import socket
import sys

import logging

import boto3
from moto import settings
from moto.core.authorization import ActionAuthenticatorMixin
from moto.server import ThreadedMotoServer

logging.getLogger("werkzeug").setLevel(logging.ERROR)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def enforce_credentials(endpoint: str) -> tuple[str, str]:
    """Creates an IAM user allowed to use S3, then makes moto check every request's
    signature against IAM (until now it accepted anything)."""
    iam = boto3.client("iam", endpoint_url=endpoint, region_name="us-east-1",
                       aws_access_key_id="setup", aws_secret_access_key="setup")
    iam.create_user(UserName="cairn-test")
    iam.put_user_policy(UserName="cairn-test", PolicyName="s3", PolicyDocument=json.dumps({
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Action": "s3:*", "Resource": "*"}]}))
    made = iam.create_access_key(UserName="cairn-test")["AccessKey"]
    settings.INITIAL_NO_AUTH_ACTION_COUNT = 0
    ActionAuthenticatorMixin.request_count = 0
    return made["AccessKeyId"], made["SecretAccessKey"]


def main() -> None:
    port = free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    key, secret = enforce_credentials(f"http://127.0.0.1:{port}")
    print(json.dumps({"port": port, "key": key, "secret": secret}), flush=True)
    for line in sys.stdin:
        command = line.strip()
        if command == "stop":
            server.stop()
        elif command == "start":
            server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
            server.start()
        print(command, flush=True)
    server.stop()


if __name__ == "__main__":
    main()
