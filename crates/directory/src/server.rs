//! The directory's HTTP face: the router is a table ([`app`]); every handler is a typed function
//! over the shared [`Directory`]; tests call the router without a socket.
//!
//! | path                                 | what                                               |
//! |--------------------------------------|----------------------------------------------------|
//! | `GET /`                              | status page (HTML, no script)                      |
//! | `GET /status.json`                   | every enrolled mirror, its state and reason         |
//! | `GET /metadata/F`, `GET /targets/F`  | the signed mirror list's repository (`list`)       |
//! | `POST /api/challenge`                | `{url}` → `{token}` to serve at the mirror          |
//! | `POST /api/enroll`                   | `{url, country, provider, contact?, token}`         |
//! | `POST /api/mirrors/ID/{disable,enable,weight}`, `DELETE /api/mirrors/ID` | admin (token) |
//! | `GET /r/PATH`                        | 302 to a listed mirror's `PATH` (one in the client's country first, with `geoip_db`) (or `targets/SHA.PATH` for a target name), `Link: rel=duplicate` alternates, `Digest` of a target |
//! | `GET /mirrors.json`                  | the signed list's current `mirrors.json` (verified from the directory's root) |
//! | `GET /d/ID.meta4`, `GET /archive.meta4` | Metalink 4 of a document's files, of every file (`metalink`) |
//! | `GET /coverage.json`                 | per document: listed mirrors, countries, providers (`coverage`) |
//! | `GET /metrics`                       | Prometheus text (`metrics`)                          |
//!
//! Only enrolment and the admin calls change state; an enrolment must prove control of its URL
//! (`enroll`), an admin call must carry the admin token.

use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use axum::Json;
use axum::Router;
use axum::extract::{DefaultBodyLimit, Path as UrlPath, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{delete, get, post};
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use crate::enroll::{CHALLENGE_PATH, Challenges, validate};
use crate::error::{Error, ErrorKind};
use crate::list;
use crate::machine::State as MirrorState;
use crate::store::{Enrolment, Mirror, Store};

/// Fetches `path` under a mirror's base `url`, at most `max_len` bytes (the enrolment check);
/// a function so that tests need no network.
pub type Fetcher = dyn Fn(&str, &str, u64) -> Result<Vec<u8>, String> + Send + Sync;

/// What the handlers share.
pub struct Directory {
    pub dir: PathBuf,
    pub store: Mutex<Store>,
    pub challenges: Challenges,
    pub admin_token: String,
    pub fetch: Box<Fetcher>,
    /// The country database, when one is configured (`geoip_db`).
    pub geo: Option<crate::geo::Geo>,
    /// Whether the client's address is the last of `X-Forwarded-For` (a reverse proxy in front
    /// appends it) rather than the connection's peer (`behind_proxy`; off by default: anyone
    /// can write that header).
    pub behind_proxy: bool,
}

/// The directory's routes over `directory`.
pub fn app(directory: Arc<Directory>) -> Router {
    Router::new()
        .route("/", get(status_page))
        .route("/status.json", get(status_json))
        .route("/metadata/{file}", get(metadata_file))
        .route("/targets/{file}", get(target_file))
        .route("/api/challenge", post(challenge))
        .route("/api/enroll", post(enroll))
        .route("/api/mirrors/{id}/disable", post(disable))
        .route("/api/mirrors/{id}/enable", post(enable))
        .route("/api/mirrors/{id}/weight", post(weight))
        .route("/api/mirrors/{id}", delete(remove))
        .route("/r/{*path}", get(redirect))
        .route("/mirrors.json", get(mirrors_json))
        .route("/archive.meta4", get(archive_metalink))
        .route("/d/{file}", get(document_metalink))
        .route("/coverage.json", get(coverage_json))
        .route("/metrics", get(metrics))
        // Enrolments and admin calls are a few hundred bytes.
        .layer(DefaultBodyLimit::max(16 * 1024))
        .with_state(directory)
}

/// A refusal as the client sees it: a status and a plain message (the error's, which names the
/// field or URL and why).
struct Refusal(StatusCode, String);

impl From<Error> for Refusal {
    fn from(error: Error) -> Refusal {
        let status = match error.kind() {
            ErrorKind::InvalidInput => StatusCode::BAD_REQUEST,
            ErrorKind::Exists => StatusCode::CONFLICT,
            ErrorKind::NotFound => StatusCode::NOT_FOUND,
            ErrorKind::Refused => StatusCode::FORBIDDEN,
            _ => StatusCode::INTERNAL_SERVER_ERROR,
        };
        Refusal(status, error.message().to_owned())
    }
}

impl IntoResponse for Refusal {
    fn into_response(self) -> Response {
        let mut message = self.1;
        message.push('\n');
        (self.0, [(header::CACHE_CONTROL, "no-store")], message).into_response()
    }
}

type Answer<T> = Result<T, Refusal>;

fn now() -> i64 {
    OffsetDateTime::now_utc().unix_timestamp()
}

/// Runs `f` on the store (SQLite is blocking: off the async threads).
async fn with_store<T: Send + 'static>(
    directory: &Arc<Directory>,
    f: impl FnOnce(&mut Store) -> Result<T, Error> + Send + 'static,
) -> Answer<T> {
    let directory = directory.clone();
    tokio::task::spawn_blocking(move || {
        let mut store = directory
            .store
            .lock()
            .map_err(|_| Error::new(ErrorKind::State, "a thread holding the state failed"))?;
        f(&mut store)
    })
    .await
    .map_err(|e| Refusal(StatusCode::INTERNAL_SERVER_ERROR, e.to_string()))?
    .map_err(Refusal::from)
}

async fn status_json(State(directory): State<Arc<Directory>>) -> Answer<Response> {
    let mirrors = with_store(&directory, |store| store.mirrors()).await?;
    Ok(([(header::CACHE_CONTROL, "no-cache")], Json(mirrors)).into_response())
}

async fn status_page(State(directory): State<Arc<Directory>>) -> Answer<Response> {
    let mirrors = with_store(&directory, |store| store.mirrors()).await?;
    let coverage = coverage_of(&directory, mirrors.clone()).await?;
    let section = crate::page::coverage(&coverage, 100);
    let page = crate::page::status(&mirrors).replacen("</body>", &format!("{section}</body>"), 1);
    Ok((
        [
            (header::CONTENT_TYPE, "text/html; charset=utf-8"),
            (header::CACHE_CONTROL, "no-cache"),
            (
                header::CONTENT_SECURITY_POLICY,
                "default-src 'none'; style-src 'unsafe-inline'",
            ),
        ],
        page,
    )
        .into_response())
}

async fn metadata_file(
    State(directory): State<Arc<Directory>>,
    UrlPath(file): UrlPath<String>,
) -> Response {
    repository_file(&directory, "metadata", &file).await
}

async fn target_file(
    State(directory): State<Arc<Directory>>,
    UrlPath(file): UrlPath<String>,
) -> Response {
    repository_file(&directory, "targets", &file).await
}

/// A file of the list's repository. Names are single safe components (the router already
/// refuses `/`); anything else is not found.
async fn repository_file(directory: &Directory, folder: &str, file: &str) -> Response {
    let safe = !file.is_empty()
        && !file.starts_with('.')
        && file
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"._-".contains(&b));
    if !safe {
        return StatusCode::NOT_FOUND.into_response();
    }
    let path = list::repository(&directory.dir).join(folder).join(file);
    match tokio::fs::read(&path).await {
        Ok(bytes) => {
            // timestamp.json changes in place; versioned files and targets never do.
            let caching = if file == "timestamp.json" {
                "no-cache"
            } else {
                "public, max-age=31536000, immutable"
            };
            (
                [
                    (header::CONTENT_TYPE, "application/json"),
                    (header::CACHE_CONTROL, caching),
                    (header::ACCESS_CONTROL_ALLOW_ORIGIN, "*"),
                ],
                bytes,
            )
                .into_response()
        }
        Err(_) => StatusCode::NOT_FOUND.into_response(),
    }
}

#[derive(Deserialize)]
struct ChallengeRequest {
    url: String,
}

#[derive(Serialize, Deserialize)]
pub struct ChallengeAnswer {
    /// The token to serve.
    pub token: String,
    /// Where to serve it, relative to the mirror's URL.
    pub path: String,
}

async fn challenge(
    State(directory): State<Arc<Directory>>,
    Json(request): Json<ChallengeRequest>,
) -> Answer<Json<ChallengeAnswer>> {
    let probe = Enrolment {
        url: request.url,
        country: "ZZ".to_owned(),
        provider: "-".to_owned(),
        contact: String::new(),
    };
    let url = validate(probe)?.url;
    Ok(Json(ChallengeAnswer {
        token: directory.challenges.issue(&url, now()),
        path: CHALLENGE_PATH.to_owned(),
    }))
}

#[derive(Deserialize)]
struct EnrollRequest {
    url: String,
    country: String,
    provider: String,
    #[serde(default)]
    contact: String,
    token: String,
}

async fn enroll(
    State(directory): State<Arc<Directory>>,
    Json(request): Json<EnrollRequest>,
) -> Answer<(StatusCode, Json<Mirror>)> {
    let answer = enroll_checked(directory, request).await;
    crate::metrics::global().enrolment(answer.is_ok());
    answer
}

async fn enroll_checked(
    directory: Arc<Directory>,
    request: EnrollRequest,
) -> Answer<(StatusCode, Json<Mirror>)> {
    let enrolment = validate(Enrolment {
        url: request.url,
        country: request.country,
        provider: request.provider,
        contact: request.contact,
    })?;
    directory
        .challenges
        .check(&enrolment.url, &request.token, now())?;
    // The caller holds a token for this URL; the mirror at the URL must serve it.
    let served = {
        let directory = directory.clone();
        let url = enrolment.url.clone();
        tokio::task::spawn_blocking(move || (directory.fetch)(&url, CHALLENGE_PATH, 1024))
            .await
            .map_err(|e| Refusal(StatusCode::INTERNAL_SERVER_ERROR, e.to_string()))?
    };
    let served = served.map_err(|why| {
        Refusal(
            StatusCode::FORBIDDEN,
            format!(
                "{}{CHALLENGE_PATH}: cannot fetch the challenge ({why}); serve it there and try again",
                enrolment.url
            ),
        )
    })?;
    if String::from_utf8_lossy(&served).trim() != request.token.trim() {
        return Err(Refusal(
            StatusCode::FORBIDDEN,
            format!(
                "{}{CHALLENGE_PATH}: does not serve the challenge this enrolment carries",
                enrolment.url
            ),
        ));
    }
    let mirror = with_store(&directory, move |store| store.enroll(&enrolment, now())).await?;
    Ok((StatusCode::CREATED, Json(mirror)))
}

/// Refuses a call without `Authorization: Bearer ADMIN-TOKEN`.
fn admin(directory: &Directory, headers: &HeaderMap) -> Answer<()> {
    let given = headers
        .get(header::AUTHORIZATION)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.strip_prefix("Bearer "))
        .unwrap_or("");
    // Compared as hashes: the time taken says nothing about how much of the token matched.
    use sha2::{Digest, Sha256};
    if directory.admin_token.is_empty()
        || Sha256::digest(given.as_bytes()) != Sha256::digest(directory.admin_token.as_bytes())
    {
        return Err(Refusal(
            StatusCode::UNAUTHORIZED,
            "an admin call needs `Authorization: Bearer TOKEN` (DIR/admin-token)".to_owned(),
        ));
    }
    Ok(())
}

#[derive(Deserialize, Default)]
struct Reason {
    #[serde(default)]
    reason: String,
}

async fn disable(
    State(directory): State<Arc<Directory>>,
    UrlPath(id): UrlPath<i64>,
    headers: HeaderMap,
    body: Option<Json<Reason>>,
) -> Answer<StatusCode> {
    admin(&directory, &headers)?;
    let reason = body.map(|Json(r)| r.reason).unwrap_or_default();
    with_store(&directory, move |store| {
        store.set_disabled(id, true, &reason, now())
    })
    .await?;
    Ok(StatusCode::NO_CONTENT)
}

async fn enable(
    State(directory): State<Arc<Directory>>,
    UrlPath(id): UrlPath<i64>,
    headers: HeaderMap,
    body: Option<Json<Reason>>,
) -> Answer<StatusCode> {
    admin(&directory, &headers)?;
    let reason = body.map(|Json(r)| r.reason).unwrap_or_default();
    with_store(&directory, move |store| {
        store.set_disabled(id, false, &reason, now())
    })
    .await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Deserialize)]
struct Weight {
    weight: u32,
}

async fn weight(
    State(directory): State<Arc<Directory>>,
    UrlPath(id): UrlPath<i64>,
    headers: HeaderMap,
    Json(body): Json<Weight>,
) -> Answer<StatusCode> {
    admin(&directory, &headers)?;
    with_store(&directory, move |store| store.set_weight(id, body.weight)).await?;
    Ok(StatusCode::NO_CONTENT)
}

async fn remove(
    State(directory): State<Arc<Directory>>,
    UrlPath(id): UrlPath<i64>,
    headers: HeaderMap,
) -> Answer<StatusCode> {
    admin(&directory, &headers)?;
    with_store(&directory, move |store| store.remove(id)).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// How many `Link: rel=duplicate` alternates a redirect carries.
const ALTERNATES: usize = 4;

/// 302 to a listed mirror's copy of `path`, active mirrors before degraded ones, chosen by
/// weight among equals, with a few other listed mirrors as `Link: <URL>; rel=duplicate`
/// alternates (RFC 6249). A bare target name the archive holds (`ID.json`) goes to its
/// consistent-snapshot file, `targets/SHA256.NAME`; anything else to the same path.
///
/// With a country database (`geoip_db`), the client's address (the connection's peer, never a
/// header) is looked up and a mirror in its country is chosen when one is among those, in the
/// best state present; the others remain alternates.
async fn redirect(
    State(directory): State<Arc<Directory>>,
    peer: Peer,
    request_headers: HeaderMap,
    UrlPath(path): UrlPath<String>,
) -> Answer<Response> {
    let country = client_country(&directory, peer, &request_headers);
    if path
        .split('/')
        .any(|segment| segment == ".." || segment == ".")
    {
        return Err(Refusal(
            StatusCode::BAD_REQUEST,
            format!("/r/{path}: not a path"),
        ));
    }
    let mirrors = with_store(&directory, |store| store.mirrors()).await?;
    let (release, target, withholding) = {
        let name = path.clone();
        with_holdings(&directory, move |holdings| {
            let target = if name.contains('/') {
                None
            } else {
                holdings.target(&name)?
            };
            let withholding = match target
                .as_ref()
                .and_then(|t| common::layout::doc_of_target(&t.name))
            {
                Some(id) => holdings.withheld_by(id)?,
                None => Default::default(),
            };
            Ok((holdings.release()?, target, withholding))
        })
        .await?
    };
    // Never to a mirror that blocks the document (it would answer 451).
    let mirrors: Vec<Mirror> = mirrors
        .into_iter()
        .filter(|m| !withholding.contains(&m.id))
        .collect();
    let suffix = match &target {
        Some(target) => format!(
            "targets/{}",
            crate::metalink::percent_encode(&target.file_name())
        ),
        None => path.clone(),
    };
    // Mirrors that served the release held at their last audit surely have its files: them
    // first, when any is listed.
    let current: Vec<Mirror> = mirrors
        .iter()
        .filter(|m| release.is_some() && m.release == release && m.is_listed())
        .cloned()
        .collect();
    let pool = if current.is_empty() {
        &mirrors
    } else {
        &current
    };
    let roll = rand_core::RngCore::next_u64(&mut rand_core::OsRng);
    let Some(mirror) = choose_near(pool, country.as_deref(), roll) else {
        return Err(Refusal(
            StatusCode::SERVICE_UNAVAILABLE,
            "no mirror is listed right now".to_owned(),
        ));
    };
    let not_a_path = || Refusal(StatusCode::BAD_REQUEST, format!("/r/{path}: not a path"));
    let location =
        HeaderValue::from_str(&format!("{}{suffix}", mirror.url)).map_err(|_| not_a_path())?;
    let mut response = (
        StatusCode::FOUND,
        [
            (header::LOCATION, location),
            (header::CACHE_CONTROL, HeaderValue::from_static("no-store")),
        ],
    )
        .into_response();
    if let Some(target) = &target
        && let Ok(value) = HeaderValue::from_str(&format!(
            "SHA-256={}",
            crate::metalink::base64(&target.sha256)
        ))
    {
        response.headers_mut().insert("digest", value);
    }
    let others = crate::metalink::sources(&mirrors, release)
        .into_iter()
        .filter(|source| source.url != mirror.url)
        .collect();
    let alternates = crate::metalink::spread_near(
        others,
        ALTERNATES,
        country.as_deref(),
        &mut rand_core::OsRng,
    );
    for source in alternates {
        let geo = if source.country.len() == 2 {
            format!("; geo={}", source.country)
        } else {
            String::new()
        };
        let link = format!(
            "<{}{suffix}>; rel=duplicate; pri={}{geo}",
            source.url, source.priority
        );
        if let Ok(value) = HeaderValue::from_str(&link) {
            response.headers_mut().append(header::LINK, value);
        }
    }
    Ok(response)
}

/// Runs `f` on the archive's holdings (SQLite: off the async threads).
async fn with_holdings<T: Send + 'static>(
    directory: &Arc<Directory>,
    f: impl FnOnce(&crate::holdings::Holdings) -> Result<T, Error> + Send + 'static,
) -> Answer<T> {
    let dir = directory.dir.clone();
    tokio::task::spawn_blocking(move || f(&crate::holdings::Holdings::open(&dir)?))
        .await
        .map_err(|e| Refusal(StatusCode::INTERNAL_SERVER_ERROR, e.to_string()))?
        .map_err(Refusal::from)
}

/// The signed list's current `mirrors.json`: the bytes its timestamp, snapshot and targets
/// name, verified from the directory's own root (so never a list that is not the signed one).
async fn mirrors_json(State(directory): State<Arc<Directory>>) -> Answer<Response> {
    let dir = directory.dir.clone();
    let bytes = tokio::task::spawn_blocking(move || current_list(&dir))
        .await
        .map_err(|e| Refusal(StatusCode::INTERNAL_SERVER_ERROR, e.to_string()))?
        .map_err(|why| Refusal(StatusCode::SERVICE_UNAVAILABLE, why))?;
    Ok((
        [
            (header::CONTENT_TYPE, "application/json"),
            (header::CACHE_CONTROL, "no-cache"),
            (header::ACCESS_CONTROL_ALLOW_ORIGIN, "*"),
        ],
        bytes,
    )
        .into_response())
}

fn current_list(dir: &std::path::Path) -> Result<Vec<u8>, String> {
    use trust::client::{Client, DirTransport, Options};
    let root_path = dir.join("root.json");
    let root = std::fs::read(&root_path).map_err(|e| format!("{}: {e}", root_path.display()))?;
    let transport = DirTransport::new(list::repository(dir));
    let mut client = Client::load(&root, transport, Options::new(OffsetDateTime::now_utc()))
        .map_err(|e| format!("the signed mirror list does not verify: {e}"))?;
    let name = trust::TargetName::new(list::LIST_TARGET).map_err(|e| e.to_string())?;
    client
        .fetch_target(&name)
        .map_err(|e| format!("the signed mirror list has no {}: {e}", list::LIST_TARGET))
}

fn metalink_response(body: impl Into<axum::body::Body>) -> Response {
    (
        [
            (header::CONTENT_TYPE, crate::metalink::CONTENT_TYPE),
            (header::CACHE_CONTROL, "no-cache"),
            (header::ACCESS_CONTROL_ALLOW_ORIGIN, "*"),
        ],
        body.into(),
    )
        .into_response()
}

/// Metalink of every target of the release held, sent as it is written (a chunk at a time
/// from the holdings: an archive of a million files is never one string in memory).
async fn archive_metalink(State(directory): State<Arc<Directory>>) -> Answer<Response> {
    let mirrors = with_store(&directory, |store| store.mirrors()).await?;
    let release = with_holdings(&directory, |holdings| holdings.release()).await?;
    if release.is_none() {
        return Err(Refusal(
            StatusCode::SERVICE_UNAVAILABLE,
            "no archive release verified yet: wait for an audit round".to_owned(),
        ));
    }
    let sources = crate::metalink::spread(
        crate::metalink::sources(&mirrors, release),
        crate::metalink::MAX_SOURCES,
        &mut rand_core::OsRng,
    );
    let (sender, receiver) = tokio::sync::mpsc::channel(4);
    let dir = directory.dir.clone();
    tokio::task::spawn_blocking(move || {
        stream_archive(&dir, &sources, &sender);
    });
    Ok(metalink_response(axum::body::Body::from_stream(Chunks(
        receiver,
    ))))
}

/// Bytes of a Metalink sent at once.
const CHUNK: usize = 64 * 1024;

type Chunk = Result<bytes::Bytes, std::io::Error>;

/// Writes the archive's Metalink into `sender`, chunk by chunk; a failure midway ends the
/// body with an error (the client sees a broken transfer, never a short, well-formed list).
fn stream_archive(
    dir: &std::path::Path,
    sources: &[crate::metalink::Source],
    sender: &tokio::sync::mpsc::Sender<Chunk>,
) {
    let mut out = crate::metalink::head(OffsetDateTime::now_utc());
    let written = crate::holdings::Holdings::open(dir).and_then(|holdings| {
        holdings.each(|target| {
            crate::metalink::write_file(&mut out, &target, sources);
            // A client gone: stop reading.
            out.len() < CHUNK
                || sender
                    .blocking_send(Ok(std::mem::take(&mut out).into()))
                    .is_ok()
        })
    });
    let last = match written {
        Ok(()) => {
            out.push_str(crate::metalink::TAIL);
            Ok(out.into())
        }
        Err(error) => Err(std::io::Error::other(error.to_string())),
    };
    let _ = sender.blocking_send(last);
}

/// The receiving end of [`stream_archive`] as a body stream.
struct Chunks(tokio::sync::mpsc::Receiver<Chunk>);

impl futures_core::Stream for Chunks {
    type Item = Chunk;

    fn poll_next(
        mut self: std::pin::Pin<&mut Self>,
        context: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Option<Chunk>> {
        self.0.poll_recv(context)
    }
}

/// Metalink of document `ID`'s targets (`/d/ID.meta4`); with a country database, the mirrors
/// in the client's country come first within each priority (and so are never cut).
async fn document_metalink(
    State(directory): State<Arc<Directory>>,
    peer: Peer,
    request_headers: HeaderMap,
    UrlPath(file): UrlPath<String>,
) -> Answer<Response> {
    let country = client_country(&directory, peer, &request_headers);
    let not_found = || {
        Refusal(
            StatusCode::NOT_FOUND,
            format!("/d/{file}: no such document"),
        )
    };
    let id = file
        .strip_suffix(".meta4")
        .ok_or_else(not_found)?
        .to_owned();
    if common::DocId::new(&id).is_err() {
        return Err(not_found());
    }
    let mirrors = with_store(&directory, |store| store.mirrors()).await?;
    let (release, targets, withholding) = with_holdings(&directory, move |holdings| {
        let withholding = holdings.withheld_by(&id)?;
        Ok((holdings.release()?, holdings.of_document(&id)?, withholding))
    })
    .await?;
    // No mirror that blocks the document.
    let mirrors: Vec<Mirror> = mirrors
        .into_iter()
        .filter(|m| !withholding.contains(&m.id))
        .collect();
    if targets.is_empty() {
        return Err(not_found());
    }
    let sources = crate::metalink::spread_near(
        crate::metalink::sources(&mirrors, release),
        crate::metalink::MAX_SOURCES,
        country.as_deref(),
        &mut rand_core::OsRng,
    );
    Ok(metalink_response(crate::metalink::document(
        &targets,
        &sources,
        OffsetDateTime::now_utc(),
    )))
}

/// The coverage of the release held by `mirrors`, under the configured floor.
async fn coverage_of(
    directory: &Arc<Directory>,
    mirrors: Vec<Mirror>,
) -> Answer<crate::coverage::Coverage> {
    let floor = crate::config::Config::load(&directory.dir)
        .map(|config| config.coverage_floor_countries)
        .unwrap_or_else(|_| crate::config::Config::default().coverage_floor_countries);
    with_holdings(directory, move |holdings| {
        let release = holdings.release()?;
        let documents = holdings.documents()?;
        Ok(crate::coverage::compute(
            &mirrors,
            release,
            &documents,
            &crate::coverage::Exceptions::of(holdings)?,
            floor,
        ))
    })
    .await
}

async fn coverage_json(State(directory): State<Arc<Directory>>) -> Answer<Response> {
    let mirrors = with_store(&directory, |store| store.mirrors()).await?;
    let coverage = coverage_of(&directory, mirrors).await?;
    Ok((
        [
            (header::CACHE_CONTROL, "no-cache"),
            (header::ACCESS_CONTROL_ALLOW_ORIGIN, "*"),
        ],
        Json(coverage),
    )
        .into_response())
}

async fn metrics(State(directory): State<Arc<Directory>>) -> Answer<Response> {
    let mirrors = with_store(&directory, |store| store.mirrors()).await?;
    let release = with_holdings(&directory, |holdings| holdings.release()).await?;
    Ok((
        [
            (
                header::CONTENT_TYPE,
                "application/openmetrics-text; version=1.0.0; charset=utf-8",
            ),
            (header::CACHE_CONTROL, "no-store"),
        ],
        crate::metrics::global().encode(&mirrors, release),
    )
        .into_response())
}

/// The connection's peer, as handlers take it (absent when served without `ConnectInfo`).
type Peer = Option<axum::Extension<axum::extract::ConnectInfo<std::net::SocketAddr>>>;

/// The client's country (upper case), when a country database is configured and knows it.
fn client_country(directory: &Directory, peer: Peer, headers: &HeaderMap) -> Option<String> {
    let geo = directory.geo.as_ref()?;
    let peer = peer.map(|axum::Extension(axum::extract::ConnectInfo(peer))| peer.ip());
    geo.country(client_address(peer, headers, directory.behind_proxy)?)
}

/// The client's address: the connection's peer, or behind a proxy the last address of
/// `X-Forwarded-For` (the one the proxy appended; what came before it, the client wrote).
pub fn client_address(
    peer: Option<std::net::IpAddr>,
    headers: &HeaderMap,
    behind_proxy: bool,
) -> Option<std::net::IpAddr> {
    if !behind_proxy {
        return peer;
    }
    let forwarded = headers
        .get_all("x-forwarded-for")
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(','))
        .next_back()
        .and_then(|last| last.trim().parse().ok());
    forwarded.or(peer)
}

/// [`choose`] among the mirrors in `country` that are in the best state present, when there are
/// any; else among all.
pub fn choose_near<'a>(
    mirrors: &'a [Mirror],
    country: Option<&str>,
    roll: u64,
) -> Option<&'a Mirror> {
    let best = choose(mirrors, roll)?;
    if let Some(country) = country {
        let near: Vec<Mirror> = mirrors
            .iter()
            .filter(|m| m.state == best.state && m.country.eq_ignore_ascii_case(country))
            .cloned()
            .collect();
        if let Some(chosen) = choose(&near, roll) {
            return mirrors.iter().find(|m| m.id == chosen.id);
        }
    }
    Some(best)
}

/// A listed mirror, weighted by `weight`, from the best state present (active over degraded);
/// `roll` is a random number.
pub fn choose(mirrors: &[Mirror], roll: u64) -> Option<&Mirror> {
    let listed = |state: MirrorState| -> Vec<&Mirror> {
        mirrors
            .iter()
            .filter(|m| m.is_listed() && m.state == state && m.weight > 0)
            .collect()
    };
    let mut pool = listed(MirrorState::Active);
    if pool.is_empty() {
        pool = listed(MirrorState::Degraded);
    }
    let total: u64 = pool.iter().map(|m| u64::from(m.weight)).sum();
    if total == 0 {
        return None;
    }
    let mut point = roll % total;
    for mirror in pool {
        let weight = u64::from(mirror.weight);
        if point < weight {
            return Some(mirror);
        }
        point -= weight;
    }
    None
}

#[cfg(test)]
mod tests;
