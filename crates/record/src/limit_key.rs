//! The limit a 429 names in its body (Genesys: `{"limit": {"key": …, "namespace": …}}`), read only
//! on throttled responses and interned to a small id, so a `Sample` stays `Copy`.

use std::sync::{Mutex, OnceLock};

/// Most distinct limit keys a process keeps; later ones share the id of `"(other)"`.
const MAX_KEYS: usize = 1024;

fn table() -> &'static Mutex<Vec<String>> {
    static T: OnceLock<Mutex<Vec<String>>> = OnceLock::new();
    T.get_or_init(|| Mutex::new(vec!["(other)".to_string()]))
}

/// The id of `key` (stable for the life of the process).
pub fn intern(key: &str) -> u16 {
    let mut t = table().lock().unwrap_or_else(|e| e.into_inner());
    if let Some(i) = t.iter().position(|k| k == key) {
        return i as u16;
    }
    if t.len() >= MAX_KEYS {
        return 0;
    }
    t.push(key.to_string());
    (t.len() - 1) as u16
}

/// The key of an id.
pub fn name(id: u16) -> String {
    table()
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .get(usize::from(id))
        .cloned()
        .unwrap_or_else(|| "(other)".into())
}

/// The limit named in an error body: `limit.key` (with `limit.namespace` when given, as
/// `namespace/key`), else None. Bodies that are not JSON name nothing.
pub fn from_body(body: &[u8]) -> Option<u16> {
    let v: serde_json::Value = serde_json::from_slice(body).ok()?;
    let limit = v.get("limit")?;
    let key = limit.get("key").and_then(|k| k.as_str())?;
    let full = match limit.get("namespace").and_then(|n| n.as_str()) {
        Some(ns) if !ns.is_empty() => format!("{ns}/{key}"),
        _ => key.to_string(),
    };
    Some(intern(&full))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bodies_name_their_limit() {
        let body = br#"{"message":"Rate limit exceeded the maximum. Retry the request in [2] seconds","code":"too.many.requests.retry.after","status":429,"limit":{"key":"token.rate.per.minute","namespace":"platform.api","value":300}}"#;
        let id = from_body(body).unwrap();
        assert_eq!(name(id), "platform.api/token.rate.per.minute");
        assert_eq!(from_body(body), Some(id), "interned once");
        assert_eq!(
            from_body(br#"{"limit":{"key":"k"}}"#).map(name).as_deref(),
            Some("k")
        );
        assert_eq!(from_body(br#"{"message":"slow down"}"#), None);
        assert_eq!(from_body(b"Too Many Requests"), None);
    }
}
