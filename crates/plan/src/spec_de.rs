//! How the scenario's values of more than one shape are read: a duration (a number or text), a
//! loop count (a number or `"forever"`), a think time (a duration or `{ min, max }`) and a rate
//! (a number or `"270/m"`). Each says in its own words what it expects, so serde's "did not
//! match any variant of untagged enum" never reaches a user; numbers too large for TOML's i64
//! are taken as they are and refused by the checks with the field's own range.

use std::fmt;

use serde::de::{self, Deserializer, MapAccess, Visitor};
use serde::Deserialize;

use super::spec::{RawDuration, RawLoops, RawRate, RawThinkTime};

/// A number (any width) or a string, as one of the raw values.
trait NumberOrText: Sized {
    const EXPECTING: &'static str;
    fn number(n: f64) -> Self;
    fn integer(n: i128) -> Self {
        Self::number(n as f64)
    }
    fn text(s: &str) -> Self;
}

struct V<T>(std::marker::PhantomData<T>);

impl<'de, T: NumberOrText> Visitor<'de> for V<T> {
    type Value = T;
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(T::EXPECTING)
    }
    fn visit_i64<E: de::Error>(self, v: i64) -> Result<T, E> {
        Ok(T::integer(i128::from(v)))
    }
    fn visit_u64<E: de::Error>(self, v: u64) -> Result<T, E> {
        Ok(T::integer(i128::from(v)))
    }
    fn visit_i128<E: de::Error>(self, v: i128) -> Result<T, E> {
        Ok(T::integer(v))
    }
    fn visit_u128<E: de::Error>(self, v: u128) -> Result<T, E> {
        Ok(T::integer(i128::try_from(v).unwrap_or(i128::MAX)))
    }
    fn visit_f64<E: de::Error>(self, v: f64) -> Result<T, E> {
        Ok(T::number(v))
    }
    fn visit_str<E: de::Error>(self, v: &str) -> Result<T, E> {
        Ok(T::text(v))
    }
}

impl NumberOrText for RawDuration {
    const EXPECTING: &'static str = "a duration: a number of seconds (30, 0.5) or \"250ms\", \"10s\", \"5m\", \"1h30m\" (units h, m, s, ms)";
    fn number(n: f64) -> Self {
        RawDuration::Seconds(n)
    }
    fn text(s: &str) -> Self {
        RawDuration::Text(s.to_string())
    }
}

impl NumberOrText for RawLoops {
    const EXPECTING: &'static str = "a number of loops, or \"forever\"";
    fn number(n: f64) -> Self {
        // A fraction of a loop is not a loop count: say so with the number as written.
        RawLoops::Text(n.to_string())
    }
    fn integer(n: i128) -> Self {
        RawLoops::Count(i64::try_from(n).unwrap_or(i64::MAX))
    }
    fn text(s: &str) -> Self {
        RawLoops::Text(s.to_string())
    }
}

impl NumberOrText for RawRate {
    const EXPECTING: &'static str =
        "a rate: requests per second (4.5) or \"4.5/s\", \"270/m\", \"10000/h\"";
    fn number(n: f64) -> Self {
        RawRate::PerSecond(n)
    }
    fn text(s: &str) -> Self {
        RawRate::Text(s.to_string())
    }
}

macro_rules! number_or_text {
    ($($t:ty),*) => {$(
        impl<'de> Deserialize<'de> for $t {
            fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                d.deserialize_any(V::<$t>(std::marker::PhantomData))
            }
        }
    )*};
}
number_or_text!(RawDuration, RawLoops, RawRate);

/// `think_time = { min = …, max = … }`, `{ gaussian = …, deviation = … }` or
/// `{ poisson = …, offset = … }`: one table, its shape told by its keys.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Shaped {
    min: Option<RawDuration>,
    max: Option<RawDuration>,
    gaussian: Option<RawDuration>,
    deviation: Option<RawDuration>,
    poisson: Option<RawDuration>,
    offset: Option<RawDuration>,
}

/// The think time a table's keys make, or what it lacks.
fn shaped(t: Shaped) -> Result<RawThinkTime, &'static str> {
    match t {
        Shaped {
            min: Some(min),
            max: Some(max),
            gaussian: None,
            deviation: None,
            poisson: None,
            offset: None,
        } => Ok(RawThinkTime::Range { min, max }),
        Shaped {
            gaussian: Some(gaussian),
            deviation: Some(deviation),
            min: None,
            max: None,
            poisson: None,
            offset: None,
        } => Ok(RawThinkTime::Gaussian {
            gaussian,
            deviation,
        }),
        Shaped {
            poisson: Some(poisson),
            offset,
            min: None,
            max: None,
            gaussian: None,
            deviation: None,
        } => Ok(RawThinkTime::Poisson { poisson, offset }),
        _ => Err(THINK_SHAPES),
    }
}

const THINK_SHAPES: &str = "a think time: a duration such as \"500ms\", or { min = \"100ms\", max = \"1s\" } (uniform), { gaussian = \"300ms\", deviation = \"100ms\" } or { poisson = \"300ms\", offset = \"100ms\" }";

struct ThinkV;

impl<'de> Visitor<'de> for ThinkV {
    type Value = RawThinkTime;
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(THINK_SHAPES)
    }
    fn visit_i64<E: de::Error>(self, v: i64) -> Result<RawThinkTime, E> {
        V::<RawDuration>(std::marker::PhantomData)
            .visit_i64(v)
            .map(RawThinkTime::Constant)
    }
    fn visit_u64<E: de::Error>(self, v: u64) -> Result<RawThinkTime, E> {
        self.visit_i128(i128::from(v))
    }
    fn visit_i128<E: de::Error>(self, v: i128) -> Result<RawThinkTime, E> {
        V::<RawDuration>(std::marker::PhantomData)
            .visit_i128(v)
            .map(RawThinkTime::Constant)
    }
    fn visit_f64<E: de::Error>(self, v: f64) -> Result<RawThinkTime, E> {
        Ok(RawThinkTime::Constant(RawDuration::Seconds(v)))
    }
    fn visit_str<E: de::Error>(self, v: &str) -> Result<RawThinkTime, E> {
        Ok(RawThinkTime::Constant(RawDuration::Text(v.to_string())))
    }
    fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<RawThinkTime, A::Error> {
        let t = Shaped::deserialize(de::value::MapAccessDeserializer::new(map))?;
        shaped(t).map_err(de::Error::custom)
    }
}

impl<'de> Deserialize<'de> for RawThinkTime {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(ThinkV)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, Deserialize)]
    struct T {
        d: Option<RawDuration>,
        l: Option<RawLoops>,
        r: Option<RawRate>,
        t: Option<RawThinkTime>,
    }

    #[test]
    fn every_shape_reads_and_wrong_ones_say_what_they_expect() {
        let t: T =
            toml::from_str("d = \"10s\"\nl = \"forever\"\nr = 4.5\nt = { min = 1, max = \"2s\" }")
                .unwrap();
        assert_eq!(t.d, Some(RawDuration::Text("10s".into())));
        assert_eq!(t.l, Some(RawLoops::Text("forever".into())));
        assert_eq!(t.r, Some(RawRate::PerSecond(4.5)));
        assert_eq!(
            t.t,
            Some(RawThinkTime::Range {
                min: RawDuration::Seconds(1.0),
                max: RawDuration::Text("2s".into())
            })
        );
        let t: T = toml::from_str("d = 18446744073709551616\nl = 99999999999999999999").unwrap();
        assert_eq!(t.d, Some(RawDuration::Seconds(18446744073709551616.0)));
        assert_eq!(t.l, Some(RawLoops::Count(i64::MAX)));
        for (text, want) in [
            ("d = true", "expected a duration: a number of seconds"),
            ("l = [1]", "expected a number of loops"),
            ("r = {}", "expected a rate"),
            ("t = { min = 1, mx = 2 }", "unknown field `mx`"),
            ("t = false", "expected a think time"),
        ] {
            let e = toml::from_str::<T>(text).unwrap_err().to_string();
            assert!(e.contains(want), "{text}: {e}");
            assert!(!e.contains("untagged"), "{e}");
        }
    }
}
