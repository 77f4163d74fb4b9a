//! The allocator's set-up, done first thing in `main`, before any thread starts.

/// Gives glibc's malloc two arenas: the main thread's, and one that the reading threads share;
/// and fixed thresholds for handing memory back.
///
/// With an arena per thread (glibc's default, up to 8 per core), the level vectors that the
/// book threads allocate and the engine's thread frees fragment every arena, and a long run's
/// peak memory grows with its length; one arena makes every thread wait on its lock. Two keep
/// both in check (the measurements are in `BENCHMARKS.md`, fourth round). Set before any
/// thread starts.
///
/// glibc raises its mmap threshold to the size of each large block freed (up to 32 MiB), so
/// that the JSON renders, the heatmap's growing buffers and the store's pages end up in the
/// heap, where what is freed below the top stays resident; a fixed threshold keeps large
/// blocks in maps of their own, given back when freed, and a fixed trim threshold gives back
/// the heap's free top (`run` over a day with the heatmap: 137–142 → 121–122 MB peak).
#[cfg(all(target_os = "linux", target_env = "gnu"))]
pub(crate) fn share_malloc_arenas() {
    // SAFETY: `mallopt` only sets tunables of the allocator; no thread is allocating yet.
    unsafe {
        libc::mallopt(libc::M_ARENA_MAX, 2);
        libc::mallopt(libc::M_MMAP_THRESHOLD, 128 * 1024);
        libc::mallopt(libc::M_TRIM_THRESHOLD, 128 * 1024);
    }
}

#[cfg(not(all(target_os = "linux", target_env = "gnu")))]
pub(crate) fn share_malloc_arenas() {}
