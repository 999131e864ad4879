//! The launcher's host side: joins the instance's cgroup, binds the program's listener, creates
//! the sandbox (new user, pid, mount, network, ipc, uts and cgroup namespaces) and maps its user
//! to an unprivileged host uid; then waits for the start request on stdin, writes the limits,
//! opens the program and the passed files, hands them in, reports the program's host pid on
//! stdout and exits as the program exits.

use std::io::{BufRead, BufReader, Write};
use std::os::fd::{AsRawFd, OwnedFd, RawFd};
use std::os::unix::fs::PermissionsExt;
use std::os::unix::net::{UnixListener, UnixStream};
use std::path::Path;

use nix::fcntl::{open, OFlag};
use nix::sys::resource::{setrlimit, Resource};
use nix::sys::signal::{kill, signal, SigHandler, Signal};
use nix::sys::stat::Mode;
use nix::sys::wait::{waitpid, WaitStatus};
use nix::unistd::{getegid, geteuid, pipe2, Pid};

use crate::cgroup::Cgroup;
use crate::config::{SandboxConfig, StartRequest};
use crate::filesystem::SANDBOX_ID;
use crate::handover::{self, Ended, Report};
use crate::sandbox_side::{self, Start};

/// The launcher's own descriptors sit at or above this, clear of the program's 0–6.
const OWN_FDS: RawFd = 10;

/// Runs the launcher; never returns.
pub fn run(config: SandboxConfig) -> ! {
    match launch(config) {
        Ok(status) => exit_as(status),
        Err(message) => {
            eprintln!("ignite-sandbox: {message}");
            std::process::exit(125)
        }
    }
}

fn launch(config: SandboxConfig) -> Result<WaitStatus, String> {
    // A crash here must not dump a core of a root process.
    let _ = setrlimit(Resource::RLIMIT_CORE, 0, 0);
    // The spawn helper gone (the runner crashed), the sandbox goes: its init follows this process.
    nix::sys::prctl::set_pdeathsig(Signal::SIGKILL)
        .map_err(|error| format!("could not set the parent-death signal: {error}"))?;
    if nix::unistd::getppid().as_raw() == 1 {
        return Err("the spawn helper is already gone".to_string());
    }
    let (uid, gid) = host_ids(&config)?;
    // The runner's pipes (ready, channel, messages), before this process opens anything.
    let inherited: Vec<RawFd> = (3..=5).filter(|&fd| handover::is_open(fd)).collect();
    let cgroup = config.cgroup.as_ref().map(Cgroup::join).transpose()?;
    let listener = config.listen.as_deref().map(bind_listener).transpose()?;
    let (mapped_read, mapped_write) =
        pipe2(OFlag::O_CLOEXEC).map_err(|error| format!("could not create a pipe: {error}"))?;
    let (mapped_read, mapped_write) = (
        handover::lift(mapped_read, OWN_FDS)?,
        handover::lift(mapped_write, OWN_FDS)?,
    );
    let (host_end, sandbox_end) =
        UnixStream::pair().map_err(|error| format!("could not create a socket pair: {error}"))?;
    let host_end = UnixStream::from(handover::lift(host_end.into(), OWN_FDS)?);
    handover::pass_credentials(&host_end)?;
    let sandbox_end = UnixStream::from(handover::lift(sandbox_end.into(), OWN_FDS)?);

    let child = clone_sandbox().map_err(describe_clone)?;
    if child == 0 {
        drop(host_end);
        drop(mapped_write);
        sandbox_side::run(Start {
            config,
            mapped: Some(mapped_read),
            channel: sandbox_end,
            listener,
            inherited,
        });
    }
    let child = Pid::from_raw(child);
    drop((sandbox_end, mapped_read, listener));
    // Its pipes are the program's now: this side keeps only stderr, for its own last words.
    for fd in &inherited {
        // SAFETY: closing an inherited descriptor this process never uses again.
        unsafe { libc::close(*fd) };
    }
    let mut channel = host_end;
    let result = map_and_serve(child, uid, gid, mapped_write, &mut channel, cgroup.as_ref());
    if let Err(message) = result {
        let _ = kill(child, Signal::SIGKILL);
        let _ = waitpid(child, None);
        return Err(message);
    }
    let init = wait(child)?;
    // The init tells how the program ended (it cannot die of the program's signal itself).
    Ok(match handover::receive_report(&mut channel) {
        Ok(Some(Report::Ended(Ended::Code(code)))) => WaitStatus::Exited(child, code),
        Ok(Some(Report::Ended(Ended::Signal(number)))) => match Signal::try_from(number) {
            Ok(signal) => WaitStatus::Signaled(child, signal, false),
            Err(_) => init,
        },
        _ => init,
    })
}

fn map_and_serve(
    child: Pid,
    uid: u32,
    gid: u32,
    mapped: OwnedFd,
    channel: &mut UnixStream,
    cgroup: Option<&Cgroup>,
) -> Result<(), String> {
    write_maps(child, uid, gid)?;
    std::fs::File::from(mapped)
        .write_all(b"1")
        .map_err(|error| format!("could not release the sandbox: {error}"))?;
    // Group signals (the runner's SIGTERM to drain, Ctrl-C) are the program's to act on.
    for ignored in [
        Signal::SIGINT,
        Signal::SIGTERM,
        Signal::SIGHUP,
        Signal::SIGPIPE,
    ] {
        // SAFETY: ignoring a signal installs no handler.
        let _ = unsafe { signal(ignored, SigHandler::SigIgn) };
    }
    let mut line = String::new();
    let read = BufReader::new(std::io::stdin())
        .read_line(&mut line)
        .map_err(|error| format!("could not read the start request: {error}"))?;
    if read == 0 {
        // Not needed after all (the runner is stopping): the sandbox goes, quietly.
        let _ = kill(child, Signal::SIGKILL);
        return Ok(());
    }
    let request: StartRequest = serde_json::from_str(&line)
        .map_err(|error| format!("the start request is not valid: {error}"))?;
    request.validate()?;
    if let Some(cgroup) = cgroup {
        cgroup.limit(&request.limits)?;
    }
    let mut fds: Vec<OwnedFd> = Vec::with_capacity(1 + request.files.len());
    fds.push(open_file(&request.program, OFlag::O_RDONLY, "the program")?);
    for file in &request.files {
        let access = if file.write {
            OFlag::O_RDWR
        } else {
            OFlag::O_RDONLY
        };
        fds.push(open_file(
            &file.path,
            access | OFlag::O_NOFOLLOW,
            "a passed file",
        )?);
    }
    let raw: Vec<RawFd> = fds.iter().map(|fd| fd.as_raw_fd()).collect();
    handover::send(channel, line.as_bytes(), &raw)?;
    drop(fds);
    // The runner watches the program itself, by its host pid.
    if let Some(Report::Started(pid)) = handover::receive_report(channel)? {
        let mut stdout = std::io::stdout();
        let _ = writeln!(stdout, "{{\"started\":{pid}}}");
        let _ = stdout.flush();
    }
    Ok(())
}

/// The host ids the sandbox's user maps to: the configured ones, or this process's own where it
/// is unprivileged. Root's own would make the sandbox's user root outside: refused.
fn host_ids(config: &SandboxConfig) -> Result<(u32, u32), String> {
    let privileged = geteuid().is_root();
    match (config.uid, config.gid) {
        (Some(uid), Some(gid)) if privileged => {
            if uid == 0 || gid == 0 {
                return Err("the sandbox's host uid and gid must not be 0".to_string());
            }
            Ok((uid, gid))
        }
        (Some(_), _) | (_, Some(_)) if !privileged => Err(
            "only a launcher running as root can map the sandbox to another host uid".to_string(),
        ),
        (None, None) if !privileged => Ok((geteuid().as_raw(), getegid().as_raw())),
        _ => Err("a launcher running as root needs the sandbox's host uid and gid".to_string()),
    }
}

fn write_maps(child: Pid, uid: u32, gid: u32) -> Result<(), String> {
    let proc = Path::new("/proc").join(child.as_raw().to_string());
    let write = |file: &str, content: String| {
        std::fs::write(proc.join(file), content)
            .map_err(|error| format!("could not write the sandbox's {file}: {error}"))
    };
    if !geteuid().is_root() {
        // An unprivileged map requires setgroups to be off for good.
        write("setgroups", "deny".to_string())?;
    }
    write("uid_map", format!("{SANDBOX_ID} {uid} 1\n"))?;
    write("gid_map", format!("{SANDBOX_ID} {gid} 1\n"))
}

/// The program's HTTP listener at `path`, reachable by the runner (owner only).
fn bind_listener(path: &Path) -> Result<OwnedFd, String> {
    // A socket left by an earlier sandbox of the same name.
    let _ = std::fs::remove_file(path);
    let listener = UnixListener::bind(path)
        .map_err(|error| format!("could not listen on {}: {error}", path.display()))?;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600))
        .map_err(|error| format!("could not restrict {}: {error}", path.display()))?;
    handover::lift(listener.into(), OWN_FDS)
}

fn open_file(path: &Path, access: OFlag, what: &str) -> Result<OwnedFd, String> {
    open(path, access | OFlag::O_CLOEXEC, Mode::empty())
        .map_err(|error| format!("could not open {what} {}: {error}", path.display()))
}

/// `clone` into new namespaces, returning like `fork` (0 in the child). This process is
/// single-threaded, so the child may go on on a copy of its stack.
fn clone_sandbox() -> std::io::Result<libc::pid_t> {
    let flags = libc::CLONE_NEWUSER
        | libc::CLONE_NEWPID
        | libc::CLONE_NEWNS
        | libc::CLONE_NEWNET
        | libc::CLONE_NEWIPC
        | libc::CLONE_NEWUTS
        | libc::CLONE_NEWCGROUP
        | libc::SIGCHLD;
    // SAFETY: the raw clone system call with no new stack behaves as fork(2) does; both sides
    // only go on with code written for it (no locks are held, there is one thread).
    let pid = unsafe {
        libc::syscall(
            libc::SYS_clone,
            flags as libc::c_ulong,
            0usize,
            0usize,
            0usize,
            0usize,
        )
    };
    if pid < 0 {
        Err(std::io::Error::last_os_error())
    } else {
        Ok(pid as libc::pid_t)
    }
}

fn describe_clone(error: std::io::Error) -> String {
    let fix = match error.raw_os_error() {
        Some(libc::EPERM) | Some(libc::ENOSPC) | Some(libc::EUSERS) => {
            ": this host does not let this user create user namespaces; allow them with `sysctl -w user.max_user_namespaces=65536` (and `sysctl -w kernel.unprivileged_userns_clone=1` on kernels that have it)"
        }
        Some(libc::EINVAL) => ": this kernel lacks one of the namespaces a sandbox needs (user, pid, mount, network, ipc, uts, cgroup)",
        _ => "",
    };
    format!("could not create the sandbox's namespaces: {error}{fix}")
}

fn wait(child: Pid) -> Result<WaitStatus, String> {
    loop {
        match waitpid(child, None) {
            Ok(status @ (WaitStatus::Exited(..) | WaitStatus::Signaled(..))) => return Ok(status),
            Ok(_) | Err(nix::errno::Errno::EINTR) => continue,
            Err(error) => return Err(format!("could not wait for the program: {error}")),
        }
    }
}

/// Exits as the program did: the same code, or killed by the same signal.
fn exit_as(status: WaitStatus) -> ! {
    if let WaitStatus::Signaled(_, caught, _) = status {
        // SAFETY: restoring the default disposition installs no handler.
        let _ = unsafe { signal(caught, SigHandler::SigDfl) };
        let _ = kill(Pid::this(), caught);
    }
    let code = match status {
        WaitStatus::Exited(_, code) => code,
        _ => 128,
    };
    std::process::exit(code)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_listener_is_for_its_owner_only() {
        let path =
            std::env::temp_dir().join(format!("ignite-sandbox-listen-{}.sock", std::process::id()));
        let fd = bind_listener(&path).unwrap();
        assert!(fd.as_raw_fd() >= OWN_FDS);
        let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
        // Bound again over a stale socket of the same name.
        drop(fd);
        let again = bind_listener(&path).unwrap();
        drop(again);
        std::fs::remove_file(path).unwrap();
    }

    #[test]
    fn a_root_launcher_never_maps_to_root() {
        let config = |uid, gid| SandboxConfig {
            uid,
            gid,
            cgroup: None,
            listen: None,
            read_only: vec![],
            tmp_mb: 1,
            scratch_mb: 1,
        };
        if geteuid().is_root() {
            assert!(host_ids(&config(None, None)).is_err());
            assert!(host_ids(&config(Some(0), Some(5))).is_err());
            assert_eq!(
                host_ids(&config(Some(200_000), Some(200_000))).unwrap(),
                (200_000, 200_000)
            );
        } else {
            assert!(host_ids(&config(Some(200_000), Some(200_000))).is_err());
            assert_eq!(
                host_ids(&config(None, None)).unwrap(),
                (geteuid().as_raw(), getegid().as_raw())
            );
        }
    }
}
