//! Why a request got no response: errors from hyper (the hot path), reqwest (the OAuth token
//! requests) and the sockets under them, mapped to an [`ErrorClass`] by walking their source
//! chains. One set of rules for both clients.

use std::error::Error as StdError;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use surge_record::ErrorClass;

/// The class of an I/O error, when its kind says it.
pub fn io_class(e: &std::io::Error) -> Option<ErrorClass> {
    use std::io::ErrorKind as K;
    // Out of descriptors, ports or buffers on this machine: before any other kind, so the
    // engine backs off instead of counting it as the server's refusal or reset.
    if super::is_resource_error(e) {
        note_shortage();
        return Some(ErrorClass::Resource);
    }
    match e.kind() {
        K::ConnectionRefused => Some(ErrorClass::Refused),
        K::ConnectionReset | K::ConnectionAborted | K::BrokenPipe | K::UnexpectedEof => {
            Some(ErrorClass::Reset)
        }
        K::TimedOut => Some(ErrorClass::Timeout),
        _ => {
            // rustls errors travel inside io::Error (InvalidData).
            let inner = e.get_ref()?;
            inner
                .downcast_ref::<rustls::Error>()
                .map(|_| ErrorClass::Tls)
        }
    }
}

/// Why a name lookup failed. Out of descriptors, the resolver fails too, and glibc says so
/// only as "no such name" or "try again" (it could not open its files or its socket): so a
/// failed lookup asks whether this process can open a socket at all, and when it cannot, it is
/// this machine's limit (`resource`, which users back off from), not the name's (`dns`).
pub(crate) fn lookup_class(e: &std::io::Error) -> ErrorClass {
    if super::is_resource_error(e) || out_of_descriptors() {
        ErrorClass::Resource
    } else {
        ErrorClass::Dns
    }
}

/// How recently a shortage of descriptors or ports, seen by any socket of this process, still
/// explains a failed lookup: a descriptor freed between the resolver's failure and the check
/// below would otherwise turn this machine's limit into a "dns" failure of the server's name.
const SHORTAGE_MEMORY: Duration = Duration::from_secs(1);

/// When this process last saw a shortage, in milliseconds since [`epoch`] plus one (0: never).
static LAST_SHORTAGE: AtomicU64 = AtomicU64::new(0);

fn epoch() -> Instant {
    static EPOCH: OnceLock<Instant> = OnceLock::new();
    *EPOCH.get_or_init(Instant::now)
}

fn note_shortage() {
    let now = epoch().elapsed().as_millis() as u64 + 1;
    LAST_SHORTAGE.fetch_max(now, Ordering::Relaxed);
}

/// Whether this process cannot open a socket now for want of descriptors, or could not a
/// moment ago (asked only after a failure).
fn out_of_descriptors() -> bool {
    let last = LAST_SHORTAGE.load(Ordering::Relaxed);
    if last > 0 {
        let now = epoch().elapsed().as_millis() as u64 + 1;
        if now.saturating_sub(last) <= SHORTAGE_MEMORY.as_millis() as u64 {
            return true;
        }
    }
    match std::net::UdpSocket::bind((std::net::Ipv4Addr::LOCALHOST, 0)) {
        Err(e) if super::is_resource_error(&e) => {
            note_shortage();
            true
        }
        _ => false,
    }
}

/// Classifies one link of a chain; `None` when it says nothing decisive.
fn link_class(s: &(dyn StdError + 'static)) -> Option<ErrorClass> {
    if let Some(io) = s.downcast_ref::<std::io::Error>() {
        if let Some(c) = io_class(io) {
            return Some(c);
        }
    }
    if s.downcast_ref::<rustls::Error>().is_some() {
        return Some(ErrorClass::Tls);
    }
    if let Some(h) = s.downcast_ref::<hyper::Error>() {
        if h.is_incomplete_message() || h.is_closed() || h.is_canceled() {
            return Some(ErrorClass::Reset);
        }
        if h.is_parse() || h.is_parse_status() || h.is_parse_too_large() {
            return Some(ErrorClass::InvalidResponse);
        }
        if h.is_timeout() {
            return Some(ErrorClass::Timeout);
        }
    }
    if let Some(h2) = s.downcast_ref::<h2::Error>() {
        if h2.is_io() {
            return h2.get_io().and_then(io_class);
        }
        if h2.is_go_away() || h2.is_reset() {
            return Some(ErrorClass::Reset);
        }
    }
    None
}

/// The class of the text of a chain, when no link said it by type.
fn text_class(text: &str) -> Option<ErrorClass> {
    if text.contains("dns error")
        || text.contains("failed to lookup address")
        || text.contains("name or service not known")
    {
        Some(ErrorClass::Dns)
    } else if text.contains("certificate") || text.contains("tls") || text.contains("handshake") {
        Some(ErrorClass::Tls)
    } else if text.contains("connection reset") || text.contains("connection closed") {
        Some(ErrorClass::Reset)
    } else {
        None
    }
}

/// Walks `first` and its sources; the first decisive link wins, then the text of them all.
fn chain_class(first: Option<&(dyn StdError + 'static)>) -> (Option<ErrorClass>, String) {
    let mut src = first;
    let mut text = String::new();
    while let Some(s) = src {
        if let Some(c) = link_class(s) {
            return (Some(c), text);
        }
        text.push_str(&s.to_string().to_ascii_lowercase());
        text.push(' ');
        src = s.source();
    }
    let c = match text_class(&text) {
        // A lookup that failed for want of descriptors (see `lookup_class`).
        Some(ErrorClass::Dns) if out_of_descriptors() => Some(ErrorClass::Resource),
        c => c,
    };
    (c, text)
}

/// Maps a hyper error (the hot path's) to an [`ErrorClass`].
pub fn classify_hyper(e: &hyper::Error) -> ErrorClass {
    match chain_class(Some(e)) {
        (Some(c), _) => c,
        (None, text) if text.contains("invalid") || text.contains("parse") => {
            ErrorClass::InvalidResponse
        }
        _ => ErrorClass::Other,
    }
}

/// Maps a reqwest error (the OAuth token requests') to an [`ErrorClass`].
pub fn classify(e: &reqwest::Error) -> ErrorClass {
    if e.is_timeout() {
        return ErrorClass::Timeout;
    }
    match chain_class(e.source()) {
        (Some(c), _) => c,
        (None, _) if e.is_body() || e.is_decode() => ErrorClass::Body,
        (None, text) if text.contains("invalid") || text.contains("parse") => {
            ErrorClass::InvalidResponse
        }
        _ => ErrorClass::Other,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn io_kinds_map_to_their_classes() {
        use std::io::{Error, ErrorKind as K};
        for errno in [
            libc::EMFILE,
            libc::ENFILE,
            libc::EADDRNOTAVAIL,
            libc::ENOBUFS,
        ] {
            assert_eq!(
                io_class(&Error::from_raw_os_error(errno)),
                Some(ErrorClass::Resource),
                "errno {errno}"
            );
        }
        assert_eq!(
            io_class(&Error::from(K::ConnectionRefused)),
            Some(ErrorClass::Refused)
        );
        assert_eq!(
            io_class(&Error::from(K::ConnectionReset)),
            Some(ErrorClass::Reset)
        );
        assert_eq!(
            io_class(&Error::from(K::UnexpectedEof)),
            Some(ErrorClass::Reset)
        );
        assert_eq!(
            io_class(&Error::from(K::TimedOut)),
            Some(ErrorClass::Timeout)
        );
        let tls = Error::new(K::InvalidData, rustls::Error::DecryptError);
        assert_eq!(io_class(&tls), Some(ErrorClass::Tls));
        assert_eq!(io_class(&Error::from(K::Other)), None);
    }

    #[test]
    fn text_is_the_last_resort() {
        assert_eq!(
            text_class("dns error: failed to lookup address"),
            Some(ErrorClass::Dns)
        );
        assert_eq!(
            text_class("invalid peer certificate"),
            Some(ErrorClass::Tls)
        );
        assert_eq!(
            text_class("connection closed before message completed"),
            Some(ErrorClass::Reset)
        );
        assert_eq!(text_class("something"), None);
    }
}
