//! The flood guard: who may open a connection, and whose request is answered now.
//!
//! Per client, keyed by its source address (an IPv6 one by its /64, [`address_of`]) and by its
//! prefix (/24 for IPv4, /56 for IPv6: what one subscriber or one rented server usually holds): a cap on open connections, checked when
//! a connection is accepted (over it, the connection is closed at once), and a request-rate
//! bucket (`governor`'s GCRA), checked by [`request::screen`](crate::request::screen) on every
//! request of both paths (over it, 429 with `Retry-After`). The address's bucket is asked first
//! and only a request it lets through is charged to the prefix, so one flooding address spends
//! at most its own rate of its neighbours' shared one: with the default prefix rate four times
//! the address's, a reader beside an attacker in the same /24 is still served. Globally: a cap
//! on answers in flight (hyper's bodies not yet sent), over which a request is answered 503 with
//! `Retry-After` at once instead of waiting behind the others.
//!
//! With [`Limits::penalty_s`] set (off by default), an address whose connection the server cut
//! for HTTP/2 abuse (rapid reset, a CONTINUATION flood: nothing an honest client does) is in the
//! penalty box for that long: its new connections are closed at once, as over the connection
//! cap, instead of each being read (over TLS: handshaken) until it is cut again.
//!
//! An allow-list (addresses and prefixes: the mirror's peers, the directories that audit it)
//! is exempt from the per-client limits, not from the global one. Every refusal is counted in
//! `/metrics` by its reason ([`Refusal`]).
//!
//! A leaf like `request`: it sees addresses, never sockets, so each rule is unit-tested alone.
//! The keyed buckets forget clients idle for a full bucket's time ([`Gate::forget_idle`], every
//! [`FORGET`]), so their memory follows the clients of the last seconds, not of the run.

use std::collections::HashMap;
use std::net::IpAddr;
use std::num::NonZeroU32;
use std::sync::Arc;
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, AtomicU32, AtomicU64, AtomicUsize, Ordering::Relaxed};
use std::time::{Duration, Instant};

use governor::clock::{Clock, DefaultClock};
use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};
use serde::{Deserialize, Serialize};

use crate::error::{Error, ErrorKind, Result};
use crate::metrics::Metrics;

/// How often the buckets of clients gone quiet are dropped.
pub(crate) const FORGET: Duration = Duration::from_secs(10);
/// `Retry-After` of a 503 (overloaded): a second, the time answers in flight take to drain.
pub(crate) const OVERLOADED_RETRY: u64 = 1;
/// Requests a connection pays for at once, at most: the shared buckets are looked up once for
/// that many requests instead of at each (the guard's cost on a keep-alive connection), and a
/// connection holds at most this many paid for and unused (against bursts of thousands).
const BATCH_MAX: u32 = 16;
/// The longest tarpit: each waiting refusal holds its connection.
const TARPIT_MAX_MS: u32 = 10_000;
/// The longest penalty: an address shared by many (a NAT) should not lose the mirror for long
/// for one of its machines.
const PENALTY_MAX_S: u32 = 3600;
/// Addresses in the penalty box at once, at most: an attacker with many addresses fills it
/// and the newest go unpunished (each of their connections is still cut as before), so its
/// memory stays a few MB.
const PENALIZED_MAX: usize = 65_536;

/// The flood guard's settings (`[guard]` in `mirror.toml`; each also a flag and a variable of
/// `mirror run` and `mirror serve`). The defaults let a browser load a reader-site page with all
/// its files at once, and a mirror sync up to 20,000 files from this one at full speed (an
/// incremental sync; a first sync of a large archive is slowed to the rate after that, as a
/// sync waits out each 429's `Retry-After`: allow-list the mirrors that sync from this one to
/// let them go at full speed), and refuse a
/// single machine that asks for more than any of them, for long.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Limits {
    /// Requests a second one address may make, sustained.
    pub rate: u32,
    /// Requests one address may make at once above its rate.
    pub burst: u32,
    /// Requests a second one prefix (/24, /56) may make, all its addresses together.
    pub prefix_rate: u32,
    pub prefix_burst: u32,
    /// Connections one address may hold open.
    pub connections: u32,
    /// Connections one prefix may hold open.
    pub prefix_connections: u32,
    /// Answers in flight at once, all clients together, before new requests get 503.
    pub in_flight: u32,
    /// Milliseconds a 429 (a client over its rate) waits before it is sent: a flooding client
    /// then asks at most once a tarpit a connection instead of as fast as 429s can be written,
    /// which costs the server far less. 0: at once. A waiting refusal is not in flight.
    pub tarpit_ms: u32,
    /// Seconds an address whose connection was cut for HTTP/2 abuse has its new connections
    /// closed at once (the penalty box). 0 (the default): never. Off by default: on loopback it
    /// cut the HTTP/2 work of a rapid-reset attack by 97% but not the server's CPU (the attacker
    /// reconnects instead) nor a reader's latency (bench/RESULTS.md), and one abuser behind a
    /// shared address (a NAT, a Tor exit) would lock out every reader there; for a TLS mirror
    /// under such an attack, where each connection costs a handshake.
    pub penalty_s: u32,
    /// Addresses and prefixes (`IP` or `IP/BITS`) exempt from the per-client limits.
    pub allow: Vec<String>,
    /// The guard refuses nothing: for a mirror behind a proxy or CDN that guards it (where
    /// every request comes from the proxy's address), and to measure what the guard costs.
    pub off: bool,
}

impl Default for Limits {
    fn default() -> Limits {
        Limits {
            rate: 1000,
            burst: 20_000,
            prefix_rate: 4000,
            prefix_burst: 80_000,
            connections: 64,
            prefix_connections: 256,
            in_flight: 4096,
            tarpit_ms: 500,
            penalty_s: 0,
            allow: Vec::new(),
            off: false,
        }
    }
}

impl Limits {
    /// Checks the values: every limit at least 1, every allow-list entry an address or prefix.
    pub fn check(&self) -> Result<()> {
        let numbers = [
            ("rate", self.rate),
            ("burst", self.burst),
            ("prefix_rate", self.prefix_rate),
            ("prefix_burst", self.prefix_burst),
            ("connections", self.connections),
            ("prefix_connections", self.prefix_connections),
            ("in_flight", self.in_flight),
        ];
        if let Some((name, _)) = numbers.iter().find(|(_, v)| *v == 0) {
            return Err(Error::new(
                ErrorKind::Config,
                format!("guard.{name} must be at least 1"),
            ));
        }
        if self.tarpit_ms > TARPIT_MAX_MS {
            return Err(Error::new(
                ErrorKind::Config,
                format!("guard.tarpit_ms must be at most {TARPIT_MAX_MS} (10 s)"),
            ));
        }
        if self.penalty_s > PENALTY_MAX_S {
            return Err(Error::new(
                ErrorKind::Config,
                format!("guard.penalty_s must be at most {PENALTY_MAX_S} (an hour)"),
            ));
        }
        for entry in &self.allow {
            Net::parse(entry)?;
        }
        Ok(())
    }
}

/// Limits given for one command (flags, environment) over `mirror.toml`'s; None (empty): the
/// file's.
#[derive(Debug, Clone, Default)]
pub struct Overrides {
    pub rate: Option<u32>,
    pub burst: Option<u32>,
    pub prefix_rate: Option<u32>,
    pub prefix_burst: Option<u32>,
    pub connections: Option<u32>,
    pub prefix_connections: Option<u32>,
    pub in_flight: Option<u32>,
    pub tarpit_ms: Option<u32>,
    pub penalty_s: Option<u32>,
    pub allow: Vec<String>,
    /// `Some(true)`: the guard off for this command, whatever the file says.
    pub off: Option<bool>,
}

impl Overrides {
    pub fn apply(self, limits: &mut Limits) {
        let fields = [
            (self.rate, &mut limits.rate),
            (self.burst, &mut limits.burst),
            (self.prefix_rate, &mut limits.prefix_rate),
            (self.prefix_burst, &mut limits.prefix_burst),
            (self.connections, &mut limits.connections),
            (self.prefix_connections, &mut limits.prefix_connections),
            (self.in_flight, &mut limits.in_flight),
            (self.tarpit_ms, &mut limits.tarpit_ms),
            (self.penalty_s, &mut limits.penalty_s),
        ];
        for (given, field) in fields {
            if let Some(value) = given {
                *field = value;
            }
        }
        if !self.allow.is_empty() {
            limits.allow = self.allow;
        }
        if let Some(off) = self.off {
            limits.off = off;
        }
    }
}

/// An address or prefix of the allow-list.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Net {
    base: IpAddr,
    bits: u8,
}

impl Net {
    fn parse(text: &str) -> Result<Net> {
        let wrong = || {
            Error::new(
                ErrorKind::Config,
                format!("guard.allow: {text:?} is not an address or a prefix (IP/BITS)"),
            )
        };
        let (ip, bits) = match text.split_once('/') {
            Some((ip, bits)) => (ip, Some(bits.parse::<u8>().map_err(|_| wrong())?)),
            None => (text, None),
        };
        let base: IpAddr = ip.trim().parse().map_err(|_| wrong())?;
        let most = if base.is_ipv4() { 32 } else { 128 };
        let bits = bits.unwrap_or(most);
        if bits > most {
            return Err(wrong());
        }
        Ok(Net {
            base: masked(base, bits),
            bits,
        })
    }

    fn contains(&self, ip: IpAddr) -> bool {
        ip.is_ipv4() == self.base.is_ipv4() && masked(ip, self.bits) == self.base
    }
}

/// `ip` with all but its first `bits` bits zeroed.
fn masked(ip: IpAddr, bits: u8) -> IpAddr {
    match ip {
        IpAddr::V4(v4) => {
            let mask = u32::MAX.checked_shl(32 - u32::from(bits)).unwrap_or(0);
            IpAddr::V4((u32::from(v4) & mask).into())
        }
        IpAddr::V6(v6) => {
            let mask = u128::MAX.checked_shl(128 - u32::from(bits)).unwrap_or(0);
            IpAddr::V6((u128::from(v6) & mask).into())
        }
    }
}

/// The prefix an address is counted with: its /24 (IPv4) or /56 (IPv6). An IPv4 address
/// mapped into IPv6 (a dual-stack socket) is its IPv4 address.
pub fn prefix_of(ip: IpAddr) -> IpAddr {
    let ip = ip.to_canonical();
    masked(ip, if ip.is_ipv4() { 24 } else { 56 })
}

/// The key of an address's own limits: an IPv4 address; for IPv6 its /64, what one host or
/// subscriber is given (one machine can take any of its 2^64 addresses: keyed by the whole
/// address, it would have as many buckets, and the guard's memory would grow with them).
pub fn address_of(ip: IpAddr) -> IpAddr {
    let ip = ip.to_canonical();
    if ip.is_ipv4() { ip } else { masked(ip, 64) }
}

/// Why the guard refused: the label of `samizdat_mirror_refused_total`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    /// 429: the address is over its request rate.
    Rate = 0,
    /// 429: the prefix is over its request rate.
    PrefixRate = 1,
    /// 503: too many answers in flight.
    Overloaded = 2,
    /// A connection closed at once: the address holds its cap.
    Connections = 3,
    /// A connection closed at once: the prefix holds its cap.
    PrefixConnections = 4,
    /// A connection closed at once: the address is in the penalty box.
    Penalty = 5,
}

impl Refusal {
    pub(crate) const ALL: [Refusal; 6] = [
        Refusal::Rate,
        Refusal::PrefixRate,
        Refusal::Overloaded,
        Refusal::Connections,
        Refusal::PrefixConnections,
        Refusal::Penalty,
    ];

    pub(crate) fn label(self) -> &'static str {
        match self {
            Refusal::Rate => "rate",
            Refusal::PrefixRate => "prefix_rate",
            Refusal::Overloaded => "overloaded",
            Refusal::Connections => "connections",
            Refusal::PrefixConnections => "prefix_connections",
            Refusal::Penalty => "penalty",
        }
    }
}

/// The guard's verdict on one request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    Pass,
    /// 429 (rate) or 503 (overloaded), with `Retry-After` in seconds.
    Refused {
        why: Refusal,
        retry_after: u64,
    },
}

impl Verdict {
    /// As one number, for [`Client`]'s atomic: 0 to pass, else the refusal and its wait.
    fn code(self) -> u64 {
        match self {
            Verdict::Pass => 0,
            Verdict::Refused { why, retry_after } => 1 + why as u64 + (retry_after << 8),
        }
    }

    fn of_code(code: u64) -> Verdict {
        let index = (code & 0xff).wrapping_sub(1) as usize;
        match Refusal::ALL.get(index) {
            None => Verdict::Pass,
            Some(&why) => Verdict::Refused {
                why,
                retry_after: code >> 8,
            },
        }
    }
}

/// The guard, one for the whole server (every thread, every listening address).
pub struct Gate {
    limits: Limits,
    allow: Vec<Net>,
    by_address: DefaultKeyedRateLimiter<IpAddr>,
    by_prefix: DefaultKeyedRateLimiter<IpAddr>,
    clock: DefaultClock,
    /// Open connections by address and by prefix (an entry leaves at 0).
    open: Mutex<(HashMap<IpAddr, u32>, HashMap<IpAddr, u32>)>,
    in_flight: AtomicUsize,
    /// The penalty box: addresses cut for HTTP/2 abuse, and when they may connect again.
    penalized: Mutex<HashMap<IpAddr, Instant>>,
    /// How many `penalized` holds: the accept path takes its lock only when it is not empty.
    penalized_count: AtomicUsize,
    /// Whether a task forgets idle buckets already ([`Gate::forget_idle`]).
    forgetting: AtomicBool,
    metrics: Arc<Metrics>,
}

fn quota(rate: u32, burst: u32) -> Quota {
    let nonzero = |n: u32| NonZeroU32::new(n).unwrap_or(NonZeroU32::MIN);
    Quota::per_second(nonzero(rate)).allow_burst(nonzero(burst))
}

impl Gate {
    /// A guard with `limits` (checked by [`Limits::check`]: an allow-list entry that does not
    /// parse is left out here), counting refusals in `metrics`.
    pub fn new(limits: Limits, metrics: Arc<Metrics>) -> Gate {
        Gate {
            allow: limits
                .allow
                .iter()
                .filter_map(|a| Net::parse(a).ok())
                .collect(),
            by_address: RateLimiter::keyed(quota(limits.rate, limits.burst)),
            by_prefix: RateLimiter::keyed(quota(limits.prefix_rate, limits.prefix_burst)),
            clock: DefaultClock::default(),
            open: Mutex::new((HashMap::new(), HashMap::new())),
            in_flight: AtomicUsize::new(0),
            penalized: Mutex::new(HashMap::new()),
            penalized_count: AtomicUsize::new(0),
            forgetting: AtomicBool::new(false),
            limits,
            metrics,
        }
    }

    /// A new connection from `ip`: its ticket (which [`Client::screen`]s its requests and
    /// gives its place back when dropped), or the reason it is refused (counted).
    pub fn connect(self: &Arc<Gate>, ip: IpAddr) -> std::result::Result<Client, Refusal> {
        let ip = ip.to_canonical();
        let allowed = self.limits.off || self.allow.iter().any(|net| net.contains(ip));
        let prefix = prefix_of(ip);
        let ip = address_of(ip);
        if !allowed && self.in_penalty(ip, Instant::now()) {
            self.metrics.refused(Refusal::Penalty);
            return Err(Refusal::Penalty);
        }
        if !allowed {
            let Ok(mut open) = self.open.lock() else {
                return Err(Refusal::Overloaded);
            };
            let (by_address, by_prefix) = &mut *open;
            let refusal = if by_address.get(&ip).copied().unwrap_or(0) >= self.limits.connections {
                Some(Refusal::Connections)
            } else if by_prefix.get(&prefix).copied().unwrap_or(0) >= self.limits.prefix_connections
            {
                Some(Refusal::PrefixConnections)
            } else {
                *by_address.entry(ip).or_default() += 1;
                *by_prefix.entry(prefix).or_default() += 1;
                None
            };
            if let Some(why) = refusal {
                drop(open);
                self.metrics.refused(why);
                return Err(why);
            }
        }
        Ok(Client {
            gate: self.clone(),
            ip,
            prefix,
            allowed,
            last: AtomicU64::new(0),
            handed_over: AtomicBool::new(false),
            paid: AtomicU32::new(0),
        })
    }

    /// Whether `ip` (an [`address_of`]) is in the penalty box at `now`.
    fn in_penalty(&self, ip: IpAddr, now: Instant) -> bool {
        if self.penalized_count.load(Relaxed) == 0 {
            return false;
        }
        let Ok(penalized) = self.penalized.lock() else {
            return false;
        };
        penalized.get(&ip).is_some_and(|until| *until > now)
    }

    /// Puts `ip` (an [`address_of`]) in the penalty box from `now` for [`Limits::penalty_s`]
    /// (unless that is 0; when the box is full, not at all: the periodic
    /// [`Gate::release_penalties`] makes room, not each cut, which would scan the whole box
    /// under its lock for every connection an attacker with many addresses gets cut).
    fn penalize(&self, ip: IpAddr, now: Instant) {
        if self.limits.penalty_s == 0 {
            return;
        }
        let Ok(mut penalized) = self.penalized.lock() else {
            return;
        };
        if penalized.len() < PENALIZED_MAX || penalized.contains_key(&ip) {
            let until = now + Duration::from_secs(u64::from(self.limits.penalty_s));
            penalized.insert(ip, until);
        }
        self.penalized_count.store(penalized.len(), Relaxed);
    }

    /// Lets out of the penalty box the addresses whose time is over.
    fn release_penalties(&self, now: Instant) {
        if let Ok(mut penalized) = self.penalized.lock() {
            penalized.retain(|_, until| *until > now);
            penalized.shrink_to_fit();
            self.penalized_count.store(penalized.len(), Relaxed);
        }
    }

    /// How long a 429 waits before it is sent ([`Limits::tarpit_ms`]; a guard that is off
    /// refuses nothing).
    pub(crate) fn tarpit(&self) -> std::time::Duration {
        std::time::Duration::from_millis(u64::from(self.limits.tarpit_ms))
    }

    /// An answer starts: in flight until the returned token is dropped.
    pub(crate) fn flight(self: &Arc<Gate>) -> Flight {
        self.in_flight.fetch_add(1, Relaxed);
        Flight { gate: self.clone() }
    }

    /// Drops the buckets of clients quiet for long enough that theirs are full again, every
    /// [`FORGET`], for ever; only the first caller does it (each server thread calls it).
    pub(crate) async fn forget_idle(self: Arc<Gate>) {
        if self.forgetting.swap(true, Relaxed) {
            return;
        }
        let mut interval = tokio::time::interval(FORGET);
        loop {
            interval.tick().await;
            for limiter in [&self.by_address, &self.by_prefix] {
                limiter.retain_recent();
                limiter.shrink_to_fit();
            }
            self.release_penalties(Instant::now());
        }
    }

    /// Requests a connection pays for at once ([`Client::screen`]): 1 when the bursts are small
    /// enough for a few unused ones to matter, else up to [`BATCH_MAX`].
    fn batch(&self) -> u32 {
        let smallest = self.limits.burst.min(self.limits.prefix_burst);
        (smallest / 1000).clamp(1, BATCH_MAX)
    }

    /// The rate verdict on `n` requests of `ip` (and its `prefix`), all or none.
    fn rate(&self, ip: &IpAddr, prefix: &IpAddr, n: u32) -> Verdict {
        let checks = [
            (&self.by_address, ip, Refusal::Rate),
            (&self.by_prefix, prefix, Refusal::PrefixRate),
        ];
        let n = NonZeroU32::new(n).unwrap_or(NonZeroU32::MIN);
        for (limiter, key, why) in checks {
            let refused = match limiter.check_key_n(key, n) {
                Ok(Ok(())) => continue,
                Ok(Err(not_until)) => not_until.wait_time_from(self.clock.now()),
                // More than the burst: never passes (`batch` keeps n far below it).
                Err(_) => std::time::Duration::from_secs(1),
            };
            let retry_after = refused.as_secs() + u64::from(refused.subsec_nanos() > 0);
            return Verdict::Refused {
                why,
                retry_after: retry_after.max(1),
            };
        }
        Verdict::Pass
    }
}

/// One connection's client, from [`Gate::connect`]: its place in the connection counts, given
/// back when dropped.
pub struct Client {
    gate: Arc<Gate>,
    ip: IpAddr,
    prefix: IpAddr,
    allowed: bool,
    /// The last verdict ([`Verdict::code`]) and whether the next screen repeats it: the hot path
    /// handed that request to hyper, whose screen of it neither charges nor counts it again.
    last: AtomicU64,
    handed_over: AtomicBool,
    /// Requests this connection has paid for in its address's and prefix's buckets and not yet
    /// made ([`Gate::batch`]).
    paid: AtomicU32,
}

impl Client {
    /// The guard's verdict on a request of this client, the refusal counted: over its rate
    /// (unless allowed), then the server over its answers in flight, unless the request is
    /// `monitoring` (`/metrics`, the status: small answers from memory, which an operator needs
    /// most while the server sheds load).
    pub fn screen(&self, monitoring: bool) -> Verdict {
        if self.handed_over.swap(false, Relaxed) {
            return Verdict::of_code(self.last.load(Relaxed));
        }
        let verdict = if self.allowed || self.spend_paid() {
            Verdict::Pass
        } else {
            self.pay()
        };
        let verdict = match verdict {
            Verdict::Pass
                if !monitoring
                    && !self.gate.limits.off
                    && self.gate.in_flight.load(Relaxed) >= self.gate.limits.in_flight as usize =>
            {
                Verdict::Refused {
                    why: Refusal::Overloaded,
                    retry_after: OVERLOADED_RETRY,
                }
            }
            other => other,
        };
        if let Verdict::Refused { why, .. } = verdict {
            self.gate.metrics.refused(why);
        }
        self.last.store(verdict.code(), Relaxed);
        verdict
    }

    /// Takes one request already paid for, if any.
    fn spend_paid(&self) -> bool {
        self.paid
            .fetch_update(Relaxed, Relaxed, |n| n.checked_sub(1))
            .is_ok()
    }

    /// Pays for this request and the next ones of a batch; near the limit, for this one alone.
    fn pay(&self) -> Verdict {
        let batch = self.gate.batch();
        if batch > 1 && self.gate.rate(&self.ip, &self.prefix, batch) == Verdict::Pass {
            self.paid.fetch_add(batch - 1, Relaxed);
            return Verdict::Pass;
        }
        self.gate.rate(&self.ip, &self.prefix, 1)
    }

    /// The server cut this client's connection for abuse that no honest client commits
    /// (HTTP/2's `ENHANCE_YOUR_CALM`): its address goes in the penalty box, unless allowed.
    pub(crate) fn penalize(&self) {
        if !self.allowed {
            self.gate.penalize(self.ip, Instant::now());
        }
    }

    /// The hot path passes the request it last screened on to hyper: its verdict stands.
    pub(crate) fn hand_over(&self) {
        self.handed_over.store(true, Relaxed);
    }

    /// The guard this client was admitted by.
    pub(crate) fn gate(&self) -> &Arc<Gate> {
        &self.gate
    }
}

impl Drop for Client {
    fn drop(&mut self) {
        if self.allowed {
            return;
        }
        if let Ok(mut open) = self.gate.open.lock() {
            let (by_address, by_prefix) = &mut *open;
            for (map, key) in [(by_address, self.ip), (by_prefix, self.prefix)] {
                if let Some(count) = map.get_mut(&key) {
                    *count -= 1;
                    if *count == 0 {
                        map.remove(&key);
                    }
                }
            }
        }
    }
}

/// An answer in flight ([`Gate::flight`]).
pub(crate) struct Flight {
    gate: Arc<Gate>,
}

impl Drop for Flight {
    fn drop(&mut self) {
        self.gate.in_flight.fetch_sub(1, Relaxed);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn gate(limits: Limits) -> (Arc<Gate>, Arc<Metrics>) {
        let metrics = Arc::new(Metrics::new());
        (Arc::new(Gate::new(limits, metrics.clone())), metrics)
    }

    fn ip(text: &str) -> IpAddr {
        text.parse().expect("an address")
    }

    #[test]
    fn prefixes_are_slash_24_and_slash_56() {
        assert_eq!(prefix_of(ip("192.0.2.77")), ip("192.0.2.0"));
        assert_eq!(prefix_of(ip("::ffff:192.0.2.77")), ip("192.0.2.0"));
        assert_eq!(
            prefix_of(ip("2001:db8:1:23ff:ffff::1")),
            ip("2001:db8:1:2300::")
        );
        assert_eq!(
            address_of(ip("2001:db8:1:23ff:ffff::1")),
            ip("2001:db8:1:23ff::")
        );
        assert_eq!(address_of(ip("::ffff:192.0.2.77")), ip("192.0.2.77"));
        let net = Net::parse("10.1.0.0/16").expect("a prefix");
        assert!(net.contains(ip("10.1.200.3")));
        assert!(!net.contains(ip("10.2.0.1")));
        assert!(!net.contains(ip("::a01:1")));
        assert!(
            Net::parse("10.0.0.1")
                .expect("an address")
                .contains(ip("10.0.0.1"))
        );
        assert!(
            Net::parse("0.0.0.0/0")
                .expect("all")
                .contains(ip("8.8.8.8"))
        );
        for bad in ["10.0.0.0/33", "example.org", "10.0.0.0/x", "::/129"] {
            assert!(Net::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn an_address_cut_for_http2_abuse_is_refused_until_its_penalty_is_over() {
        let (gate, _) = gate(Limits {
            penalty_s: 30,
            allow: vec!["127.0.9.0/24".into()],
            ..Limits::default()
        });
        let attacker = gate.connect(ip("127.0.0.2")).expect("admitted");
        attacker.penalize();
        drop(attacker);
        assert_eq!(
            gate.connect(ip("127.0.0.2")).err(),
            Some(Refusal::Penalty),
            "in the box"
        );
        gate.connect(ip("127.0.0.3"))
            .expect("a neighbour in the same /24 is not punished");
        let allowed = gate.connect(ip("127.0.9.1")).expect("allowed");
        allowed.penalize();
        gate.connect(ip("127.0.9.1"))
            .expect("an allowed address never goes in the box");
        // Its time over, the address connects again and the box forgets it.
        let later = Instant::now() + Duration::from_secs(31);
        assert!(!gate.in_penalty(ip("127.0.0.2"), later));
        gate.release_penalties(later);
        assert_eq!(gate.penalized_count.load(Relaxed), 0);
        // 0: no penalty box.
        let (off, _) = self::gate(Limits {
            penalty_s: 0,
            ..Limits::default()
        });
        off.connect(ip("127.0.0.2")).expect("admitted").penalize();
        off.connect(ip("127.0.0.2")).expect("no box");
        let too_long = Limits {
            penalty_s: 7200,
            ..Limits::default()
        };
        assert!(
            too_long
                .check()
                .unwrap_err()
                .to_string()
                .contains("penalty_s")
        );
    }

    #[test]
    fn the_penalty_box_holds_at_most_its_cap_of_unexpired_addresses() {
        let (gate, _) = gate(Limits {
            penalty_s: 30,
            ..Limits::default()
        });
        let now = Instant::now();
        for n in 0..PENALIZED_MAX as u32 + 10 {
            gate.penalize(IpAddr::V4((0x0a00_0000 + n).into()), now);
        }
        assert_eq!(gate.penalized_count.load(Relaxed), PENALIZED_MAX);
        let newest = IpAddr::V4((0x0a00_0000 + PENALIZED_MAX as u32 + 5).into());
        assert!(!gate.in_penalty(newest, now), "over the cap: not boxed");
        // Once the first ones' time is over (and the periodic release has run), newcomers
        // take their places.
        let later = now + Duration::from_secs(31);
        gate.penalize(newest, later);
        assert!(!gate.in_penalty(newest, later), "full until released");
        gate.release_penalties(later);
        gate.penalize(newest, later);
        assert!(gate.in_penalty(newest, later));
        assert_eq!(gate.penalized_count.load(Relaxed), 1);
    }

    #[test]
    fn a_client_over_its_rate_is_refused_with_retry_after_and_its_neighbour_is_not() {
        let (gate, metrics) = gate(Limits {
            rate: 1,
            burst: 3,
            prefix_rate: 1,
            prefix_burst: 12,
            ..Limits::default()
        });
        let attacker = gate.connect(ip("127.0.0.2")).expect("admitted");
        let verdicts: Vec<Verdict> = (0..10).map(|_| attacker.screen(false)).collect();
        assert_eq!(verdicts[..3], [Verdict::Pass; 3]);
        for verdict in &verdicts[3..] {
            assert!(
                matches!(verdict, Verdict::Refused { why: Refusal::Rate, retry_after } if *retry_after >= 1),
                "{verdict:?}"
            );
        }
        // The same /24: the attacker spent only 3 of the prefix's 12.
        let reader = gate.connect(ip("127.0.0.3")).expect("admitted");
        assert_eq!(reader.screen(false), Verdict::Pass);
        // Prefix exhausted by many addresses: the prefix's own refusal.
        let many: Vec<Client> = (10..20)
            .map(|i| gate.connect(ip(&format!("127.0.0.{i}"))).expect("admitted"))
            .collect();
        let refused = many
            .iter()
            .flat_map(|c| [c.screen(false), c.screen(false)])
            .filter(|v| {
                matches!(
                    v,
                    Verdict::Refused {
                        why: Refusal::PrefixRate,
                        ..
                    }
                )
            })
            .count();
        assert!(refused >= 8, "{refused}");
        let text = metrics.encode();
        assert!(
            text.contains("samizdat_mirror_refused_total{reason=\"rate\"} 7"),
            "{text}"
        );
    }

    #[test]
    fn connections_are_capped_per_address_and_prefix_and_given_back() {
        let (gate, metrics) = gate(Limits {
            connections: 2,
            prefix_connections: 3,
            allow: vec!["127.0.0.9".into()],
            ..Limits::default()
        });
        let a1 = gate.connect(ip("127.0.0.2")).expect("first");
        let _a2 = gate.connect(ip("127.0.0.2")).expect("second");
        assert_eq!(
            gate.connect(ip("127.0.0.2")).err(),
            Some(Refusal::Connections)
        );
        let _b1 = gate.connect(ip("127.0.0.3")).expect("the prefix's third");
        assert_eq!(
            gate.connect(ip("127.0.0.4")).err(),
            Some(Refusal::PrefixConnections)
        );
        assert!(gate.connect(ip("127.0.1.4")).is_ok(), "another prefix");
        let allowed: Vec<Client> = (0..10)
            .map(|_| gate.connect(ip("127.0.0.9")).expect("allowed"))
            .collect();
        assert!(allowed.iter().all(|c| c.screen(false) == Verdict::Pass));
        drop(a1);
        assert!(gate.connect(ip("127.0.0.2")).is_ok(), "given back");
        let text = metrics.encode();
        for line in [
            "samizdat_mirror_refused_total{reason=\"connections\"} 1",
            "samizdat_mirror_refused_total{reason=\"prefix_connections\"} 1",
        ] {
            assert!(text.contains(line), "{line} in {text}");
        }
    }

    /// One machine that takes a new IPv6 address of its /64 for each connection is one client.
    #[test]
    fn an_ipv6_client_is_its_slash_64() {
        let (gate, _) = gate(Limits {
            connections: 2,
            rate: 1,
            burst: 2,
            ..Limits::default()
        });
        let a = gate.connect(ip("2001:db8::1")).expect("first");
        let b = gate.connect(ip("2001:db8::2")).expect("second");
        assert_eq!(
            gate.connect(ip("2001:db8::3")).err(),
            Some(Refusal::Connections)
        );
        assert!(gate.connect(ip("2001:db8:0:1::1")).is_ok(), "another /64");
        assert_eq!(
            (a.screen(false), a.screen(false)),
            (Verdict::Pass, Verdict::Pass)
        );
        assert!(matches!(
            b.screen(false),
            Verdict::Refused {
                why: Refusal::Rate,
                ..
            }
        ));
    }

    #[test]
    fn over_the_answers_in_flight_every_client_gets_503_even_allowed_ones_but_for_monitoring() {
        let (gate, _) = gate(Limits {
            in_flight: 2,
            allow: vec!["10.0.0.0/8".into()],
            ..Limits::default()
        });
        let client = gate.connect(ip("192.0.2.1")).expect("admitted");
        let peer = gate.connect(ip("10.9.9.9")).expect("admitted");
        let flights = [gate.flight(), gate.flight()];
        let overloaded = Verdict::Refused {
            why: Refusal::Overloaded,
            retry_after: OVERLOADED_RETRY,
        };
        assert_eq!(client.screen(false), overloaded);
        assert_eq!(peer.screen(false), overloaded);
        assert_eq!(client.screen(true), Verdict::Pass, "monitoring is answered");
        drop(flights);
        assert_eq!(client.screen(false), Verdict::Pass);
    }

    /// With bursts of thousands a connection pays for 16 requests at once: two connections of
    /// one address together get the address's burst, less at most the 15 each holds unused,
    /// never more; the refusal after it is counted once.
    #[test]
    fn connections_pay_in_batches_and_never_get_more_than_the_burst() {
        let (gate, metrics) = gate(Limits {
            rate: 1,
            burst: 16_000,
            prefix_rate: 1,
            prefix_burst: 1_000_000,
            ..Limits::default()
        });
        assert_eq!(gate.batch(), 16);
        let clients = [
            gate.connect(ip("192.0.2.1")).expect("admitted"),
            gate.connect(ip("192.0.2.1")).expect("admitted"),
        ];
        let mut passed = [0u32; 2];
        for round in 0..20_000 {
            let k = round % 2;
            if clients[k].screen(false) == Verdict::Pass {
                passed[k] += 1;
            }
        }
        let total = passed[0] + passed[1];
        // One more token may have dripped in (1 a second) while the test ran.
        assert!((16_000 - 30..=16_000 + 2).contains(&total), "{passed:?}");
        let text = metrics.encode();
        let refused = 20_000 - u64::from(total);
        assert!(
            text.contains(&format!(
                "samizdat_mirror_refused_total{{reason=\"rate\"}} {refused}"
            )),
            "{refused} refusals: {text}"
        );
    }

    #[test]
    fn a_guard_that_is_off_refuses_nothing() {
        let tight = Limits {
            rate: 1,
            burst: 1,
            prefix_rate: 1,
            prefix_burst: 1,
            connections: 1,
            prefix_connections: 1,
            in_flight: 1,
            ..Limits::default()
        };
        let (on, _) = gate(tight.clone());
        let first = on.connect(ip("192.0.2.1")).expect("admitted");
        assert_eq!(
            on.connect(ip("192.0.2.1")).err(),
            Some(Refusal::Connections)
        );
        assert_eq!(first.screen(false), Verdict::Pass);
        assert!(matches!(first.screen(false), Verdict::Refused { .. }));

        let (off, metrics) = gate(Limits { off: true, ..tight });
        let clients: Vec<Client> = (0..100)
            .map(|_| off.connect(ip("192.0.2.1")).expect("admitted"))
            .collect();
        let _flights: Vec<Flight> = (0..10).map(|_| off.flight()).collect();
        for client in &clients {
            for _ in 0..10 {
                assert_eq!(client.screen(false), Verdict::Pass);
            }
        }
        let text = metrics.encode();
        let refused = text
            .lines()
            .filter(|l| l.starts_with("samizdat_mirror_refused_total{") && !l.ends_with(" 0"));
        assert_eq!(refused.count(), 0, "{text}");
    }

    #[test]
    fn a_request_handed_over_is_neither_charged_nor_counted_again() {
        let (gate, metrics) = gate(Limits {
            rate: 1,
            burst: 1,
            ..Limits::default()
        });
        let client = gate.connect(ip("192.0.2.1")).expect("admitted");
        assert_eq!(client.screen(false), Verdict::Pass);
        client.hand_over();
        assert_eq!(client.screen(false), Verdict::Pass, "its verdict stands");
        let refused = client.screen(false);
        assert!(
            matches!(
                refused,
                Verdict::Refused {
                    why: Refusal::Rate,
                    retry_after: 1
                }
            ),
            "{refused:?}"
        );
        client.hand_over();
        assert_eq!(client.screen(false), refused);
        let text = metrics.encode();
        assert!(
            text.contains("samizdat_mirror_refused_total{reason=\"rate\"} 1"),
            "{text}"
        );
        for verdict in [
            Verdict::Pass,
            Verdict::Refused {
                why: Refusal::PrefixConnections,
                retry_after: 12345,
            },
        ] {
            assert_eq!(Verdict::of_code(verdict.code()), verdict);
        }
    }

    #[test]
    fn limits_of_zero_and_bad_allow_entries_are_config_errors() {
        assert!(Limits::default().check().is_ok());
        let zero = Limits {
            rate: 0,
            ..Limits::default()
        };
        let error = zero.check().expect_err("zero");
        assert_eq!(error.kind(), ErrorKind::Config);
        assert!(error.message().contains("guard.rate"), "{error}");
        let bad = Limits {
            allow: vec!["peer.example".into()],
            ..Limits::default()
        };
        assert!(
            bad.check()
                .expect_err("bad")
                .message()
                .contains("peer.example")
        );
        let no_tarpit = Limits {
            tarpit_ms: 0,
            ..Limits::default()
        };
        assert!(no_tarpit.check().is_ok());
        let long = Limits {
            tarpit_ms: 60_000,
            ..Limits::default()
        };
        assert!(
            long.check()
                .expect_err("long")
                .message()
                .contains("tarpit_ms")
        );
    }
}
