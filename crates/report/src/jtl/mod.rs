//! JMeter's JTL CSV results, both ways: [`writer::JtlWriter`] streams a run's samples in JMeter
//! 5.x's default format (`--jtl FILE`), so JMeter's dashboard generator and other JTL tools read
//! surge runs; [`reader::read_jtl`] reads a JTL written by JMeter (or surge) into a
//! [`surge_record::RunResult`], so `surge report` and `surge compare` take JMeter runs.

pub mod reader;
pub mod writer;

pub use reader::{read_jtl, JtlError};
pub use writer::JtlWriter;

use surge_record::ErrorClass;

/// JMeter 5.x's default CSV columns, in order.
pub const JTL_COLUMNS: [&str; 17] = [
    "timeStamp",
    "elapsed",
    "label",
    "responseCode",
    "responseMessage",
    "threadName",
    "dataType",
    "success",
    "failureMessage",
    "bytes",
    "sentBytes",
    "grpThreads",
    "allThreads",
    "URL",
    "Latency",
    "IdleTime",
    "Connect",
];

/// The header line JMeter writes (and surge writes), without the line end.
pub const JTL_HEADER: &str =
    "timeStamp,elapsed,label,responseCode,responseMessage,threadName,dataType,success,failureMessage,bytes,sentBytes,grpThreads,allThreads,URL,Latency,IdleTime,Connect";

/// JMeter's `responseCode` and `responseMessage` for a request that got no HTTP response: the
/// Java exception its HTTP client would have thrown for this kind of failure.
pub fn non_http(class: ErrorClass) -> (&'static str, &'static str) {
    match class {
        ErrorClass::Refused => ("java.net.ConnectException", "Connection refused"),
        ErrorClass::Timeout => ("java.net.SocketTimeoutException", "Read timed out"),
        ErrorClass::Reset => (
            "org.apache.http.NoHttpResponseException",
            "The target server failed to respond",
        ),
        ErrorClass::Tls => (
            "javax.net.ssl.SSLHandshakeException",
            "TLS handshake failed",
        ),
        ErrorClass::Dns => ("java.net.UnknownHostException", "Name or service not known"),
        ErrorClass::Proxy => (
            "org.apache.http.impl.execchain.TunnelRefusedException",
            "CONNECT refused by proxy",
        ),
        ErrorClass::Body => (
            "org.apache.http.ConnectionClosedException",
            "Premature end of Content-Length delimited message body",
        ),
        ErrorClass::InvalidResponse => ("org.apache.http.ProtocolException", "Invalid response"),
        ErrorClass::Cancelled => (
            "java.io.InterruptedIOException",
            "Request cancelled at the end of the test",
        ),
        ErrorClass::Resource => ("java.net.BindException", "Too many open files"),
        ErrorClass::Other => ("java.io.IOException", "I/O error"),
    }
}

/// The surge error class of a JMeter `Non HTTP response code: …` (by the exception's name).
pub fn error_class_of(code: &str) -> ErrorClass {
    let c = code.trim_start_matches("Non HTTP response code:").trim();
    let has = |s: &str| c.contains(s);
    if has("BindException") || has("Too many open files") {
        ErrorClass::Resource
    } else if has("TunnelRefused") {
        ErrorClass::Proxy
    } else if has("ConnectException") || has("HttpHostConnectException") || has("NoRouteToHost") {
        ErrorClass::Refused
    } else if has("Timeout") || has("TimedOut") {
        ErrorClass::Timeout
    } else if has("NoHttpResponse") || has("SocketException") || has("ConnectionReset") {
        ErrorClass::Reset
    } else if has("SSL") || has("ssl") {
        ErrorClass::Tls
    } else if has("UnknownHost") {
        ErrorClass::Dns
    } else if has("ConnectionClosed") || has("TruncatedChunk") || has("MalformedChunk") {
        ErrorClass::Body
    } else if has("Protocol") {
        ErrorClass::InvalidResponse
    } else if has("Interrupted") {
        ErrorClass::Cancelled
    } else {
        ErrorClass::Other
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn header_is_the_columns_joined() {
        assert_eq!(JTL_HEADER, JTL_COLUMNS.join(","));
    }

    #[test]
    fn every_error_class_round_trips_through_its_java_name() {
        for c in ErrorClass::ALL {
            let (code, _) = non_http(c);
            assert_eq!(
                error_class_of(&format!("Non HTTP response code: {code}")),
                c,
                "{code}"
            );
        }
        assert_eq!(
            error_class_of("Non HTTP response code: org.apache.http.conn.HttpHostConnectException"),
            ErrorClass::Refused
        );
        assert_eq!(
            error_class_of("Non HTTP response code: java.net.SocketException"),
            ErrorClass::Reset
        );
    }
}
