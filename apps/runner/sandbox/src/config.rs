//! What the runner asks for: the sandbox (the launcher's one argument, JSON) and the start of
//! its program (one JSON line on the launcher's stdin).

use std::collections::BTreeMap;
use std::path::PathBuf;

use serde::Deserialize;

/// The sandbox, decided before its program is known (a sandbox is made ahead of need).
#[derive(Debug, Clone, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct SandboxConfig {
    /// The host uid the sandbox's user (uid 1000 inside) maps to; `None`: the launcher's own
    /// (the only choice of an unprivileged launcher).
    pub uid: Option<u32>,
    /// The host gid of the sandbox's group (gid 1000 inside); `None`: the launcher's own.
    pub gid: Option<u32>,
    /// The instance's cgroup, created and joined before the sandbox exists, so that everything
    /// in it is counted; `None`: the host offers none (rlimits are the fallback).
    pub cgroup: Option<CgroupConfig>,
    /// Where the program's HTTP listener (a unix socket, descriptor 6) is bound on the host.
    pub listen: Option<PathBuf>,
    /// Host paths the sandbox sees read-only at the same place (the shared libraries); a
    /// symbolic link is recreated as a link.
    pub read_only: Vec<PathBuf>,
    /// Size of the private `/tmp` (a tmpfs) in MiB.
    pub tmp_mb: u64,
    /// Size of the scratch directory `/scratch` (a tmpfs, `ctx.temp_store()`) in MiB.
    pub scratch_mb: u64,
}

/// The instance's cgroup.
#[derive(Debug, Clone, Deserialize, PartialEq, Eq)]
#[serde(tag = "version", deny_unknown_fields)]
pub enum CgroupConfig {
    /// cgroup v1: one directory per controller.
    #[serde(rename = "1")]
    V1 {
        /// The instance's directory in the memory hierarchy.
        memory: Option<PathBuf>,
        /// The instance's directory in the pids hierarchy.
        pids: Option<PathBuf>,
    },
    /// cgroup v2: one directory (its parent delegates `memory` and `pids`).
    #[serde(rename = "2")]
    V2 {
        /// The instance's directory in the unified hierarchy.
        path: PathBuf,
    },
}

/// The program to start in the sandbox.
#[derive(Debug, Clone, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct StartRequest {
    /// The executable on the host, opened by the launcher and executed from that descriptor:
    /// it never appears in the sandbox's filesystem.
    pub program: PathBuf,
    /// Its arguments after `argv[0]`.
    #[serde(default)]
    pub args: Vec<String>,
    /// Its whole environment.
    pub env: BTreeMap<String, String>,
    /// Its working directory, inside the sandbox.
    pub cwd: PathBuf,
    /// Host files opened by the launcher and given to the program as descriptors.
    #[serde(default)]
    pub files: Vec<PassedFile>,
    /// Limits of the whole instance.
    pub limits: Limits,
}

/// A host file the program gets as descriptor `fd`.
#[derive(Debug, Clone, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct PassedFile {
    /// The descriptor number in the program (7 or above: 0–6 are taken).
    pub fd: i32,
    /// The host file.
    pub path: PathBuf,
    /// Opened for reading and writing (else read only).
    #[serde(default)]
    pub write: bool,
}

/// Limits that cover the instance, its children included.
#[derive(Debug, Clone, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Limits {
    /// Memory of every process in the instance together (the cgroup), in bytes.
    pub memory_bytes: Option<u64>,
    /// Address space of each process (RLIMIT_AS), the fallback where there is no cgroup.
    pub address_space_bytes: Option<u64>,
    /// Processes and threads of the instance (the cgroup's `pids.max`, and RLIMIT_NPROC, which
    /// the kernel counts per user namespace).
    pub processes: u64,
    /// Open descriptors per process (RLIMIT_NOFILE).
    pub open_files: u64,
    /// Largest file a process may write (RLIMIT_FSIZE).
    pub file_size_bytes: u64,
}

/// Descriptors the program finds where the runner expects them.
pub mod fds {
    /// The HTTP listener (`IGNITE_LISTEN_FD`).
    pub const LISTENER: i32 = 6;
    /// The first descriptor a passed file may take.
    pub const FIRST_PASSED: i32 = 7;
    /// Passed files stay below this.
    pub const PASSED_LIMIT: i32 = 64;
}

impl StartRequest {
    /// Refuses what the launcher must not do for anyone.
    pub fn validate(&self) -> Result<(), String> {
        for file in &self.files {
            if !(fds::FIRST_PASSED..fds::PASSED_LIMIT).contains(&file.fd) {
                return Err(format!(
                    "a passed file's descriptor must be from {} to {}, got {}",
                    fds::FIRST_PASSED,
                    fds::PASSED_LIMIT - 1,
                    file.fd
                ));
            }
        }
        let mut seen: Vec<i32> = self.files.iter().map(|file| file.fd).collect();
        seen.sort_unstable();
        if seen.windows(2).any(|pair| pair[0] == pair[1]) {
            return Err("two passed files have the same descriptor".to_string());
        }
        for (name, value) in &self.env {
            if name.is_empty() || name.contains('=') || name.contains('\0') || value.contains('\0')
            {
                return Err(format!("environment variable {name:?} cannot be passed"));
            }
        }
        if !self.cwd.is_absolute() {
            return Err(format!(
                "the working directory must be absolute, got {}",
                self.cwd.display()
            ));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_a_sandbox() {
        let config: SandboxConfig = serde_json::from_str(
            r#"{"uid": 200001, "gid": 200001, "cgroup": {"version": "1", "memory": "/sys/fs/cgroup/memory/x", "pids": null},
                "listen": "/run/x.sock", "readOnly": ["/lib"], "tmpMb": 16, "scratchMb": 64}"#,
        )
        .unwrap();
        assert_eq!(config.uid, Some(200001));
        assert_eq!(
            config.cgroup,
            Some(CgroupConfig::V1 {
                memory: Some(PathBuf::from("/sys/fs/cgroup/memory/x")),
                pids: None
            })
        );
        let v2: SandboxConfig = serde_json::from_str(
            r#"{"uid": null, "gid": null, "cgroup": {"version": "2", "path": "/sys/fs/cgroup/i/x"}, "listen": null,
                "readOnly": [], "tmpMb": 1, "scratchMb": 1}"#,
        )
        .unwrap();
        assert_eq!(
            v2.cgroup,
            Some(CgroupConfig::V2 {
                path: PathBuf::from("/sys/fs/cgroup/i/x")
            })
        );
        assert!(serde_json::from_str::<SandboxConfig>(r#"{"uid": 1}"#).is_err());
    }

    fn request(files: &str, env: &str) -> StartRequest {
        serde_json::from_str(&format!(
            r#"{{"program": "/p", "env": {env}, "cwd": "/scratch", "files": {files},
                "limits": {{"memoryBytes": null, "addressSpaceBytes": null, "processes": 64, "openFiles": 1024, "fileSizeBytes": 1}}}}"#
        ))
        .unwrap()
    }

    #[test]
    fn validates_a_request() {
        assert!(request(
            r#"[{"fd": 7, "path": "/s", "write": true}]"#,
            r#"{"A": "b"}"#
        )
        .validate()
        .is_ok());
        assert!(request(r#"[{"fd": 6, "path": "/s"}]"#, "{}")
            .validate()
            .unwrap_err()
            .contains("from 7"));
        assert!(request(
            r#"[{"fd": 7, "path": "/s"}, {"fd": 7, "path": "/t"}]"#,
            "{}"
        )
        .validate()
        .is_err());
        assert!(request("[]", r#"{"A=B": "c"}"#).validate().is_err());
        assert!(request("[]", r#"{"A": "c\u0000"}"#).validate().is_err());
    }
}
