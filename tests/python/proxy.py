"""A loopback TCP proxy the fault tests put in front of every node, so a nemesis can cut,
delay and one-way-drop links without touching the processes.

Each `Proxy` listens on its own ephemeral port and forwards to one target port. Its mode
applies to every connection through it, existing and new:
- `up`: bytes pass;
- `down`: connections are closed and new ones refused (closed at once);
- `delay`: every chunk waits `delay_s` before being passed on;
- `drop_in` / `drop_out`: bytes toward the node (in) or from it (out) are discarded, the
  other direction passes (a one-way partition).
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
        assert mode in ("up", "down", "delay", "drop_in", "drop_out"), mode
        with self._lock:
            self.mode, self.delay_s = mode, delay_s
            conns = list(self._conns) if mode == "down" else []
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
