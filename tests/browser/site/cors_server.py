"""A static server that allows cross-origin reads (Access-Control-Allow-Origin: *), as mirror B
must for a service worker on mirror A's origin to use its answers:
    python3 cors_server.py PORT DIR [IP]"""
import functools
import http.server
import sys


class Handler(http.server.SimpleHTTPRequestHandler):
    def end_headers(self):
        self.send_header("Access-Control-Allow-Origin", "*")
        super().end_headers()

    def log_message(self, *args):
        pass


http.server.ThreadingHTTPServer(
    (sys.argv[3] if len(sys.argv) > 3 else "127.0.0.1", int(sys.argv[1])), functools.partial(Handler, directory=sys.argv[2])
).serve_forever()
