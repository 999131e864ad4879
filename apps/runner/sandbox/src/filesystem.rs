//! The sandbox's filesystem: a read-only tmpfs root holding the host's shared libraries
//! (read-only binds), a `/proc` of its own pid namespace, a minimal `/dev`, a private `/tmp`
//! and `/scratch` (size-capped tmpfs), and a tiny generated `/etc`. Nothing else of the host is
//! reachable: the old root is detached after `pivot_root`. The program itself is not in it (it is
//! executed from a descriptor).

use std::fs;
use std::os::unix::fs::{symlink, DirBuilderExt};
use std::path::{Path, PathBuf};

use nix::mount::{mount, umount2, MntFlags, MsFlags};
use nix::sys::statvfs::{statvfs, FsFlags};
use nix::unistd::{chdir, pivot_root};

use crate::config::SandboxConfig;

/// The sandbox's user and group inside its user namespace.
pub const SANDBOX_ID: u32 = 1000;
/// Where the new root is assembled (a tmpfs mounted over it, in this mount namespace only).
const NEW_ROOT: &str = "/tmp";
/// Device nodes bound from the host.
const DEVICES: [&str; 5] = ["null", "zero", "full", "random", "urandom"];

/// Builds the view and moves into it. Runs in the sandbox's own user and mount namespaces,
/// with the capabilities of that user namespace.
pub fn enter(config: &SandboxConfig) -> Result<(), String> {
    // Nothing mounted here propagates back to the host.
    mount_or(
        None::<&str>,
        "/",
        None,
        MsFlags::MS_REC | MsFlags::MS_PRIVATE,
        None,
        "make the mounts private",
    )?;
    mount_or(
        Some("tmpfs"),
        NEW_ROOT,
        Some("tmpfs"),
        MsFlags::MS_NOSUID | MsFlags::MS_NODEV,
        Some("size=1m,nr_inodes=4096,mode=0755"),
        "mount the sandbox's root",
    )?;
    let root = Path::new(NEW_ROOT);
    for path in &config.read_only {
        bind_read_only(path, root)?;
    }
    let proc = make_dir(root, "proc")?;
    mount_or(
        Some("proc"),
        &proc,
        Some("proc"),
        MsFlags::MS_NOSUID | MsFlags::MS_NODEV | MsFlags::MS_NOEXEC,
        None,
        "mount /proc (a host that hides parts of its /proc, such as a container, must leave it unmasked)",
    )?;
    devices(root)?;
    private_tmpfs(root, "tmp", config.tmp_mb)?;
    private_tmpfs(root, "scratch", config.scratch_mb)?;
    etc(root)?;
    chdir(root).map_err(|error| format!("could not enter the sandbox's root: {error}"))?;
    pivot_root(".", ".")
        .map_err(|error| format!("could not pivot to the sandbox's root: {error}"))?;
    // The old root is stacked under the new one: detached, the host is out of reach.
    umount2(".", MntFlags::MNT_DETACH)
        .map_err(|error| format!("could not detach the host's root: {error}"))?;
    chdir("/").map_err(|error| format!("could not enter /: {error}"))?;
    mount_or(
        None::<&str>,
        "/",
        None,
        MsFlags::MS_REMOUNT | MsFlags::MS_RDONLY | MsFlags::MS_NOSUID | MsFlags::MS_NODEV,
        None,
        "make the sandbox's root read only",
    )?;
    Ok(())
}

/// `path` of the host, read-only at the same place (a symbolic link is recreated as one).
fn bind_read_only(path: &Path, root: &Path) -> Result<(), String> {
    let Ok(metadata) = fs::symlink_metadata(path) else {
        return Ok(()); // Not on this host (a /lib64 on a distribution without it).
    };
    let target = inside(root, path);
    if let Some(parent) = target.parent() {
        fs::create_dir_all(parent)
            .map_err(|error| format!("could not create {}: {error}", parent.display()))?;
    }
    if metadata.file_type().is_symlink() {
        let link = fs::read_link(path)
            .map_err(|error| format!("could not read the link {}: {error}", path.display()))?;
        return symlink(&link, &target)
            .map_err(|error| format!("could not recreate the link {}: {error}", path.display()));
    }
    if metadata.is_dir() {
        fs::DirBuilder::new().mode(0o755).create(&target)
    } else {
        fs::write(&target, b"")
    }
    .map_err(|error| format!("could not create {}: {error}", target.display()))?;
    let what = format!("bind {} read only", path.display());
    mount_or(
        Some(path),
        &target,
        None,
        MsFlags::MS_BIND | MsFlags::MS_REC,
        None,
        &what,
    )?;
    // A user namespace may add flags to a bind, never drop those the host's mount has.
    let mut flags = MsFlags::MS_BIND
        | MsFlags::MS_REMOUNT
        | MsFlags::MS_RDONLY
        | MsFlags::MS_NOSUID
        | MsFlags::MS_NODEV;
    if let Ok(stats) = statvfs(&target) {
        if stats.flags().contains(FsFlags::ST_NOEXEC) {
            flags |= MsFlags::MS_NOEXEC;
        }
    }
    mount_or(None::<&str>, &target, None, flags, None, &what)
}

/// A minimal `/dev`: the harmless character devices and the usual links into `/proc`.
fn devices(root: &Path) -> Result<(), String> {
    let dev = make_dir(root, "dev")?;
    mount_or(
        Some("tmpfs"),
        &dev,
        Some("tmpfs"),
        MsFlags::MS_NOSUID | MsFlags::MS_NOEXEC,
        Some("size=64k,nr_inodes=64,mode=0755"),
        "mount /dev",
    )?;
    for name in DEVICES {
        let host = Path::new("/dev").join(name);
        let node = dev.join(name);
        fs::write(&node, b"")
            .map_err(|error| format!("could not create {}: {error}", node.display()))?;
        mount_or(
            Some(&host),
            &node,
            None,
            MsFlags::MS_BIND,
            None,
            &format!("bind {}", host.display()),
        )?;
    }
    for (name, target) in [
        ("fd", "/proc/self/fd"),
        ("stdin", "/proc/self/fd/0"),
        ("stdout", "/proc/self/fd/1"),
        ("stderr", "/proc/self/fd/2"),
    ] {
        symlink(target, dev.join(name))
            .map_err(|error| format!("could not create /dev/{name}: {error}"))?;
    }
    Ok(())
}

/// A tmpfs of `mb` MiB owned by the sandbox's user.
fn private_tmpfs(root: &Path, name: &str, mb: u64) -> Result<(), String> {
    let dir = make_dir(root, name)?;
    let options = format!("size={mb}m,mode=0700,uid={SANDBOX_ID},gid={SANDBOX_ID}");
    mount_or(
        Some("tmpfs"),
        &dir,
        Some("tmpfs"),
        MsFlags::MS_NOSUID | MsFlags::MS_NODEV,
        Some(&options),
        &format!("mount /{name}"),
    )
}

/// Who the sandbox's user is, and that `localhost` is its own loopback.
fn etc(root: &Path) -> Result<(), String> {
    let etc = make_dir(root, "etc")?;
    let files = [
        (
            "passwd",
            format!("ignite:x:{SANDBOX_ID}:{SANDBOX_ID}:ignite:/scratch:/nonexistent\n"),
        ),
        ("group", format!("ignite:x:{SANDBOX_ID}:\n")),
        ("hosts", "127.0.0.1 localhost\n::1 localhost\n".to_string()),
        (
            "nsswitch.conf",
            "passwd: files\ngroup: files\nhosts: files\n".to_string(),
        ),
        ("hostname", "ignite\n".to_string()),
    ];
    for (name, content) in files {
        fs::write(etc.join(name), content)
            .map_err(|error| format!("could not write /etc/{name}: {error}"))?;
    }
    Ok(())
}

fn make_dir(root: &Path, name: &str) -> Result<PathBuf, String> {
    let dir = root.join(name);
    fs::DirBuilder::new()
        .mode(0o755)
        .create(&dir)
        .map_err(|error| format!("could not create /{name}: {error}"))?;
    Ok(dir)
}

/// `path` (absolute, of the host) under `root`.
fn inside(root: &Path, path: &Path) -> PathBuf {
    root.join(path.strip_prefix("/").unwrap_or(path))
}

fn mount_or<S: nix::NixPath + ?Sized>(
    source: Option<&S>,
    target: impl AsRef<Path>,
    fstype: Option<&str>,
    flags: MsFlags,
    data: Option<&str>,
    what: &str,
) -> Result<(), String> {
    mount(source, target.as_ref(), fstype, flags, data)
        .map_err(|error| format!("could not {what}: {error}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn host_paths_land_under_the_root() {
        assert_eq!(
            inside(Path::new("/tmp"), Path::new("/usr/lib")),
            PathBuf::from("/tmp/usr/lib")
        );
    }
}
