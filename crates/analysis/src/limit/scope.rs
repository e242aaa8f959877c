//! Scope: is the limit per token, or shared (per client, per organization, the backend)? The same
//! search is run with one token, then with the requests spread over two: a per-token limit admits
//! about twice as much over two tokens, a shared one the same.

use serde::{Deserialize, Serialize};

use super::bounds::{reconcile, RateBounds};
use super::Estimate;

/// Two tokens admitting at least this many times one token's rate: per token.
pub const PER_TOKEN_RATIO: f64 = 1.6;
/// At most this many times: shared.
pub const SHARED_RATIO: f64 = 1.25;

/// Whom the limit counts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Scope {
    /// Each token has its own allowance.
    PerToken,
    /// Tokens share one allowance (per client, organization, address or backend).
    Shared,
    /// Between the two: the searches disagree with both.
    Unclear,
    /// Not tested: the probe searched with one token only (no `--scope tokens`).
    NotTested,
}

/// The scope experiment's outcome.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ScopeFinding {
    /// The verdict.
    pub scope: Scope,
    /// Sustained rate with one token, requests per second.
    pub one_token_rate_per_s: f64,
    /// Sustained rate over two tokens (a lower bound when two tokens were never refused).
    pub two_tokens_rate_per_s: f64,
    /// The second over the first.
    pub ratio: f64,
}

/// Compares a one-token search with a two-token one; None when the first found no limit.
pub fn scope(one: &Estimate, two: &Estimate) -> Option<ScopeFinding> {
    scope_of(one, None, two, None)
}

/// [`scope`], each search's rate read with its bounds ([`super::bounds::reconcile`]): a limiter
/// that refused everything for a while (a penalty) misleads a fit, not the bounds.
pub fn scope_of(
    one: &Estimate,
    one_bounds: Option<&RateBounds>,
    two: &Estimate,
    two_bounds: Option<&RateBounds>,
) -> Option<ScopeFinding> {
    let rate = |f: &super::Fit, b: Option<&RateBounds>| match b {
        Some(b) => reconcile(f.sustained_rate_per_s, f.rate_error, b).0,
        None => f.sustained_rate_per_s,
    };
    let r1 = rate(one.fit()?, one_bounds);
    let r2 = match two {
        Estimate::Limit(f) => rate(f, two_bounds),
        // Never refused over two tokens: at least the peak it reached.
        Estimate::NotReached {
            peak_rate_per_s, ..
        } => *peak_rate_per_s,
        Estimate::NoData => return None,
    };
    let ratio = r2 / r1.max(1e-9);
    let scope = if ratio >= PER_TOKEN_RATIO {
        Scope::PerToken
    } else if ratio <= SHARED_RATIO && matches!(two, Estimate::Limit(_)) {
        Scope::Shared
    } else {
        Scope::Unclear
    };
    Some(ScopeFinding {
        scope,
        one_token_rate_per_s: r1,
        two_tokens_rate_per_s: r2,
        ratio,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::limit::fit::fit;
    use crate::limit::fit::tests::{steady, through_bucket};

    #[test]
    fn twice_the_rate_over_two_tokens_is_per_token_the_same_is_shared() {
        let one = fit(&through_bucket(5.0, 10.0, &steady(0.0, 8.0, 20.0), 0.01));
        // (two-token limiter rate, expected scope)
        let table = [
            (10.0, Scope::PerToken),
            (5.0, Scope::Shared),
            (7.0, Scope::Unclear),
        ];
        for (rate2, want) in table {
            let two = fit(&through_bucket(rate2, 20.0, &steady(0.0, 16.0, 20.0), 0.01));
            let s = scope(&one, &two).unwrap();
            assert_eq!(s.scope, want, "{rate2}: {s:?}");
        }
        // Two tokens never refused at 16/s: at least 16/s, so per token.
        let two = fit(&steady(0.0, 16.0, 5.0)
            .into_iter()
            .map(|t| crate::limit::Event::admitted(t, 0.01))
            .collect::<Vec<_>>());
        assert_eq!(scope(&one, &two).unwrap().scope, Scope::PerToken);
        assert!(scope(&Estimate::NoData, &two).is_none());
    }
}
