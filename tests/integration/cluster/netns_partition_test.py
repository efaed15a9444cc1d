#!/usr/bin/env python3
"""A gateway and a worker in separate network namespaces, as separate hosts
would be, joined by a veth pair (iproute2).

  netns_partition_test.py BIN_DIR

1. The worker joins the gateway's node port across the veth link, and a
   call to node.whoami through the gateway reaches the worker.
2. The link goes down (a partition: no FIN, no RST, the process keeps
   running): the gateway declares the worker down within 5 s, and the
   route answers an error instead of hanging.
3. The link comes back: the worker rejoins by itself and the route works.

Needs root (network namespaces); exits 77 (skipped) without them. The
addresses are private (10.213.N.0/30, N from the process id), every wait is
bounded, and the namespaces go away however the test ends.
"""

import os
import re
import subprocess
import sys
import tempfile
import time

SKIP = 77


def run(*args, check=True):
    return subprocess.run(list(args), check=check, capture_output=True,
                          text=True, timeout=20)


class Netns:
    """Two namespaces joined by a veth pair: gw (10.213.N.1), wk (.2)."""

    def __init__(self):
        tag = os.getpid() % 100000
        self.gw = f"weft_gw_{tag}"
        self.wk = f"weft_wk_{tag}"
        self.veth_gw = f"wg{tag}"
        self.veth_wk = f"ww{tag}"
        subnet = os.getpid() % 250 + 1
        self.gw_ip = f"10.213.{subnet}.1"
        self.wk_ip = f"10.213.{subnet}.2"

    def up(self):
        run("ip", "netns", "add", self.gw)
        run("ip", "netns", "add", self.wk)
        run("ip", "link", "add", self.veth_gw, "netns", self.gw, "type", "veth",
            "peer", "name", self.veth_wk, "netns", self.wk)
        for ns, dev, ip in ((self.gw, self.veth_gw, self.gw_ip),
                            (self.wk, self.veth_wk, self.wk_ip)):
            run("ip", "-n", ns, "addr", "add", f"{ip}/30", "dev", dev)
            run("ip", "-n", ns, "link", "set", dev, "up")
            run("ip", "-n", ns, "link", "set", "lo", "up")

    def link(self, up):
        run("ip", "-n", self.wk, "link", "set", self.veth_wk,
            "up" if up else "down")

    def down(self):
        for ns in (self.gw, self.wk):
            run("ip", "netns", "del", ns, check=False)

    def exec(self, ns, argv):
        return ["ip", "netns", "exec", ns] + argv


def wait_for_line(path, pattern, timeout_s, start=0):
    """The first match of `pattern` in the file `path` after byte `start`."""
    deadline = time.monotonic() + timeout_s
    rx = re.compile(pattern)
    while time.monotonic() < deadline:
        with open(path, encoding="utf-8", errors="replace") as f:
            f.seek(start)
            m = rx.search(f.read())
            if m:
                return m
        time.sleep(0.05)
    return None


def main():
    if len(sys.argv) != 2:
        print(__doc__)
        return 2
    bin_dir = sys.argv[1]
    weftd = os.path.join(bin_dir, "weftd")
    weft = os.path.join(bin_dir, "weft")
    if os.geteuid() != 0:
        print("skipped: network namespaces need root")
        return SKIP
    net = Netns()
    try:
        net.up()
    except (subprocess.CalledProcessError, FileNotFoundError) as e:
        net.down()
        print(f"skipped: cannot make network namespaces here: {e}")
        return SKIP
    procs = []
    logs = tempfile.mkdtemp(prefix="weft-netns-")
    try:
        gw_log = os.path.join(logs, "gateway.log")
        wk_log = os.path.join(logs, "worker.log")
        with open(gw_log, "w") as out:
            procs.append(subprocess.Popen(
                net.exec(net.gw, [weftd, "--name", "gateway",
                                  "--role", "gateway",
                                  "--node-listen", f"{net.gw_ip}:0",
                                  "--tcp-listen", "127.0.0.1:0",
                                  "--http-listen", ""]),
                stdout=out, stderr=subprocess.STDOUT))
        tcp = wait_for_line(gw_log, r"event=binary\.listening address=[^ \n]*:(\d+)", 15)
        node = wait_for_line(gw_log, r"event=node\.cluster_listening .*?port=(\d+)", 15)
        assert tcp and node, f"gateway did not listen; see {gw_log}"
        gateway = f"127.0.0.1:{tcp.group(1)}"
        with open(wk_log, "w") as out:
            procs.append(subprocess.Popen(
                net.exec(net.wk, [weftd, "--name", "worker-b",
                                  "--role", "worker",
                                  "--join", f"{net.gw_ip}:{node.group(1)}",
                                  "--join-backoff-max", "1s",
                                  "--tcp-listen", "", "--http-listen", ""]),
                stdout=out, stderr=subprocess.STDOUT))

        def whoami():
            # The client runs beside the gateway (its edge port is on the
            # gateway namespace's loopback).
            r = subprocess.run(
                net.exec(net.gw, [weft, "call", gateway, "node.whoami",
                                  "--timeout", "3000"]),
                capture_output=True, text=True, timeout=15)
            return r.returncode, r.stdout.strip() + r.stderr.strip()

        def until(pred, timeout_s):
            deadline = time.monotonic() + timeout_s
            while time.monotonic() < deadline:
                result = pred()
                if result:
                    return result
                time.sleep(0.1)
            return None

        # 1. Across the link.
        assert until(lambda: whoami() == (0, "worker-b"), 20), \
            f"node.whoami never reached the worker: {whoami()}; see {logs}"

        # 2. Partition: the gateway notices through the node heartbeat.
        mark = os.path.getsize(gw_log)
        cut = time.monotonic()
        net.link(False)
        down = wait_for_line(gw_log, r"event=cluster\.node_down", 8, mark)
        took = time.monotonic() - cut
        assert down, f"no cluster.node_down within 8 s; see {gw_log}"
        assert took <= 5.5, f"declared down after {took:.2f} s (limit 5 s)"
        code, text = whoami()
        assert code != 0, f"node.whoami answered during the partition: {text}"
        print(f"partition: declared down after {took:.2f} s; "
              f"a call then got: {text}")

        # 3. Heal: the worker rejoins without a gateway restart.
        net.link(True)
        healed = time.monotonic()
        assert until(lambda: whoami() == (0, "worker-b"), 20), \
            f"the worker did not come back; see {logs}"
        print(f"healed: answering again after {time.monotonic() - healed:.2f} s")
        for p in procs:
            assert p.poll() is None, f"a node died; see {logs}"
        print("ok")
        return 0
    finally:
        for p in procs:
            if p.poll() is None:
                p.terminate()
        for p in procs:
            try:
                p.wait(timeout=10)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait()
        net.down()


if __name__ == "__main__":
    sys.exit(main())
