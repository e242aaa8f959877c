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
    /// The forward proxy refused the tunnel (`CONNECT` answered other than 2xx, e.g. 407 for
    /// missing or wrong proxy credentials, 502 when it could not reach the host).
    Proxy,
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
    pub const ALL: [ErrorClass; 11] = [
        ErrorClass::Refused,
        ErrorClass::Timeout,
        ErrorClass::Reset,
        ErrorClass::Tls,
        ErrorClass::Dns,
        ErrorClass::Proxy,
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
            ErrorClass::Proxy => "proxy",
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

/// Why an answer that came back failed the request's own checks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Failure {
    /// An assertion (or a poll's `fail_if`) failed.
    Assertion,
    /// An extractor found nothing and had no default.
    Extract,
    /// A poll ran out of time or attempts with this answer.
    Timeout,
}

impl Failure {
    /// Stable name, as in [`Outcome::name`].
    pub fn name(self) -> &'static str {
        match self {
            Failure::Assertion => "assertion",
            Failure::Extract => "extract",
            Failure::Timeout => "timeout",
        }
    }

    /// The outcome class of an answer that failed so.
    pub fn outcome(self) -> Outcome {
        match self {
            Failure::Assertion => Outcome::Assertion,
            Failure::Extract => Outcome::Extract,
            Failure::Timeout => Outcome::Timeout,
        }
    }

    fn from_name(s: &str) -> Option<Failure> {
        [Failure::Assertion, Failure::Extract, Failure::Timeout]
            .into_iter()
            .find(|f| f.name() == s)
    }
}

/// What a request ended as: an HTTP status, a transport error, or an answer that failed the
/// request's checks (its status kept).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum StatusKey {
    /// An HTTP status code.
    Http(u16),
    /// No response: the transport failed.
    Error(ErrorClass),
    /// An answer with this status that failed an assertion or extractor, or ended a poll that
    /// ran out.
    Failed(Failure, u16),
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
            StatusKey::Failed(f, _) => f.outcome(),
        }
    }

    /// The HTTP status code, when an answer came.
    pub fn code(self) -> Option<u16> {
        match self {
            StatusKey::Http(c) | StatusKey::Failed(_, c) => Some(c),
            StatusKey::Error(_) => None,
        }
    }

    /// `"200"`, `"429"`, `"error:timeout"` or `"assertion:200"`: the label used in every report.
    pub fn label(self) -> String {
        match self {
            StatusKey::Http(code) => code.to_string(),
            StatusKey::Error(class) => format!("error:{}", class.name()),
            StatusKey::Failed(f, code) => format!("{}:{code}", f.name()),
        }
    }

    /// Parses [`StatusKey::label`] back.
    pub fn parse(s: &str) -> Option<StatusKey> {
        if let Some(rest) = s.strip_prefix("error:") {
            return ErrorClass::from_name(rest).map(StatusKey::Error);
        }
        if let Some((f, code)) = s.split_once(':') {
            return Some(StatusKey::Failed(
                Failure::from_name(f)?,
                code.parse().ok()?,
            ));
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
    /// An answer that failed an assertion (or a poll's `fail_if`: the operation said FAILURE).
    Assertion,
    /// An answer an extractor found nothing in (and had no default for).
    Extract,
    /// A poll (and the transaction around it) that ran out of time or attempts.
    Timeout,
}

impl Outcome {
    /// Number of outcome classes.
    pub const COUNT: usize = 9;

    /// Every outcome, in report order.
    pub const ALL: [Outcome; Outcome::COUNT] = [
        Outcome::Success,
        Outcome::Throttled,
        Outcome::ClientError,
        Outcome::ServerError,
        Outcome::Other,
        Outcome::TransportError,
        Outcome::Assertion,
        Outcome::Extract,
        Outcome::Timeout,
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
            Outcome::Assertion => "assertion",
            Outcome::Extract => "extract",
            Outcome::Timeout => "timeout",
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
            "assertion" | "assertions" => Outcome::Assertion,
            "extract" => Outcome::Extract,
            "timeout" => Outcome::Timeout,
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
    /// The check (assertion, extractor, poll `fail_if`) that failed it.
    pub check: Option<CheckId>,
}

/// An index into the plan's check names, in two bytes (an `Option<CheckId>` too), so a
/// [`Sample`] stays within its size.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct CheckId(std::num::NonZeroU16);

impl CheckId {
    /// The id of check `index` (saturating at the largest id).
    pub fn new(index: u16) -> CheckId {
        CheckId(std::num::NonZeroU16::MIN.saturating_add(index))
    }

    /// The index into the plan's check names.
    pub fn index(self) -> usize {
        usize::from(self.0.get() - 1)
    }
}

/// One transaction: a named span over steps, recorded when it ends. Times are µs since the
/// run's epoch.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TxnSample {
    /// Index of the transaction in the plan.
    pub txn: u16,
    /// The user that ran it.
    pub user: u32,
    /// Users active when it ended.
    pub active: u32,
    /// When it began.
    pub start_us: u64,
    /// When its last step ended.
    pub end_us: u64,
    /// Pauses inside it that do not count (think times and poll intervals, when it excludes
    /// them).
    pub paused_us: u64,
    /// Success, or the outcome of the first step that failed (a poll that ran out: timeout).
    pub outcome: Outcome,
    /// The check that failed it, when one did.
    pub check: Option<u16>,
    /// Attempts recorded inside it.
    pub samples: u32,
    /// Of which did not succeed.
    pub failing: u32,
    /// Bytes received by its attempts.
    pub bytes_in: u64,
    /// Bytes sent by its attempts.
    pub bytes_out: u64,
    /// Sum of its attempts' times to first byte, µs (as JMeter sums them).
    pub latency_us: u64,
}

impl TxnSample {
    /// Its time: begin → end, less the pauses it excludes, µs.
    pub fn duration_us(&self) -> u64 {
        self.end_us
            .saturating_sub(self.start_us)
            .saturating_sub(self.paused_us)
    }
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
            (
                StatusKey::Failed(Failure::Assertion, 200),
                Outcome::Assertion,
            ),
            (StatusKey::Failed(Failure::Extract, 201), Outcome::Extract),
            (StatusKey::Failed(Failure::Timeout, 200), Outcome::Timeout),
        ] {
            assert_eq!(key.outcome(), outcome);
            assert_eq!(StatusKey::parse(&key.label()), Some(key));
        }
        assert_eq!(StatusKey::parse("error:nope"), None);
        assert_eq!(StatusKey::parse("abc"), None);
        assert_eq!(StatusKey::parse("nope:200"), None);
        assert_eq!(
            StatusKey::Failed(Failure::Assertion, 200).label(),
            "assertion:200"
        );
        for o in Outcome::ALL {
            assert_eq!(Outcome::from_name(o.name()), Some(o));
            assert_eq!(Outcome::ALL[o.index()], o);
        }
    }
}
