//! `ignite-sandbox`: starts one function instance in a sandbox of its own. The runner's spawn
//! helper starts it ahead of need with the sandbox's settings (JSON, the one argument); it builds
//! the sandbox and waits; the start request (one JSON line on stdin) names the program, its
//! environment and limits, and the program runs. See README.md.
//!
//! `ignite-sandbox probe`: a program that says `ready` on descriptor 3 and exits, started in a
//! sandbox by the runner at start-up to show that this host can make one.

#![deny(missing_docs)]

mod cgroup;
mod config;
mod filesystem;
mod handover;
mod host_side;
mod sandbox_side;
mod seccomp;

use std::io::Write;
use std::os::fd::FromRawFd;

fn main() {
    let mut args = std::env::args().skip(1);
    match args.next().as_deref() {
        Some("probe") => probe(),
        Some(json) if args.next().is_none() => match serde_json::from_str(json) {
            Ok(config) => host_side::run(config),
            Err(error) => {
                eprintln!("ignite-sandbox: the sandbox's settings are not valid: {error}");
                std::process::exit(125)
            }
        },
        _ => {
            eprintln!("usage: ignite-sandbox SETTINGS_JSON   (then one start request on stdin)\n       ignite-sandbox probe");
            std::process::exit(2)
        }
    }
}

/// Says `ready` on the ready descriptor, as a program would, then exits.
fn probe() -> ! {
    if handover::is_open(3) {
        // SAFETY: descriptor 3 is the runner's ready pipe, open (checked) and used by nothing else.
        let mut ready = unsafe { std::fs::File::from_raw_fd(3) };
        let _ = ready.write_all(b"ready\n");
    }
    std::process::exit(0)
}
