//! The unit of measurement: one request attempt, as a small `Copy` value.

use serde::{Deserialize, Serialize};

/// Why a request produced no HTTP status.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ErrorClass {
    /// The peer refused the connection.
    Refused,
    /// Connect or request timeout.
    Timeout,
    /// The connection was reset or closed mid-exchange.
    Reset,
    /// TLS handshake or certificate failure.
    Tls,
    /// Name resolution failed.
    Dns,
    /// The response body could not be read.
    Body,
    /// The peer sent something that is not HTTP.
    InvalidResponse,
    /// The request was still in flight when the run was cancelled.
    Cancelled,
    /// This machine ran out of a resource before the request could be sent: open files
    /// (EMFILE, ENFILE), local ports or addresses (EADDRNOTAVAIL), buffers or memory. Not the
    /// server's doing: users back off, and the summary says which limit to raise.
    Resource,
    /// Anything else the HTTP client reported.
    Other,
}

impl ErrorClass {
    /// Every class, in report order.
    pub const ALL: [ErrorClass; 10] = [
        ErrorClass::Refused,
        ErrorClass::Timeout,
        ErrorClass::Reset,
        ErrorClass::Tls,
        ErrorClass::Dns,
        ErrorClass::Body,
        ErrorClass::InvalidResponse,
        ErrorClass::Cancelled,
        ErrorClass::Resource,
        ErrorClass::Other,
    ];

    /// Stable lower-case name used in reports and CSV.
    pub fn name(self) -> &'static str {
        match self {
            ErrorClass::Refused => "refused",
            ErrorClass::Timeout => "timeout",
            ErrorClass::Reset => "reset",
            ErrorClass::Tls => "tls",
            ErrorClass::Dns => "dns",
            ErrorClass::Body => "body",
            ErrorClass::InvalidResponse => "invalid_response",
            ErrorClass::Cancelled => "cancelled",
            ErrorClass::Resource => "resource",
            ErrorClass::Other => "other",
        }
    }

    /// Parses [`ErrorClass::name`] back.
    pub fn from_name(s: &str) -> Option<ErrorClass> {
        ErrorClass::ALL.into_iter().find(|c| c.name() == s)
    }
}

/// What a request ended as: an HTTP status, or a transport error.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum StatusKey {
    /// An HTTP status code.
    Http(u16),
    /// No response: the transport failed.
    Error(ErrorClass),
}

impl StatusKey {
    /// The outcome class this status belongs to.
    pub fn outcome(self) -> Outcome {
        match self {
            StatusKey::Http(429) => Outcome::Throttled,
            StatusKey::Http(200..=299) => Outcome::Success,
            StatusKey::Http(400..=499) => Outcome::ClientError,
            StatusKey::Http(500..=599) => Outcome::ServerError,
            StatusKey::Http(_) => Outcome::Other,
            StatusKey::Error(_) => Outcome::TransportError,
        }
    }

    /// `"200"`, `"429"` or `"error:timeout"`: the label used in every report.
    pub fn label(self) -> String {
        match self {
            StatusKey::Http(code) => code.to_string(),
            StatusKey::Error(class) => format!("error:{}", class.name()),
        }
    }

    /// Parses [`StatusKey::label`] back.
    pub fn parse(s: &str) -> Option<StatusKey> {
        if let Some(rest) = s.strip_prefix("error:") {
            return ErrorClass::from_name(rest).map(StatusKey::Error);
        }
        s.parse::<u16>().ok().map(StatusKey::Http)
    }
}

impl Serialize for StatusKey {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.label())
    }
}

impl<'de> Deserialize<'de> for StatusKey {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        StatusKey::parse(&s)
            .ok_or_else(|| serde::de::Error::custom(format!("not a status key: {s:?}")))
    }
}

/// The outcome classes that reports keep apart: a fast 429 never mixes with a success.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    /// 2xx.
    Success,
    /// 429 Too Many Requests.
    Throttled,
    /// 4xx other than 429.
    ClientError,
    /// 5xx.
    ServerError,
    /// 1xx and 3xx (redirects not followed).
    Other,
    /// No HTTP response at all.
    TransportError,
}

impl Outcome {
    /// Every outcome, in report order.
    pub const ALL: [Outcome; 6] = [
        Outcome::Success,
        Outcome::Throttled,
        Outcome::ClientError,
        Outcome::ServerError,
        Outcome::Other,
        Outcome::TransportError,
    ];

    /// Stable name used in reports, CSV and thresholds.
    pub fn name(self) -> &'static str {
        match self {
            Outcome::Success => "success",
            Outcome::Throttled => "throttled",
            Outcome::ClientError => "client_error",
            Outcome::ServerError => "server_error",
            Outcome::Other => "other",
            Outcome::TransportError => "transport_error",
        }
    }

    /// Position in [`Outcome::ALL`].
    pub fn index(self) -> usize {
        self as usize
    }

    /// Parses [`Outcome::name`] (also accepts `2xx`, `429`, `4xx`, `5xx`, `error`).
    pub fn from_name(s: &str) -> Option<Outcome> {
        Some(match s {
            "success" | "2xx" | "ok" => Outcome::Success,
            "throttled" | "429" => Outcome::Throttled,
            "client_error" | "4xx" => Outcome::ClientError,
            "server_error" | "5xx" => Outcome::ServerError,
            "other" | "1xx" | "3xx" => Outcome::Other,
            "transport_error" | "error" | "errors" => Outcome::TransportError,
            _ => return None,
        })
    }
}

/// The `inin-ratelimit-*` headers of one response, when the server sent them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct RateLimitHeaders {
    /// `inin-ratelimit-allowed`: the limit.
    pub allowed: u32,
    /// `inin-ratelimit-count`: used so far in the window.
    pub count: u32,
    /// `inin-ratelimit-reset`: seconds until the window resets.
    pub reset: u32,
}

/// One request attempt. Times are µs since the run's epoch.
///
/// `intended_us` is when the schedule wanted the request to start; the gap to `start_us` is
/// the coordinated-omission delay.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Sample {
    /// Index of the request label in the plan.
    pub step: u16,
    /// The user (thread) that sent it, from 0.
    pub user: u32,
    /// Users active when it was sent (JMeter's `allThreads`).
    pub active: u32,
    /// HTTP status or transport error.
    pub status: StatusKey,
    /// When the schedule intended it to start.
    pub intended_us: u64,
    /// When it was sent.
    pub start_us: u64,
    /// When the response headers arrived (equals `end_us` for transport errors).
    pub ttfb_us: u64,
    /// When the body was fully read.
    pub end_us: u64,
    /// Bytes received (status line, headers and body, as counted by the transport).
    pub bytes_in: u32,
    /// Bytes sent (request line, headers and body, as counted by the transport).
    pub bytes_out: u32,
    /// 1 for the first attempt, 2 for the first retry, …
    pub attempt: u16,
    /// True when no retry follows: this attempt's status is the request's final outcome.
    pub last: bool,
    /// ms the client waited (retry policy) before this attempt.
    pub retry_wait_ms: u32,
    /// ms the client-side pacer held this attempt back.
    pub pace_wait_ms: u32,
    /// The parsed `Retry-After`, in ms, when the response carried a usable one.
    pub retry_after_ms: Option<u32>,
    /// The `inin-ratelimit-*` headers, when present.
    pub rate_limit: Option<RateLimitHeaders>,
    /// The limit a 429's body named (a [`super::limit_key`] id), when it named one.
    pub limit_key: Option<u16>,
}

impl Sample {
    /// Service time: sent → fully received, in µs.
    pub fn service_us(&self) -> u64 {
        self.end_us.saturating_sub(self.start_us)
    }

    /// Response time from the intended start (coordinated omission corrected), in µs.
    pub fn response_us(&self) -> u64 {
        self.end_us
            .saturating_sub(self.intended_us.min(self.start_us))
    }

    /// Outcome class.
    pub fn outcome(&self) -> Outcome {
        self.status.outcome()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sample_stays_small() {
        assert!(
            std::mem::size_of::<Sample>() <= 96,
            "{}",
            std::mem::size_of::<Sample>()
        );
    }

    #[test]
    fn status_key_round_trips_and_classifies() {
        for (key, outcome) in [
            (StatusKey::Http(200), Outcome::Success),
            (StatusKey::Http(204), Outcome::Success),
            (StatusKey::Http(429), Outcome::Throttled),
            (StatusKey::Http(404), Outcome::ClientError),
            (StatusKey::Http(503), Outcome::ServerError),
            (StatusKey::Http(302), Outcome::Other),
            (StatusKey::Error(ErrorClass::Reset), Outcome::TransportError),
        ] {
            assert_eq!(key.outcome(), outcome);
            assert_eq!(StatusKey::parse(&key.label()), Some(key));
        }
        assert_eq!(StatusKey::parse("error:nope"), None);
        assert_eq!(StatusKey::parse("abc"), None);
    }
}
