//! Execution segments: segment I of N runs a pure subset of the whole plan, so that N
//! processes together make exactly the starts one process would have made.
//!
//! Everything is split by *interleaving* a global index: user `u` (its id across groups, as one
//! process numbers them), arrival `k` of a group, draw `d` of a shared data source and request
//! slot `s` of `max_requests` all belong to segment `1 + index mod N`. So a ramp-up is spread
//! over every segment from its first second (not the first users on one pod and the last on
//! another), each segment's users keep the ids, start offsets and token slots they have in one
//! process, and the union of the N segments' events is the whole plan's, to the nanosecond.

use serde::{Deserialize, Serialize};

use super::{Event, Model, Schedule};
use crate::Profile;

/// Segment `index` of `count` (from 1). [`Segment::WHOLE`] is the plain, undivided run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Segment {
    /// Which one, from 1.
    pub index: u32,
    /// How many in all.
    pub count: u32,
}

impl Default for Segment {
    fn default() -> Self {
        Segment::WHOLE
    }
}

/// A segment that cannot be.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SegmentError {
    /// Not `I/N`.
    #[error("expected I/N with 1 ≤ I ≤ N, e.g. 2/4; got {0:?}")]
    Syntax(String),
    /// I outside 1..=N, or N = 0.
    #[error("segment {index} of {count}: I must be between 1 and N (and N at least 1)")]
    Range {
        /// I as given.
        index: u64,
        /// N as given.
        count: u64,
    },
    /// `JOB_COMPLETION_INDEX` is not a number below N.
    #[error(
        "JOB_COMPLETION_INDEX={value:?} is not an index from 0 to {last} (--segments {count})"
    )]
    JobIndex {
        /// The variable's value.
        value: String,
        /// N.
        count: u32,
        /// N - 1.
        last: u32,
    },
}

impl Segment {
    /// The whole run: one segment of one.
    pub const WHOLE: Segment = Segment { index: 1, count: 1 };

    /// Segment `index` (from 1) of `count`.
    ///
    /// # Errors
    /// [`SegmentError::Range`] unless `1 ≤ index ≤ count`.
    pub fn new(index: u32, count: u32) -> Result<Segment, SegmentError> {
        if count == 0 || index == 0 || index > count {
            return Err(SegmentError::Range {
                index: index.into(),
                count: count.into(),
            });
        }
        Ok(Segment { index, count })
    }

    /// Parses `I/N`, e.g. `2/4`.
    ///
    /// # Errors
    /// [`SegmentError`] saying what is wrong.
    pub fn parse(s: &str) -> Result<Segment, SegmentError> {
        let (i, n) = s
            .split_once('/')
            .ok_or_else(|| SegmentError::Syntax(s.into()))?;
        let num = |v: &str| {
            v.trim()
                .parse::<u64>()
                .map_err(|_| SegmentError::Syntax(s.into()))
        };
        let (i, n) = (num(i)?, num(n)?);
        let range = || SegmentError::Range { index: i, count: n };
        Segment::new(
            u32::try_from(i).map_err(|_| range())?,
            u32::try_from(n).map_err(|_| range())?,
        )
    }

    /// The segment of a Kubernetes Indexed Job's pod: `JOB_COMPLETION_INDEX` counts from 0.
    ///
    /// # Errors
    /// [`SegmentError::JobIndex`] when `value` is not a number in `0..count`.
    pub fn from_job_index(value: &str, count: u32) -> Result<Segment, SegmentError> {
        let bad = || SegmentError::JobIndex {
            value: value.into(),
            count,
            last: count.saturating_sub(1),
        };
        let i: u32 = value.trim().parse().map_err(|_| bad())?;
        if i >= count {
            return Err(bad());
        }
        Segment::new(i + 1, count)
    }

    /// True for the undivided run.
    pub fn is_whole(&self) -> bool {
        self.count <= 1
    }

    fn residue(&self) -> u64 {
        u64::from(self.index - 1)
    }

    /// Does global index `k` belong to this segment?
    pub fn owns(&self, k: u64) -> bool {
        k % u64::from(self.count.max(1)) == self.residue()
    }

    /// How many of the indices `0..n` belong to this segment (the N shares add up to `n`).
    pub fn share(&self, n: u64) -> u64 {
        let c = u64::from(self.count.max(1));
        (n + c - 1 - self.residue()) / c
    }

    /// The global index of this segment's `j`-th item (from 0).
    pub fn nth(&self, j: u64) -> u64 {
        j * u64::from(self.count.max(1)) + self.residue()
    }

    /// How many of the indices `base..base + n` belong to this segment.
    pub fn share_from(&self, base: u64, n: u64) -> u64 {
        self.share(base + n) - self.share(base)
    }

    /// The offset `p` (from `base`) of this segment's `j`-th index at or after `base`.
    pub fn nth_from(&self, base: u64, j: u64) -> u64 {
        let c = u64::from(self.count.max(1));
        let first = (self.residue() + c - base % c) % c;
        first + j * c
    }
}

impl std::fmt::Display for Segment {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}/{}", self.index, self.count)
    }
}

/// One segment's view of a group's schedule: its users (by global id) start and stop at the
/// whole plan's times; its share of the arrivals comes at the whole plan's times; the open
/// model's user pool is its share of the pool.
#[derive(Debug)]
struct Segmented<S> {
    inner: S,
    seg: Segment,
    user_base: u64,
    arrivals: u64,
}

impl<S: Schedule> Schedule for Segmented<S> {
    fn next_event(&mut self) -> Option<Event> {
        loop {
            let ev = self.inner.next_event()?;
            let mine = match ev {
                Event::StartUser { user, .. } | Event::StopUser { user, .. } => {
                    self.seg.owns(self.user_base + u64::from(user))
                }
                Event::Arrival { .. } => {
                    let k = self.arrivals;
                    self.arrivals += 1;
                    self.seg.owns(k)
                }
                Event::StopAll { .. } => true,
            };
            if mine {
                return Some(ev);
            }
        }
    }

    fn model(&self) -> Model {
        match self.inner.model() {
            Model::Closed { loops } => Model::Closed { loops },
            Model::Open {
                pre_allocated,
                max_users,
            } => {
                let share = |n: u32| self.seg.share_from(self.user_base, n.into()) as u32;
                Model::Open {
                    pre_allocated: share(pre_allocated),
                    max_users: share(max_users),
                }
            }
        }
    }
}

impl<S: Schedule + ?Sized> Schedule for Box<S> {
    fn next_event(&mut self) -> Option<Event> {
        (**self).next_event()
    }

    fn model(&self) -> Model {
        (**self).model()
    }
}

/// Segment `seg`'s schedule of a group whose first user has global id `user_base`.
pub fn for_segment(p: &Profile, seg: Segment, user_base: u32) -> Box<dyn Schedule> {
    let whole = super::for_profile(p);
    if seg.is_whole() {
        return whole;
    }
    Box::new(Segmented {
        inner: whole,
        seg,
        user_base: user_base.into(),
        arrivals: 0,
    })
}

/// The group-local id of the `j`-th user of segment `seg`'s open-model pool (from 0), for a
/// group whose first user has global id `user_base`: the pool slot it holds in one process.
pub fn pool_user(seg: Segment, user_base: u32, j: u32) -> u32 {
    seg.nth_from(user_base.into(), j.into()) as u32
}

#[cfg(test)]
mod tests;
