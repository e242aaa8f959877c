//! The open-files limit a run needs: each user holds its own connection (one descriptor), so
//! 10,000 users need more than the usual soft limit of 1,024. The soft limit is raised as far as
//! the hard limit allows, as load tools and the Go runtime do.

/// Descriptors kept aside for everything that is not a user's socket (files, the runtime).
pub const SPARE: u64 = 64;

/// The open-files limit after trying to make room for `users` connections.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OpenFiles {
    /// Enough: the soft limit now (raised or as it was).
    Enough(u64),
    /// Not enough, even at the hard limit: the limit now. Users past it fail to connect.
    TooLow {
        /// The soft limit now.
        limit: u64,
        /// What `users` connections need.
        needed: u64,
    },
}

/// Raises the soft open-files limit towards what `users` connections need (at most to the
/// hard limit). On systems without `setrlimit` the answer is `Enough(u64::MAX)`.
pub fn ensure_open_files(users: u64) -> OpenFiles {
    let needed = users.saturating_add(SPARE);
    imp::ensure(needed)
}

#[cfg(unix)]
mod imp {
    use super::OpenFiles;

    pub(super) fn ensure(needed: u64) -> OpenFiles {
        let mut lim = libc::rlimit {
            rlim_cur: 0,
            rlim_max: 0,
        };
        // SAFETY: getrlimit writes into the struct we own.
        if unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &mut lim) } != 0 {
            return OpenFiles::Enough(u64::MAX);
        }
        // rlim_t is u64 on Linux, another width elsewhere.
        #[allow(clippy::unnecessary_cast)]
        let (cur, max) = (lim.rlim_cur as u64, lim.rlim_max as u64);
        if cur >= needed {
            return OpenFiles::Enough(cur);
        }
        let want = needed.min(max);
        let new = libc::rlimit {
            rlim_cur: want as libc::rlim_t,
            rlim_max: lim.rlim_max,
        };
        // SAFETY: setrlimit reads the struct we own.
        let now = if unsafe { libc::setrlimit(libc::RLIMIT_NOFILE, &new) } == 0 {
            want
        } else {
            cur
        };
        if now >= needed {
            OpenFiles::Enough(now)
        } else {
            OpenFiles::TooLow { limit: now, needed }
        }
    }
}

#[cfg(not(unix))]
mod imp {
    use super::OpenFiles;

    pub(super) fn ensure(_needed: u64) -> OpenFiles {
        OpenFiles::Enough(u64::MAX)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_small_need_is_met_without_change() {
        assert!(matches!(ensure_open_files(1), OpenFiles::Enough(n) if n > SPARE));
    }
}
