//! Client connections: a cap, so that the server keeps descriptors for readers, and the
//! time-outs hyper does not have.
//!
//! Each server thread keeps a table of its connections (none is shared between threads). At the
//! cap, a new connection is taken and the least active one is closed for it (its task aborted):
//! a flood of idle or dripping connections then costs readers nothing but a slot that the next
//! one takes back; refusing the newest instead would refuse every reader once the flood fills
//! the table. Each shed is counted in `/metrics`.
//!
//! Time-outs, swept once a second over the connections hyper has: a connection with no answer
//! in flight that starts no request for [`IDLE`] (an idle HTTP/2 connection, a head sent a byte
//! at a time, HTTP/1 or HTTP/2); one whose answer makes no progress for [`WRITE_STALL`] (a reader
//! that takes nothing: a full socket, or an HTTP/2 window left at 0, where hyper writes nothing
//! and waits for ever). HTTP/2 also pings the client every [`H2_PING`] and drops a connection
//! that does not answer within it (a peer gone without a word). The hot path keeps its own
//! limits (`hot`) until it hands a connection to hyper.
//!
//! Constants, not settings (no mirror has needed others yet): 10 s is what hyper gives a
//! request head and the hot path an idle connection, 30 s the hot path's write stall. Progress
//! is read from a clock of whole seconds that the sweep advances, so that a connection's
//! bookkeeping is a relaxed store, never a clock read.

use std::collections::HashMap;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering::Relaxed};
use std::sync::{Arc, Mutex, OnceLock};
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use bytes::Bytes;
use hyper::body::Frame;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::task::AbortHandle;

use crate::guard::{Client, Flight};
use crate::metrics::{Cut, Metrics};

/// A connection hyper has that starts no request for this long, with no answer in flight, is
/// closed (10 to 11 s).
pub(crate) const IDLE: Duration = Duration::from_secs(10);
/// An answer (or a write) that makes no progress for this long ends its connection.
pub(crate) const WRITE_STALL: Duration = Duration::from_secs(30);
/// HTTP/2 pings: sent after this long without a frame from the client, answered within it.
pub(crate) const H2_PING: Duration = Duration::from_secs(20);
/// A request head's bytes at most (HTTP/1.1: hyper's read buffer, so a longer head is 431;
/// HTTP/2: the header list size announced, so a longer one, CONTINUATION frames included, is
/// refused), and its header lines (HTTP/1.1; 431 past them). The hot path hands hyper a head
/// over its own 8 KiB; the path itself is capped at 1 KiB (`request::path_is_clean`).
pub(crate) const HEAD_BYTES_MAX: usize = 16 * 1024;
pub(crate) const HEADERS_MAX: usize = 64;
/// HTTP/2 streams a client may open and reset before the server takes them up, at once,
/// before its connection is closed (GOAWAY): a rapid-reset attack (CVE-2023-44487) is cut
/// after this many (h2's own default, said here). And streams the server may reset for a
/// client's protocol errors over a connection's life (hyper's default is 1,024).
pub(crate) const RESETS_MAX: usize = 20;
pub(crate) const ERROR_RESETS_MAX: usize = 64;
/// Why hyper or h2 ended a connection, when it was the client's conduct (`None` for the
/// ordinary ends: closed by the client, reset, a write that failed). Every abuse that h2 stops
/// (rapid reset, a CONTINUATION flood, a header list far over its size, too many streams reset
/// for errors) ends with its own GOAWAY `ENHANCE_YOUR_CALM`; hyper's HTTP/1.1 refusals are its
/// parse errors and its head time-out.
pub(crate) fn why_ended(error: &(dyn std::error::Error + 'static)) -> Option<Cut> {
    let mut cause = Some(error);
    while let Some(e) = cause {
        if let Some(h2) = e.downcast_ref::<h2::Error>() {
            return match h2.reason() {
                Some(h2::Reason::ENHANCE_YOUR_CALM) if h2.is_go_away() && h2.is_library() => {
                    Some(Cut::Http2Abuse)
                }
                Some(h2::Reason::PROTOCOL_ERROR | h2::Reason::COMPRESSION_ERROR)
                    if h2.is_go_away() && h2.is_library() =>
                {
                    Some(Cut::Malformed)
                }
                _ => None,
            };
        }
        if let Some(hyper) = e.downcast_ref::<hyper::Error>() {
            if hyper.is_parse_too_large() {
                return Some(Cut::HeadTooLarge);
            }
            if hyper.is_timeout() {
                return Some(Cut::HeadTimeout);
            }
            if hyper.is_parse() {
                return Some(Cut::Malformed);
            }
        }
        cause = e.source();
    }
    None
}

/// Counts a connection's end in `metrics` when [`why_ended`] names the client's conduct, and
/// puts its client in the flood guard's penalty box when that conduct was HTTP/2 abuse.
pub(crate) fn ended(
    metrics: &Metrics,
    client: &Client,
    result: Result<(), Box<dyn std::error::Error + Send + Sync>>,
) {
    if let Err(e) = result
        && let Some(why) = why_ended(&*e)
    {
        metrics.cut(why);
        if why == Cut::Http2Abuse {
            client.penalize();
        }
    }
}

/// Connections looked at to choose the one to shed.
const SHED_SAMPLE: usize = 256;
/// How often the time-outs are checked.
const SWEEP: Duration = Duration::from_secs(1);
/// Descriptors kept for everything but connections and cached files: listeners, the runtime,
/// files opened once, gzip's files, a sync child's pipes.
const RESERVED: u64 = 64;

/// Seconds since the process started, as last read by a sweep (at most [`SWEEP`] old).
static CLOCK: AtomicU64 = AtomicU64::new(0);

fn start() -> Instant {
    static START: OnceLock<Instant> = OnceLock::new();
    *START.get_or_init(Instant::now)
}

/// The coarse clock: whole seconds since the process started.
pub(crate) fn now() -> u64 {
    CLOCK.load(Relaxed)
}

fn tick() -> u64 {
    let now = start().elapsed().as_secs();
    CLOCK.fetch_max(now, Relaxed);
    now
}

/// How the descriptors are shared: open files cached (small and large) and connections.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Descriptors {
    pub(crate) small_files: usize,
    pub(crate) large_files: usize,
    pub(crate) connections: usize,
}

impl Descriptors {
    /// The share of `limit` descriptors: the cached files take at most half (and leave 4,096
    /// for connections when there are that many), up to `small_max` and `large_max`; the
    /// connections take the rest.
    pub(crate) fn of(limit: u64, small_max: usize, large_max: usize) -> Descriptors {
        let usable = limit.saturating_sub(RESERVED);
        let for_files = usable.saturating_sub(4096).max(usable / 2);
        let large = (large_max as u64).min(for_files / 16);
        let small = (small_max as u64).min(for_files - large);
        Descriptors {
            small_files: small as usize,
            large_files: large as usize,
            connections: (usable - small - large).max(1) as usize,
        }
    }
}

/// One connection's signs of life, on the coarse clock.
pub(crate) struct Conn {
    /// Accepted, a request started, an answer sent a chunk or ended.
    last: AtomicU64,
    /// Since when a write has waited (0: none waits). Written only on a change.
    blocked: AtomicU64,
    /// Answers whose body hyper has not finished.
    bodies: AtomicUsize,
    /// Handed to hyper: the sweep's time-outs apply (the hot path has its own).
    hyper: AtomicBool,
    /// Shed or stalled: closed with a reset, see [`Watched`].
    reset: AtomicBool,
    /// A request has started on it (hyper's path): a drain may tell it to finish.
    asked: AtomicBool,
}

impl Conn {
    fn new() -> Conn {
        Conn {
            last: AtomicU64::new(now()),
            blocked: AtomicU64::new(0),
            bodies: AtomicUsize::new(0),
            hyper: AtomicBool::new(false),
            reset: AtomicBool::new(false),
            asked: AtomicBool::new(false),
        }
    }

    /// Whether a request has started on it since hyper took it (`serve::finish`).
    pub(crate) fn asked(&self) -> bool {
        self.asked.load(Relaxed)
    }

    /// A sign of life: a request answered or started, an answer's progress.
    pub(crate) fn touch(&self) {
        self.last.store(now(), Relaxed);
    }

    /// From now on hyper has the connection.
    pub(crate) fn to_hyper(&self) {
        self.touch();
        self.hyper.store(true, Relaxed);
    }

    /// A request starts: its answer's body is counted until hyper drops it, and is one of the
    /// server's answers in flight (`flight`) until then.
    pub(crate) fn answer<B>(self: &Arc<Conn>, body: B, flight: Flight) -> Counted<B> {
        self.touch();
        self.bodies.fetch_add(1, Relaxed);
        self.asked.store(true, Relaxed);
        Counted {
            body,
            conn: self.clone(),
            _flight: flight,
        }
    }

    /// Why to close it at `now`, if it is hyper's.
    fn overdue(&self, now: u64) -> Option<Cut> {
        if !self.hyper.load(Relaxed) {
            return None;
        }
        let blocked = self.blocked.load(Relaxed);
        let last = self.last.load(Relaxed);
        let since = |t: u64| now.saturating_sub(t);
        if blocked != 0 && since(blocked) >= WRITE_STALL.as_secs() {
            Some(Cut::Stalled)
        } else if self.bodies.load(Relaxed) > 0 {
            (since(last) >= WRITE_STALL.as_secs()).then_some(Cut::Stalled)
        } else {
            (since(last) >= IDLE.as_secs()).then_some(Cut::Idle)
        }
    }
}

struct Entry {
    conn: Arc<Conn>,
    /// None until its task is spawned.
    task: Option<AbortHandle>,
}

/// A server thread's connections, at most `cap`.
pub(crate) struct Table {
    entries: Mutex<HashMap<u64, Entry>>,
    next: AtomicU64,
    cap: usize,
    /// Where connections opened and closed are counted.
    metrics: Arc<Metrics>,
}

impl Table {
    pub(crate) fn new(cap: usize, metrics: Arc<Metrics>) -> Arc<Table> {
        tick();
        Arc::new(Table {
            entries: Mutex::new(HashMap::new()),
            next: AtomicU64::new(0),
            cap: cap.max(1),
            metrics,
        })
    }

    /// Enters a new connection, closing the least active one if the table is full. The guard
    /// takes it out again when its task ends (or is aborted).
    pub(crate) fn enter(self: &Arc<Table>) -> (Arc<Conn>, Guard) {
        let conn = Arc::new(Conn::new());
        let id = self.next.fetch_add(1, Relaxed);
        let mut shed = None;
        if let Ok(mut entries) = self.entries.lock() {
            if entries.len() >= self.cap {
                // The least active of a sample (the map's order is its hash's: as good as
                // random), so that a full table costs each new connection a bounded scan.
                let victim = entries
                    .iter()
                    .filter(|(_, e)| e.task.is_some())
                    .take(SHED_SAMPLE)
                    .min_by_key(|(id, e)| (e.conn.last.load(Relaxed), **id))
                    .map(|(id, _)| *id);
                shed = victim.and_then(|id| entries.remove(&id)).and_then(|e| {
                    e.conn.reset.store(true, Relaxed);
                    e.task
                });
            }
            entries.insert(
                id,
                Entry {
                    conn: conn.clone(),
                    task: None,
                },
            );
        }
        let metrics = &self.metrics;
        metrics.connections.inc();
        if let Some(task) = shed {
            task.abort();
            metrics.cut(Cut::Shed);
            metrics.connections.dec();
        }
        let guard = Guard {
            table: self.clone(),
            id,
        };
        (conn, guard)
    }

    /// The task serving the connection `guard` stands for: aborted to shed it or cut it.
    pub(crate) fn started(&self, guard_id: u64, task: AbortHandle) {
        if let Ok(mut entries) = self.entries.lock()
            && let Some(entry) = entries.get_mut(&guard_id)
        {
            entry.task = Some(task);
        }
    }

    /// Returns once no connection is left (the server drains: `handover`). Looked at every
    /// 20 ms; bounded by the connections' own time-outs, and by the drain limit.
    pub(crate) async fn emptied(&self) {
        while self.entries.lock().map(|e| !e.is_empty()).unwrap_or(false) {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// Closes the connections past their time-outs, once a second, for ever.
    pub(crate) async fn sweep(self: Arc<Table>) {
        let mut interval = tokio::time::interval(SWEEP);
        interval.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            interval.tick().await;
            let now = tick();
            let mut cut = Vec::new();
            if let Ok(mut entries) = self.entries.lock() {
                entries.retain(|_, entry| {
                    let Some(why) = entry.conn.overdue(now) else {
                        return true;
                    };
                    let Some(task) = entry.task.take() else {
                        return true;
                    };
                    entry.conn.reset.store(why == Cut::Stalled, Relaxed);
                    cut.push((task, why));
                    false
                });
            }
            // Aborted outside the lock: the guard of an aborted task takes it again.
            let metrics = &self.metrics;
            for (task, why) in cut {
                task.abort();
                metrics.cut(why);
                metrics.connections.dec();
            }
        }
    }
}

/// Takes a connection out of its table when its task ends.
pub(crate) struct Guard {
    table: Arc<Table>,
    pub(crate) id: u64,
}

impl Drop for Guard {
    fn drop(&mut self) {
        let removed = self
            .table
            .entries
            .lock()
            .ok()
            .and_then(|mut entries| entries.remove(&self.id));
        // Not there: shed or cut, and counted then.
        if removed.is_some() {
            self.table.metrics.connections.dec();
        }
    }
}

/// An answer's body, counted as in flight until hyper drops it; each chunk sent is progress.
pub(crate) struct Counted<B> {
    body: B,
    conn: Arc<Conn>,
    _flight: Flight,
}

impl<B> Drop for Counted<B> {
    fn drop(&mut self) {
        self.conn.touch();
        self.conn.bodies.fetch_sub(1, Relaxed);
    }
}

impl<B> hyper::body::Body for Counted<B>
where
    B: hyper::body::Body<Data = Bytes> + Unpin,
{
    type Data = Bytes;
    type Error = B::Error;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, B::Error>>> {
        let this = self.get_mut();
        let frame = Pin::new(&mut this.body).poll_frame(cx);
        if let Poll::Ready(Some(Ok(_))) = &frame {
            this.conn.touch();
        }
        frame
    }

    fn is_end_stream(&self) -> bool {
        self.body.is_end_stream()
    }

    fn size_hint(&self) -> hyper::body::SizeHint {
        self.body.size_hint()
    }
}

/// A connection's stream as hyper writes to it: a write that waits is noted, so that the sweep
/// can end one that waits too long (hyper has no write time-out).
pub(crate) struct Watched<S: Reset> {
    stream: S,
    conn: Arc<Conn>,
}

/// A connection that can be closed with a reset (`SO_LINGER` 0): one that takes nothing would
/// otherwise hold its socket's unsent bytes in the kernel, and the client would never see its
/// end (a FIN waits behind the bytes it does not take).
pub(crate) trait Reset {
    fn reset(&self);
}

impl Reset for tokio_rustls::server::TlsStream<tokio::net::TcpStream> {
    fn reset(&self) {
        let _ = self.get_ref().0.set_zero_linger();
    }
}

impl<S: Reset> Drop for Watched<S> {
    fn drop(&mut self) {
        if self.conn.reset.load(Relaxed) {
            self.stream.reset();
        }
    }
}

impl<S: Reset> Watched<S> {
    pub(crate) fn new(stream: S, conn: Arc<Conn>) -> Watched<S> {
        Watched { stream, conn }
    }

    fn wrote<T>(&self, poll: Poll<T>) -> Poll<T> {
        let blocked = &self.conn.blocked;
        match &poll {
            Poll::Pending => {
                if blocked.load(Relaxed) == 0 {
                    blocked.store(now().max(1), Relaxed);
                }
            }
            Poll::Ready(_) => {
                if blocked.load(Relaxed) != 0 {
                    blocked.store(0, Relaxed);
                }
            }
        }
        poll
    }
}

impl<S: AsyncRead + Reset + Unpin> AsyncRead for Watched<S> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.stream).poll_read(cx, buf)
    }
}

impl<S: AsyncWrite + Reset + Unpin> AsyncWrite for Watched<S> {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        let poll = Pin::new(&mut self.stream).poll_write(cx, buf);
        self.wrote(poll)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[std::io::IoSlice<'_>],
    ) -> Poll<std::io::Result<usize>> {
        let poll = Pin::new(&mut self.stream).poll_write_vectored(cx, bufs);
        self.wrote(poll)
    }

    fn is_write_vectored(&self) -> bool {
        self.stream.is_write_vectored()
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        let poll = Pin::new(&mut self.stream).poll_flush(cx);
        self.wrote(poll)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.stream).poll_shutdown(cx)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn descriptors_leave_connections_most_of_a_low_limit() {
        let low = Descriptors::of(1024, 16384, 256);
        assert_eq!(low.small_files + low.large_files, 480);
        assert_eq!(low.connections, 480);
        let high = Descriptors::of(1 << 20, 16384, 256);
        assert_eq!((high.small_files, high.large_files), (16384, 256));
        assert_eq!(high.connections, (1 << 20) - 64 - 16384 - 256);
        assert!(Descriptors::of(0, 16384, 256).connections >= 1);
    }

    #[tokio::test]
    async fn at_the_cap_the_least_active_connection_is_shed_and_counted() {
        let metrics = Arc::new(Metrics::new());
        let table = Table::new(2, metrics.clone());
        let mut tasks = Vec::new();
        for last in [5, 1, 3] {
            let (conn, guard) = table.enter();
            conn.last.store(last, Relaxed);
            let id = guard.id;
            let task = tokio::spawn(async move {
                let _guard = guard;
                std::future::pending::<()>().await;
            });
            table.started(id, task.abort_handle());
            tasks.push(task);
        }
        let shed = tasks
            .remove(1)
            .await
            .expect_err("the least active one is shed");
        assert!(shed.is_cancelled());
        let metrics = metrics.encode();
        assert!(
            metrics.contains("samizdat_mirror_connections_closed_total{reason=\"shed\"} 1")
                && metrics.contains("samizdat_mirror_connections 2"),
            "{metrics}"
        );
        for task in &tasks {
            assert!(!task.is_finished());
            task.abort();
        }
    }

    #[test]
    fn a_connection_is_overdue_when_idle_or_stalled_and_only_once_hyper_has_it() {
        let conn = Arc::new(Conn::new());
        let t = now();
        conn.last.store(t, Relaxed);
        assert_eq!(conn.overdue(t + 100), None, "the hot path's own");
        conn.to_hyper();
        conn.last.store(t, Relaxed);
        assert_eq!(conn.overdue(t + 9), None);
        assert_eq!(conn.overdue(t + 10), Some(Cut::Idle));
        let gate = Arc::new(crate::guard::Gate::new(
            crate::guard::Limits::default(),
            Arc::new(Metrics::new()),
        ));
        let body = conn.answer((), gate.flight());
        conn.last.store(t, Relaxed);
        assert_eq!(conn.overdue(t + 29), None, "an answer in flight");
        assert_eq!(conn.overdue(t + 30), Some(Cut::Stalled));
        drop(body);
        conn.last.store(t + 50, Relaxed);
        conn.blocked.store(t + 1, Relaxed);
        assert_eq!(conn.overdue(t + 31), Some(Cut::Stalled), "a write waits");
    }
}
