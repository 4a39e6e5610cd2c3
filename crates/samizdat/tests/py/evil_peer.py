"""An evil peer for tests: serves a release folder honestly, except target files.

Usage: evil_peer.py DIR IP PORT MODE
MODE (for every request under targets/):
  truncate  half the bytes, with a Content-Length that says so
  endless   a 200 with no length and zeros for ever (bounded: 60 s or 2 GB, then it stops)
  stall     headers never come (sleeps 30 s, then closes)
  drip      correct headers, then one byte every 0.5 s (bounded: 60 s)
  hangup    the connection closed without an answer (a network failure, not a lie)
Metadata is served unchanged: the lie is in the files only. Every loop stops by itself.

Or, for metadata/timestamp.json (the files served honestly):
  timestamp-signature-twice  its first signature listed twice, the signed part byte for byte
  timestamp-reformatted      the same document in other bytes (indented JSON): valid for TUF
"""

import functools
import http.server
import json
import os
import sys
import time


class Evil(http.server.SimpleHTTPRequestHandler):
    mode = "truncate"

    def log_message(self, *args):
        pass

    def do_GET(self):
        if self.mode.startswith("timestamp-"):
            if self.path != "/metadata/timestamp.json":
                return super().do_GET()
            with open(self.translate_path(self.path), "rb") as f:
                body = timestamp_lie(f.read(), self.mode)
            self.send_response(200)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)
            return
        if not self.path.startswith("/targets/"):
            return super().do_GET()
        if self.mode == "hangup":
            self.close_connection = True
            return
        path = self.translate_path(self.path)
        if not os.path.isfile(path):
            self.send_error(404)
            return
        with open(path, "rb") as f:
            data = f.read()
        try:
            if self.mode == "truncate":
                body = data[: len(data) // 2]
                self.send_response(200)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)
            elif self.mode == "endless":
                self.send_response(200)
                self.send_header("Connection", "close")
                self.end_headers()
                deadline, sent = time.time() + 60, 0
                while time.time() < deadline and sent < 2 << 30:
                    self.wfile.write(b"\0" * 65536)
                    sent += 65536
            elif self.mode == "stall":
                time.sleep(30)
            elif self.mode == "drip":
                self.send_response(200)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                deadline = time.time() + 60
                for byte in data:
                    if time.time() > deadline:
                        break
                    self.wfile.write(bytes([byte]))
                    self.wfile.flush()
                    time.sleep(0.5)
        except (BrokenPipeError, ConnectionResetError):
            pass


def timestamp_lie(data, mode):
    if mode == "timestamp-signature-twice":
        start = data.index(b'"signatures":[{') + len(b'"signatures":[')
        end = data.index(b"}", start) + 1
        return data[:start] + data[start:end] + b"," + data[start:]
    if mode == "timestamp-reformatted":
        return json.dumps(json.loads(data), indent=1).encode()
    raise ValueError(mode)


def main():
    directory, ip, port, mode = sys.argv[1:]
    Evil.mode = mode
    handler = functools.partial(Evil, directory=directory)
    http.server.ThreadingHTTPServer((ip, int(port)), handler).serve_forever()


if __name__ == "__main__":
    main()
