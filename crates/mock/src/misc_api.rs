//! Handlers outside the flow resource: the login service (`POST /oauth/token`), flow jobs, the upload
//! target of a job's presigned URL, and `GET /mock/stats`.

use super::errors::{oauth_error, ApiError};
use super::flows_api::parse_query;
use super::state::{Job, MockState};
use axum::extract::{Path, RawQuery, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use base64::Engine;
use bytes::Bytes;
use serde_json::json;
use tokio::time::{Duration, Instant};

/// `POST /oauth/token`: client credentials with Basic auth and the form body
/// `grant_type=client_credentials`. Each call mints a new token. Errors: 400 `invalid_request` /
/// `unsupported_grant_type`, 401 `invalid_client`.
pub async fn token(State(st): State<MockState>, headers: HeaderMap, body: Bytes) -> Response {
    let creds = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| {
            v.split_once(' ')
                .filter(|(s, _)| s.eq_ignore_ascii_case("basic"))
                .map(|(_, b)| b.trim())
        })
        .and_then(|b| base64::engine::general_purpose::STANDARD.decode(b).ok())
        .and_then(|b| String::from_utf8(b).ok());
    let form = parse_query(std::str::from_utf8(&body).ok());
    let grant = form
        .iter()
        .find(|(k, _)| k == "grant_type")
        .map(|(_, v)| v.as_str());
    match grant {
        None => {
            return oauth_error(
                StatusCode::BAD_REQUEST,
                "invalid_request",
                "Missing grant_type parameter value",
            )
        }
        Some("client_credentials") => {}
        Some(_) => {
            return oauth_error(
                StatusCode::BAD_REQUEST,
                "unsupported_grant_type",
                "Unsupported grant type",
            )
        }
    }
    let Some(creds) = creds else {
        return oauth_error(
            StatusCode::UNAUTHORIZED,
            "invalid_client",
            "client authentication is required",
        );
    };
    let (id, secret) = creds.split_once(':').unwrap_or((&creds, ""));
    let Some(client) = st.client_by_credentials(id, secret) else {
        return oauth_error(
            StatusCode::UNAUTHORIZED,
            "invalid_client",
            "client not found or bad credentials",
        );
    };
    let (token, expires_in) = st.mint_token(client);
    Json(json!({"access_token": token, "token_type": "bearer", "expires_in": expires_in}))
        .into_response()
}

/// Job status by age (a modelling choice): Registered < 1 s, Started < 3 s after the upload (or creation
/// when nothing was uploaded), then Success.
fn job_status(job: &Job, now: Instant) -> &'static str {
    let age = now.saturating_duration_since(job.created);
    if age < Duration::from_secs(1) {
        "Registered"
    } else if age < Duration::from_secs(3) {
        "Started"
    } else {
        "Success"
    }
}

/// `POST /api/v2/flows/jobs`: `{id, presignedUrl, headers}`; the URL points at this mock (`PUT /mock/uploads/{id}`).
pub async fn create_job(State(st): State<MockState>, headers: HeaderMap) -> Response {
    let id = uuid::Uuid::from_u64_pair(st.0.draws.next_u64(), st.0.draws.next_u64()).to_string();
    let host = headers
        .get(header::HOST)
        .and_then(|h| h.to_str().ok())
        .unwrap_or("127.0.0.1");
    let job = Job {
        created: Instant::now(),
        uploaded: false,
    };
    st.0.jobs
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .insert(id.clone(), job);
    Json(json!({
        "id": id,
        "presignedUrl": format!("http://{host}/mock/uploads/{id}"),
        "headers": {"Content-Type": "application/octet-stream"},
    }))
    .into_response()
}

/// `GET /api/v2/flows/jobs/{jobId}?expand=messages`.
pub async fn get_job(
    State(st): State<MockState>,
    Path(id): Path<String>,
    RawQuery(q): RawQuery,
) -> Result<Response, ApiError> {
    let jobs = st.0.jobs.lock().unwrap_or_else(|e| e.into_inner());
    let job = jobs
        .get(&id)
        .ok_or_else(|| ApiError::not_found(format!("Job {id} not found.")))?;
    let status = job_status(job, Instant::now());
    let mut v = json!({"id": id, "status": status, "command": "register", "selfUri": format!("/api/v2/flows/jobs/{id}")});
    if q.is_some_and(|q| q.contains("messages")) {
        v["messages"] = json!([]);
    }
    if job.uploaded {
        v["uploaded"] = json!(true);
    }
    Ok(Json(v).into_response())
}

/// `PUT /mock/uploads/{jobId}`: accepts any body for a known job.
pub async fn upload(
    State(st): State<MockState>,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let mut jobs = st.0.jobs.lock().unwrap_or_else(|e| e.into_inner());
    let job = jobs
        .get_mut(&id)
        .ok_or_else(|| ApiError::not_found(format!("Job {id} not found.")))?;
    job.uploaded = true;
    Ok(StatusCode::OK.into_response())
}

/// `GET /mock/stats`: the ground truth.
pub async fn stats(State(st): State<MockState>) -> Response {
    Json(st.stats()).into_response()
}
