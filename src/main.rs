use std::process::ExitCode;

fn main() -> ExitCode {
    keep_large_buffers();
    huber::run_command_line()
}

/// glibc's malloc gives each large buffer (from 128 KiB at first) pages of their own from `mmap`
/// and returns them to the system when it is freed, so each page that a Parquet reader
/// decompresses and decodes into costs a page fault and the kernel's zeroing, again for every
/// row group: a sixth of a run over Parquet shards (`perf record`). Freed buffers kept in the
/// heap are reused instead: 13-16% faster on Parquet. One arena for all threads keeps what the
/// decoding threads free in one place, to be reused by any of them: without it the kept buffers
/// of each thread's arena added 10 MiB to the peak RSS of a glob of 8 Parquet shards (69 MiB);
/// with it the peak is 50 MiB, below the 57 MiB of glibc's defaults. CSV, `--by` and NPY runs
/// took the same time either way (within 3%).
/// Only the command line sets this: a library has no business tuning its host's allocator.
#[cfg(all(target_os = "linux", target_env = "gnu"))]
fn keep_large_buffers() {
    // SAFETY: `mallopt` sets parameters of the allocator; this runs first, on the only thread.
    // An older glibc caps the threshold at 32 MiB (and refuses more); setting the trim threshold
    // after a refusal would pin the threshold at its start instead of letting glibc raise it.
    unsafe {
        let kept = libc::mallopt(libc::M_MMAP_THRESHOLD, 256 << 20) == 1
            || libc::mallopt(libc::M_MMAP_THRESHOLD, 32 << 20) == 1;
        if kept {
            libc::mallopt(libc::M_TRIM_THRESHOLD, 512 << 20);
            libc::mallopt(libc::M_ARENA_MAX, 1);
        }
    }
}

#[cfg(not(all(target_os = "linux", target_env = "gnu")))]
fn keep_large_buffers() {}
