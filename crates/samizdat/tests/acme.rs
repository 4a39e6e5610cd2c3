//! Automatic HTTPS against Pebble (Let's Encrypt's RFC 8555 test server, Debian's `pebble`):
//! a mirror with a domain obtains a certificate over HTTP-01, serves HTTPS that curl accepts
//! with Pebble's root, renews it (Pebble's certificates live 30 s) under a slow download that
//! completes, and keeps serving when Pebble is gone and a renewal fails.
//!
//! Addresses: Pebble and its DNS mock on 127.0.0.231, the mirror on 127.0.0.232 (every name
//! resolves there), the origin on 127.0.0.230.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::util::*;

const DOMAIN: &str = "mirror.samizdat.test";
const PEBBLE_IP: &str = "127.0.0.231";
const MIRROR_IP: &str = "127.0.0.232";
/// Pebble's certificates' lifetime: renewed 20 s after issue (two thirds).
const VALIDITY_SECS: u64 = 30;

/// A child process killed on drop.
struct Killed(Child);

impl Drop for Killed {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn spawn(program: &str, args: &[&str], envs: &[(&str, &str)], log: &Path) -> Killed {
    let file = fs::File::create(log).expect("create log");
    let err = file.try_clone().expect("log");
    let child = Command::new(program)
        .args(args)
        .envs(envs.iter().copied())
        .stdout(file)
        .stderr(err)
        .spawn()
        .unwrap_or_else(|e| {
            panic!("{program}: {e} (./test.sh installs it: apt-get install pebble)")
        });
    Killed(child)
}

fn wait_for(ip: &str, port: u16, what: &str, log: &Path) {
    let deadline = Instant::now() + Duration::from_secs(20);
    while std::net::TcpStream::connect((ip, port)).is_err() {
        assert!(
            Instant::now() < deadline,
            "{what} did not start on {ip}:{port}:\n{}",
            fs::read_to_string(log).unwrap_or_default()
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// The CA Pebble's own HTTPS is checked against (`--acme-ca-cert`), and its certificate and key
/// for `ip`, made by rcgen.
fn pebble_tls(dir: &Path, ip: &str) -> (PathBuf, PathBuf, PathBuf) {
    use rcgen::{BasicConstraints, CertificateParams, IsCa, Issuer, KeyPair};
    let ca_key = KeyPair::generate().expect("key");
    let mut ca_params = CertificateParams::new(Vec::<String>::new()).expect("params");
    ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    ca_params.distinguished_name.push(
        rcgen::DnType::CommonName,
        "samizdat test: Pebble's HTTPS CA",
    );
    let ca = ca_params.self_signed(&ca_key).expect("CA");
    let issuer = Issuer::new(ca_params, ca_key);
    let key = KeyPair::generate().expect("key");
    let params =
        CertificateParams::new(vec![ip.to_owned(), "localhost".to_owned()]).expect("params");
    let cert = params.signed_by(&key, &issuer).expect("certificate");
    let paths = (
        dir.join("pebble-ca.pem"),
        dir.join("pebble-cert.pem"),
        dir.join("pebble-key.pem"),
    );
    fs::write(&paths.0, ca.pem()).expect("write");
    fs::write(&paths.1, cert.pem()).expect("write");
    fs::write(&paths.2, key.serialize_pem()).expect("write");
    paths
}

/// Pebble and its DNS mock (every name resolves to [`MIRROR_IP`]), on [`PEBBLE_IP`]; killed on
/// drop.
struct Pebble {
    /// The CA of Pebble's own HTTPS (`--acme-ca-cert`).
    ca: PathBuf,
    directory: String,
    management_port: u16,
    /// Where Pebble asks HTTP-01 challenges (on [`MIRROR_IP`]).
    http_port: u16,
    log: PathBuf,
    pebble: Option<Killed>,
    _dns: Killed,
}

impl Pebble {
    /// `validity`: its certificates' lifetime in seconds (None: Pebble's default, 5 years).
    fn start(dir: &Path, validity: Option<u64>) -> Pebble {
        let (ca, cert, key) = pebble_tls(dir, PEBBLE_IP);
        let (acme_port, management_port, dns_port) = (
            free_port(PEBBLE_IP),
            free_port(PEBBLE_IP),
            free_port(PEBBLE_IP),
        );
        let http_port = free_port(MIRROR_IP);
        let config = dir.join("pebble.json");
        let mut json = serde_json::json!({"pebble": {
            "listenAddress": format!("{PEBBLE_IP}:{acme_port}"),
            "managementListenAddress": format!("{PEBBLE_IP}:{management_port}"),
            "certificate": p(&cert),
            "privateKey": p(&key),
            "httpPort": http_port,
            "tlsPort": free_port(MIRROR_IP),
            "ocspResponderURL": "",
            "externalAccountBindingRequired": false,
        }});
        if let Some(validity) = validity {
            json["pebble"]["certificateValidityPeriod"] = validity.into();
        }
        fs::write(&config, json.to_string()).expect("write");
        let dns = format!("{PEBBLE_IP}:{dns_port}");
        let management = format!("{PEBBLE_IP}:{}", free_port(PEBBLE_IP));
        let dns_mock = spawn(
            "pebble-challtestsrv",
            &[
                "-defaultIPv4",
                MIRROR_IP,
                "-defaultIPv6",
                "",
                "-dns01",
                &dns,
                "-http01",
                "",
                "-https01",
                "",
                "-tlsalpn01",
                "",
                "-management",
                &management,
            ],
            &[],
            &dir.join("challtestsrv.log"),
        );
        let log = dir.join("pebble.log");
        let pebble_env = [
            ("PEBBLE_VA_NOSLEEP", "1"),
            ("PEBBLE_WFE_NONCEREJECT", "0"),
            // Every order validates anew: each renewal answers a challenge.
            ("PEBBLE_AUTHZREUSE", "0"),
        ];
        let pebble = spawn(
            "pebble",
            &["-config", p(&config), "-dnsserver", &dns],
            &pebble_env,
            &log,
        );
        wait_for(PEBBLE_IP, acme_port, "pebble", &log);
        wait_for(PEBBLE_IP, management_port, "pebble", &log);
        Pebble {
            ca,
            directory: format!("https://{PEBBLE_IP}:{acme_port}/dir"),
            management_port,
            http_port,
            log,
            pebble: Some(pebble),
            _dns: dns_mock,
        }
    }

    fn stop(&mut self) {
        self.pebble = None;
    }
}

/// `curl` with `args`: exit code, stdout.
fn curl_run(args: &[&str]) -> (i32, Vec<u8>) {
    let out = Command::new("curl")
        .args(["-s", "--max-time", "20"])
        .args(args)
        .output()
        .expect("curl (./test.sh installs it)");
    (out.status.code().unwrap_or(-1), out.stdout)
}

#[test]
fn a_mirror_gets_renews_and_keeps_a_certificate_from_pebble() {
    let started = Instant::now();
    let tmp = tempfile::tempdir().expect("tempdir");
    let log = |name: &str| tmp.path().join(format!("{name}.log"));
    // A release with a large document, read slowly across a renewal below.
    let archive = sample_release(tmp.path(), &[]);
    let big: String = (0..100_000)
        .map(|i| format!("line {i:06} of the large ledger, read slowly\n"))
        .collect();
    release_a_note(&archive, "ledger.txt", &big);
    let origin = Daemon::start(
        &["mirror", "serve", p(&archive), "--listen", "127.0.0.230:0"],
        &log("origin"),
    );

    let mut pebble = Pebble::start(tmp.path(), Some(VALIDITY_SECS));
    let (http_port, https_port) = (pebble.http_port, free_port(MIRROR_IP));
    let (pebble_ca, management_port) = (pebble.ca.clone(), pebble.management_port);
    let pebble_log = pebble.log.clone();

    // The mirror, with a domain.
    let dir = tmp.path().join("mirror");
    let https_at = format!("{MIRROR_IP}:{https_port}");
    let plain_at = format!("{MIRROR_IP}:{http_port}");
    let directory = pebble.directory.clone();
    mirror_init(
        &dir,
        &archive.join("root.json"),
        &[&origin.url],
        &[
            "--listen",
            &https_at,
            "--interval",
            "1",
            "--domain",
            DOMAIN,
            "--acme-directory",
            &directory,
            "--acme-ca-cert",
            p(&pebble_ca),
            "--acme-email",
            "ops@samizdat.test",
            "--plain-listen",
            &plain_at,
            "--plain-http-for-peers",
        ],
        0,
    );
    let mirror = Daemon::start(&["mirror", "run", p(&dir)], &log("mirror"));
    assert_eq!(mirror.url, format!("https://{https_at}/"));
    let plain = format!("http://{plain_at}");
    let status = || -> serde_json::Value {
        let (_, body) = curl_run(&[&format!("{plain}/.well-known/samizdat/status.json")]);
        serde_json::from_slice(&body).unwrap_or(serde_json::Value::Null)
    };
    let wait_until = |what: &str, secs: u64, done: &dyn Fn(&serde_json::Value) -> bool| {
        let deadline = Instant::now() + Duration::from_secs(secs);
        loop {
            let now = status();
            if done(&now) {
                return now;
            }
            assert!(
                Instant::now() < deadline,
                "{what} not within {secs} s: {now}\nmirror:\n{}\npebble:\n{}",
                mirror.log(),
                fs::read_to_string(&pebble_log).unwrap_or_default()
            );
            std::thread::sleep(Duration::from_millis(200));
        }
    };
    let first = wait_until("a first certificate and release 2", 30, &|s| {
        s["https"]["certificate_expires"].is_string() && s["release"]["version"] == 2
    });
    eprintln!(
        "certificate and release after {:.1} s: {}",
        started.elapsed().as_secs_f64(),
        first["https"]
    );
    assert_eq!(first["https"]["domain"], DOMAIN);

    // The account key, certificate and key: 0600 in DIR/acme.
    for file in ["account.json", "cert.pem", "key.pem"] {
        let mode = std::os::unix::fs::PermissionsExt::mode(
            &fs::metadata(dir.join("acme").join(file))
                .unwrap_or_else(|e| panic!("acme/{file}: {e}"))
                .permissions(),
        );
        assert_eq!(mode & 0o777, 0o600, "acme/{file}");
    }

    // HTTPS that curl accepts with Pebble's root (from its management API), and only with it.
    let root = tmp.path().join("pebble-root.pem");
    let (code, root_pem) = curl_run(&[
        "--cacert",
        p(&pebble_ca),
        &format!("https://{PEBBLE_IP}:{management_port}/roots/0"),
    ]);
    assert_eq!(code, 0, "Pebble's root");
    fs::write(&root, &root_pem).expect("write");
    let resolve = format!("{DOMAIN}:{https_port}:{MIRROR_IP}");
    let origin_url = format!("https://{DOMAIN}:{https_port}");
    let https_get = |path: &str, ca: &Path| {
        curl_run(&[
            "--fail",
            "--cacert",
            p(ca),
            "--resolve",
            &resolve,
            &format!("{origin_url}{path}"),
        ])
    };
    let (code, body) = https_get("/metadata/timestamp.json", &root);
    assert_eq!(code, 0, "HTTPS with Pebble's root: {}", mirror.log());
    assert!(body.starts_with(b"{"), "{}", String::from_utf8_lossy(&body));
    let (code, _) = https_get("/metadata/timestamp.json", &pebble_ca);
    assert_eq!(code, 60, "a CA not the certificate's is refused (curl: 60)");

    // Plain HTTP: the challenge path answers (no such token now), readers are redirected,
    // peers still read the release.
    let (head, _) = curl(&format!("{plain}/d/x/?q=1"), &[]);
    assert!(head.starts_with("http/1.1 301"), "{head}");
    assert_says(&head, format!("location: {origin_url}/d/x/?q=1"));
    let (head, _) = curl(&format!("{plain}/.well-known/acme-challenge/nope"), &[]);
    assert!(head.starts_with("http/1.1 404"), "{head}");
    let (head, _) = curl(&format!("{plain}/metadata/timestamp.json"), &[]);
    assert!(head.starts_with("http/1.1 200"), "{head}");

    // A slow download of the large document (~25 s) spans a renewal; it completes, whole.
    // The ledger's stored original: the largest target.
    let ledger = fs::read_dir(dir.join("release/targets"))
        .expect("targets")
        .map(|e| e.expect("entry").path())
        .max_by_key(|path| fs::metadata(path).map_or(0, |m| m.len()))
        .expect("a target");
    let ledger_name = ledger
        .file_name()
        .and_then(|n| n.to_str())
        .expect("name")
        .to_owned();
    let size = fs::metadata(&ledger).expect("ledger").len();
    assert!(size > 4_000_000, "{size}");
    // Started with the next renewal at least 3 s (and at most 20 s) away: it falls within.
    let renewal_in = |s: &serde_json::Value| {
        let next = s["https"]["next_attempt"].as_str().and_then(|t| {
            time::OffsetDateTime::parse(t, &time::format_description::well_known::Rfc3339).ok()
        });
        next.map_or(0.0, |t| {
            (t - time::OffsetDateTime::now_utc()).as_seconds_f64()
        })
    };
    let now = wait_until("the next renewal 3 s away or more", 30, &|s| {
        renewal_in(s) >= 3.0
    });
    let expires_before = now["https"]["certificate_expires"].clone();
    let download = tmp.path().join("ledger.download");
    let rate = (size / 25).to_string();
    let mut slow = Command::new("curl")
        .args(["-s", "--fail", "--max-time", "60", "--limit-rate", &rate])
        .args([
            "--cacert",
            p(&root),
            "--resolve",
            &resolve,
            "-o",
            p(&download),
        ])
        .arg(format!("{origin_url}/targets/{ledger_name}"))
        .stdout(Stdio::null())
        .spawn()
        .expect("curl");
    let renewed = wait_until("a renewal during the download", 40, &|s| {
        s["https"]["certificate_expires"] != expires_before
    });
    eprintln!(
        "renewed at {:.1} s: {}",
        started.elapsed().as_secs_f64(),
        renewed["https"]
    );
    assert!(
        slow.try_wait().expect("curl").is_none(),
        "the download was still running at the renewal"
    );
    let done = slow.wait().expect("curl");
    assert!(done.success(), "the slow download across a renewal: {done}");
    assert_eq!(
        fs::read(&download).expect("download"),
        fs::read(&ledger).expect("ledger"),
        "the download is the document, whole"
    );
    let (code, _) = https_get("/metadata/timestamp.json", &root);
    assert_eq!(code, 0, "HTTPS on the renewed certificate");

    // Pebble stopped during a renewal (killed as soon as the next order reaches it): the
    // renewal fails, the old certificate is still served, and the failure is in the log, the
    // status and the metrics.
    let orders = || {
        fs::read_to_string(&pebble_log)
            .unwrap_or_default()
            .matches("POST /order-plz")
            .count()
    };
    let (before, kept) = (orders(), status()["https"]["certificate_expires"].clone());
    let deadline = Instant::now() + Duration::from_secs(30);
    while orders() == before {
        assert!(Instant::now() < deadline, "no renewal within 30 s");
        std::thread::sleep(Duration::from_millis(5));
    }
    pebble.stop();
    let failed = wait_until("a failed renewal", 40, &|s| {
        s["https"]["failures_in_a_row"].as_u64().unwrap_or(0) >= 1
    });
    // Killed that fast, the order had not finished (else the next one fails, on this one's
    // certificate).
    let during = failed["https"]["certificate_expires"] == kept;
    eprintln!(
        "renewal failed at {:.1} s (Pebble killed {} the order): {}",
        started.elapsed().as_secs_f64(),
        if during { "during" } else { "after" },
        failed["https"]
    );
    assert!(failed["https"]["last_error"].is_string(), "{failed}");
    let (code, _) = https_get("/metadata/timestamp.json", &root);
    assert_eq!(code, 0, "HTTPS on the old certificate while renewals fail");
    let (code, metrics) = https_get("/metrics", &root);
    assert_eq!(code, 0);
    let metrics = String::from_utf8_lossy(&metrics).into_owned();
    let failures = metrics
        .lines()
        .find_map(|l| l.strip_prefix("samizdat_mirror_acme_renewal_failures_total "))
        .and_then(|v| v.trim().parse::<f64>().ok());
    assert!(failures.is_some_and(|n| n >= 1.0), "{metrics}");
    assert_says(&metrics, "samizdat_mirror_tls_certificate_expiry_seconds ");
    assert_says(&mirror.log(), "warning: certificate order for");
    eprintln!("done in {:.1} s", started.elapsed().as_secs_f64());
}

/// The base64 SHA-256 of the public key (SPKI) of the first certificate in `pem` (Chromium's
/// `--ignore-certificate-errors-spki-list`), by openssl.
fn spki_hash(pem: &Path) -> String {
    let out = Command::new("sh")
        .arg("-c")
        .arg(
            "openssl x509 -in \"$1\" -pubkey -noout | openssl pkey -pubin -outform der \
             | openssl dgst -sha256 -binary | openssl base64 -A",
        )
        .args(["sh", p(pem)])
        .output()
        .expect("openssl (./test.sh installs it)");
    let hash = String::from_utf8_lossy(&out.stdout).trim().to_owned();
    assert!(
        out.status.success() && hash.len() == 44,
        "SPKI hash of {}: {hash} {}",
        pem.display(),
        String::from_utf8_lossy(&out.stderr)
    );
    hash
}

/// The reader site over HTTPS: mirror A (`mirror run --domain`, its certificate from Pebble)
/// and mirror B (`mirror serve` with certificate files), both named by the publisher; the
/// service worker installs from A and, A killed, the next page comes from B.
#[test]
fn the_service_worker_fails_over_between_https_mirrors() {
    use crate::util::browser::{browser_test, metric};
    const DOMAIN_A: &str = "mirror-a.samizdat.test";
    const DOMAIN_B: &str = "mirror-b.samizdat.test";
    const IP_B: &str = "127.0.0.233";
    let tmp = tempfile::tempdir().expect("tempdir");
    let log = |name: &str| tmp.path().join(format!("{name}.log"));
    let (port_a, port_b) = (free_port(MIRROR_IP), free_port(IP_B));
    let (url_a, url_b) = (
        format!("https://{DOMAIN_A}:{port_a}"),
        format!("https://{DOMAIN_B}:{port_b}"),
    );
    // The sample with the site, its publisher naming both mirrors.
    let archive = tmp.path().join("archive");
    run(
        &[
            "init",
            p(&archive),
            "--title",
            "Sample",
            "--mirror",
            &url_a,
            "--mirror",
            &url_b,
        ],
        0,
    );
    run(&["add", p(&archive), p(&sample_documents())], 0);
    run(&["release", p(&archive)], 0);
    let origin = Daemon::start(
        &["mirror", "serve", p(&archive), "--listen", "127.0.0.230:0"],
        &log("origin"),
    );

    // A: a certificate from Pebble.
    let pebble = Pebble::start(tmp.path(), None);
    let dir = tmp.path().join("mirror-a");
    let plain_at = format!("{MIRROR_IP}:{}", pebble.http_port);
    mirror_init(
        &dir,
        &archive.join("root.json"),
        &[&origin.url],
        &[
            "--listen",
            &format!("{MIRROR_IP}:{port_a}"),
            "--interval",
            "1",
            "--domain",
            DOMAIN_A,
            "--acme-directory",
            &pebble.directory,
            "--acme-ca-cert",
            p(&pebble.ca),
            "--plain-listen",
            &plain_at,
            "--plain-http-for-peers",
        ],
        0,
    );
    let a = Daemon::start(&["mirror", "run", p(&dir)], &log("mirror-a"));
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let (_, body) = curl_run(&[&format!(
            "http://{plain_at}/.well-known/samizdat/status.json"
        )]);
        let status: serde_json::Value = serde_json::from_slice(&body).unwrap_or_default();
        if status["https"]["certificate_expires"].is_string() && status["release"]["version"] == 1 {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "mirror A: no certificate and release within 60 s: {status}\n{}",
            a.log()
        );
        std::thread::sleep(Duration::from_millis(200));
    }

    // B: certificate files (rcgen), serving the origin's release.
    let b_dir = tmp.path().join("b");
    fs::create_dir_all(&b_dir).expect("mkdir");
    let (b_cert, b_key) = {
        let key = rcgen::KeyPair::generate().expect("key");
        let params = rcgen::CertificateParams::new(vec![DOMAIN_B.to_owned()]).expect("params");
        let cert = params.self_signed(&key).expect("certificate");
        let paths = (b_dir.join("cert.pem"), b_dir.join("key.pem"));
        fs::write(&paths.0, cert.pem()).expect("write");
        fs::write(&paths.1, key.serialize_pem()).expect("write");
        paths
    };
    let _b = Daemon::start(
        &[
            "mirror",
            "serve",
            p(&archive),
            "--listen",
            &format!("{IP_B}:{port_b}"),
            "--tls-cert",
            p(&b_cert),
            "--tls-key",
            p(&b_key),
        ],
        &log("mirror-b"),
    );

    let spki = format!(
        "{},{}",
        spki_hash(&dir.join("acme/cert.pem")),
        spki_hash(&b_cert)
    );
    let rules = format!("MAP {DOMAIN_A} {MIRROR_IP}, MAP {DOMAIN_B} {IP_B}");
    let pid_a = a.pid().to_string();
    let out = browser_test(
        Path::new("site/failover-https.mjs"),
        &url_a,
        &repo().join("target/screenshots/failover-https"),
        &[&spki, &rules, &pid_a, &url_b],
    );
    assert!(
        metric(&out, "failover_bytes_from_b").is_some_and(|b| b > 0.0),
        "{out}"
    );
}
