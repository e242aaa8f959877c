//! What looks like a credential, in one place, and how every output hides it: header names that
//! carry secrets (`Authorization`, `Cookie`, names with `token`, `secret`, `api-key`, …), values
//! that look like one whatever their header (`Bearer …`, `Basic …`, a JWT), and URL query
//! parameters that carry one (`access_token`, `api_key`, `signature`, `sig`, `password`, …).
//!
//! Scenario checks refuse such values written literally (they must come from the environment or
//! a file), and outputs that show URLs (samples CSV, JTL, result, reports, terminal, error
//! messages) pass them through [`redact_url`]. Imports nothing of surge.

use std::borrow::Cow;

/// What a hidden value is replaced with.
pub const REDACTED: &str = "<redacted>";

/// Headers whose values are secrets, whatever they hold.
pub fn is_sensitive_header(name: &str) -> bool {
    let n = name.to_ascii_lowercase();
    n == "authorization"
        || n == "cookie"
        || n == "set-cookie"
        || n == "proxy-authorization"
        || n.contains("token")
        || n.contains("secret")
        || n.contains("password")
        || n.contains("api-key")
        || n.contains("api_key")
        || n.contains("apikey")
        || n.contains("auth-key")
        || n.contains("signature")
}

/// Query parameters whose values are secrets.
pub fn is_sensitive_param(name: &str) -> bool {
    let n = name.to_ascii_lowercase();
    matches!(
        n.as_str(),
        "sig"
            | "key"
            | "auth"
            | "authorization"
            | "pwd"
            | "passwd"
            | "code"
            | "session"
            | "sid"
            | "jwt"
            | "assertion"
            | "credential"
    ) || n.contains("token")
        || n.contains("secret")
        || n.contains("password")
        || n.contains("signature")
        || n.contains("api_key")
        || n.contains("api-key")
        || n.contains("apikey")
        || n.contains("credential")
}

/// True when `value` reads as a credential whatever carries it: an HTTP auth scheme with its
/// parameter (`Bearer …`, `Basic …`, `Digest …`, `Token …`) or a JSON Web Token.
pub fn looks_like_credential(value: &str) -> bool {
    let v = value.trim();
    let scheme = v.split_once(' ').map(|(s, rest)| (s, rest.trim()));
    if let Some((s, rest)) = scheme {
        if ["bearer", "basic", "digest", "token", "apikey", "sso-key"]
            .iter()
            .any(|k| s.eq_ignore_ascii_case(k))
            && !rest.is_empty()
        {
            return true;
        }
    }
    is_jwt(v)
}

/// `xxxxx.yyyyy.zzzzz` in base64url whose header starts `eyJ` (`{"`).
fn is_jwt(v: &str) -> bool {
    let parts: Vec<&str> = v.split('.').collect();
    parts.len() == 3
        && parts[0].starts_with("eyJ")
        && parts.iter().take(2).all(|p| p.len() >= 4)
        && parts.iter().all(|p| {
            p.bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        })
}

/// `url` with secrets hidden: a password in its user info, and the values of query parameters
/// that carry credentials ([`is_sensitive_param`]) or look like one ([`looks_like_credential`]).
/// Everything else is kept byte for byte; a URL with nothing to hide is borrowed.
///
/// ```
/// use surge_record::secrets::redact_url;
/// assert_eq!(
///     redact_url("https://u:pw@h/x?access_token=abc&page=2"),
///     "https://u:<redacted>@h/x?access_token=<redacted>&page=2"
/// );
/// assert_eq!(redact_url("/api/v2/flows?pageSize=25"), "/api/v2/flows?pageSize=25");
/// ```
pub fn redact_url(url: &str) -> Cow<'_, str> {
    let (before_frag, frag) = match url.split_once('#') {
        Some((a, f)) => (a, Some(f)),
        None => (url, None),
    };
    let (head, query) = match before_frag.split_once('?') {
        Some((h, q)) => (h, Some(q)),
        None => (before_frag, None),
    };
    let head = redact_userinfo(head);
    let query = query.map(redact_query);
    let changed = matches!(head, Cow::Owned(_)) || matches!(query, Some(Cow::Owned(_)));
    if !changed {
        return Cow::Borrowed(url);
    }
    let mut out = head.into_owned();
    if let Some(q) = query {
        out.push('?');
        out.push_str(&q);
    }
    if let Some(f) = frag {
        out.push('#');
        out.push_str(f);
    }
    Cow::Owned(out)
}

/// `scheme://user:password@host…` → `scheme://user:<redacted>@host…`.
fn redact_userinfo(head: &str) -> Cow<'_, str> {
    let Some(i) = head.find("://") else {
        return Cow::Borrowed(head);
    };
    let rest = &head[i + 3..];
    let auth_end = rest.find('/').unwrap_or(rest.len());
    let Some(at) = rest[..auth_end].rfind('@') else {
        return Cow::Borrowed(head);
    };
    let Some(colon) = rest[..at].find(':') else {
        return Cow::Borrowed(head);
    };
    Cow::Owned(format!(
        "{}{}{REDACTED}{}",
        &head[..i + 3],
        &rest[..=colon],
        &rest[at..]
    ))
}

fn redact_query(q: &str) -> Cow<'_, str> {
    let hide = |pair: &str| match pair.split_once('=') {
        Some((_, v)) if !v.is_empty() && v != REDACTED => {
            let (name, value) = decoded(pair);
            is_sensitive_param(&name) || looks_like_credential(&value)
        }
        _ => false,
    };
    if !q.split('&').any(hide) {
        return Cow::Borrowed(q);
    }
    let parts: Vec<String> = q
        .split('&')
        .map(|p| {
            if hide(p) {
                format!("{}={REDACTED}", p.split_once('=').map_or(p, |(k, _)| k))
            } else {
                p.to_string()
            }
        })
        .collect();
    Cow::Owned(parts.join("&"))
}

/// One `name=value` pair of a query string, decoded as the server that receives it reads it.
///
/// A URL's query is form-encoded (`application/x-www-form-urlencoded`, as the WHATWG URL
/// standard's `URLSearchParams` and server frameworks read it), so this is
/// `form_urlencoded::parse`: `%5F` is `_`, `+` is a space (`Bearer+abc` is a credential), a bad
/// or cut-short escape (`%zz`, `%4`) stays as written, and bytes that are not UTF-8 once decoded
/// become U+FFFD. A pair without `=` has an empty value.
fn decoded(pair: &str) -> (Cow<'_, str>, Cow<'_, str>) {
    form_urlencoded::parse(pair.as_bytes())
        .next()
        .unwrap_or_default()
}

/// The query parameters of a path template that carry a credential written literally (no
/// `{variable}` in the value): their names.
pub fn literal_secret_params(path: &str) -> Vec<String> {
    let Some((_, q)) = path.split_once('?') else {
        return Vec::new();
    };
    let q = q.split('#').next().unwrap_or("");
    q.split('&')
        .filter_map(|p| {
            let (_, v) = p.split_once('=')?;
            let literal = !v.is_empty() && !v.contains('{');
            let (name, value) = decoded(p);
            (literal && (is_sensitive_param(&name) || looks_like_credential(&value)))
                .then(|| name.into_owned())
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    const JWT: &str = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0.c2lnbmF0dXJl";

    #[test]
    fn credentials_are_recognised_by_name_and_by_look() {
        for h in [
            "Authorization",
            "X-Auth-Token",
            "x-api-key",
            "Cookie",
            "X-Client-Secret",
        ] {
            assert!(is_sensitive_header(h), "{h}");
        }
        for h in ["Accept", "Content-Type", "X-Request-Id"] {
            assert!(!is_sensitive_header(h), "{h}");
        }
        for v in ["Bearer abc", "basic dXNlcjpwYXNz", JWT, " Token xyz "] {
            assert!(looks_like_credential(v), "{v}");
        }
        for v in ["application/json", "Bearer", "a.b.c", "eyJ.x", "no"] {
            assert!(!looks_like_credential(v), "{v}");
        }
    }

    #[test]
    fn urls_hide_secret_query_values_and_passwords_only() {
        let table = [
            (
                "http://h/x?access_token=abc",
                "http://h/x?access_token=<redacted>",
            ),
            (
                "http://h/x?a=1&api_key=k&sig=s&b=2",
                "http://h/x?a=1&api_key=<redacted>&sig=<redacted>&b=2",
            ),
            (
                "http://h/x?signature=s#frag",
                "http://h/x?signature=<redacted>#frag",
            ),
            (
                "http://h/x?access%5Ftoken=abc",
                "http://h/x?access%5Ftoken=<redacted>",
            ),
            (
                &format!("http://h/x?id_token={JWT}"),
                "http://h/x?id_token=<redacted>",
            ),
            (&format!("http://h/x?q={JWT}"), "http://h/x?q=<redacted>"),
            (
                "https://user:pw@h:8080/x",
                "https://user:<redacted>@h:8080/x",
            ),
            ("https://user@h/x", "https://user@h/x"),
            (
                "http://h/x?pageSize=25&flow=a%20b",
                "http://h/x?pageSize=25&flow=a%20b",
            ),
            ("http://h/x?token=", "http://h/x?token="),
            ("/relative?password=p", "/relative?password=<redacted>"),
        ];
        for (url, want) in table {
            assert_eq!(redact_url(url), want, "{url}");
        }
        assert!(matches!(redact_url("http://h/x?a=1"), Cow::Borrowed(_)));
    }

    #[test]
    fn query_pairs_decode_as_a_server_reads_a_form() {
        let table = [
            ("access%5Ftoken=abc", "access_token", "abc"),
            ("q=Bearer+abc", "q", "Bearer abc"),
            ("a+b=%2B", "a b", "+"),
            ("k=%zz", "k", "%zz"),
            ("k=%4", "k", "%4"),
            ("k=50%", "k", "50%"),
            ("k=%C3%A9", "k", "é"),
            ("k=%ff", "k", "\u{FFFD}"),
            ("k=a=b", "k", "a=b"),
            ("k", "k", ""),
            ("", "", ""),
        ];
        for (pair, name, value) in table {
            let (n, v) = decoded(pair);
            assert_eq!((n.as_ref(), v.as_ref()), (name, value), "{pair}");
        }
        // What that means for redaction: the server's reading decides.
        let table = [
            ("/x?q=Bearer+abc", "/x?q=<redacted>"),
            ("/x?api%5Fkey=k", "/x?api%5Fkey=<redacted>"),
            ("/x?api%5key=k", "/x?api%5key=k"),
            ("/x?tok%zzen=k", "/x?tok%zzen=k"),
            ("/x?tok%65n=k", "/x?tok%65n=<redacted>"),
        ];
        for (url, want) in table {
            assert_eq!(redact_url(url), want, "{url}");
        }
    }

    #[test]
    fn literal_query_secrets_are_found_and_templates_pass() {
        assert_eq!(
            literal_secret_params("/x?access_token=abc&page=1&api_key={key}&sig=s"),
            vec!["access_token".to_string(), "sig".to_string()]
        );
        assert!(literal_secret_params("/x?page=1").is_empty());
    }
}
