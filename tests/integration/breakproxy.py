#!/usr/bin/env python3
"""A plain-HTTP proxy in front of an apiserver that removes one behaviour, so a test can
show that the conformance test checking that behaviour fails (and its neighbours do not).

usage: breakproxy.py LISTEN_PORT UPSTREAM_URL RULE

RULE is one of:
  none               forward everything unchanged
  no-host-ip         pod answers lose status.hostIP / status.hostIPs
  ignore-cm-patch    PATCH of a ConfigMap answers the stored object, unchanged
  watch-from-now     watches lose their resourceVersion (they start "now")
  no-limit           lists ignore `limit` (no chunking)
  no-status-put      PUT of a status subresource answers 404
  wrong-preferred    /apis/<group> names a preferredVersion the group does not list
  keep-events        DELETE of an events collection answers 200 but deletes nothing
"""
import http.client
import http.server
import json
import re
import sys
import urllib.parse

HOP = {"connection", "keep-alive", "transfer-encoding", "te", "trailer", "upgrade",
       "proxy-authorization", "proxy-authenticate", "content-length"}


class Proxy(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    rule = "none"
    upstream = None  # (host, port)

    def log_message(self, *args):
        pass

    def _body(self):
        n = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(n) if n else None

    def _reply(self, code, body, ctype="application/json"):
        self.send_response(code)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def _forward(self, method, path, body, headers):
        conn = http.client.HTTPConnection(*self.upstream, timeout=300)
        conn.request(method, path, body=body, headers=headers)
        return conn, conn.getresponse()

    def handle_one(self, method):
        body = self._body()
        url = urllib.parse.urlsplit(self.path)
        query = urllib.parse.parse_qsl(url.query, keep_blank_values=True)
        headers = {k: v for k, v in self.headers.items() if k.lower() not in HOP}
        watch = any(k == "watch" and v in ("1", "true") for k, v in query)
        rule = self.rule

        if rule == "watch-from-now" and watch:
            query = [(k, v) for k, v in query if k != "resourceVersion"]
        if rule == "no-limit" and method == "GET" and not watch:
            query = [(k, v) for k, v in query if k not in ("limit", "continue")]
        path = urllib.parse.urlunsplit(("", "", url.path, urllib.parse.urlencode(query), ""))

        if rule == "no-status-put" and method == "PUT" and url.path.endswith("/status"):
            return self._reply(404, json.dumps({
                "kind": "Status", "apiVersion": "v1", "status": "Failure",
                "reason": "NotFound", "code": 404, "message": "the server could not find the requested resource"}).encode())
        if rule == "ignore-cm-patch" and method == "PATCH" and re.search(r"/configmaps/[^/]+$", url.path):
            method, body = "GET", None
            headers.pop("Content-Type", None)
        if rule == "keep-events" and method == "DELETE" and re.search(r"/events$", url.path):
            return self._reply(200, json.dumps({"kind": "Status", "apiVersion": "v1",
                                                "status": "Success"}).encode())

        conn, resp = self._forward(method, path, body, headers)
        try:
            if watch:
                return self._stream(resp)
            data = resp.read()
            ctype = resp.getheader("Content-Type", "application/json")
            if ctype.startswith("application/json") and data:
                data = self._rewrite(url.path, data)
            self.send_response(resp.status)
            for k, v in resp.getheaders():
                if k.lower() not in HOP:
                    self.send_header(k, v)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)
        finally:
            conn.close()

    def _rewrite(self, path, data):
        rule = self.rule
        if rule == "no-host-ip" and "/pods" in path:
            obj = json.loads(data)
            for o in obj.get("items", [obj]):
                st = o.get("status") if isinstance(o, dict) else None
                if isinstance(st, dict):
                    st.pop("hostIP", None)
                    st.pop("hostIPs", None)
            return json.dumps(obj).encode()
        if rule == "wrong-preferred" and re.fullmatch(r"/apis/[^/]+/?", path):
            obj = json.loads(data)
            if obj.get("kind") == "APIGroup":
                obj["preferredVersion"] = {"groupVersion": obj["name"] + "/v0", "version": "v0"}
            return json.dumps(obj).encode()
        return data

    def _stream(self, resp):
        self.send_response(resp.status)
        for k, v in resp.getheaders():
            if k.lower() not in HOP:
                self.send_header(k, v)
        self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()
        try:
            while True:
                chunk = resp.read1(65536)
                if not chunk:
                    break
                self.wfile.write(b"%x\r\n%s\r\n" % (len(chunk), chunk))
                self.wfile.flush()
            self.wfile.write(b"0\r\n\r\n")
        except (BrokenPipeError, ConnectionResetError):
            self.close_connection = True

    def do_GET(self):
        self.handle_one("GET")

    def do_POST(self):
        self.handle_one("POST")

    def do_PUT(self):
        self.handle_one("PUT")

    def do_PATCH(self):
        self.handle_one("PATCH")

    def do_DELETE(self):
        self.handle_one("DELETE")


def main():
    port, upstream, rule = int(sys.argv[1]), sys.argv[2], sys.argv[3]
    u = urllib.parse.urlsplit(upstream)
    Proxy.upstream = (u.hostname, u.port)
    Proxy.rule = rule
    srv = http.server.ThreadingHTTPServer(("127.0.0.1", port), Proxy)
    srv.daemon_threads = True
    srv.serve_forever()


if __name__ == "__main__":
    main()
