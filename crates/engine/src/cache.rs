//! A user's HTTP cache, as JMeter's HTTP Cache Manager keeps one: for GET requests, the
//! validators (`ETag`, `Last-Modified`) and freshness (`Cache-Control: max-age`, `Expires`) of
//! each URL's last 2xx answer. A fresh entry (with `use_expires`) means the request is not sent
//! and records no sample (JMeter's default for a cached resource); a stale one is revalidated
//! with `If-None-Match` / `If-Modified-Since`, so the server may answer 304.

use std::collections::{HashMap, VecDeque};
use std::time::SystemTime;

use http::{HeaderMap, HeaderName, HeaderValue};

#[derive(Debug, Clone)]
struct Entry {
    etag: Option<HeaderValue>,
    last_modified: Option<HeaderValue>,
    fresh_until: Option<SystemTime>,
}

/// One user's cache.
#[derive(Debug)]
pub struct UserCache {
    use_expires: bool,
    max_entries: usize,
    entries: HashMap<String, Entry>,
    order: VecDeque<String>,
}

impl UserCache {
    /// An empty cache of at most `max_entries` URLs.
    pub fn new(use_expires: bool, max_entries: usize) -> UserCache {
        UserCache {
            use_expires,
            max_entries: max_entries.max(1),
            entries: HashMap::new(),
            order: VecDeque::new(),
        }
    }

    /// Forgets everything (an iteration starts, with `clear_each_iteration`).
    pub fn clear(&mut self) {
        self.entries.clear();
        self.order.clear();
    }

    /// True when `url`'s entry is still fresh at `now`: the GET is not sent.
    pub fn fresh(&self, url: &str, now: SystemTime) -> bool {
        self.use_expires
            && self
                .entries
                .get(url)
                .and_then(|e| e.fresh_until)
                .is_some_and(|t| t > now)
    }

    /// The conditional headers that revalidate `url`'s entry.
    pub fn validators(&self, url: &str) -> Vec<(HeaderName, HeaderValue)> {
        let Some(e) = self.entries.get(url) else {
            return Vec::new();
        };
        let mut v = Vec::new();
        if let Some(t) = &e.etag {
            v.push((http::header::IF_NONE_MATCH, t.clone()));
        }
        if let Some(t) = &e.last_modified {
            v.push((http::header::IF_MODIFIED_SINCE, t.clone()));
        }
        v
    }

    /// Keeps what a 2xx answer to a GET of `url` says about caching it, at `now`.
    pub fn store(&mut self, url: &str, headers: &HeaderMap, now: SystemTime) {
        let get = |n: HeaderName| headers.get(n).cloned();
        let cc = headers
            .get(http::header::CACHE_CONTROL)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
            .to_ascii_lowercase();
        if cc.contains("no-store") {
            return;
        }
        let (etag, last_modified) = (get(http::header::ETAG), get(http::header::LAST_MODIFIED));
        let max_age = cc
            .split(',')
            .find_map(|d| d.trim().strip_prefix("max-age="))
            .and_then(|s| s.trim().parse::<u64>().ok());
        let fresh_until = if cc.contains("no-cache") {
            None
        } else if let Some(s) = max_age {
            // max-age overrides Expires.
            Some(now + std::time::Duration::from_secs(s))
        } else {
            headers
                .get(http::header::EXPIRES)
                .and_then(|v| v.to_str().ok())
                .and_then(|s| httpdate::parse_http_date(s).ok())
        };
        if etag.is_none() && last_modified.is_none() && fresh_until.is_none() {
            return;
        }
        if !self.entries.contains_key(url) {
            if self.entries.len() >= self.max_entries {
                if let Some(old) = self.order.pop_front() {
                    self.entries.remove(&old);
                }
            }
            self.order.push_back(url.to_string());
        }
        self.entries.insert(
            url.to_string(),
            Entry {
                etag,
                last_modified,
                fresh_until,
            },
        );
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    fn headers(pairs: &[(&str, &str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.insert(
                HeaderName::from_bytes(k.as_bytes()).unwrap(),
                HeaderValue::from_str(v).unwrap(),
            );
        }
        h
    }

    #[test]
    fn freshness_validators_and_eviction() {
        let t0 = SystemTime::UNIX_EPOCH + Duration::from_secs(1_700_000_000);
        let mut c = UserCache::new(true, 2);
        c.store(
            "/a",
            &headers(&[("cache-control", "public, max-age=60"), ("etag", "\"v1\"")]),
            t0,
        );
        assert!(c.fresh("/a", t0 + Duration::from_secs(59)));
        assert!(!c.fresh("/a", t0 + Duration::from_secs(61)));
        assert_eq!(c.validators("/a")[0].1, "\"v1\"");
        // Expires when there is no max-age; no-cache: revalidate each time; no-store: nothing.
        c.store(
            "/b",
            &headers(&[("expires", "Tue, 14 Nov 2023 22:13:21 GMT")]),
            t0,
        );
        assert!(c.fresh("/b", t0) && !c.fresh("/b", t0 + Duration::from_secs(1)));
        let mut d = UserCache::new(true, 10);
        d.store(
            "/c",
            &headers(&[
                ("cache-control", "no-cache"),
                ("last-modified", "Mon, 01 Jan 2024 00:00:00 GMT"),
            ]),
            t0,
        );
        assert!(!d.fresh("/c", t0));
        assert_eq!(d.validators("/c")[0].0, http::header::IF_MODIFIED_SINCE);
        d.store(
            "/d",
            &headers(&[("cache-control", "no-store"), ("etag", "x")]),
            t0,
        );
        assert!(d.validators("/d").is_empty());
        // Without use_expires, nothing is fresh: every GET is revalidated.
        let mut e = UserCache::new(false, 10);
        e.store("/a", &headers(&[("cache-control", "max-age=60")]), t0);
        assert!(!e.fresh("/a", t0));
        // At most 2 entries: the oldest goes.
        c.store("/e", &headers(&[("etag", "e")]), t0);
        assert!(c.validators("/a").is_empty() && !c.validators("/e").is_empty());
    }
}
