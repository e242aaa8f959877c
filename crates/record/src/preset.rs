//! Which preset of the built-in mock answered: the name a scenario's `mock_preset`, `surge mock
//! --preset` and a result's `target.mock_preset` carry. The presets' model parameters are the
//! mock's (`surge_mock::config`); this is only their identity, so a plan and a result can name one
//! without pulling in the mock.

use serde::{Deserialize, Serialize};

/// A named set of model parameters. The default, `seed`, is the one default everywhere: `surge mock`
/// without `--preset`, `base_url = "mock"` without `mock_preset`, and the mock's default configuration.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum Preset {
    /// Only the documented limits at their documented values (token 300/min, org/app/user 3000/min,
    /// page-size-graded `GET /flows`); no compile backlog limit; realistic latency.
    Documented,
    /// Calibrated to reproduce the seed's JMeter run (see `crates/mock/README.md`): the HYPOTHESIS compile
    /// backlog, no token limit.
    #[default]
    Seed,
    /// No limits, near-zero latency, no faults: for benchmarking surge itself.
    Unlimited,
    /// Not a Genesys model: one token bucket for the whole organization (10/s, burst 20, like an
    /// API gateway's) and nothing else, with the documented latency: to compare client policies
    /// against a bucket.
    Bucket,
}

impl Preset {
    /// The name as written in a scenario or on the command line (`seed`).
    pub fn name(self) -> &'static str {
        match self {
            Preset::Documented => "documented",
            Preset::Seed => "seed",
            Preset::Unlimited => "unlimited",
            Preset::Bucket => "bucket",
        }
    }

    /// Every preset, in the order `--help` lists them.
    pub const ALL: [Preset; 4] = [
        Preset::Documented,
        Preset::Seed,
        Preset::Unlimited,
        Preset::Bucket,
    ];
}

impl std::fmt::Display for Preset {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// A name that is not a mock preset.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0:?} is not a mock preset; one of: {names}", names = Preset::ALL.map(Preset::name).join(", "))]
pub struct UnknownPreset(pub String);

impl std::str::FromStr for Preset {
    type Err = UnknownPreset;

    fn from_str(s: &str) -> Result<Preset, UnknownPreset> {
        Preset::ALL
            .into_iter()
            .find(|p| p.name() == s)
            .ok_or_else(|| UnknownPreset(s.to_string()))
    }
}
