"""The fault proxy itself: each action does what it says, seen through plain boto3."""

from __future__ import annotations

import hashlib
import http.client
import time
from typing import Any
from urllib.parse import urlsplit

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import (
    ClientError,
    ConnectionClosedError,
    IncompleteReadError,
    ResponseStreamingError,
)

from tests.conftest import S3Server
from tests.faultproxy import FaultProxy, flip

DATA = bytes(range(256)) * 64


def client(endpoint: FaultProxy | str, attempts: int = 3, **config: Any) -> Any:
    """A boto3 client making at most ``attempts`` requests per call (the first included)."""
    options: dict[str, Any] = {"connect_timeout": 2, "read_timeout": 5, **config}
    return boto3.client(
        "s3", endpoint_url=endpoint if isinstance(endpoint, str) else endpoint.url,
        region_name="us-east-1",
        config=Config(retries={"mode": "standard", "total_max_attempts": attempts}, **options),
    )


def bucket_name(url: str) -> str:
    return url[len("s3://"):]


def statuses(proxy: FaultProxy, method: str) -> list[int | None]:
    return [e.status for e in proxy.requests(method)]


@pytest.mark.parametrize("action,code", [("500", "InternalError"), ("503", "SlowDown"),
                                         ("429", "Throttling")])
def test_error_actions_are_retried_by_boto3(proxy: FaultProxy, proxied_bucket: str, direct: Any,
                                            action: str, code: str) -> None:
    name = bucket_name(proxied_bucket)
    proxy.add(action, method="PUT", path="/k$")
    client(proxy).put_object(Bucket=name, Key="k", Body=b"v")
    assert statuses(proxy, "PUT") == [int(action), 200]
    assert direct.get_object(Bucket=name, Key="k")["Body"].read() == b"v"


def test_persistent_errors_give_up_after_max_attempts(proxy: FaultProxy,
                                                      proxied_bucket: str) -> None:
    proxy.add("500", method="GET", times=None)
    with pytest.raises(ClientError) as caught:
        client(proxy, attempts=2).get_object(Bucket=bucket_name(proxied_bucket), Key="k")
    assert caught.value.response["Error"]["Code"] == "InternalError"
    assert statuses(proxy, "GET") == [500, 500]


def test_reset_before_never_reaches_the_server(proxy: FaultProxy, proxied_bucket: str,
                                               direct: Any) -> None:
    name = bucket_name(proxied_bucket)
    proxy.add("reset_before", method="PUT", times=None)
    with pytest.raises(ConnectionClosedError):
        client(proxy, attempts=1).put_object(Bucket=name, Key="k", Body=b"v")
    assert statuses(proxy, "PUT") == [None]
    assert "Contents" not in direct.list_objects_v2(Bucket=name)


def test_reset_after_applies_the_request(proxy: FaultProxy, proxied_bucket: str,
                                         direct: Any) -> None:
    name = bucket_name(proxied_bucket)
    proxy.add("reset_after", method="PUT")
    with pytest.raises(ClientError) as caught:  # the retry of a create-only PUT finds our write
        client(proxy).put_object(Bucket=name, Key="k", Body=b"v", IfNoneMatch="*")
    assert caught.value.response["Error"]["Code"] == "PreconditionFailed"
    assert statuses(proxy, "PUT") == [None, 412]
    assert direct.get_object(Bucket=name, Key="k")["Body"].read() == b"v"


def test_delay_holds_the_request(proxy: FaultProxy, proxied_bucket: str, direct: Any) -> None:
    name = bucket_name(proxied_bucket)
    direct.put_object(Bucket=name, Key="k", Body=b"v")
    proxy.add("delay", method="GET", seconds=0.4)
    start = time.monotonic()
    assert client(proxy).get_object(Bucket=name, Key="k")["Body"].read() == b"v"
    assert time.monotonic() - start >= 0.4


def test_delay_past_the_read_timeout_is_retried(proxy: FaultProxy, proxied_bucket: str,
                                                direct: Any) -> None:
    name = bucket_name(proxied_bucket)
    direct.put_object(Bucket=name, Key="k", Body=b"v")
    proxy.add("delay", method="GET", seconds=1.5)
    fast = client(proxy, read_timeout=0.5)
    start = time.monotonic()
    assert fast.get_object(Bucket=name, Key="k")["Body"].read() == b"v"
    assert time.monotonic() - start < 1.5  # the second attempt did not wait for the first
    answered = proxy.requests("GET")[0].request.headers["amz-sdk-request"]
    assert answered.startswith("attempt=2")


def test_truncate_cuts_the_body_which_boto3_does_not_retry(proxy: FaultProxy,
                                                           proxied_bucket: str,
                                                           direct: Any) -> None:
    name = bucket_name(proxied_bucket)
    direct.put_object(Bucket=name, Key="k", Body=DATA)
    proxy.add("truncate", method="GET")
    response = client(proxy).get_object(Bucket=name, Key="k")
    with pytest.raises(ResponseStreamingError):
        response["Body"].read()
    assert len(proxy.requests("GET")) == 1


def test_cut_delivers_exactly_half_the_body_then_ends(proxy: FaultProxy, proxied_bucket: str,
                                                      direct: Any) -> None:
    name = bucket_name(proxied_bucket)
    direct.put_object(Bucket=name, Key="k", Body=DATA)
    proxy.add("cut", method="GET")
    body = client(proxy).get_object(Bucket=name, Key="k")["Body"]
    received = b""
    with pytest.raises(IncompleteReadError):  # botocore's Content-Length check
        for chunk in body.iter_chunks(1024):
            received += chunk
    assert received == DATA[: len(DATA) // 2]
    ranged = client(proxy).get_object(Bucket=name, Key="k", Range=f"bytes={len(received)}-")
    assert received + ranged["Body"].read() == DATA


def test_strip_conditions_lets_a_second_create_only_write_through(proxy: FaultProxy,
                                                                  proxied_bucket: str,
                                                                  direct: Any) -> None:
    name = bucket_name(proxied_bucket)
    s3 = client(proxy)
    s3.put_object(Bucket=name, Key="k", Body=b"first", IfNoneMatch="*")
    with pytest.raises(ClientError):
        s3.put_object(Bucket=name, Key="k", Body=b"second", IfNoneMatch="*")
    proxy.add("strip_conditions", times=None)
    s3.put_object(Bucket=name, Key="k", Body=b"third", IfNoneMatch="*")
    s3.put_object(Bucket=name, Key="k", Body=b"fourth", IfMatch='"not-the-etag"')
    assert direct.get_object(Bucket=name, Key="k")["Body"].read() == b"fourth"
    assert statuses(proxy, "PUT") == [200, 412, 200, 200]
    sent = [e.request.headers for e in proxy.requests("PUT")]
    assert sent[2]["if-none-match"] == "*" and sent[3]["if-match"] == '"not-the-etag"'


def test_bitflip_changes_one_bit_of_the_response(proxy: FaultProxy, proxied_bucket: str,
                                                 direct: Any) -> None:
    name = bucket_name(proxied_bucket)
    direct.put_object(Bucket=name, Key="k", Body=DATA, ChecksumAlgorithm="SHA256")
    proxy.add("bitflip", method="GET")
    lax = client(proxy, response_checksum_validation="when_required")
    body = lax.get_object(Bucket=name, Key="k")["Body"].read()
    assert body == flip(DATA) and body != DATA


def test_bitflip_request_corrupts_what_is_stored(proxy: FaultProxy, proxied_bucket: str,
                                                 moto_server: S3Server) -> None:
    name = bucket_name(proxied_bucket)
    proxy.add("bitflip_request", method="PUT")
    client(proxy).put_object(Bucket=name, Key="k", Body=DATA)
    # moto keeps the corrupted bytes and the client's checksum of the intact ones.
    lax = client(moto_server.endpoint, response_checksum_validation="when_required")
    assert lax.get_object(Bucket=name, Key="k")["Body"].read() == flip(DATA)


def test_strict_mode_rejects_a_corrupted_upload(proxy: FaultProxy, proxied_bucket: str,
                                                direct: Any) -> None:
    name = bucket_name(proxied_bucket)
    proxy.strict = True
    proxy.add("bitflip_request", method="PUT")
    with pytest.raises(ClientError) as caught:
        client(proxy).put_object(Bucket=name, Key="k", Body=DATA, ChecksumAlgorithm="SHA256")
    assert caught.value.response["Error"]["Code"] in ("BadDigest", "XAmzContentSHA256Mismatch")
    assert "Contents" not in direct.list_objects_v2(Bucket=name)
    client(proxy).put_object(Bucket=name, Key="k", Body=DATA, ChecksumAlgorithm="SHA256")
    assert direct.get_object(Bucket=name, Key="k")["Body"].read() == DATA


def test_200_error_on_complete_multipart_upload_is_retried(proxy: FaultProxy,
                                                           proxied_bucket: str,
                                                           direct: Any) -> None:
    name = bucket_name(proxied_bucket)
    s3 = client(proxy)
    upload = s3.create_multipart_upload(Bucket=name, Key="big")["UploadId"]
    part = s3.upload_part(Bucket=name, Key="big", UploadId=upload, PartNumber=1, Body=DATA)
    proxy.add("200_error", method="POST", query="uploadId=")
    s3.complete_multipart_upload(
        Bucket=name, Key="big", UploadId=upload,
        MultipartUpload={"Parts": [{"PartNumber": 1, "ETag": part["ETag"]}]})
    assert statuses(proxy, "POST")[-2:] == [200, 200]
    assert [e.action for e in proxy.requests("POST")][-2:] == ["200_error", None]
    assert direct.get_object(Bucket=name, Key="big")["Body"].read() == DATA


def test_rules_match_on_headers_and_are_consumed(proxy: FaultProxy, proxied_bucket: str) -> None:
    name = bucket_name(proxied_bucket)
    proxy.add("503", method="PUT", headers={"If-None-Match": r"\*"}, times=1)
    s3 = client(proxy)
    s3.put_object(Bucket=name, Key="plain", Body=b"v")
    s3.put_object(Bucket=name, Key="guarded", Body=b"v", IfNoneMatch="*")
    assert statuses(proxy, "PUT") == [200, 503, 200]
    assert proxy.requests("PUT")[1].request.headers["if-none-match"] == "*"


def raw_put(proxy: FaultProxy, path: str, chunks: list[bytes],
            headers: dict[str, str]) -> int:
    """PUT with ``Transfer-Encoding: chunked`` (as streaming uploads send), unsigned."""
    url = urlsplit(proxy.url)
    conn = http.client.HTTPConnection(url.hostname or "", url.port)
    conn.putrequest("PUT", path)
    for name, value in {"Transfer-Encoding": "chunked", **headers}.items():
        conn.putheader(name, value)
    conn.endheaders()
    for chunk in chunks:
        conn.send(b"%x\r\n%s\r\n" % (len(chunk), chunk))
    conn.send(b"0\r\n\r\n")
    status = conn.getresponse().status
    conn.close()
    return status


def test_chunked_request_bodies_are_forwarded_whole(proxy: FaultProxy, proxied_bucket: str,
                                                    direct: Any) -> None:
    name = bucket_name(proxied_bucket)
    assert raw_put(proxy, f"/{name}/k", [DATA[:1000], DATA[1000:]], {}) == 200
    assert direct.get_object(Bucket=name, Key="k")["Body"].read() == DATA
    assert proxy.requests("PUT")[0].request.body == DATA


def aws_chunked(data: bytes, trailer: str) -> bytes:
    return b"%x\r\n%s\r\n0\r\n%s\r\n\r\n" % (len(data), data, trailer.encode())


def test_aws_chunked_payloads_are_checked_and_corrupted_inside(proxy: FaultProxy,
                                                               proxied_bucket: str,
                                                               direct: Any) -> None:
    import base64

    name = bucket_name(proxied_bucket)
    digest = base64.b64encode(hashlib.sha256(DATA).digest()).decode()
    body = aws_chunked(DATA, f"x-amz-checksum-sha256:{digest}")
    headers = {"Content-Encoding": "aws-chunked", "X-Amz-Trailer": "x-amz-checksum-sha256",
               "X-Amz-Decoded-Content-Length": str(len(DATA)),
               "X-Amz-Content-Sha256": "STREAMING-UNSIGNED-PAYLOAD-TRAILER"}
    proxy.strict = True
    proxy.add("bitflip_request", method="PUT")
    assert raw_put(proxy, f"/{name}/k", [body], headers) == 400
    assert raw_put(proxy, f"/{name}/k", [body], headers) == 200
    assert direct.get_object(Bucket=name, Key="k")["Body"].read() == DATA
