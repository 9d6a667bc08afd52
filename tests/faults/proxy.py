"""A TCP proxy on 127.0.0.1 whose faults a test switches on and off: the object store goes down
(every connection reset, new ones too), stalls (bytes held until resumed) or is slow (each chunk
delayed). The application talks to the real S3 server through it, so every fault is a real
network fault seen by botocore, not a mocked exception."""
from __future__ import annotations

import socket
import struct
import threading
import time
from typing import Optional

CHUNK = 64 * 1024


class FaultProxy:
    """Forwards every connection to `upstream`; `down`, `pause`/`resume` and `delay` inject faults.

    `uploaded` counts the bytes forwarded from clients to the upstream, so a test can wait until a
    request is part-way through (see `wait_uploaded`)."""

    def __init__(self, upstream: tuple[str, int]) -> None:
        self.upstream = upstream
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.port = int(self._listener.getsockname()[1])
        self.url = f"http://127.0.0.1:{self.port}"
        self.delay = 0.0  # seconds each forwarded chunk waits: a slow store
        self._flowing = threading.Event()
        self._flowing.set()
        self._down = False
        self._closed = False
        self._lock = threading.Condition()
        self._sockets: set[socket.socket] = set()
        self.uploaded = 0
        self.downloaded = 0
        # Close the connection (FIN, as a store process that dies does) once this many more bytes
        # came back from the store: everything before that point is delivered, nothing after.
        self.drop_after_download: Optional[int] = None
        self.connections = 0
        self.held = 0  # chunks waiting while paused
        self._thread = threading.Thread(target=self._accept, name="fault-proxy", daemon=True)
        self._thread.start()

    # --- faults ---------------------------------------------------------------------------------

    def cut(self) -> None:
        """The store goes down: reset every open connection and every new one until `restore`."""
        with self._lock:
            self._down = True
            sockets = list(self._sockets)
        for sock in sockets:
            _reset(sock)
        self._flowing.set()  # held chunks are dropped, not delivered

    def restore(self) -> None:
        with self._lock:
            self._down = False

    def pause(self) -> None:
        """Hold every byte in both directions (a stalled store) until `resume`."""
        self._flowing.clear()

    def resume(self) -> None:
        self._flowing.set()

    def wait_uploaded(self, at_least: int, timeout: float = 30.0) -> None:
        """Block until `at_least` bytes went from clients to the store (or fail the test)."""
        deadline = time.monotonic() + timeout
        with self._lock:
            while self.uploaded < at_least:
                left = deadline - time.monotonic()
                if left <= 0:
                    raise AssertionError(f"only {self.uploaded} of {at_least} bytes reached the store")
                self._lock.wait(left)

    def wait_held(self, timeout: float = 30.0) -> None:
        """Block until a paused proxy holds a chunk: a request is waiting on the store."""
        deadline = time.monotonic() + timeout
        with self._lock:
            while not self.held:
                left = deadline - time.monotonic()
                if left <= 0:
                    raise AssertionError("no request reached the paused store")
                self._lock.wait(left)

    def close(self) -> None:
        self._closed = True
        self.cut()
        try:
            self._listener.shutdown(socket.SHUT_RDWR)  # wakes the accepting thread
        except OSError:
            pass
        self._listener.close()
        self._thread.join(timeout=5)

    # --- forwarding -----------------------------------------------------------------------------

    def _accept(self) -> None:
        while not self._closed:
            try:
                client, _address = self._listener.accept()
            except OSError:
                return
            with self._lock:
                self.connections += 1
                if self._down:
                    _reset(client)
                    continue
            try:
                server = socket.create_connection(self.upstream, timeout=5)
            except OSError:
                _reset(client)
                continue
            server.settimeout(None)
            with self._lock:
                self._sockets.update((client, server))
            for source, target, upward in ((client, server, True), (server, client, False)):
                threading.Thread(target=self._pump, args=(source, target, upward), daemon=True).start()

    def _pump(self, source: socket.socket, target: socket.socket, upward: bool) -> None:
        try:
            while data := source.recv(CHUNK):
                if not self._flowing.is_set():
                    with self._lock:
                        self.held += 1
                        self._lock.notify_all()
                self._flowing.wait()
                if self._down:
                    break
                if self.delay:
                    time.sleep(self.delay)
                if not upward and self._download_cut(len(data)):
                    break
                target.sendall(data)
                if upward:
                    with self._lock:
                        self.uploaded += len(data)
                        self._lock.notify_all()
        except OSError:
            pass
        finally:
            for sock in (source, target):
                _reset(sock) if self._down else _shutdown(sock)
            with self._lock:
                self._sockets.difference_update((source, target))


    def _download_cut(self, size: int) -> bool:
        """Count bytes coming back from the store; True when `drop_after_download` is used up."""
        with self._lock:
            self.downloaded += size
            if self.drop_after_download is None:
                return False
            self.drop_after_download -= size
            if self.drop_after_download > 0:
                return False
            self.drop_after_download = None
        return True


def _shutdown(sock: socket.socket) -> None:
    try:
        sock.shutdown(socket.SHUT_RDWR)
    except OSError:
        pass
    sock.close()


def _reset(sock: Optional[socket.socket]) -> None:
    """Close with a TCP reset (SO_LINGER 0), as a crashed server or a dropped route looks."""
    if sock is None:
        return
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        # close() alone does not reach the peer while another thread is blocked in recv() on
        # the socket; shutdown() does, and wakes that thread.
        sock.shutdown(socket.SHUT_RDWR)
    except OSError:
        pass
    sock.close()
