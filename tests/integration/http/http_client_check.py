#!/usr/bin/env python3
"""Drives weft's HTTP gateway with python3's http.client (issue 6).

Usage: http_client_check.py PORT. Prints one line per check and exits 0 when
all pass, 1 otherwise. Run by tests/integration/http/http_gateway_test.cpp
against a node serving the demo app.
"""
import http.client
import json
import sys

PORT = int(sys.argv[1])
failures = []


def check(name, cond, detail=""):
    print(("ok   " if cond else "FAIL ") + name + ("" if cond else f": {detail}"))
    if not cond:
        failures.append(name)


def conn():
    return http.client.HTTPConnection("127.0.0.1", PORT, timeout=20)


# Keep-alive: several requests on one connection, one socket.
c = conn()
sockets = set()
for i in range(5):
    c.request("GET", f"/items/{i}")
    r = c.getresponse()
    body = r.read()
    sockets.add(id(c.sock))
    check(f"keep-alive request {i}", r.status == 200 and json.loads(body) == {"id": i},
          f"{r.status} {body!r}")
check("one socket for all", len(sockets) == 1 and c.sock is not None, str(sockets))
check("Date header", r.getheader("Date", "").endswith(" GMT"), r.getheader("Date"))
c.close()

# JSON body to an HTTP route: 201 with a Location header.
c = conn()
c.request("POST", "/items", body=json.dumps({"x": [1, 2]}),
          headers={"Content-Type": "application/json"})
r = c.getresponse()
body = r.read()
check("POST JSON 201", r.status == 201 and json.loads(body) == {"created": {"x": [1, 2]}},
      f"{r.status} {body!r}")
check("Location", r.getheader("Location") == "/items/1", r.getheader("Location"))

# Urlencoded form.
c.request("POST", "/form", body="city=S%C3%A3o+Paulo&n=3",
          headers={"Content-Type": "application/x-www-form-urlencoded"})
r = c.getresponse()
body = r.read()
check("urlencoded form", json.loads(body) == {"city": "São Paulo", "n": "3"}, body)

# Multipart form with a file part.
boundary = "weftBoundary42"
parts = (
    f"--{boundary}\r\nContent-Disposition: form-data; name=\"title\"\r\n\r\nhello\r\n"
    f"--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"a.txt\"\r\n"
    f"Content-Type: text/plain\r\n\r\nline1\r\nline2\r\n--{boundary}--\r\n")
c.request("POST", "/form", body=parts.encode(),
          headers={"Content-Type": f"multipart/form-data; boundary={boundary}"})
r = c.getresponse()
body = r.read()
check("multipart form", json.loads(body) == {"title": "hello", "file": "line1\r\nline2"}, body)

# A chunked request body (http.client encodes it).
c.request("POST", "/rpc/echo.fn", body=iter([b"abc", b"def", b"ghi"]),
          headers={"Content-Type": "text/plain"}, encode_chunked=True)
r = c.getresponse()
body = r.read()
check("chunked body", r.status == 200 and body == b"abcdefghi", f"{r.status} {body!r}")

# HEAD: headers of GET, no body; the connection stays usable.
c.request("HEAD", "/json")
r = c.getresponse()
body = r.read()
check("HEAD", r.status == 200 and body == b"" and r.getheader("Content-Length") == "27",
      f"{r.status} {r.getheaders()}")
c.request("GET", "/json")
r = c.getresponse()
check("GET after HEAD", r.read() == b'{"message":"Hello, World!"}')

# Query parameters and a percent-encoded path parameter.
c.request("GET", "/hello/J%C3%BCrgen?greeting=Hallo")
r = c.getresponse()
check("query and path params", r.read().decode() == "Hallo, Jürgen!")

# RPC with JSON; an error maps to its HTTP status with a JSON body.
c.request("POST", "/rpc/hello.greet", body=json.dumps({"name": "Eve"}),
          headers={"Content-Type": "application/json"})
r = c.getresponse()
check("rpc json", json.loads(r.read()) == {"text": "Hello, Eve!"})
c.request("POST", "/rpc/hello.greet", body="{\"nope\":1}",
          headers={"Content-Type": "application/json"})
r = c.getresponse()
body = json.loads(r.read())
check("rpc bad json 400", r.status == 400 and body["code"] == "invalid_argument", body)

# Connection: close is honoured.
c.request("GET", "/health", headers={"Connection": "close"})
r = c.getresponse()
check("connection close", r.getheader("Connection") == "close" and r.read() == b'{"status":"ok"}')
c.close()

# A chunked response a handler streams (runtime/http_stream.hpp), read as
# it comes, then a normal request on the same connection.
c = conn()
c.request("GET", "/stream?chunks=40&size=50000")
r = c.getresponse()
check("stream chunked", r.status == 200 and r.getheader("Transfer-Encoding") == "chunked",
      f"{r.status} {r.getheaders()}")
got = bytearray()
for _ in range(100000):
    piece = r.read1(65536)
    if not piece:
        break
    got += piece
want = b"".join(bytes([ord("a") + i % 26]) * 50000 for i in range(40))
check("stream body", bytes(got) == want, f"{len(got)} bytes")
c.request("GET", "/plaintext")
r = c.getresponse()
check("request after a stream", r.read() == b"Hello, World!")

# Server-Sent Events from a handler, resumed with Last-Event-ID.
c.request("GET", "/countdown?from=3", headers={"Last-Event-ID": "2"})
r = c.getresponse()
body = r.read().decode()
check("events resumed", r.getheader("Content-Type") == "text/event-stream"
      and body == "id: 1\nevent: count\ndata: 1\n\n", repr(body))
c.close()

sys.exit(1 if failures else 0)
