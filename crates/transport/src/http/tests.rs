use super::*;

fn target(extra: &str) -> Target {
    surge_plan::load_str(
        &format!("name = \"t\"\n[target]\nbase_url = \"http://127.0.0.1:1\"\n{extra}[[request]]\nname = \"r\"\npath = \"/\"\n[load]\nthreads = 1\n"),
        std::path::Path::new("t.toml"),
        &[],
    )
    .unwrap()
    .target
}

#[test]
fn urls_under_the_base_are_split_without_reparsing_and_match_a_full_parse() {
    let target = target("");
    for (base, url) in [
        (
            "http://127.0.0.1:8080",
            "http://127.0.0.1:8080/api/v2/flows/actions/publish?flow=a%20b&x=1",
        ),
        ("http://127.0.0.1:8080", "http://127.0.0.1:8080/"),
        (
            "https://api.example.com/prefix",
            "https://api.example.com/prefix/api/v2/flows?pageSize=25",
        ),
        // Characters a URL parser percent-encodes take the slow path and come out the same.
        (
            "http://127.0.0.1:8080",
            "http://127.0.0.1:8080/flows/a b?name=x'y\"z",
        ),
        ("http://127.0.0.1:8080", "http://other.host/x"),
    ] {
        let t = HttpTransport::new(&target, Proxies::none(), None)
            .unwrap()
            .with_base(base);
        let (route, pq) = t.route(url).unwrap();
        let parsed = reqwest::Url::parse(url).unwrap();
        assert_eq!(
            pq.as_str(),
            &parsed[url::Position::BeforePath..url::Position::AfterQuery],
            "{url}"
        );
        assert_eq!(route.origin.host, parsed.host_str().unwrap(), "{url}");
        assert_eq!(Some(route.origin.port), parsed.port_or_known_default());
    }
}
