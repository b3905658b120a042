"""Stand-in for systemd-timesyncd: the host's real one would send NTP queries off the machine, which the
testbed must never do. It stays up, so a unit running it is active, and sets no clock."""

import signal
import sys
import time

from . import common


def main():
    common.record("systemd-timesyncd", sys.argv[1:], 0)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    while True:
        time.sleep(3600)
