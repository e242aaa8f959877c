//! The Genesys error body (`message`, `code`, `status`, `contextId`, `details`, `errors`, optional `limit`)
//! that every non-2xx answer of the mock carries, and the login service's OAuth error body.

use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::{json, Value};

/// A refused or failed request, rendered as the Genesys error body. The gateway fills `contextId` with the
/// response's `ININ-Correlation-Id`.
#[derive(Debug, Clone)]
pub struct ApiError {
    pub status: StatusCode,
    pub code: &'static str,
    pub message: String,
    /// `{key, namespace, value}` on 429s.
    pub limit: Option<(&'static str, &'static str, u64)>,
    /// Whole seconds, sent as `Retry-After` (429 and some 503s).
    pub retry_after: Option<u64>,
}

impl ApiError {
    pub fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> ApiError {
        ApiError {
            status,
            code,
            message: message.into(),
            limit: None,
            retry_after: None,
        }
    }

    pub fn not_found(message: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::NOT_FOUND, "not.found", message)
    }

    pub fn bad_request(message: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::BAD_REQUEST, "bad.request", message)
    }

    pub fn conflict(message: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::CONFLICT, "general.conflict", message)
    }

    /// The documented 429.
    pub fn too_many(
        retry_after: u64,
        key: &'static str,
        namespace: &'static str,
        value: u64,
    ) -> ApiError {
        ApiError {
            status: StatusCode::TOO_MANY_REQUESTS,
            code: "too.many.requests.retry.after",
            message: format!(
                "Rate limit exceeded the maximum. Retry the request in [{retry_after}] seconds"
            ),
            limit: Some((key, namespace, value)),
            retry_after: Some(retry_after),
        }
    }

    /// The body, with `contextId` set.
    pub fn body(&self, context_id: &str) -> Value {
        let mut v = json!({
            "message": self.message,
            "code": self.code,
            "status": self.status.as_u16(),
            "contextId": context_id,
            "details": [],
            "errors": [],
        });
        if let Some((key, namespace, value)) = self.limit {
            v["limit"] = json!({"key": key, "namespace": namespace, "value": value});
            if let Some(n) = self.retry_after {
                v["messageWithParams"] = json!(
                    "Rate limit exceeded the maximum. Retry the request in [{seconds}] seconds"
                );
                v["messageParams"] = json!({"seconds": n.to_string()});
            }
        }
        v
    }

    /// The full response (the gateway adds the correlation and rate-limit headers).
    pub fn response(&self, context_id: &str) -> Response {
        let mut r = (self.status, axum::Json(self.body(context_id))).into_response();
        if let Some(n) = self.retry_after {
            r.headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from(n));
        }
        r
    }
}

/// The login service's error body (`POST /oauth/token`): `{"error", "description", "error_description"}`.
pub fn oauth_error(status: StatusCode, error: &str, description: &str) -> Response {
    (
        status,
        axum::Json(
            json!({"error": error, "description": description, "error_description": description}),
        ),
    )
        .into_response()
}
