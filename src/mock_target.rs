//! Starting the built-in mock for `base_url = "mock"`.

use crate::transport::auth::Credentials;

/// A mock started for one run.
#[derive(Debug)]
pub struct MockTarget;

impl MockTarget {
    /// Its URL.
    pub fn url(&self) -> String {
        String::new()
    }
    /// Its default client.
    pub fn credentials(&self) -> Credentials {
        Credentials {
            client_id: String::new(),
            client_secret: String::new(),
        }
    }
    /// Stops it.
    pub async fn stop(self) {}
}

/// Starts the mock with `preset` on a free loopback port.
///
/// # Errors
/// The mock is not in this build yet.
pub async fn start(_preset: &str) -> Result<MockTarget, String> {
    Err("target \"mock\": the built-in Architect mock is not in this build yet; set base_url to a server you run".into())
}
