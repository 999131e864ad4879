//! The sandbox's first process (pid 1 of its pid namespace): it takes the sandbox's identity,
//! builds its filesystem, then waits for the program; when it comes, it sets the descriptors and
//! limits, gives up every privilege, installs the seccomp filters and becomes the program
//! (`execveat` of the descriptor the host side opened).

use std::convert::Infallible;
use std::ffi::CString;
use std::io::Read;
use std::os::fd::{AsRawFd, OwnedFd, RawFd};
use std::os::unix::net::UnixStream;

use caps::CapSet;
use nix::fcntl::{open, AtFlags, OFlag};
use nix::sys::resource::{setrlimit, Resource};
use nix::sys::signal::{signal, SigHandler, Signal};
use nix::sys::stat::Mode;
use nix::sys::wait::{waitpid, WaitStatus};
use nix::unistd::{
    chdir, execveat, fork, setgroups, sethostname, setresgid, setresuid, ForkResult, Gid, Pid, Uid,
};

use crate::config::{fds, SandboxConfig, StartRequest};
use crate::filesystem::{self, SANDBOX_ID};
use crate::handover;
use crate::seccomp;

/// What the sandbox side starts with (all of it inherited across `clone`).
pub struct Start {
    pub config: SandboxConfig,
    /// Readable once the host side has written the user namespace's maps.
    pub mapped: Option<OwnedFd>,
    /// Where the program arrives.
    pub channel: UnixStream,
    /// The HTTP listener, to become descriptor 6.
    pub listener: Option<OwnedFd>,
    /// The runner's pipes among descriptors 3–5 (ready, channel, messages), open across exec.
    pub inherited: Vec<RawFd>,
}

/// Never returns: runs as the sandbox's init until its program exits, or exits 125 with what went
/// wrong on stderr.
pub fn run(start: Start) -> ! {
    let Err(message) = prepare_and_supervise(start);
    eprintln!("ignite-sandbox: {message}");
    std::process::exit(125)
}

/// What the program gets, received from the host side.
struct Program {
    request: StartRequest,
    executable: OwnedFd,
    passed: Vec<OwnedFd>,
}

fn prepare_and_supervise(mut start: Start) -> Result<Infallible, String> {
    // The host side gone (killed with its group, say) takes this process with it.
    nix::sys::prctl::set_pdeathsig(Signal::SIGKILL)
        .map_err(|error| format!("could not set the parent-death signal: {error}"))?;
    let mut mapped = std::fs::File::from(start.mapped.take().expect("the maps pipe, once"));
    let mut byte = [0u8; 1];
    if mapped
        .read(&mut byte)
        .map_err(|error| format!("could not wait for the user namespace: {error}"))?
        == 0
    {
        std::process::exit(0);
    }
    take_identity()?;
    filesystem::enter(&start.config)?;
    sethostname("ignite").map_err(|error| format!("could not set the hostname: {error}"))?;
    loopback_up()?;

    // Compiled now, while no program waits for it.
    let filters = seccomp::filters()?;
    // Ready: wait for the program (the host side closing first means this sandbox is not needed).
    let Some(program) = receive_program(&mut start.channel)? else {
        std::process::exit(0);
    };
    // This process stays the pid namespace's init (reaping orphans; signals a process sends
    // itself work as they do elsewhere only outside init), the program is its child.
    // SAFETY: this process has one thread; the child only goes on to execve.
    match unsafe { fork() }.map_err(|error| format!("could not start the program: {error}"))? {
        ForkResult::Child => {
            let Err(message) = become_program(program, &start, &filters);
            eprintln!("ignite-sandbox: {message}");
            std::process::exit(125)
        }
        ForkResult::Parent { child } => {
            drop(program);
            supervise(child, start.channel)
        }
    }
}

fn receive_program(channel: &mut UnixStream) -> Result<Option<Program>, String> {
    let Some((payload, mut received)) = handover::receive(channel)? else {
        return Ok(None);
    };
    let request: StartRequest = serde_json::from_slice(&payload)
        .map_err(|error| format!("the start request is not valid: {error}"))?;
    request.validate()?;
    if received.is_empty() {
        return Err("the start request came without the program".to_string());
    }
    // Above every number the program's descriptors take.
    let executable = handover::lift(received.remove(0), 128)?;
    if received.len() != request.files.len() {
        return Err(format!(
            "{} passed files were announced, {} arrived",
            request.files.len(),
            received.len()
        ));
    }
    Ok(Some(Program {
        request,
        executable,
        passed: received,
    }))
}

/// The init's life: reap whatever exits until the program does, then tell the host side how it
/// ended (an init cannot die of a signal it sends itself) and go, which ends the namespace.
fn supervise(program: Pid, mut channel: UnixStream) -> ! {
    // Nothing of the program's stays open here: its pipes close when it is gone.
    // SAFETY: close_range only closes this process's descriptors; the channel is kept.
    let keep = channel.as_raw_fd() as u32;
    unsafe {
        if keep > 3 {
            libc::syscall(libc::SYS_close_range, 3u32, keep - 1, 0u32);
        }
        libc::syscall(libc::SYS_close_range, keep + 1, u32::MAX, 0u32);
    }
    loop {
        match waitpid(None::<Pid>, None) {
            Ok(WaitStatus::Exited(pid, code)) if pid == program => {
                let _ = handover::send_status(&mut channel, handover::Ended::Code(code));
                std::process::exit(code)
            }
            Ok(WaitStatus::Signaled(pid, signal, _)) if pid == program => {
                let _ = handover::send_status(&mut channel, handover::Ended::Signal(signal as i32));
                std::process::exit(128 + signal as i32)
            }
            Ok(_) | Err(nix::errno::Errno::EINTR) => continue,
            Err(_) => std::process::exit(125),
        }
    }
}

/// The program's process: its descriptors, limits and working directory set, every privilege
/// given up and the filters installed, it tells the host side its pid and becomes the program.
fn become_program(
    program: Program,
    start: &Start,
    filters: &[seccompiler::BpfProgram],
) -> Result<Infallible, String> {
    let Program {
        request,
        executable,
        passed,
    } = program;
    let null = open("/dev/null", OFlag::O_RDWR | OFlag::O_CLOEXEC, Mode::empty())
        .map_err(|error| format!("could not open /dev/null: {error}"))?;
    let mut wanted: Vec<(RawFd, RawFd)> = vec![(null.as_raw_fd(), 0), (null.as_raw_fd(), 1)];
    wanted.extend(start.inherited.iter().map(|&fd| (fd, fd)));
    if let Some(listener) = &start.listener {
        wanted.push((listener.as_raw_fd(), fds::LISTENER));
    }
    wanted.extend(
        request
            .files
            .iter()
            .zip(&passed)
            .map(|(file, fd)| (fd.as_raw_fd(), file.fd)),
    );
    // The channel survives the placement (a copy above every target), closed on exec.
    let mut channel = UnixStream::from(handover::lift(
        start
            .channel
            .try_clone()
            .map_err(|error| format!("could not copy the channel: {error}"))?
            .into(),
        128,
    )?);
    handover::place(&wanted)?;

    limit(&request)?;
    let argv = std::iter::once("function".to_string())
        .chain(request.args.iter().cloned())
        .map(|arg| CString::new(arg).map_err(|_| "an argument holds a NUL".to_string()))
        .collect::<Result<Vec<_>, _>>()?;
    let envp = request
        .env
        .iter()
        .map(|(name, value)| {
            CString::new(format!("{name}={value}"))
                .map_err(|_| format!("environment variable {name:?} holds a NUL"))
        })
        .collect::<Result<Vec<_>, _>>()?;
    chdir(&request.cwd)
        .map_err(|error| format!("could not enter {}: {error}", request.cwd.display()))?;
    for caught in [
        Signal::SIGINT,
        Signal::SIGTERM,
        Signal::SIGHUP,
        Signal::SIGPIPE,
    ] {
        // SAFETY: restoring the default disposition installs no handler.
        unsafe { signal(caught, SigHandler::SigDfl) }
            .map_err(|error| format!("could not reset {caught}: {error}"))?;
    }
    give_up_privileges()?;
    for filter in filters {
        seccomp::install(filter)?;
    }
    handover::send_credentials(&mut channel)?;
    let error = execveat(&executable, c"", &argv, &envp, AtFlags::AT_EMPTY_PATH).unwrap_err();
    Err(format!("could not execute the program: {error}"))
}

/// Becomes the sandbox's user (uid and gid 1000 inside, the host ids the maps name outside),
/// keeping this user namespace's capabilities until the filesystem is built.
fn take_identity() -> Result<(), String> {
    nix::sys::prctl::set_keepcaps(true)
        .map_err(|error| format!("could not keep capabilities: {error}"))?;
    // Refused where the maps were written unprivileged (setgroups denied): the groups then are
    // the runner's own, unmapped in here.
    let _ = setgroups(&[]);
    let id = Gid::from_raw(SANDBOX_ID);
    setresgid(id, id, id).map_err(|error| format!("could not become gid {SANDBOX_ID}: {error}"))?;
    let id = Uid::from_raw(SANDBOX_ID);
    setresuid(id, id, id).map_err(|error| format!("could not become uid {SANDBOX_ID}: {error}"))?;
    let permitted = caps::read(None, CapSet::Permitted)
        .map_err(|error| format!("could not read capabilities: {error}"))?;
    caps::set(None, CapSet::Effective, &permitted)
        .map_err(|error| format!("could not raise capabilities: {error}"))
}

/// No capability left in any set, none to be had again.
fn give_up_privileges() -> Result<(), String> {
    for set in [
        CapSet::Bounding,
        CapSet::Ambient,
        CapSet::Inheritable,
        CapSet::Effective,
        CapSet::Permitted,
    ] {
        caps::clear(None, set)
            .map_err(|error| format!("could not drop the {set:?} capabilities: {error}"))?;
    }
    nix::sys::prctl::set_keepcaps(false)
        .map_err(|error| format!("could not drop keep-capabilities: {error}"))?;
    nix::sys::prctl::set_no_new_privs()
        .map_err(|error| format!("could not set no-new-privileges: {error}"))
}

fn limit(request: &StartRequest) -> Result<(), String> {
    let limits = &request.limits;
    let set = |resource: Resource, value: u64, name: &str| {
        setrlimit(resource, value, value)
            .map_err(|error| format!("could not set {name} to {value}: {error}"))
    };
    set(Resource::RLIMIT_CORE, 0, "RLIMIT_CORE")?;
    set(Resource::RLIMIT_NOFILE, limits.open_files, "RLIMIT_NOFILE")?;
    set(
        Resource::RLIMIT_FSIZE,
        limits.file_size_bytes,
        "RLIMIT_FSIZE",
    )?;
    // Counted per user namespace: the instance's own processes and threads.
    set(Resource::RLIMIT_NPROC, limits.processes, "RLIMIT_NPROC")?;
    if let Some(bytes) = limits.address_space_bytes {
        set(Resource::RLIMIT_AS, bytes, "RLIMIT_AS")?;
    }
    Ok(())
}

/// The sandbox's own loopback, up: a function may talk to itself, and nothing else is there.
fn loopback_up() -> Result<(), String> {
    let describe = |error: std::io::Error| format!("could not bring the loopback up: {error}");
    // SAFETY: a datagram socket used for two interface ioctls on a zeroed, NUL-terminated ifreq.
    unsafe {
        let socket = libc::socket(libc::AF_INET, libc::SOCK_DGRAM | libc::SOCK_CLOEXEC, 0);
        if socket < 0 {
            return Err(describe(std::io::Error::last_os_error()));
        }
        let mut request: libc::ifreq = std::mem::zeroed();
        for (slot, byte) in request.ifr_name.iter_mut().zip(b"lo\0") {
            *slot = *byte as libc::c_char;
        }
        let mut result = libc::ioctl(socket, libc::SIOCGIFFLAGS, &mut request);
        if result == 0 {
            request.ifr_ifru.ifru_flags |= (libc::IFF_UP | libc::IFF_RUNNING) as libc::c_short;
            result = libc::ioctl(socket, libc::SIOCSIFFLAGS, &request);
        }
        let error = std::io::Error::last_os_error();
        libc::close(socket);
        if result != 0 {
            return Err(describe(error));
        }
    }
    Ok(())
}
