use super::*;

fn env_of(vars: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> {
    let vars: Vec<(String, String)> = vars
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    move |name| vars.iter().find(|(k, _)| k == name).map(|(_, v)| v.clone())
}

#[test]
fn proxy_urls_parse_and_never_show_their_credentials() {
    let p = ProxyUrl::parse("http://alice:s%40cret@proxy.corp:3128/").unwrap();
    assert_eq!(p.host(), "proxy.corp");
    assert_eq!(p.port(), 3128);
    assert_eq!(p.shown(), "http://proxy.corp:3128");
    // user:password, percent-decoded, in a Basic value marked sensitive.
    let a = p.authorization().unwrap();
    assert!(a.is_sensitive());
    assert_eq!(a, "Basic YWxpY2U6c0BjcmV0");
    let shown = format!(
        "{p:?} {p} {}",
        serde_json::to_string(&ProxySetting::Url(p.clone())).unwrap()
    );
    assert!(
        !shown.contains("alice") && !shown.contains("cret"),
        "{shown}"
    );
    assert!(shown.contains("with credentials"));

    assert_eq!(
        ProxyUrl::parse("proxy:8080").unwrap().shown(),
        "http://proxy:8080"
    );
    assert_eq!(ProxyUrl::parse("http://10.0.0.1").unwrap().port(), 80);
    assert_eq!(
        ProxyUrl::parse("http://[::1]:3128").unwrap().host(),
        "[::1]"
    );
    for bad in [
        "socks5://u:pw@proxy:1080",
        "https://u:pw@proxy:443",
        "http://u:pw@proxy:3128/path",
        "http://u:pw@:3128",
    ] {
        let e = ProxyUrl::parse(bad).unwrap_err().to_string();
        assert!(!e.contains("pw"), "{bad} → {e}");
    }
}

#[test]
fn redact_hides_userinfo_only() {
    assert_eq!(redact("http://u:p@h:1/x"), "http://***@h:1/x");
    assert_eq!(redact("u:p@h:1"), "***@h:1");
    assert_eq!(redact("http://h:1"), "http://h:1");
}

#[test]
fn no_proxy_forms() {
    let n = NoProxy::parse(
        " .corp.example, api.example.com:8443 10.0.0.0/8,192.168.1.7, [::1], internal ",
    );
    let cases = [
        ("a.corp.example", 443, true),
        ("corp.example", 443, true),
        ("xcorp.example", 443, false),
        ("api.example.com", 8443, true),
        ("api.example.com", 443, false),
        ("10.2.3.4", 80, true),
        ("11.2.3.4", 80, false),
        ("192.168.1.7", 80, true),
        ("[::1]", 80, true),
        ("internal", 80, true),
        ("svc.internal", 80, true),
        ("API.CORP.EXAMPLE.", 80, true),
        ("api.mypurecloud.com", 443, false),
    ];
    for (host, port, want) in cases {
        assert_eq!(n.matches(host, port), want, "{host}:{port}");
    }
    assert!(NoProxy::parse("*").matches("anything", 1));
    assert!(!NoProxy::parse("").matches("anything", 1));
    assert!(NoProxy::parse("*.example.com").matches("a.example.com", 1));
}

#[test]
fn the_environment_is_read_per_scheme_with_all_proxy_as_fallback() {
    let p = Proxies::resolve(
        &ProxySetting::Env,
        None,
        None,
        env_of(&[
            ("HTTPS_PROXY", "http://u:pw@secure:3128"),
            ("http_proxy", "plain:8080"),
            ("NO_PROXY", ".internal"),
        ]),
    )
    .unwrap();
    assert_eq!(
        p.for_target(true, "api.mypurecloud.com", 443)
            .unwrap()
            .shown(),
        "http://secure:3128"
    );
    assert!(p
        .for_target(true, "api.mypurecloud.com", 443)
        .unwrap()
        .has_credentials());
    assert_eq!(
        p.for_target(false, "example.com", 80).unwrap().shown(),
        "http://plain:8080"
    );
    assert!(p.for_target(true, "x.internal", 443).is_none());
    // Loopback targets never take an environment proxy.
    for h in ["127.0.0.1", "localhost", "[::1]", "a.localhost"] {
        assert!(p.for_target(false, h, 80).is_none(), "{h}");
    }
    assert_eq!(p.source(), Some("HTTPS_PROXY, http_proxy"));
    assert_eq!(
        p.describe("https://api.mypurecloud.com").as_deref(),
        Some("http://secure:3128 (HTTPS_PROXY, http_proxy)")
    );

    let all = Proxies::resolve(
        &ProxySetting::Env,
        None,
        None,
        env_of(&[("ALL_PROXY", "http://all:1")]),
    )
    .unwrap();
    assert_eq!(
        all.for_target(true, "h", 443).unwrap().shown(),
        "http://all:1"
    );
    assert_eq!(
        all.for_target(false, "h", 80).unwrap().shown(),
        "http://all:1"
    );

    let none = Proxies::resolve(&ProxySetting::Env, None, None, env_of(&[])).unwrap();
    assert!(none.for_target(true, "h", 443).is_none());
    assert_eq!(none.source(), None);
}

#[test]
fn a_named_proxy_applies_to_loopback_and_honours_no_proxy() {
    let named = ProxySetting::Url(ProxyUrl::parse("http://127.0.0.1:3128").unwrap());
    let p = Proxies::resolve(
        &named,
        Some("skip.me"),
        None,
        env_of(&[("no_proxy", "10.0.0.0/8")]),
    )
    .unwrap();
    assert!(p.for_target(false, "127.0.0.1", 8080).is_some());
    assert!(p.for_target(false, "skip.me", 80).is_none());
    assert!(p.for_target(false, "10.1.1.1", 80).is_none());
    assert_eq!(p.source(), Some("target.proxy"));
    // "none" ignores the environment altogether.
    let off = Proxies::resolve(
        &ProxySetting::Off,
        None,
        None,
        env_of(&[("HTTPS_PROXY", "http://p:1")]),
    )
    .unwrap();
    assert!(off.for_target(true, "h", 443).is_none());
}

#[test]
fn credentials_from_a_variable_and_errors_that_name_the_variable() {
    let named = ProxySetting::Url(ProxyUrl::parse("http://proxy:3128").unwrap());
    let p = Proxies::resolve(
        &named,
        None,
        Some("PROXY_CREDS"),
        env_of(&[("PROXY_CREDS", "bob:hunter2")]),
    )
    .unwrap();
    assert_eq!(
        p.for_target(true, "h", 443)
            .unwrap()
            .authorization()
            .unwrap(),
        "Basic Ym9iOmh1bnRlcjI="
    );
    let e = Proxies::resolve(&named, None, Some("PROXY_CREDS"), env_of(&[])).unwrap_err();
    assert_eq!(e, ProxyError::MissingEnv("PROXY_CREDS".into()));
    let e = Proxies::resolve(
        &ProxySetting::Env,
        None,
        None,
        env_of(&[("HTTPS_PROXY", "socks5://u:secretpw@p:1080")]),
    )
    .unwrap_err()
    .to_string();
    assert!(e.contains("HTTPS_PROXY") && !e.contains("secretpw"), "{e}");
}
