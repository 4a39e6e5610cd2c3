//! Zero-downtime restarts (issue 19's upgrade path): listening sockets inherited from systemd,
//! and a graceful drain on SIGTERM.
//!
//! **The hand-over is explicit.** A process binds its own addresses so that no other process
//! shares them (`run::bind_shared`: a second `samizdat` on a served address is refused). The one
//! way two processes serve one address is systemd's socket activation: `samizdat-mirror.socket`
//! holds the listening socket across restarts and passes it to each new process
//! (`LISTEN_FDS`, `LISTEN_PID`, fds from 3; read by the `listenfd` crate). Between the old
//! process's stop and the new one's first `accept`, new connections wait in the kernel's
//! backlog instead of being refused. Every inherited socket is served as the configuration says
//! (TLS when a certificate is given, else plain); `listen` is then not bound. Each server thread
//! takes a duplicate of the inherited socket (one accept queue shared by the threads, where the
//! self-bound addresses have one `SO_REUSEPORT` socket per thread).
//!
//! **The drain.** On SIGTERM (or Ctrl-C) [`Servers::drain`] tells every server thread to stop:
//! each closes its listening socket at once (an inherited socket stays open in systemd, whose
//! backlog then goes to the next process; a self-bound one is closed), then tells its
//! connections to finish (`serve::finish` on hyper's: HTTP/1.1 answers in flight end with
//! `Connection: close`, an idle keep-alive connection is closed; HTTP/2 gets GOAWAY; `hot`'s
//! plain connections likewise) and ends once none is left. A connection is told only once it
//! has asked something: one accepted a moment before the stop gets its first request answered
//! (within the usual 10 s), so a reader who just connected sees an answer, not a closed
//! connection. The process exits when every thread has ended, or after the drain limit
//! (`drain_secs` in `mirror.toml`, `--drain`; 30 s by default), or at a second SIGTERM.
//!
//! **What a reader sees.** `systemctl restart` starts the new process once the old one has
//! exited, so a reader who connects during the drain waits in the backlog for as long as the
//! drain lasts (the longest answer in flight, at most the limit; the service's
//! `TimeoutStopSec=` is above it), and is then answered: no connection is refused or cut
//! (`crates/samizdat/tests/handover.rs`: with two slow downloads in flight, the drain and the
//! longest wait both took 6.2 s, and none of ~520 requests failed).

use std::net::TcpListener;
use std::thread::JoinHandle;
use std::time::Duration;

use tokio::sync::watch;

use crate::run::RunError;

/// The listening sockets systemd passed to this process (socket activation), in order; empty
/// when it passed none (`LISTEN_FDS` unset, or `LISTEN_PID` another process's).
///
/// To be called before any thread starts: `listenfd` removes `LISTEN_FDS` and `LISTEN_PID`
/// from the environment (so that a child, such as the sync round's, never takes them for its
/// own), and marks the sockets close-on-exec.
pub fn inherited() -> Result<Vec<TcpListener>, RunError> {
    let mut fds = listenfd::ListenFd::from_env();
    (0..fds.len())
        .map(|i| match fds.take_tcp_listener(i) {
            Ok(Some(listener)) => Ok(listener),
            Ok(None) => Err(RunError::Listen(format!(
                "inherited socket {} (LISTEN_FDS): already taken",
                i + 3
            ))),
            Err(e) => Err(RunError::Listen(format!(
                "inherited socket {} (LISTEN_FDS): {e} (want a listening TCP socket: \
                 ListenStream= in the .socket unit)",
                i + 3
            ))),
        })
        .collect()
}

/// A process's server threads: where they listen (the inherited sockets, when systemd passed
/// some) and how to stop them ([`Servers::drain`]).
pub struct Servers {
    inherited: Vec<TcpListener>,
    stop: watch::Sender<bool>,
    threads: Vec<JoinHandle<()>>,
}

impl Servers {
    /// Servers that bind their own addresses.
    pub fn bind() -> Servers {
        Servers::on(Vec::new())
    }

    /// Servers on the sockets systemd passed ([`inherited`]), else on their own addresses.
    pub fn from_env() -> Result<Servers, RunError> {
        Ok(Servers::on(inherited()?))
    }

    /// Servers on `inherited` listening sockets (none: they bind their own addresses).
    pub fn on(inherited: Vec<TcpListener>) -> Servers {
        Servers {
            inherited,
            stop: watch::Sender::new(false),
            threads: Vec::new(),
        }
    }

    /// The inherited sockets, taken once: the first servers started serve them all.
    pub(crate) fn take_inherited(&mut self) -> Vec<TcpListener> {
        std::mem::take(&mut self.inherited)
    }

    /// What a server thread watches to know when to drain.
    pub(crate) fn drain_signal(&self) -> Drain {
        Drain(self.stop.subscribe())
    }

    /// A server thread started, to be waited for by [`Servers::drain`].
    pub(crate) fn started(&mut self, thread: JoinHandle<()>) {
        self.threads.push(thread);
    }

    /// Stops accepting and lets the connections finish: returns once every server thread has
    /// ended, after `limit`, or at a second SIGTERM or Ctrl-C, whichever comes first. Logs
    /// (through `log`) what it does and how it ended; `open` is the connections open now.
    pub async fn drain(self, limit: Duration, open: impl Fn() -> i64, log: impl Fn(String)) {
        let _ = self.stop.send(true);
        let started = tokio::time::Instant::now();
        log(format!(
            "samizdat mirror: stopping: no new connection taken; the {} open finish within {} s",
            open(),
            limit.as_secs()
        ));
        let all_ended = async {
            while self.threads.iter().any(|t| !t.is_finished()) {
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
        };
        let how = tokio::select! {
            () = all_ended => "every connection finished".to_owned(),
            () = tokio::time::sleep(limit) => {
                format!("the drain limit passed, {} connections cut", open())
            }
            _ = crate::run::stop_signal() => {
                format!("stopped again, {} connections cut", open())
            }
        };
        log(format!(
            "samizdat mirror: stopped after {:.1} s: {how}",
            started.elapsed().as_secs_f64()
        ));
    }
}

/// A server thread's view of the stop: whether to drain, and a wait for it. Never fires when
/// its [`Servers`] was dropped without draining (the demo's servers run until the process ends).
#[derive(Clone)]
pub(crate) struct Drain(watch::Receiver<bool>);

impl Drain {
    /// Whether the server is draining now.
    pub(crate) fn draining(&self) -> bool {
        *self.0.borrow()
    }

    /// Returns once the server drains.
    pub(crate) async fn started(&mut self) {
        if self.0.wait_for(|draining| *draining).await.is_err() {
            std::future::pending::<()>().await;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_drain_reaches_every_thread_and_a_dropped_servers_never_drains() {
        let mut servers = Servers::bind();
        let mut drain = servers.drain_signal();
        let (ended_tx, ended_rx) = std::sync::mpsc::channel();
        let mut seen = drain.clone();
        let thread = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .expect("runtime");
            runtime.block_on(seen.started());
            let _ = ended_tx.send(seen.draining());
        });
        servers.started(thread);
        assert!(!drain.draining());
        let logged = std::sync::Mutex::new(Vec::new());
        servers
            .drain(
                Duration::from_secs(10),
                || 0,
                |line| logged.lock().expect("lock").push(line),
            )
            .await;
        assert_eq!(ended_rx.recv().ok(), Some(true));
        drain.started().await;
        let logged = logged.into_inner().expect("lock");
        assert!(
            logged.len() == 2 && logged[1].contains("every connection finished"),
            "{logged:?}"
        );

        let dropped = Servers::bind();
        let mut never = dropped.drain_signal();
        drop(dropped);
        let waited = tokio::time::timeout(Duration::from_millis(100), never.started()).await;
        assert!(waited.is_err() && !never.draining());
    }
}
