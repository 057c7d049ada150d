"""A loopback TCP proxy the fault tests put in front of every node, so a nemesis can cut,
delay and one-way-drop links without touching the processes.

Each `Proxy` listens on its own ephemeral port and forwards to one target port. Its mode
applies to every connection through it, existing and new:
- `up`: bytes pass;
- `down`: connections are closed and new ones refused (closed at once);
- `delay`: every chunk waits `delay_s` before being passed on;
- `drop_in` / `drop_out`: bytes toward the node (in) or from it (out) are discarded, the
  other direction passes (a one-way partition);
- `http500` (for an HTTP server such as an object store): connections are closed, and every
  request on a new one is answered `500 Internal Server Error` by the proxy itself.
"""

import socket
import threading
import time

from harness import free_port

CHUNK = 64 * 1024


class Proxy:
    def __init__(self, target_port):
        self.target_port = target_port
        self.port = free_port()
        self.mode = "up"
        self.delay_s = 0.0
        self._lock = threading.Lock()
        self._conns = []
        self._closed = False
        self._listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._listener.bind(("127.0.0.1", self.port))
        self._listener.listen(256)
        threading.Thread(target=self._accept, daemon=True).start()

    @property
    def address(self):
        return f"127.0.0.1:{self.port}"

    def set(self, mode, delay_s=0.0):
        assert mode in ("up", "down", "delay", "drop_in", "drop_out", "http500"), mode
        with self._lock:
            self.mode, self.delay_s = mode, delay_s
            conns = list(self._conns) if mode in ("down", "http500") else []
        for pair in conns:
            _close(*pair)

    def close(self):
        self._closed = True
        self.set("down")
        try:
            self._listener.close()
        except OSError:
            pass

    def _accept(self):
        while not self._closed:
            try:
                client, _ = self._listener.accept()
            except OSError:
                return
            if self.mode == "down":
                _close(client)
                continue
            if self.mode == "http500":
                threading.Thread(target=_answer_500, args=(client,), daemon=True).start()
                continue
            try:
                server = socket.create_connection(("127.0.0.1", self.target_port), timeout=2)
            except OSError:
                _close(client)
                continue
            server.settimeout(None)
            with self._lock:
                self._conns.append((client, server))
            threading.Thread(target=self._pump, args=(client, server, "drop_in"), daemon=True).start()
            threading.Thread(target=self._pump, args=(server, client, "drop_out"), daemon=True).start()

    def _pump(self, src, dst, drop_mode):
        try:
            while True:
                data = src.recv(CHUNK)
                if not data:
                    break
                mode, delay = self.mode, self.delay_s
                if mode == "down":
                    break
                if mode == drop_mode:
                    continue
                if mode == "delay" and delay > 0:
                    time.sleep(delay)
                dst.sendall(data)
        except OSError:
            pass
        finally:
            _close(src, dst)
            with self._lock:
                self._conns = [p for p in self._conns if src not in p]


def _answer_500(client):
    """Reads one HTTP request (headers and a Content-Length body) and answers 500."""
    try:
        client.settimeout(10)
        data = b""
        while b"\r\n\r\n" not in data:
            chunk = client.recv(CHUNK)
            if not chunk:
                return
            data += chunk
        head, body = data.split(b"\r\n\r\n", 1)
        length = 0
        for line in head.split(b"\r\n")[1:]:
            name, _, value = line.partition(b":")
            if name.strip().lower() == b"content-length":
                length = int(value.strip() or 0)
        while len(body) < length:
            chunk = client.recv(CHUNK)
            if not chunk:
                return
            body += chunk
        error = b"<Error><Code>InternalError</Code><Message>injected by the test proxy</Message></Error>"
        client.sendall(b"HTTP/1.1 500 Internal Server Error\r\nContent-Type: application/xml\r\n"
                       b"Connection: close\r\nContent-Length: %d\r\n\r\n%s" % (len(error), error))
    except (OSError, ValueError):
        pass
    finally:
        _close(client)


def _close(*socks):
    for s in socks:
        try:
            s.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        try:
            s.close()
        except OSError:
            pass
