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
