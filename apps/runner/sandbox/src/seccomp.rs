//! The system calls a function has no business making, refused (EPERM) by a seccomp filter
//! installed just before the program is executed. A deny list, not an allow list: the program is
//! any Rust code with any crates, and the namespaces, the uid and the filesystem view are the
//! walls; the filter takes away the kernel interfaces that would let it climb them (new
//! namespaces, mounts, ptrace, keyrings, BPF, perf, kernel modules, io_uring …).
//!
//! `clone3` answers ENOSYS rather than EPERM: its flags sit in memory, out of the filter's reach,
//! and glibc falls back to `clone` (whose flags the filter reads) only on ENOSYS.

use std::collections::BTreeMap;

use seccompiler::{
    BpfProgram, SeccompAction, SeccompCmpArgLen, SeccompCmpOp, SeccompCondition, SeccompFilter,
    SeccompRule, TargetArch,
};

/// The namespace flags `clone` must not carry.
const NEW_NAMESPACES: [u64; 7] = [
    libc::CLONE_NEWUSER as u64,
    libc::CLONE_NEWNS as u64,
    libc::CLONE_NEWPID as u64,
    libc::CLONE_NEWNET as u64,
    libc::CLONE_NEWIPC as u64,
    libc::CLONE_NEWUTS as u64,
    libc::CLONE_NEWCGROUP as u64,
];

/// Refused outright.
const DENIED: &[i64] = &[
    // Other processes' memory and descriptors.
    libc::SYS_ptrace,
    libc::SYS_process_vm_readv,
    libc::SYS_process_vm_writev,
    libc::SYS_pidfd_getfd,
    libc::SYS_kcmp,
    // Namespaces and mounts.
    libc::SYS_unshare,
    libc::SYS_setns,
    libc::SYS_mount,
    libc::SYS_umount2,
    libc::SYS_pivot_root,
    libc::SYS_chroot,
    libc::SYS_open_tree,
    libc::SYS_move_mount,
    libc::SYS_fsopen,
    libc::SYS_fsconfig,
    libc::SYS_fsmount,
    libc::SYS_fspick,
    libc::SYS_mount_setattr,
    libc::SYS_open_by_handle_at,
    libc::SYS_name_to_handle_at,
    // The kernel itself.
    libc::SYS_init_module,
    libc::SYS_finit_module,
    libc::SYS_delete_module,
    libc::SYS_kexec_load,
    libc::SYS_kexec_file_load,
    libc::SYS_reboot,
    libc::SYS_swapon,
    libc::SYS_swapoff,
    libc::SYS_acct,
    libc::SYS_quotactl,
    libc::SYS_syslog,
    libc::SYS_iopl,
    libc::SYS_ioperm,
    libc::SYS_vhangup,
    libc::SYS_settimeofday,
    libc::SYS_clock_settime,
    libc::SYS_clock_adjtime,
    libc::SYS_adjtimex,
    libc::SYS_sethostname,
    libc::SYS_setdomainname,
    libc::SYS_lookup_dcookie,
    // Large kernel interfaces a function does not need.
    libc::SYS_keyctl,
    libc::SYS_add_key,
    libc::SYS_request_key,
    libc::SYS_bpf,
    libc::SYS_perf_event_open,
    libc::SYS_userfaultfd,
    libc::SYS_io_uring_setup,
    libc::SYS_io_uring_enter,
    libc::SYS_io_uring_register,
];

/// The filters, in the order they are installed.
pub fn filters() -> Result<Vec<BpfProgram>, String> {
    let mut denied: BTreeMap<i64, Vec<SeccompRule>> =
        DENIED.iter().map(|&call| (call, Vec::new())).collect();
    let clone_rules = NEW_NAMESPACES
        .iter()
        .map(|&flag| {
            SeccompRule::new(vec![SeccompCondition::new(
                0,
                SeccompCmpArgLen::Qword,
                SeccompCmpOp::MaskedEq(flag),
                flag,
            )
            .map_err(|error| error.to_string())?])
            .map_err(|error| error.to_string())
        })
        .collect::<Result<Vec<_>, String>>()?;
    denied.insert(libc::SYS_clone, clone_rules);
    let clone3: BTreeMap<i64, Vec<SeccompRule>> =
        [(libc::SYS_clone3, Vec::new())].into_iter().collect();
    let compile = |rules, errno: i32| -> Result<BpfProgram, String> {
        let filter = SeccompFilter::new(
            rules,
            SeccompAction::Allow,
            SeccompAction::Errno(errno as u32),
            TargetArch::x86_64,
        )
        .map_err(|error| format!("could not build the seccomp filter: {error}"))?;
        filter
            .try_into()
            .map_err(|error: seccompiler::BackendError| {
                format!("could not compile the seccomp filter: {error}")
            })
    };
    Ok(vec![
        compile(denied, libc::EPERM)?,
        compile(clone3, libc::ENOSYS)?,
    ])
}

/// Installs `program` on this thread (the only one): from now on, and across `execve`, it applies.
/// Speculative store bypass mitigation is left as the host has it (`SPEC_ALLOW`): a filter
/// should not slow every memory access of the program down.
pub fn install(program: &BpfProgram) -> Result<(), String> {
    let prog = libc::sock_fprog {
        len: u16::try_from(program.len())
            .map_err(|_| "the seccomp filter is too long".to_string())?,
        filter: program.as_ptr() as *mut libc::sock_filter,
    };
    // SAFETY: `prog` points at `program`, which outlives the call; the kernel copies it.
    let result = unsafe {
        libc::syscall(
            libc::SYS_seccomp,
            libc::SECCOMP_SET_MODE_FILTER,
            libc::SECCOMP_FILTER_FLAG_SPEC_ALLOW,
            &prog as *const libc::sock_fprog,
        )
    };
    if result == 0 {
        Ok(())
    } else {
        Err(format!(
            "could not install the seccomp filter: {}",
            std::io::Error::last_os_error()
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn compiles() {
        let programs = filters().unwrap();
        assert_eq!(programs.len(), 2);
        // A few instructions per denied call (and per clone flag): an allowed call runs them all,
        // tens of nanoseconds once JIT-compiled.
        assert!(
            programs[0].len() < 400,
            "{} instructions",
            programs[0].len()
        );
    }
}
