//! `[target] resolve`: host names sent to fixed addresses, as curl's `--resolve HOST:PORT:ADDR`.
//! The name stays the request's: it is the `Host` header, the TLS server name (SNI) and the name
//! the server's certificate must carry; only where the connection goes changes.

use std::net::IpAddr;

use serde::Serialize;

/// One `HOST:PORT:ADDR[,ADDR…]`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct HostMapping {
    /// The host name as in URLs (lower case).
    pub host: String,
    /// The port it applies to.
    pub port: u16,
    /// Where connections go, tried in order.
    pub addrs: Vec<IpAddr>,
}

impl HostMapping {
    /// Parses `HOST:PORT:ADDR[,ADDR…]` (an IPv6 address in brackets).
    ///
    /// # Errors
    /// A message saying what is wrong and what to write.
    pub fn parse(s: &str) -> Result<HostMapping, String> {
        let form = "write HOST:PORT:ADDRESS, e.g. \"api.example.com:443:127.0.0.1\"";
        let mut parts = s.splitn(3, ':');
        let (Some(host), Some(port), Some(addrs)) = (parts.next(), parts.next(), parts.next())
        else {
            return Err(format!("{s:?}: {form}"));
        };
        let host = host.trim();
        if host.is_empty() || host.starts_with('[') || host.parse::<IpAddr>().is_ok() {
            return Err(format!("{s:?}: {host:?} is not a host name; {form}"));
        }
        if url::Host::parse(host).is_err() {
            return Err(format!("{s:?}: {host:?} is not a host name"));
        }
        let port: u16 = match port.trim().parse() {
            Ok(p) if p > 0 => p,
            _ => return Err(format!("{s:?}: {port:?} is not a port (1-65535)")),
        };
        let addrs = addrs
            .split(',')
            .map(|a| {
                let a = a.trim();
                a.trim_start_matches('[')
                    .trim_end_matches(']')
                    .parse::<IpAddr>()
                    .map_err(|_| format!("{s:?}: {a:?} is not an IP address"))
            })
            .collect::<Result<Vec<_>, _>>()?;
        Ok(HostMapping {
            host: host.to_ascii_lowercase(),
            port,
            addrs,
        })
    }

    /// The addresses for `host`:`port`, when a mapping names them.
    pub fn find<'a>(mappings: &'a [HostMapping], host: &str, port: u16) -> Option<&'a [IpAddr]> {
        mappings
            .iter()
            .find(|m| m.port == port && m.host.eq_ignore_ascii_case(host))
            .map(|m| m.addrs.as_slice())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn curl_forms_parse_and_mistakes_say_what_to_write() {
        let m = HostMapping::parse("API.example.test:443:127.0.0.1,[::1]").unwrap();
        assert_eq!(m.host, "api.example.test");
        assert_eq!(m.port, 443);
        assert_eq!(
            m.addrs,
            vec![
                "127.0.0.1".parse::<IpAddr>().unwrap(),
                "::1".parse().unwrap()
            ]
        );
        assert_eq!(
            HostMapping::find(&[m], "api.EXAMPLE.test", 443).map(<[IpAddr]>::len),
            Some(2)
        );
        for (bad, says) in [
            ("api.example.test:127.0.0.1", "write HOST:PORT:ADDRESS"),
            ("api.example.test:x:127.0.0.1", "is not a port"),
            ("api.example.test:443:localhost", "is not an IP address"),
            ("10.0.0.1:443:127.0.0.1", "is not a host name"),
        ] {
            let e = HostMapping::parse(bad).unwrap_err();
            assert!(e.contains(says), "{bad}: {e}");
        }
    }
}
