//! HDR histograms (µs, 3 significant digits) and their compact embedding in result files
//! (V2 + deflate, base64), so results merge exactly and re-report offline.

use base64::Engine as _;
use hdrhistogram::serialization::{Deserializer, Serializer, V2DeflateSerializer};
use hdrhistogram::Histogram;
use serde::{Deserialize, Serialize};

/// A latency histogram in µs: auto-resizing, 3 significant digits.
#[derive(Debug, Clone)]
pub struct Hist(pub Histogram<u64>);

impl Default for Hist {
    fn default() -> Self {
        Hist::new()
    }
}

impl PartialEq for Hist {
    fn eq(&self, other: &Self) -> bool {
        self.0 == other.0
    }
}

impl Hist {
    /// An empty histogram.
    pub fn new() -> Hist {
        let mut h =
            Histogram::<u64>::new_with_bounds(1, 2 * 1024, 3).expect("static bounds are valid");
        h.auto(true);
        Hist(h)
    }

    /// Records a value in µs (0 is recorded as 1: the histogram's lowest bucket).
    #[inline]
    pub fn record(&mut self, us: u64) {
        // Auto-resize makes this infallible for any u64 within range.
        let _ = self.0.record(us.max(1));
    }

    /// Adds every count of `other`.
    pub fn add(&mut self, other: &Hist) {
        let _ = self.0.add(&other.0);
    }

    /// Number of values.
    pub fn len(&self) -> u64 {
        self.0.len()
    }

    /// True when nothing was recorded.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// The value at quantile `q` (0..=1), in µs; 0 when empty.
    pub fn quantile(&self, q: f64) -> u64 {
        if self.0.is_empty() {
            0
        } else {
            self.0.value_at_quantile(q)
        }
    }

    /// Smallest value (µs), 0 when empty.
    pub fn min(&self) -> u64 {
        if self.0.is_empty() {
            0
        } else {
            self.0.min()
        }
    }

    /// Largest value (µs, highest equivalent), 0 when empty.
    pub fn max(&self) -> u64 {
        if self.0.is_empty() {
            0
        } else {
            self.0.max()
        }
    }

    /// Mean (µs), 0 when empty.
    pub fn mean(&self) -> f64 {
        if self.0.is_empty() {
            0.0
        } else {
            self.0.mean()
        }
    }

    /// Base64 of the V2+deflate encoding.
    pub fn to_base64(&self) -> String {
        let mut buf = Vec::new();
        V2DeflateSerializer::new()
            .serialize(&self.0, &mut buf)
            .expect("serializing into a Vec cannot fail");
        base64::engine::general_purpose::STANDARD.encode(buf)
    }

    /// Decodes [`Hist::to_base64`].
    ///
    /// # Errors
    /// [`HistError`]: not base64, or not an HDR V2 (deflate) histogram.
    pub fn from_base64(s: &str) -> Result<Hist, HistError> {
        let bytes = base64::engine::general_purpose::STANDARD
            .decode(s)
            .map_err(HistError::Base64)?;
        let mut h: Histogram<u64> = Deserializer::new()
            .deserialize(&mut bytes.as_slice())
            .map_err(|e| HistError::Decode(format!("{e:?}")))?;
        h.auto(true);
        Ok(Hist(h))
    }
}

/// A histogram in a result file that cannot be read.
#[derive(Debug, thiserror::Error)]
pub enum HistError {
    /// Not base64.
    #[error("histogram is not base64: {0}")]
    Base64(base64::DecodeError),
    /// Not an HDR V2 (deflate) histogram.
    #[error("histogram does not decode: {0}")]
    Decode(String),
}

impl Serialize for Hist {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.to_base64())
    }
}

impl<'de> Deserialize<'de> for Hist {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        Hist::from_base64(&s).map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base64_round_trip_keeps_every_count() {
        let mut h = Hist::new();
        for v in [0, 1, 7, 1_000, 250_000, 3_600_000_000] {
            h.record(v);
        }
        let back = Hist::from_base64(&h.to_base64()).unwrap();
        assert_eq!(back, h);
        assert_eq!(back.len(), 6);
        assert!(Hist::from_base64("not base64!").is_err());
        assert!(Hist::from_base64("aGVsbG8=").is_err());
    }
}
