//! The allocator's set-up, done first thing in `main`, before any thread starts.

/// Gives glibc's malloc two arenas: the main thread's, and one that the reading threads share.
///
/// With an arena per thread (glibc's default, up to 8 per core), the level vectors that the two
/// book threads allocate and the engine's thread frees left both book threads' arenas
/// fragmented, and a day's peak memory was 12 % over an hour's (issue 5 allows 10 %): 7.5 %
/// with two arenas. One arena measured 5 %, but the hour ran about 10 % slower, every thread
/// waiting on its lock. Set before any thread starts.
#[cfg(all(target_os = "linux", target_env = "gnu"))]
pub(crate) fn share_malloc_arenas() {
    // SAFETY: `mallopt` only sets a tunable of the allocator; no thread is allocating yet.
    unsafe {
        libc::mallopt(libc::M_ARENA_MAX, 2);
    }
}

#[cfg(not(all(target_os = "linux", target_env = "gnu")))]
pub(crate) fn share_malloc_arenas() {}
