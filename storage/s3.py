"""The S3 backend: any S3-compatible server (MinIO, Ceph RGW, AWS) through boto3.

Rules:
- Client settings follow TECH-NOTES §2: SigV4, path-style addressing by default, standard retries
  (3 attempts), checksums only "when_required" (newer boto3 defaults break MinIO/Ceph), short
  connect timeout so an unreachable store fails fast.
- `put` goes through `upload_fileobj`: one PutObject up to `part_size`, multipart above it. The
  source is read part by part (full parts, even from streams that return short reads, since S3
  refuses non-final parts under 5 MiB) and at most `max_concurrency` parts are held in memory, so
  an upload costs about part_size x (max_concurrency + 1) of RAM. s3transfer aborts a failed
  multipart upload, so a failed put leaves neither an object nor an unfinished upload.
- Streamed uploads (`stream`, the web upload path) declare CRC32 checksums, as boto3's own
  transfers do, with each part's value computed while the body arrives and sent as a plain
  header (S3_UPLOAD_CHECKSUMS=0 turns them off for a store that refuses them): the store verifies
  every part, and the object's checksum is composed from the parts' (moto, with no algorithm
  declared, copies and re-checksums the whole object at completion: 11 s of a 1 GiB upload's
  20 s in the bench).
- Presigned URLs come from a second client bound to the PUBLIC endpoint, because SigV4 signs the
  host; they last at most MAX_URL_EXPIRES and carry the Content-Disposition and a safe type.
- Every botocore/boto3 failure becomes StorageError (ObjectNotFound for a missing key), with a
  Vietnamese message safe to show and the original exception chained.
- HEAD responses have no body, so `exists`/`size` cannot tell a missing bucket from a missing key;
  `check()` (run it at start-up) reports a missing bucket.
- A process killed while it streamed an upload leaves a multipart upload that is never completed
  nor aborted: its parts take space but no object shows. `unfinished` lists such uploads (with
  the time S3 says they began) and `discard_unfinished` aborts one.
"""
from __future__ import annotations

import io
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timezone
from pathlib import Path
from typing import Any, BinaryIO

import boto3
from boto3.exceptions import Boto3Error
from boto3.s3.transfer import TransferConfig
from botocore.config import Config
from botocore.exceptions import (
    BotoCoreError,
    ClientError,
    NoCredentialsError,
    PartialCredentialsError,
)
from urllib3.exceptions import HTTPError as URLLib3Error

from storage.base import (
    MAX_URL_EXPIRES,
    REFUSED,
    UNAVAILABLE,
    ObjectInfo,
    ObjectNotFound,
    Storage,
    StorageError,
    Unfinished,
)
from storage.disposition import content_disposition, inline_allowed, safe_content_type
from storage.keys import check_key, check_prefix, is_valid_key
from storage.streaming import StreamingUpload

MiB = 1024 * 1024
MIN_PART_SIZE = 5 * MiB
ADDRESSING_STYLES = ("path", "virtual", "auto")
_MISSING_CODES = frozenset({"404", "NoSuchKey", "NotFound"})
_BUSY_CODES = frozenset({"SlowDown", "ServiceUnavailable", "InternalError", "RequestTimeout"})


class S3Storage(Storage):
    """Objects in one bucket of an S3-compatible server."""

    def __init__(self, bucket: str, *, endpoint_url: str | None = None, public_endpoint_url: str | None = None,
                 region: str = "us-east-1", addressing_style: str = "path", access_key: str | None = None,
                 secret_key: str | None = None, part_size: int = 16 * MiB, max_concurrency: int = 4,
                 payload_signing: bool = False, upload_checksums: bool = True) -> None:
        if addressing_style not in ADDRESSING_STYLES:
            raise ValueError(f"S3 addressing style must be one of {ADDRESSING_STYLES}, not {addressing_style!r}")
        if part_size < MIN_PART_SIZE or max_concurrency < 1:
            raise ValueError("S3 part size must be at least 5 MiB and concurrency at least 1")
        self.bucket = bucket
        self.endpoint_url = endpoint_url
        self.region = region
        self.upload_checksums = upload_checksums
        # One session for both clients: the second client reuses the loaded service model.
        session = boto3.session.Session(aws_access_key_id=access_key, aws_secret_access_key=secret_key,
                                        region_name=region)
        config = client_config(addressing_style, payload_signing=payload_signing)
        self._client: Any = session.client("s3", endpoint_url=endpoint_url, config=config)
        self._presigner: Any = session.client("s3", endpoint_url=public_endpoint_url or endpoint_url,
                                              config=config)
        self._transfer = TransferConfig(multipart_threshold=part_size, multipart_chunksize=part_size,
                                        max_concurrency=max_concurrency, preferred_transfer_client="classic")
        # s3transfer buffers up to 10 parts by default; hold no more than the uploading threads need.
        self._transfer.max_in_memory_upload_chunks = max_concurrency

    def __repr__(self) -> str:
        return f"S3Storage(bucket={self.bucket!r}, endpoint_url={self.endpoint_url!r})"

    def put(self, key: str, stream: BinaryIO, *, content_type: str = "application/octet-stream") -> int:
        check_key(key)
        source = _FullReads(stream)
        with _translated():
            self._client.upload_fileobj(source, self.bucket, key, Config=self._transfer,
                                        ExtraArgs=self._upload_args(content_type))
        return source.count

    def put_file(self, key: str, path: Path, *, content_type: str = "application/octet-stream") -> int:
        """upload_file opens the file once per part, so parts are read in parallel straight from
        disk and none waits in memory: faster and smaller than put() for a spooled upload."""
        check_key(key)
        size = path.stat().st_size
        with _translated():
            self._client.upload_file(str(path), self.bucket, key, Config=self._transfer,
                                     ExtraArgs=self._upload_args(content_type))
        return size

    @staticmethod
    def _upload_args(content_type: str) -> dict[str, str]:
        # No ChecksumAlgorithm here: s3transfer would have botocore send it in an aws-chunked
        # trailer on HTTPS, the encoding older S3-compatible servers reject (TECH-NOTES §2).
        return {"ContentType": safe_content_type(content_type)}

    def stream(self, key: str, path: Path) -> StreamingUpload:
        """Parts go up while the request body is still arriving (see storage.streaming)."""
        check_key(key)
        return StreamingUpload(self._client, self.bucket, key, path, part_size=self._transfer.multipart_chunksize,
                               max_concurrency=self._transfer.max_request_concurrency, translated=_translated,
                               checksums=self.upload_checksums)

    def open(self, key: str) -> BinaryIO:
        """The object's stream, its first MiB already read: a store that fails before sending any
        bytes fails here, as StorageError, and not inside a streamed response whose status was
        already sent as 200 (which a WSGI server turns into a 500)."""
        check_key(key)
        with _translated(missing_is_not_found=True):
            response = self._client.get_object(Bucket=self.bucket, Key=key)
        reader = io.BufferedReader(_Body(response["Body"]), buffer_size=MiB)
        try:
            reader.peek(1)
        except BaseException:
            reader.close()
            raise
        return reader

    def delete(self, key: str) -> None:
        check_key(key)
        with _translated():
            self._client.delete_object(Bucket=self.bucket, Key=key)

    def exists(self, key: str) -> bool:
        try:
            self.size(key)
        except ObjectNotFound:
            return False
        return True

    def size(self, key: str) -> int:
        check_key(key)
        with _translated(missing_is_not_found=True):
            return int(self._client.head_object(Bucket=self.bucket, Key=key)["ContentLength"])

    def list(self, prefix: str = "") -> Iterator[ObjectInfo]:
        """Objects under `prefix` in key order; objects with keys this package never makes are skipped."""
        check_prefix(prefix)
        pages = self._client.get_paginator("list_objects_v2").paginate(Bucket=self.bucket, Prefix=prefix)
        with _translated():
            for page in pages:
                for item in page.get("Contents", []):
                    if is_valid_key(item["Key"]):
                        yield ObjectInfo(item["Key"], int(item["Size"]), item["LastModified"].astimezone(timezone.utc))

    def unfinished(self) -> Iterator[Unfinished]:
        """Multipart uploads begun and neither completed nor aborted, on keys this package makes."""
        pages = self._client.get_paginator("list_multipart_uploads").paginate(Bucket=self.bucket)
        with _translated():
            for page in pages:
                for upload in page.get("Uploads", []):
                    if is_valid_key(upload["Key"]):
                        started = upload["Initiated"].astimezone(timezone.utc)
                        yield Unfinished(upload["Key"], upload["UploadId"], started)

    def discard_unfinished(self, item: Unfinished) -> None:
        check_key(item.key)
        try:
            with _translated():
                self._client.abort_multipart_upload(Bucket=self.bucket, Key=item.key, UploadId=item.handle)
        except StorageError as error:
            cause = error.__cause__
            if not (isinstance(cause, ClientError) and _code(cause) in ("NoSuchUpload", "404")):
                raise

    def download_url(self, key: str, *, filename: str, content_type: str, inline: bool = False,
                     expires: int = 900) -> str | None:
        """A presigned GET on the public endpoint. Inline is honoured only for previewable types."""
        check_key(key)
        media_type = safe_content_type(content_type)
        params = {
            "Bucket": self.bucket,
            "Key": key,
            "ResponseContentDisposition": content_disposition(filename, inline=inline and inline_allowed(media_type)),
            "ResponseContentType": media_type,
        }
        with _translated():
            return str(self._presigner.generate_presigned_url(
                "get_object", Params=params, ExpiresIn=max(1, min(int(expires), MAX_URL_EXPIRES))))

    def local_path(self, key: str) -> Path | None:
        check_key(key)
        return None

    def check(self) -> None:
        with _translated():
            self._client.head_bucket(Bucket=self.bucket)

    def ensure_bucket(self) -> None:
        """Create the bucket when it does not exist yet (deployment and tests)."""
        try:
            self.check()
            return
        except StorageError as error:
            cause = error.__cause__
            if not (isinstance(cause, ClientError) and _status(cause) == 404):
                raise
        args: dict[str, Any] = {"Bucket": self.bucket}
        if self.region != "us-east-1":
            args["CreateBucketConfiguration"] = {"LocationConstraint": self.region}
        try:
            with _translated():
                self._client.create_bucket(**args)
        except StorageError as error:
            cause = error.__cause__
            if not (isinstance(cause, ClientError) and _code(cause) == "BucketAlreadyOwnedByYou"):
                raise


def client_config(addressing_style: str = "path", *, payload_signing: bool = False) -> Config:
    """The botocore settings every S3-compatible server accepts (TECH-NOTES §2).

    Payload signing is off by default: with checksums "when_required" botocore would otherwise
    read every part twice and SHA-256 it inside the request signature (on plain HTTP, and on HTTPS
    too when no checksum header is sent), which made uploads ~1.6x slower. Integrity is checked
    end to end by the application's own SHA-256 of every file (`check --checksums`); turn it on
    (S3_PAYLOAD_SIGNING=1) for a store reached over an untrusted network without TLS."""
    return Config(signature_version="s3v4",
                  s3={"addressing_style": addressing_style, "payload_signing_enabled": payload_signing},
                  retries={"mode": "standard", "max_attempts": 3},
                  request_checksum_calculation="when_required", response_checksum_validation="when_required",
                  connect_timeout=5, read_timeout=60)


def _code(error: ClientError) -> str:
    return str(error.response.get("Error", {}).get("Code", ""))


def _status(error: ClientError) -> int:
    return int(error.response.get("ResponseMetadata", {}).get("HTTPStatusCode") or 0)


@contextmanager
def _translated(*, missing_is_not_found: bool = False) -> Iterator[None]:
    """Turn boto3/botocore failures into StorageError; other exceptions pass unchanged."""
    try:
        yield
    except ClientError as exc:
        if missing_is_not_found and _code(exc) in _MISSING_CODES:
            raise ObjectNotFound() from exc
        busy = _status(exc) >= 500 or _code(exc) in _BUSY_CODES
        raise StorageError(UNAVAILABLE if busy else REFUSED) from exc
    except (NoCredentialsError, PartialCredentialsError) as exc:
        raise StorageError(REFUSED) from exc
    except (BotoCoreError, Boto3Error) as exc:
        raise StorageError(UNAVAILABLE) from exc


class _FullReads:
    """The caller's stream as s3transfer should see it: not seekable (so each byte is read once and
    the count is exact), every read(n) filled to n bytes unless the stream ends, never closed."""

    def __init__(self, stream: BinaryIO) -> None:
        self._stream = stream
        self.count = 0

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return False

    def read(self, size: int | None = -1) -> bytes:
        # s3transfer calls read() with no size only after a short first read, to slurp "the rest"
        # into one PutObject; filled reads mean that happens only at the end of the stream.
        unbounded = size is None or size < 0
        pieces: list[bytes] = []
        wanted = MiB if size is None or size < 0 else size
        while wanted > 0 and (piece := self._stream.read(wanted)):
            pieces.append(piece)
            if not unbounded:
                wanted -= len(piece)
        data = b"".join(pieces)
        self.count += len(data)
        return data

    def close(self) -> None:
        """The caller owns the stream."""


class _Body(io.RawIOBase):
    """A GetObject body whose network failures surface as StorageError."""

    def __init__(self, body: Any) -> None:
        super().__init__()
        self._body = body

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        try:
            data = self._body.read(len(buffer))
        except (BotoCoreError, URLLib3Error, OSError) as exc:
            raise StorageError(UNAVAILABLE) from exc
        buffer[:len(data)] = data
        return len(data)

    def close(self) -> None:
        if not self.closed:
            self._body.close()
        super().close()
