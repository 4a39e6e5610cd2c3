//! The router answered without a socket (`oneshot`), the mirror's side of enrolment played by a
//! map of URL → what it serves.

use std::collections::HashMap;

use axum::body::Body;
use axum::http::Request;
use http_body_util::BodyExt;
use tower::ServiceExt;

use super::*;
use crate::machine::{Policy, Verdict, next};
use crate::store::Measured;

struct Harness {
    _dir: tempfile::TempDir,
    directory: Arc<Directory>,
    served: Arc<Mutex<HashMap<String, Vec<u8>>>>,
}

impl Harness {
    fn new() -> Harness {
        Harness::with_geo(None, false)
    }

    fn with_geo(geo: Option<crate::geo::Geo>, behind_proxy: bool) -> Harness {
        let dir = tempfile::tempdir().expect("tempdir");
        list::init(dir.path(), OffsetDateTime::now_utc()).expect("init");
        let served: Arc<Mutex<HashMap<String, Vec<u8>>>> = Arc::default();
        let fetched = served.clone();
        let directory = Arc::new(Directory {
            dir: dir.path().to_owned(),
            store: Mutex::new(Store::open(dir.path()).expect("store")),
            challenges: Challenges::new([3; 32]),
            admin_token: "sesame".to_owned(),
            fetch: Box::new(move |url, path, _max| {
                fetched
                    .lock()
                    .expect("lock")
                    .get(&format!("{url}{path}"))
                    .cloned()
                    .ok_or_else(|| "connection refused".to_owned())
            }),
            geo,
            behind_proxy,
        });
        Harness {
            _dir: dir,
            directory,
            served,
        }
    }

    async fn call(&self, request: Request<Body>) -> (StatusCode, HeaderMap, String) {
        let response = app(self.directory.clone())
            .oneshot(request)
            .await
            .expect("an answer");
        let status = response.status();
        let headers = response.headers().clone();
        let body = response
            .into_body()
            .collect()
            .await
            .expect("body")
            .to_bytes();
        (status, headers, String::from_utf8_lossy(&body).into_owned())
    }

    async fn post(
        &self,
        path: &str,
        json: serde_json::Value,
        token: Option<&str>,
    ) -> (StatusCode, String) {
        let mut request = Request::post(path).header("content-type", "application/json");
        if let Some(token) = token {
            request = request.header("authorization", format!("Bearer {token}"));
        }
        let (status, _, body) = self
            .call(request.body(Body::from(json.to_string())).expect("request"))
            .await;
        (status, body)
    }

    async fn get(&self, path: &str) -> (StatusCode, HeaderMap, String) {
        self.call(Request::get(path).body(Body::empty()).expect("request"))
            .await
    }

    /// Asks for a challenge for `url`; when `serve`, the mirror serves it.
    async fn challenge(&self, url: &str, serve: bool) -> String {
        let (status, body) = self
            .post("/api/challenge", serde_json::json!({ "url": url }), None)
            .await;
        assert_eq!(status, StatusCode::OK, "{body}");
        let answer: ChallengeAnswer = serde_json::from_str(&body).expect("json");
        if serve {
            self.served.lock().expect("lock").insert(
                format!("{url}{}", answer.path),
                format!("{}\n", answer.token).into_bytes(),
            );
        }
        answer.token
    }

    async fn enroll(&self, url: &str, token: &str) -> (StatusCode, String) {
        let body = serde_json::json!({
            "url": url, "country": "se", "provider": "Bahnhof", "token": token,
        });
        self.post("/api/enroll", body, None).await
    }

    fn mirrors(&self) -> Vec<Mirror> {
        self.directory
            .store
            .lock()
            .expect("lock")
            .mirrors()
            .expect("mirrors")
    }
}

#[tokio::test]
async fn a_mirror_that_serves_its_challenge_is_enrolled_pending() {
    let harness = Harness::new();
    let url = "http://127.0.0.2:8080/";
    let token = harness.challenge(url, true).await;
    let (status, body) = harness.enroll(url, &token).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let mirrors = harness.mirrors();
    assert_eq!(mirrors.len(), 1);
    assert_eq!(
        (mirrors[0].state, mirrors[0].country.as_str()),
        (MirrorState::Pending, "SE")
    );
    let (again, _) = harness.enroll(url, &token).await;
    assert_eq!(again, StatusCode::CONFLICT);
}

#[tokio::test]
async fn an_enrolment_whose_operator_does_not_answer_the_challenge_is_refused() {
    let harness = Harness::new();
    let url = "http://127.0.0.3/";
    let token = harness.challenge(url, false).await;
    let (status, body) = harness.enroll(url, &token).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{body}");
    assert!(body.contains(".well-known/samizdat/enroll.txt"), "{body}");
    // A token issued for another URL, served at this one, does not hold either.
    let other = harness.challenge("http://127.0.0.4/", false).await;
    harness
        .served
        .lock()
        .expect("lock")
        .insert(format!("{url}{CHALLENGE_PATH}"), other.clone().into_bytes());
    let (status, body) = harness.enroll(url, &other).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{body}");
    // Serving something else than the token it carries.
    let token = harness.challenge(url, false).await;
    harness
        .served
        .lock()
        .expect("lock")
        .insert(format!("{url}{CHALLENGE_PATH}"), b"hello".to_vec());
    let (status, _) = harness.enroll(url, &token).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert!(harness.mirrors().is_empty());
}

#[tokio::test]
async fn bad_enrolments_are_refused_naming_the_field() {
    let harness = Harness::new();
    let (status, body) = harness
        .post(
            "/api/challenge",
            serde_json::json!({ "url": "ftp://x/" }),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(body.contains("ftp://x/"), "{body}");
    let big = "x".repeat(20_000);
    let (status, _) = harness
        .post("/api/challenge", serde_json::json!({ "url": big }), None)
        .await;
    assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE);
}

#[tokio::test]
async fn admin_calls_without_the_token_are_refused_and_change_nothing() {
    let harness = Harness::new();
    let url = "http://127.0.0.5/";
    let token = harness.challenge(url, true).await;
    harness.enroll(url, &token).await;
    let id = harness.mirrors()[0].id;
    for token in [None, Some("wrong"), Some("")] {
        let (status, _) = harness
            .post(
                &format!("/api/mirrors/{id}/disable"),
                serde_json::json!({}),
                token,
            )
            .await;
        assert_eq!(status, StatusCode::UNAUTHORIZED, "{token:?}");
        let (status, _, _) = harness
            .call(
                Request::delete(format!("/api/mirrors/{id}"))
                    .body(Body::empty())
                    .expect("request"),
            )
            .await;
        assert_eq!(status, StatusCode::UNAUTHORIZED);
    }
    assert!(!harness.mirrors()[0].disabled);
    let (status, body) = harness
        .post(
            &format!("/api/mirrors/{id}/disable"),
            serde_json::json!({ "reason": "abuse" }),
            Some("sesame"),
        )
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT, "{body}");
    assert!(harness.mirrors()[0].disabled);
}

#[tokio::test]
async fn redirects_go_to_a_listed_mirror_and_never_to_an_unlisted_one() {
    let harness = Harness::new();
    let (status, _, _) = harness.get("/r/d/x/").await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
    for url in ["http://127.0.0.6/", "http://127.0.0.7/"] {
        let token = harness.challenge(url, true).await;
        harness.enroll(url, &token).await;
    }
    {
        let mut store = harness.directory.store.lock().expect("lock");
        let first = store.by_url("http://127.0.0.6/").expect("enrolled");
        let healthy = next(&first.standing(), &Verdict::Healthy, &Policy::default());
        store
            .record_audit(first.id, &healthy, Measured::default(), 1)
            .expect("record");
    }
    for _ in 0..20 {
        let (status, headers, _) = harness.get("/r/d/x/").await;
        assert_eq!(status, StatusCode::FOUND);
        assert_eq!(
            headers.get("location").and_then(|v| v.to_str().ok()),
            Some("http://127.0.0.6/d/x/")
        );
    }
    let (status, _, _) = harness.get("/r/../etc/passwd").await;
    assert_ne!(status, StatusCode::FOUND);
}

#[tokio::test]
async fn the_status_page_escapes_what_operators_wrote() {
    let harness = Harness::new();
    let url = "http://127.0.0.8/";
    let token = harness.challenge(url, true).await;
    let body = serde_json::json!({
        "url": url, "country": "DE", "provider": "<script>x</script>", "token": token,
    });
    let (status, _) = harness.post("/api/enroll", body, None).await;
    assert_eq!(status, StatusCode::CREATED);
    let (status, headers, page) = harness.get("/").await;
    assert_eq!(status, StatusCode::OK);
    assert!(!page.contains("<script>"), "{page}");
    assert!(page.contains("&lt;script&gt;"), "{page}");
    assert!(
        headers
            .get("content-security-policy")
            .and_then(|v| v.to_str().ok())
            .is_some_and(|csp| csp.contains("default-src 'none'"))
    );
}

#[tokio::test]
async fn the_list_repository_is_served_and_nothing_beside_it() {
    let harness = Harness::new();
    let (status, headers, body) = harness.get("/metadata/1.root.json").await;
    assert_eq!(status, StatusCode::OK);
    assert!(body.contains("\"_type\""), "{body}");
    assert_eq!(
        headers
            .get("access-control-allow-origin")
            .and_then(|v| v.to_str().ok()),
        Some("*")
    );
    for path in [
        "/metadata/..%2Fkeys%2Froot.der",
        "/metadata/.hidden",
        "/targets/..",
        "/metadata/../keys/root.der",
    ] {
        let (status, _, body) = harness.get(path).await;
        assert_ne!(status, StatusCode::OK, "{path}: {body}");
    }
}

#[test]
fn choice_follows_weights_and_prefers_active_mirrors() {
    let mirror = |url: &str, state, weight| Mirror {
        id: 0,
        url: url.to_owned(),
        country: "DE".to_owned(),
        provider: "x".to_owned(),
        contact: String::new(),
        state,
        reason: String::new(),
        failures: 0,
        weight,
        disabled: false,
        enrolled_at: 0,
        audited_at: None,
        release: None,
        latency_ms: None,
        blocks_log: None,
    };
    let mirrors = [
        mirror("a", MirrorState::Active, 1),
        mirror("b", MirrorState::Active, 3),
        mirror("c", MirrorState::Degraded, 100),
        mirror("d", MirrorState::Delisted, 100),
    ];
    let picks: Vec<&str> = (0..4)
        .map(|roll| choose(&mirrors, roll).expect("one").url.as_str())
        .collect();
    assert_eq!(picks, ["a", "b", "b", "b"]);
    assert_eq!(choose(&mirrors[2..], 7).expect("one").url, "c");
    assert!(choose(&mirrors[3..], 0).is_none());
}

impl Harness {
    /// Enrols `url` (country `country`) and records a healthy audit at `release`.
    async fn active(&self, url: &str, country: &str, release: u64) -> i64 {
        let token = self.challenge(url, true).await;
        let body = serde_json::json!({
            "url": url, "country": country, "provider": format!("host of {url}"), "token": token,
        });
        let (status, body) = self.post("/api/enroll", body, None).await;
        assert_eq!(status, StatusCode::CREATED, "{body}");
        let mut store = self.directory.store.lock().expect("lock");
        let mirror = store.by_url(url).expect("enrolled");
        let healthy = next(&mirror.standing(), &Verdict::Healthy, &Policy::default());
        let measured = Measured {
            release: Some(release),
            latency_ms: Some(3),
            blocks_log: None,
        };
        store
            .record_audit(mirror.id, &healthy, measured, 1)
            .expect("record");
        mirror.id
    }

    /// The archive's release `release` holds `names` (each of length 1 + its index).
    fn holds(&self, release: u64, names: &[&str]) -> Vec<crate::holdings::Target> {
        let targets: Vec<crate::holdings::Target> = names
            .iter()
            .enumerate()
            .map(|(index, name)| crate::holdings::Target {
                name: (*name).to_owned(),
                length: index as u64 + 1,
                sha256: [u8::try_from(index).expect("small") + 1; 32],
            })
            .collect();
        crate::holdings::Holdings::open(&self.directory.dir)
            .expect("holdings")
            .replace(release, [0; 32], &targets)
            .expect("replace");
        targets
    }
}

fn header_values(headers: &HeaderMap, name: &str) -> Vec<String> {
    headers
        .get_all(name)
        .iter()
        .map(|v| v.to_str().expect("ascii").to_owned())
        .collect()
}

#[tokio::test]
async fn a_document_s_metalink_lists_its_files_from_every_listed_mirror_and_the_archive_s_all() {
    let harness = Harness::new();
    let (status, _, _) = harness.get("/archive.meta4").await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE, "nothing held yet");
    let targets = harness.holds(
        5,
        &[
            "_s_index.html",
            "ab.html",
            "ab.json",
            "ab.original.pdf",
            "abc.json",
        ],
    );
    harness.active("http://127.0.0.10/", "NL", 5).await;
    harness.active("http://127.0.0.11/m/", "IS", 5).await;
    // Enrolled, never audited: not a source.
    let token = harness.challenge("http://127.0.0.12/", true).await;
    harness.enroll("http://127.0.0.12/", &token).await;

    let (status, headers, body) = harness.get("/d/ab.meta4").await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(
        headers.get("content-type").and_then(|v| v.to_str().ok()),
        Some("application/metalink4+xml")
    );
    assert_eq!(body.matches("<file ").count(), 3, "{body}");
    for target in &targets[1..4] {
        assert!(
            body.contains(&format!("<file name=\"{}\">", target.name)),
            "{body}"
        );
        assert!(
            body.contains(&format!(
                "<hash type=\"sha-256\">{}</hash>",
                hex::encode(target.sha256)
            )),
            "{body}"
        );
        for base in ["http://127.0.0.10/", "http://127.0.0.11/m/"] {
            assert!(
                body.contains(&format!(">{base}targets/{}</url>", target.file_name())),
                "{body}"
            );
        }
    }
    assert!(body.contains("location=\"is\""), "{body}");
    assert!(!body.contains("127.0.0.12"), "{body}");
    assert!(!body.contains("abc.json"), "{body}");

    for missing in [
        "/d/zz.meta4",
        "/d/ab.json",
        "/d/AB.meta4",
        "/d/..%2Fab.meta4",
    ] {
        let (status, _, body) = harness.get(missing).await;
        assert_eq!(status, StatusCode::NOT_FOUND, "{missing}: {body}");
    }

    let (status, _, body) = harness.get("/archive.meta4").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body.matches("<file ").count(), targets.len(), "{body}");
    assert_eq!(body.matches("<url ").count(), 2 * targets.len(), "{body}");
}

#[tokio::test]
async fn a_redirect_for_a_target_goes_to_its_snapshot_file_with_the_others_as_duplicates() {
    let harness = Harness::new();
    let targets = harness.holds(2, &["ab.json"]);
    let urls = [
        "http://127.0.0.20/",
        "http://127.0.0.21/",
        "http://127.0.0.22/",
    ];
    for url in urls {
        harness.active(url, "DE", 2).await;
    }
    // Behind the release held: never the one redirected to.
    harness.active("http://127.0.0.23/", "DE", 1).await;
    let file = targets[0].file_name();
    for _ in 0..20 {
        let (_, headers, _) = harness.get("/r/ab.json").await;
        let location = header_values(&headers, "location").remove(0);
        assert!(!location.starts_with("http://127.0.0.23/"), "{location}");
    }
    let (status, headers, _) = harness.get("/r/ab.json").await;
    assert_eq!(status, StatusCode::FOUND);
    let location = header_values(&headers, "location").remove(0);
    let chosen = urls
        .iter()
        .find(|url| location == format!("{url}targets/{file}"))
        .unwrap_or_else(|| panic!("{location}"));
    let links = header_values(&headers, "link");
    assert_eq!(links.len(), 3, "{links:?}");
    assert!(
        links.contains(&format!(
            "<http://127.0.0.23/targets/{file}>; rel=duplicate; pri=3; geo=de"
        )),
        "{links:?}"
    );
    assert_eq!(
        header_values(&headers, "digest"),
        [format!(
            "SHA-256={}",
            crate::metalink::base64(&targets[0].sha256)
        )]
    );
    for url in urls.iter().filter(|url| *url != chosen) {
        assert!(
            links.contains(&format!(
                "<{url}targets/{file}>; rel=duplicate; pri=1; geo=de"
            )),
            "{links:?}"
        );
    }
    // A plain path keeps its path, alternates too.
    let (_, headers, _) = harness.get("/r/d/ab/").await;
    assert!(header_values(&headers, "location")[0].ends_with("/d/ab/"));
    assert!(
        header_values(&headers, "link")
            .iter()
            .all(|link| link.contains("/d/ab/>; rel=duplicate")),
    );
}

#[tokio::test]
async fn mirrors_json_is_the_signed_list_s_current_target() {
    let harness = Harness::new();
    let (status, _, _) = harness.get("/mirrors.json").await;
    assert_eq!(
        status,
        StatusCode::SERVICE_UNAVAILABLE,
        "nothing published yet"
    );
    harness.active("http://127.0.0.30/", "FR", 1).await;
    let list = list::MirrorList::of(&harness.mirrors());
    list::publish(&harness.directory.dir, &list, OffsetDateTime::now_utc()).expect("publish");
    let (status, headers, body) = harness.get("/mirrors.json").await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert!(body.contains("http://127.0.0.30/"), "{body}");
    assert_eq!(
        headers
            .get("access-control-allow-origin")
            .and_then(|v| v.to_str().ok()),
        Some("*")
    );
    let sha = trust::schema::Digest::of(body.as_bytes()).to_hex();
    let (status, _, signed) = harness.get(&format!("/targets/{sha}.mirrors.json")).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(signed, body);
    // A list written beside the signed one, unsigned, is not what it answers.
    let repo = list::repository(&harness.directory.dir);
    let forged = b"{\"mirrors\":[{\"url\":\"http://evil/\"}]}\n";
    let forged_sha = trust::schema::Digest::of(forged).to_hex();
    std::fs::write(
        repo.join(format!("targets/{forged_sha}.mirrors.json")),
        forged,
    )
    .expect("write");
    let (_, _, again) = harness.get("/mirrors.json").await;
    assert_eq!(again, body);
}

#[tokio::test]
async fn coverage_counts_countries_and_the_status_page_names_documents_under_the_floor() {
    let harness = Harness::new();
    harness.holds(3, &["_s_index.html", "ab.json", "cd.json", "cd.html"]);
    harness.active("http://127.0.0.40/", "NL", 3).await;
    harness.active("http://127.0.0.41/", "IS", 3).await;
    harness.active("http://127.0.0.42/", "DE", 2).await;
    let (status, _, body) = harness.get("/coverage.json").await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let coverage: serde_json::Value = serde_json::from_str(&body).expect("json");
    assert_eq!(coverage["release"], 3);
    assert_eq!(coverage["documents"], 2);
    assert_eq!(coverage["floor_countries"], 3);
    assert_eq!(coverage["serving_mirrors"], 2);
    assert_eq!(coverage["by_document"][1]["id"], "cd");
    assert_eq!(coverage["by_document"][1]["countries"], 2);
    assert_eq!(coverage["under_floor"].as_array().map(Vec::len), Some(2));
    let (_, _, page) = harness.get("/").await;
    assert!(page.contains("<h2>Coverage</h2>"), "{page}");
    assert!(
        page.contains("<tr><td>cd</td><td>2</td><td>2</td>"),
        "{page}"
    );
    // A floor of 2 countries: nothing under it.
    let config = crate::config::Config {
        coverage_floor_countries: 2,
        ..crate::config::Config::default()
    };
    std::fs::write(
        crate::config::Config::path(&harness.directory.dir),
        toml::to_string(&config).expect("toml"),
    )
    .expect("write");
    let (_, _, body) = harness.get("/coverage.json").await;
    let coverage: serde_json::Value = serde_json::from_str(&body).expect("json");
    assert_eq!(coverage["under_floor"].as_array().map(Vec::len), Some(0));
}

fn metric(text: &str, series: &str) -> f64 {
    text.lines()
        .find_map(|line| line.strip_prefix(series)?.trim().parse().ok())
        .unwrap_or_else(|| panic!("{series} in\n{text}"))
}

#[tokio::test]
async fn metrics_count_mirrors_by_state_and_enrolments() {
    let harness = Harness::new();
    let accepted = "samizdat_directory_enrolments_total{outcome=\"accepted\"}";
    let refused = "samizdat_directory_enrolments_total{outcome=\"refused\"}";
    let (_, _, before) = harness.get("/metrics").await;
    harness.active("http://127.0.0.50/", "NL", 1).await;
    let token = harness.challenge("http://127.0.0.51/", false).await;
    harness.enroll("http://127.0.0.51/", &token).await;
    let (status, headers, after) = harness.get("/metrics").await;
    assert_eq!(status, StatusCode::OK);
    assert!(
        headers
            .get("content-type")
            .and_then(|v| v.to_str().ok())
            .is_some_and(|t| t.starts_with("application/openmetrics-text")),
    );
    assert_eq!(metric(&after, accepted) - metric(&before, accepted), 1.0);
    assert_eq!(metric(&after, refused) - metric(&before, refused), 1.0);
    assert_eq!(
        metric(&after, "samizdat_directory_mirrors{state=\"active\"}"),
        1.0
    );
    assert!(after.ends_with("# EOF\n"), "{after}");
}

#[tokio::test]
async fn the_archive_s_metalink_streams_every_file_of_a_large_release_whole() {
    let harness = Harness::new();
    let targets: Vec<crate::holdings::Target> = (0..3000u32)
        .map(|index| crate::holdings::Target {
            name: format!("doc{index:05}.json"),
            length: u64::from(index),
            sha256: [7; 32],
        })
        .collect();
    crate::holdings::Holdings::open(&harness.directory.dir)
        .expect("holdings")
        .replace(9, [9; 32], &targets)
        .expect("replace");
    harness.active("http://127.0.0.60/", "NL", 9).await;
    harness.active("http://127.0.0.61/", "SE", 9).await;
    let (status, _, body) = harness.get("/archive.meta4").await;
    assert_eq!(status, StatusCode::OK);
    assert!(body.len() > 2 * super::CHUNK, "{} bytes", body.len());
    assert!(body.starts_with("<?xml"), "{}", &body[..100]);
    assert!(body.ends_with("</metalink>\n"));
    assert_eq!(body.matches("<file ").count(), 3000);
    assert_eq!(body.matches("</file>").count(), 3000);
    assert_eq!(body.matches("<url ").count(), 6000);
    assert!(body.contains("<file name=\"doc02999.json\">\n<size>2999</size>"));
}

/// Readers' pages fetch the list from another origin: the read-only list answers any origin,
/// what changes state (enrolment, admin calls) answers none.
#[tokio::test]
async fn only_the_read_only_list_answers_cross_origin_requests() {
    let harness = Harness::new();
    let id = harness.active("http://127.0.0.31/", "FR", 1).await;
    let list = list::MirrorList::of(&harness.mirrors());
    list::publish(&harness.directory.dir, &list, OffsetDateTime::now_utc()).expect("publish");
    let cross_origin = |headers: &HeaderMap| {
        headers
            .get("access-control-allow-origin")
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned)
    };
    for path in [
        "/mirrors.json",
        "/metadata/timestamp.json",
        "/metadata/1.root.json",
    ] {
        let (status, headers, body) = harness.get(path).await;
        assert_eq!(status, StatusCode::OK, "{path}: {body}");
        assert_eq!(cross_origin(&headers).as_deref(), Some("*"), "{path}");
    }
    let calls = [
        Request::post("/api/challenge")
            .header("content-type", "application/json")
            .body(Body::from(r#"{"url":"http://127.0.0.32/"}"#)),
        Request::post(format!("/api/mirrors/{id}/disable"))
            .header("content-type", "application/json")
            .header("authorization", "Bearer sesame")
            .body(Body::from("{}")),
        Request::post(format!("/api/mirrors/{id}/enable"))
            .header("content-type", "application/json")
            .body(Body::from("{}")),
        Request::delete(format!("/api/mirrors/{id}")).body(Body::empty()),
    ];
    for request in calls {
        let request = request.expect("request");
        let what = format!("{} {}", request.method(), request.uri());
        let (_, headers, body) = harness.call(request).await;
        assert_eq!(cross_origin(&headers), None, "{what}: {body}");
    }
    let (_, headers, _) = harness.get("/status.json").await;
    assert_eq!(cross_origin(&headers), None, "/status.json names operators");
}

/// A mirror whose audit read a legal block of a document: never a redirect, a duplicate or a
/// Metalink source for it (it answers 451), and coverage counts it out; its other documents
/// are served from it as before.
#[tokio::test]
async fn a_mirror_that_blocks_a_document_is_no_source_for_it() {
    let harness = Harness::new();
    harness.holds(2, &["ab.json", "cd.json"]);
    let blocking = harness.active("http://127.0.0.30/", "FR", 2).await;
    harness.active("http://127.0.0.31/", "DE", 2).await;
    crate::holdings::Holdings::open(&harness.directory.dir)
        .expect("holdings")
        .set_withheld(blocking, &["ab".to_owned()].into())
        .expect("withheld");
    for _ in 0..20 {
        let (status, headers, _) = harness.get("/r/ab.json").await;
        assert_eq!(status, StatusCode::FOUND);
        let location = header_values(&headers, "location").remove(0);
        assert!(location.starts_with("http://127.0.0.31/"), "{location}");
        assert!(header_values(&headers, "link").is_empty(), "{headers:?}");
    }
    let (_, _, body) = harness.get("/d/ab.meta4").await;
    assert!(!body.contains("127.0.0.30"), "{body}");
    assert!(body.contains("127.0.0.31"), "{body}");
    let (_, _, body) = harness.get("/d/cd.meta4").await;
    assert!(body.contains("127.0.0.30"), "{body}");
    let (status, _, body) = harness.get("/coverage.json").await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let coverage: serde_json::Value = serde_json::from_str(&body).expect("json");
    let mirrors_of = |id: &str| {
        coverage["by_document"]
            .as_array()
            .expect("documents")
            .iter()
            .find(|d| d["id"] == id)
            .map(|d| d["mirrors"].clone())
    };
    assert_eq!(mirrors_of("ab"), Some(1.into()), "{body}");
    assert_eq!(mirrors_of("cd"), Some(2.into()), "{body}");
}

impl Harness {
    /// GET `path` as a client connected from `peer`.
    async fn get_from(&self, path: &str, peer: &str) -> (StatusCode, HeaderMap, String) {
        self.get_forwarded(path, peer, None).await
    }

    /// GET `path` as a client connected from `peer`, with `X-Forwarded-For: forwarded`.
    async fn get_forwarded(
        &self,
        path: &str,
        peer: &str,
        forwarded: Option<&str>,
    ) -> (StatusCode, HeaderMap, String) {
        let peer: std::net::SocketAddr = format!("{peer}:40000").parse().expect("address");
        let mut builder = Request::get(path);
        if let Some(forwarded) = forwarded {
            builder = builder.header("x-forwarded-for", forwarded);
        }
        let mut request = builder.body(Body::empty()).expect("request");
        request
            .extensions_mut()
            .insert(axum::extract::ConnectInfo(peer));
        self.call(request).await
    }
}

#[test]
fn the_country_database_names_the_country_of_an_address() {
    let dir = tempfile::tempdir().expect("tempdir");
    let geo = crate::geo::Geo::open(&crate::geo::test_database(dir.path())).expect("database");
    let country = |address: &str| geo.country(address.parse().expect("address"));
    assert_eq!(country("127.0.0.5").as_deref(), Some("FR"));
    assert_eq!(country("::ffff:127.0.0.5").as_deref(), Some("FR"));
    assert_eq!(country("127.0.0.130").as_deref(), Some("DE"));
    assert_eq!(country("127.0.0.200"), None);
    assert_eq!(country("10.1.2.3"), None);
    assert_eq!(country("2001:db8::5").as_deref(), Some("SE"));
    assert_eq!(country("2001:db9::5"), None);
    let bad = dir.path().join("bad.mmdb");
    std::fs::write(&bad, b"not a database").expect("write");
    for path in [bad, dir.path().join("absent.mmdb")] {
        let error = crate::geo::Geo::open(&path).err().expect("refused");
        assert!(
            error.message().contains(&path.display().to_string()),
            "{}",
            error.message()
        );
    }
}

#[tokio::test]
async fn with_a_country_database_a_redirect_goes_to_a_mirror_in_the_client_s_country() {
    let dir = tempfile::tempdir().expect("tempdir");
    let geo = crate::geo::Geo::open(&crate::geo::test_database(dir.path())).expect("database");
    let harness = Harness::with_geo(Some(geo), false);
    harness.holds(2, &["ab.json"]);
    let france = "http://127.0.1.1/";
    let germany = "http://127.0.1.2/";
    let others = ["http://127.0.1.3/", "http://127.0.1.4/"];
    let french = harness.active(france, "FR", 2).await;
    harness.active(germany, "DE", 2).await;
    harness.active(others[0], "US", 2).await;
    harness.active(others[1], "JP", 2).await;
    // A French mirror behind the release held is not preferred over current ones elsewhere.
    harness.active("http://127.0.1.5/", "FR", 1).await;
    let location = |headers: &HeaderMap| header_values(headers, "location").remove(0);
    for _ in 0..30 {
        let (status, headers, _) = harness.get_from("/r/d/x/", "127.0.0.9").await;
        assert_eq!(status, StatusCode::FOUND);
        assert_eq!(location(&headers), format!("{france}d/x/"));
        // The others stay alternates.
        assert!(!header_values(&headers, "link").is_empty());
        let (_, headers, _) = harness.get_from("/r/d/x/", "127.0.0.140").await;
        assert_eq!(location(&headers), format!("{germany}d/x/"));
        // Not behind a proxy: what the client writes in X-Forwarded-For is no address.
        let (_, headers, _) = harness
            .get_forwarded("/r/d/x/", "127.0.0.9", Some("127.0.0.140"))
            .await;
        assert_eq!(location(&headers), format!("{france}d/x/"));
    }
    // Unknown, or no address at all: any current mirror, by weight.
    let mut seen = std::collections::BTreeSet::new();
    for round in 0..200 {
        let (_, headers, _) = if round % 2 == 0 {
            harness.get_from("/r/d/x/", "127.0.0.200").await
        } else {
            harness.get("/r/d/x/").await
        };
        seen.insert(location(&headers));
    }
    let mut all: Vec<String> = [france, germany, others[0], others[1]]
        .iter()
        .map(|url| format!("{url}d/x/"))
        .collect();
    all.sort();
    assert_eq!(seen.into_iter().collect::<Vec<_>>(), all);
    // A French mirror that blocks a document is no choice for it, even for a French client.
    crate::holdings::Holdings::open(&harness.directory.dir)
        .expect("holdings")
        .set_withheld(french, &["ab".to_owned()].into())
        .expect("withheld");
    for _ in 0..20 {
        let (status, headers, _) = harness.get_from("/r/ab.json", "127.0.0.9").await;
        assert_eq!(status, StatusCode::FOUND);
        assert!(!location(&headers).starts_with(france), "{headers:?}");
    }
}

/// Behind a proxy (`behind_proxy`), the client is the last address of `X-Forwarded-For`, the one
/// the proxy appended, never one the client wrote before it.
#[tokio::test]
async fn behind_a_proxy_the_country_is_the_forwarded_address_s() {
    let dir = tempfile::tempdir().expect("tempdir");
    let geo = crate::geo::Geo::open(&crate::geo::test_database(dir.path())).expect("database");
    let harness = Harness::with_geo(Some(geo), true);
    harness.active("http://127.0.2.1/", "FR", 2).await;
    harness.active("http://127.0.2.2/", "DE", 2).await;
    harness.active("http://127.0.2.3/", "US", 2).await;
    // The proxy's own address is French.
    let proxy = "127.0.0.1";
    for _ in 0..20 {
        for (forwarded, expected) in [
            (Some("127.0.0.140"), "http://127.0.2.2/d/x/"),
            (Some("127.0.0.9, 127.0.0.140"), "http://127.0.2.2/d/x/"),
            (Some("127.0.0.140, 127.0.0.9"), "http://127.0.2.1/d/x/"),
            // No header (or none that parses): the peer's.
            (None, "http://127.0.2.1/d/x/"),
            (Some("unknown"), "http://127.0.2.1/d/x/"),
        ] {
            let (status, headers, _) = harness.get_forwarded("/r/d/x/", proxy, forwarded).await;
            assert_eq!(status, StatusCode::FOUND);
            assert_eq!(
                header_values(&headers, "location").remove(0),
                expected,
                "{forwarded:?}"
            );
        }
    }
}

/// With a country database, a document's Metalink names the mirror in the client's country
/// first among those of its priority, every time, though more mirrors are listed than a file
/// has sources; an unknown address gets the spread of before.
#[tokio::test]
async fn with_a_country_database_a_metalink_names_the_client_s_country_first() {
    let dir = tempfile::tempdir().expect("tempdir");
    let geo = crate::geo::Geo::open(&crate::geo::test_database(dir.path())).expect("database");
    let harness = Harness::with_geo(Some(geo), false);
    harness.holds(2, &["ab.json"]);
    let countries = [
        "US", "JP", "BR", "NL", "SE", "FI", "NO", "IT", "ES", "DE", "FR",
    ];
    for (index, country) in countries.iter().enumerate() {
        harness
            .active(&format!("http://127.0.3.{}/", index + 1), country, 2)
            .await;
    }
    assert!(countries.len() > crate::metalink::MAX_SOURCES);
    let first_url = |body: &str| {
        let start = body.find("<url ").expect("a source");
        let from = start + body[start..].find('>').expect("tag") + 1;
        let to = from + body[from..].find('<').expect("end");
        body[from..to].to_owned()
    };
    let french = "http://127.0.3.11/";
    let german = "http://127.0.3.10/";
    let mut unknown_first = std::collections::BTreeSet::new();
    for _ in 0..40 {
        let (status, _, body) = harness.get_from("/d/ab.meta4", "127.0.0.9").await;
        assert_eq!(status, StatusCode::OK, "{body}");
        assert!(first_url(&body).starts_with(french), "{body}");
        let (_, _, body) = harness.get_from("/d/ab.meta4", "127.0.0.140").await;
        assert!(first_url(&body).starts_with(german), "{body}");
        let (_, _, body) = harness.get_from("/d/ab.meta4", "127.0.0.200").await;
        unknown_first.insert(first_url(&body));
    }
    assert!(unknown_first.len() > 1, "{unknown_first:?}");
}
