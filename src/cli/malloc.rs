//! The allocator's set-up, done first thing in `main`, before any thread starts.

/// Gives glibc's malloc two arenas: the main thread's, and one that the reading threads share.
///
/// With an arena per thread (glibc's default, up to 8 per core), the level vectors that the
/// book threads allocate and the engine's thread frees fragment every arena, and a long run's
/// peak memory grows with its length; one arena makes every thread wait on its lock. Two keep
/// both in check (the measurements are in `BENCHMARKS.md`, fourth round). Set before any
/// thread starts.
#[cfg(all(target_os = "linux", target_env = "gnu"))]
pub(crate) fn share_malloc_arenas() {
    // SAFETY: `mallopt` only sets a tunable of the allocator; no thread is allocating yet.
    unsafe {
        libc::mallopt(libc::M_ARENA_MAX, 2);
    }
}

#[cfg(not(all(target_os = "linux", target_env = "gnu")))]
pub(crate) fn share_malloc_arenas() {}
