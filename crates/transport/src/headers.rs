//! Reading the throttling headers: `Retry-After` (delta seconds or HTTP-date) and
//! `inin-ratelimit-allowed/count/reset`.

use std::time::{Duration, SystemTime};

use surge_record::RateLimitHeaders;

/// The longest Retry-After kept (one day); larger values are clamped to it.
pub const RETRY_AFTER_CAP: Duration = Duration::from_secs(86_400);

/// Parses a `Retry-After` value into milliseconds.
///
/// Accepts delta-seconds (`"2"`, also a lenient `"1.5"`) and HTTP-dates (relative to `now`;
/// a date in the past means 0). Values above [`RETRY_AFTER_CAP`] are clamped to it. Returns
/// None for anything else (empty, negative, garbage), which callers treat as "absent".
pub fn parse_retry_after(value: &str, now: SystemTime) -> Option<u32> {
    let v = value.trim();
    if v.is_empty() {
        return None;
    }
    if v.bytes().all(|b| b.is_ascii_digit()) {
        // Whole seconds; anything too long for u64 is certainly above the cap.
        let secs = v.parse::<u64>().unwrap_or(u64::MAX);
        return Some(clamp_ms(secs.saturating_mul(1000)));
    }
    if let Ok(f) = v.parse::<f64>() {
        if f.is_finite() && f >= 0.0 {
            return Some(clamp_ms((f * 1000.0).ceil().min(u64::MAX as f64) as u64));
        }
        return None;
    }
    let at = httpdate::parse_http_date(v).ok()?;
    let wait = at.duration_since(now).unwrap_or(Duration::ZERO);
    Some(clamp_ms(wait.as_millis().min(u128::from(u64::MAX)) as u64))
}

fn clamp_ms(ms: u64) -> u32 {
    ms.min(RETRY_AFTER_CAP.as_millis() as u64) as u32
}

/// Reads `inin-ratelimit-allowed`, `-count` and `-reset` when all three parse.
pub fn parse_rate_limit(headers: &http::HeaderMap) -> Option<RateLimitHeaders> {
    let get = |name: &str| headers.get(name).map(http::HeaderValue::as_bytes);
    rate_limit_from(
        get("inin-ratelimit-allowed"),
        get("inin-ratelimit-count"),
        get("inin-ratelimit-reset"),
    )
}

/// The three `inin-ratelimit-*` values (allowed, count, reset), when all three parse.
pub fn rate_limit_from(
    allowed: Option<&[u8]>,
    count: Option<&[u8]>,
    reset: Option<&[u8]>,
) -> Option<RateLimitHeaders> {
    let num = |v: Option<&[u8]>| -> Option<u32> {
        let v = std::str::from_utf8(v?).ok()?.trim();
        v.parse::<u32>().ok().or_else(|| {
            v.parse::<f64>()
                .ok()
                .filter(|f| *f >= 0.0)
                .map(|f| f.ceil() as u32)
        })
    };
    Some(RateLimitHeaders {
        allowed: num(allowed)?,
        count: num(count)?,
        reset: num(reset)?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retry_after_table() {
        let now = httpdate::parse_http_date("Sun, 29 Nov 2026 18:00:00 GMT").unwrap();
        let table: &[(&str, Option<u32>)] = &[
            ("2", Some(2_000)),
            (" 2 ", Some(2_000)),
            ("0", Some(0)),
            ("58", Some(58_000)),
            ("1.5", Some(1_500)),
            ("86400", Some(86_400_000)),
            ("999999999", Some(86_400_000)),
            ("99999999999999999999999999", Some(86_400_000)),
            ("1e400", None),
            ("-1", None),
            ("", None),
            ("soon", None),
            ("2s", None),
            ("Sun, 29 Nov 2026 18:00:03 GMT", Some(3_000)),
            ("Sun, 29 Nov 2026 17:59:00 GMT", Some(0)),
            ("Tue, 29 Nov 2050 18:00:00 GMT", Some(86_400_000)),
            ("Sun, 32 Nov 2026 18:00:00 GMT", None),
        ];
        for (v, want) in table {
            assert_eq!(parse_retry_after(v, now), *want, "Retry-After: {v:?}");
        }
    }

    #[test]
    fn rate_limit_headers_need_all_three() {
        let mut h = http::HeaderMap::new();
        h.insert("inin-ratelimit-allowed", "300".parse().unwrap());
        h.insert("inin-ratelimit-count", "12".parse().unwrap());
        assert_eq!(parse_rate_limit(&h), None);
        h.insert("inin-ratelimit-reset", "41".parse().unwrap());
        assert_eq!(
            parse_rate_limit(&h),
            Some(RateLimitHeaders {
                allowed: 300,
                count: 12,
                reset: 41
            })
        );
        h.insert("inin-ratelimit-count", "x".parse().unwrap());
        assert_eq!(parse_rate_limit(&h), None);
    }
}
