//! JMeter's enterprise HTTP settings: the DNS Cache Manager's static hosts become `[target]
//! resolve`, and the keystore (the `javax.net.ssl.keyStore*` properties a Keystore
//! Configuration draws on) becomes `[target] client_p12` with its password in an environment
//! variable, never in the scenario.

use std::path::PathBuf;

use super::walk::Walker;
use super::xml::Element;

/// The variable an imported scenario reads the keystore's password from.
pub const KEYSTORE_PASSWORD_ENV: &str = "JMETER_KEYSTORE_PASSWORD";

/// The client certificate an imported plan presents.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeystoreOut {
    /// The PKCS#12 file, absolute (written relative to the scenario's folder when possible).
    pub file: PathBuf,
}

impl Walker<'_> {
    /// A DNS Cache Manager: its static hosts (when it uses them) are kept for `resolve`.
    pub(super) fn dns_cache(&mut self, el: &Element, place: &str) {
        if el.prop_bool("DNSCacheManager.isCustomResolver") != Some(true) {
            self.note(
                place,
                "the system's resolver, as surge's: nothing to change",
            );
            return;
        }
        if !el.collection("DNSCacheManager.servers").is_empty() {
            self.warn(place, "custom DNS servers are not supported: surge asks the system's resolver for names without a static host");
        }
        for h in el.collection("DNSCacheManager.hosts") {
            let (Some(name), Some(addr)) = (
                h.prop_nonempty("StaticHost.Name"),
                h.prop_nonempty("StaticHost.Address"),
            ) else {
                continue;
            };
            let (name, addr) = (name.trim().to_string(), addr.trim().to_string());
            let ok = addr
                .split(',')
                .all(|a| a.trim().parse::<std::net::IpAddr>().is_ok());
            if !ok {
                self.warn(place, format!("static host {name} → {addr}: surge maps a name to IP addresses only: not imported"));
                continue;
            }
            self.m.target.static_hosts.push((name, addr));
        }
    }

    /// A Keystore Configuration: JMeter presents a key of the keystore its
    /// `javax.net.ssl.keyStore` property names.
    pub(super) fn keystore_config(&mut self, el: &Element, place: &str) {
        let index = |k: &str| {
            el.prop(k)
                .and_then(|v| v.trim().parse::<i64>().ok())
                .unwrap_or(0)
        };
        if index("endIndex") > index("startIndex") {
            self.warn(place, "one certificate per thread (startIndex..endIndex) is not supported: every user presents the keystore's first key");
        }
        self.keystore_place = Some(place.to_string());
    }

    /// After the walk: the keystore from the `javax.net.ssl.keyStore*` properties (given with
    /// `-J`), for a plan with a Keystore Configuration or with the property set.
    pub(super) fn keystore_from_properties(&mut self, plan_place: &str) {
        let prop = |k: &str| self.env.props.get(k).map(|v| v.trim().to_string());
        let file = prop("javax.net.ssl.keyStore").filter(|f| !f.is_empty());
        let kind = prop("javax.net.ssl.keyStoreType").unwrap_or_default();
        let place = self
            .keystore_place
            .clone()
            .unwrap_or_else(|| plan_place.to_string());
        let Some(file) = file else {
            if self.keystore_place.is_some() {
                self.warn(&place, format!("the keystore is JMeter's javax.net.ssl.keyStore property: pass -J javax.net.ssl.keyStore=client.p12 and set {KEYSTORE_PASSWORD_ENV} to present its certificate; without it no client certificate is sent"));
            }
            return;
        };
        if !kind.is_empty() && !kind.eq_ignore_ascii_case("pkcs12") {
            self.warn(&place, format!("keystore type {kind}: surge reads PKCS#12 only; convert it (keytool -importkeystore -srckeystore {file} -destkeystore client.p12 -deststoretype PKCS12) and pass that file"));
            return;
        }
        self.m.target.keystore = Some(KeystoreOut {
            file: self.jmx_dir.join(&file),
        });
        self.note(&place, format!("client certificate from {file}; its password is read from {KEYSTORE_PASSWORD_ENV} (never written to the scenario)"));
    }
}
