//! A concurrency limit: at most N requests in flight, one more refused at once. Read from the
//! requests' own latencies: the admitted requests in flight when the 429s came number N;
//! the replay admits a request when fewer than N admitted ones are in flight when it is sent.

use super::replay::mismatch_from;
use super::{Event, Verdict};

/// A fitted concurrency limit.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ConcurrencyFit {
    /// Requests in flight at once it admits.
    pub max_in_flight: u32,
    /// Admitted requests' median service time, seconds.
    pub service_s: f64,
    /// Its replay's error ([`mismatch_from`]).
    pub error: f64,
}

impl ConcurrencyFit {
    /// Requests per second it admits when each holds a slot for the median service time.
    pub fn rate(&self) -> f64 {
        f64::from(self.max_in_flight) / self.service_s.max(1e-6)
    }
}

/// Admitted requests in flight when each request of `ev` (sorted by send time) was sent, counting
/// only those `admitted[i]` says were admitted; a request predicted admitted that the server
/// refused holds its slot for `service_s`.
fn replay(ev: &[Event], max: u32, service_s: f64) -> Vec<bool> {
    let mut ends: Vec<f64> = Vec::new();
    ev.iter()
        .map(|e| {
            ends.retain(|&end| end > e.t_s);
            if ends.len() < max as usize {
                let hold = if e.verdict == Verdict::Admitted {
                    e.latency_s
                } else {
                    service_s
                };
                ends.push(e.t_s + hold);
                true
            } else {
                false
            }
        })
        .collect()
}

/// The concurrency limit that explains `ev` (sorted by send time, no `Other`), scored from the
/// first refusal (`first`); None without an admitted request.
pub fn fit_concurrency(ev: &[Event], observed: &[bool], first: usize) -> Option<ConcurrencyFit> {
    let mut lat: Vec<f64> = ev
        .iter()
        .filter(|e| e.verdict == Verdict::Admitted)
        .map(|e| e.latency_s)
        .collect();
    if lat.is_empty() {
        return None;
    }
    lat.sort_by(f64::total_cmp);
    let service_s = lat[lat.len() / 2];
    // Admitted requests in flight when each 429 was sent, as the client saw them (an answer
    // reaches the client a little after the server freed its slot, so the most ever in flight
    // overstates the limit): the median over the 429s is the count the server refused at.
    let mut at_refusal: Vec<usize> = Vec::new();
    let mut at_admission: Vec<usize> = Vec::new();
    let mut ends: Vec<f64> = Vec::new();
    for (i, e) in ev.iter().enumerate() {
        ends.retain(|&end| end > e.t_s);
        match e.verdict {
            Verdict::Admitted => {
                if i > first {
                    at_admission.push(ends.len());
                }
                ends.push(e.t_s + e.latency_s);
            }
            Verdict::Refused => at_refusal.push(ends.len()),
            Verdict::Other => {}
        }
    }
    at_refusal.sort_unstable();
    let median = at_refusal.get(at_refusal.len() / 2).copied().unwrap_or(1);
    let max = u32::try_from(median).unwrap_or(u32::MAX).max(1);
    // A concurrency limit admits only with fewer than N in flight (one more as the client sees
    // answers late): a bucket with slow answers refuses and admits at the same count.
    let crowded = at_admission.iter().filter(|&&n| n > median).count();
    let mut error = mismatch_from(&replay(ev, max, service_s), observed, first);
    if crowded * 10 > at_admission.len() {
        error = error.max(1.0);
    }
    Some(ConcurrencyFit {
        max_in_flight: max,
        service_s,
        error,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn five_in_flight_before_a_slow_origin_is_read_as_five() {
        // 30/s offered to 5 slots of 250 ms (20/s): the sixth in flight is refused.
        let mut ev: Vec<Event> = Vec::new();
        let mut ends: Vec<f64> = Vec::new();
        for i in 0..300 {
            let t = f64::from(i) / 30.0;
            ends.retain(|&e| e > t);
            if ends.len() < 5 {
                ends.push(t + 0.25);
                ev.push(Event::admitted(t, 0.25));
            } else {
                ev.push(Event::refused(t, None));
            }
        }
        let observed: Vec<bool> = ev.iter().map(|e| e.verdict == Verdict::Admitted).collect();
        let first = observed.iter().position(|a| !a).unwrap();
        let f = fit_concurrency(&ev, &observed, first).unwrap();
        assert_eq!(f.max_in_flight, 5);
        assert!(f.error < 1e-9, "{f:?}");
        assert!((f.rate() - 20.0).abs() < 1e-9);
    }
}
