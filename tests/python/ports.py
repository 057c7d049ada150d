"""Listen ports for the servers tests start, with nothing but the standard library, so that
checks outside the client tests (tests/monitoring) use them too."""

import os
import random
import socket

_HANDED_OUT = set()


def _ephemeral_range():
    """The ports the kernel gives outgoing connections (and binds to port 0)."""
    try:
        with open("/proc/sys/net/ipv4/ip_local_port_range") as f:
            low, high = map(int, f.read().split())
        return low, high
    except (OSError, ValueError):
        return None


# Listen ports come from below the ephemeral range when it leaves room: a port picked from it
# can be taken, before the server binds it, as the source port of any outgoing connection (a
# client of another test, a broker's follower), and the server then fails to start.
_EPHEMERAL = _ephemeral_range()
_LISTEN_RANGE = (10000, _EPHEMERAL[0]) if _EPHEMERAL and _EPHEMERAL[0] > 12000 else None
_PICK = random.Random(os.getpid())


def free_port():
    """An unused loopback port, never one this process handed out before: the kernel may give a
    port just released to the next bind, so two servers of one cluster could otherwise share it.
    Picked at random below the ephemeral range when there is room (see `_LISTEN_RANGE`)."""
    while True:
        wanted = _PICK.randrange(*_LISTEN_RANGE) if _LISTEN_RANGE else 0
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
            try:
                s.bind(("127.0.0.1", wanted))
            except OSError:
                continue
            port = s.getsockname()[1]
        if port not in _HANDED_OUT:
            _HANDED_OUT.add(port)
            return port
