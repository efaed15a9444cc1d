#!/usr/bin/env python3
"""Differential check of malformed requests: weft's HTTP gateway against
python3-h11, a second strict HTTP/1.1 implementation (issue 6).

Usage: h11_differential.py PORT. For each case, h11 (as a server) says
whether it accepts the request; weft answers it over a raw socket. Every
request h11 rejects must be rejected by weft too (4xx and close); weft may
be stricter (listed in STRICTER, each with the reason). Exits 0 when they
agree, 1 otherwise, 77 when h11 is not installed.
"""
import socket
import sys

try:
    import h11
except ImportError:
    sys.exit(77)

PORT = int(sys.argv[1])

POST = b"POST /rpc/echo.fn HTTP/1.1\r\nHost: t\r\n"
CASES = {
    "valid get": b"GET /json HTTP/1.1\r\nHost: t\r\n\r\n",
    "valid post": POST + b"Content-Length: 3\r\n\r\nabc",
    "valid chunked": POST + b"Transfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n",
    "cl and te": POST + b"Content-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
    "two different cl": POST + b"Content-Length: 3\r\nContent-Length: 4\r\n\r\nabcd",
    "two same cl": POST + b"Content-Length: 3\r\nContent-Length: 3\r\n\r\nabc",
    "cl list": POST + b"Content-Length: 3, 3\r\n\r\nabc",
    "cl plus": POST + b"Content-Length: +3\r\n\r\nabc",
    "cl hex": POST + b"Content-Length: 0x3\r\n\r\nabc",
    "cl negative": POST + b"Content-Length: -3\r\n\r\nabc",
    "te gzip": POST + b"Transfer-Encoding: gzip\r\n\r\nabc",
    "te chunked gzip": POST + b"Transfer-Encoding: chunked, gzip\r\n\r\n0\r\n\r\n",
    "te gzip chunked": POST + b"Transfer-Encoding: gzip, chunked\r\n\r\n0\r\n\r\n",
    "chunk size bad": POST + b"Transfer-Encoding: chunked\r\n\r\nzz\r\nabc\r\n0\r\n\r\n",
    "chunk size huge": POST + b"Transfer-Encoding: chunked\r\n\r\nfffffffffffffffffff\r\nabc\r\n",
    "chunk data too long": POST + b"Transfer-Encoding: chunked\r\n\r\n2\r\nabc\r\n0\r\n\r\n",
    "obs-fold": b"GET /json HTTP/1.1\r\nHost: t\r\nX-A: 1\r\n 2\r\n\r\n",
    "space before colon": b"GET /json HTTP/1.1\r\nHost : t\r\n\r\n",
    "empty header name": b"GET /json HTTP/1.1\r\nHost: t\r\n: x\r\n\r\n",
    "nul in value": b"GET /json HTTP/1.1\r\nHost: t\r\nX-A: a\x00b\r\n\r\n",
    "no host 1.1": b"GET /json HTTP/1.1\r\n\r\n",
    "two hosts": b"GET /json HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n",
    "http/1.0 te": b"POST /rpc/echo.fn HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
    "bad version": b"GET /json HTTP/1.x\r\nHost: t\r\n\r\n",
    "lowercase method": b"get /json HTTP/1.1\r\nHost: t\r\n\r\n",
    "space in target": b"GET /a b HTTP/1.1\r\nHost: t\r\n\r\n",
    "control char in target": b"GET /a\x01b HTTP/1.1\r\nHost: t\r\n\r\n",
}

# Cases where weft is knowingly stricter than h11, with the reason.
STRICTER = {
    "two same cl": "one Content-Length only (RFC 9112 §6.3 allows either)",
    "cl list": "one Content-Length of digits only (same)",
    "cl and te": "both framings: refused (RFC 9112 §6.1 allows it; smuggling)",
    "obs-fold": "refused (RFC 9112 §5.2 allows it instead of unfolding)",
    "http/1.0 te": "refused (RFC 9112 §6.1: a 1.0 request with TE is "
                   "faulty framing)",
}
# Cases where weft is knowingly more lenient than h11, with the reason.
LENIENT = {}


def h11_accepts(data):
    conn = h11.Connection(h11.SERVER)
    conn.receive_data(data)
    conn.receive_data(b"")  # end of input: an unfinished body is an error
    try:
        while True:
            ev = conn.next_event()
            if ev is h11.NEED_DATA or isinstance(ev, h11.ConnectionClosed):
                return False if ev is h11.NEED_DATA else True
            if isinstance(ev, h11.EndOfMessage):
                return True
    except h11.RemoteProtocolError:
        return False


def weft_accepts(data):
    s = socket.create_connection(("127.0.0.1", PORT), timeout=10)
    s.sendall(data)
    s.shutdown(socket.SHUT_WR)
    out = b""
    try:
        for _ in range(1000):
            b = s.recv(65536)
            if not b:
                break
            out += b
    except socket.timeout:
        pass
    s.close()
    # Rejected: no answer, or a status that refuses the request itself; a
    # 404 / 405 means it was read fine and routed nowhere.
    status = out[9:12]
    refused = (b"400", b"408", b"411", b"413", b"414", b"417", b"431",
               b"501", b"505")
    return bool(out) and status not in refused, out[:40]


failures = 0
for name, data in CASES.items():
    theirs = h11_accepts(data)
    ours, head = weft_accepts(data)
    agree = theirs == ours
    note = ""
    if not agree:
        if not ours and name in STRICTER:
            note = "(weft stricter: " + STRICTER[name] + ")"
        elif ours and name in LENIENT:
            note = "(weft lenient: " + LENIENT[name] + ")"
        else:
            failures += 1
            note = "MISMATCH"
    print(f"{name:24} h11={'accept' if theirs else 'reject':6} "
          f"weft={'accept' if ours else 'reject':6} {note} {head!r}")
sys.exit(1 if failures else 0)
