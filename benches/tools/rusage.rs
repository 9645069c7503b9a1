//! Runs a command and writes its wall time, CPU time and peak RSS to a file:
//!
//!     rusage RESULT_FILE PROGRAM [ARGS...]
//!
//! RESULT_FILE gets one line, `wall_ns user_us sys_us maxrss_kib exit_code`. The exit code is the
//! command's (128 + signal when a signal ended it); stdin, stdout and stderr are the command's.
//!
//! Why a program of its own: a child's `ru_maxrss` is at least the resident size of the process
//! that spawned it (Linux carries the old address space's high-water mark across `exec`), so a
//! command started by the Python benchsuite would never show less than the interpreter's ~20 MiB.
//! This launcher is about 1 MiB. Built by benches/benchsuite with plain `rustc` (no crates); Linux
//! on a 64-bit target, where `struct rusage` is two `timeval`s and fourteen `long`s.

use std::process::{exit, Command};
use std::time::Instant;

#[repr(C)]
struct Rusage {
    utime: [i64; 2],
    stime: [i64; 2],
    maxrss: i64,
    rest: [i64; 13],
}

extern "C" {
    fn wait4(pid: i32, status: *mut i32, options: i32, rusage: *mut Rusage) -> i32;
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.len() < 2 {
        eprintln!("usage: rusage RESULT_FILE PROGRAM [ARGS...]");
        exit(2);
    }
    let start = Instant::now();
    let child = match Command::new(&args[1]).args(&args[2..]).spawn() {
        Ok(child) => child,
        Err(e) => {
            eprintln!("rusage: cannot run {}: {e}", args[1]);
            exit(127);
        }
    };
    let mut status = 0;
    let mut ru = Rusage { utime: [0; 2], stime: [0; 2], maxrss: 0, rest: [0; 13] };
    // SAFETY: wait4 writes into the two out-pointers, which point at live values of the C layout.
    let pid = unsafe { wait4(child.id() as i32, &mut status, 0, &mut ru) };
    let wall = start.elapsed();
    if pid < 0 {
        eprintln!("rusage: wait4: {}", std::io::Error::last_os_error());
        exit(2);
    }
    let code = if status & 0x7f == 0 { (status >> 8) & 0xff } else { 128 + (status & 0x7f) };
    let us = |tv: [i64; 2]| tv[0] * 1_000_000 + tv[1];
    let line = format!("{} {} {} {} {}\n", wall.as_nanos(), us(ru.utime), us(ru.stime), ru.maxrss, code);
    if let Err(e) = std::fs::write(&args[0], line) {
        eprintln!("rusage: cannot write {}: {e}", args[0]);
        exit(2);
    }
}
