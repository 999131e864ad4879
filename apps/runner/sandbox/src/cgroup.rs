//! The instance's cgroup: made and joined by the launcher before the sandbox exists (so the
//! sandbox and everything it starts are counted), its limits written when the program is known.
//! The runner removes it, and reads whether the kernel killed anything for memory, once the
//! launcher is gone.

use std::fs;
use std::io;
use std::path::{Path, PathBuf};

use crate::config::{CgroupConfig, Limits};

/// The directories of the instance's cgroup, each with the files it limits through.
pub struct Cgroup {
    memory: Option<PathBuf>,
    pids: Option<PathBuf>,
    version: u8,
}

impl Cgroup {
    /// Creates the instance's directories and moves this process into them.
    pub fn join(config: &CgroupConfig) -> Result<Cgroup, String> {
        let cgroup = match config {
            CgroupConfig::V1 { memory, pids } => Cgroup {
                memory: memory.clone(),
                pids: pids.clone(),
                version: 1,
            },
            CgroupConfig::V2 { path } => Cgroup {
                memory: Some(path.clone()),
                pids: Some(path.clone()),
                version: 2,
            },
        };
        let pid = std::process::id().to_string();
        for dir in cgroup.dirs() {
            fs::create_dir_all(dir).map_err(|error| describe("create the cgroup", dir, &error))?;
            let procs = dir.join("cgroup.procs");
            fs::write(&procs, &pid).map_err(|error| describe("join the cgroup", &procs, &error))?;
        }
        Ok(cgroup)
    }

    /// Writes the instance's limits.
    pub fn limit(&self, limits: &Limits) -> Result<(), String> {
        if let (Some(dir), Some(bytes)) = (&self.memory, limits.memory_bytes) {
            let bytes = bytes.to_string();
            if self.version == 1 {
                write(dir, "memory.limit_in_bytes", &bytes)?;
                // Swap counted too where the kernel accounts it (memsw ≥ memory: set after it).
                write_if_present(dir, "memory.memsw.limit_in_bytes", &bytes)?;
            } else {
                write(dir, "memory.max", &bytes)?;
                write_if_present(dir, "memory.swap.max", "0")?;
            }
        }
        if let Some(dir) = &self.pids {
            write(dir, "pids.max", &limits.processes.to_string())?;
        }
        Ok(())
    }

    fn dirs(&self) -> Vec<&PathBuf> {
        let mut dirs: Vec<&PathBuf> = self.memory.iter().chain(self.pids.iter()).collect();
        dirs.dedup();
        dirs
    }
}

fn write(dir: &Path, file: &str, value: &str) -> Result<(), String> {
    let path = dir.join(file);
    fs::write(&path, value).map_err(|error| describe(&format!("write {value} to"), &path, &error))
}

fn write_if_present(dir: &Path, file: &str, value: &str) -> Result<(), String> {
    if dir.join(file).exists() {
        write(dir, file, value)
    } else {
        Ok(())
    }
}

fn describe(what: &str, path: &Path, error: &io::Error) -> String {
    format!("could not {what} {}: {error}", path.display())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn limits(memory: Option<u64>) -> Limits {
        Limits {
            memory_bytes: memory,
            address_space_bytes: None,
            processes: 64,
            open_files: 1024,
            file_size_bytes: 1,
        }
    }

    fn scratch(name: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!(
            "ignite-sandbox-cgroup-{name}-{}",
            std::process::id()
        ));
        let _ = fs::remove_dir_all(&dir);
        fs::create_dir_all(&dir).unwrap();
        dir
    }

    #[test]
    fn writes_v1_limits_to_each_controller() {
        let root = scratch("v1");
        let (memory, pids) = (root.join("memory"), root.join("pids"));
        for dir in [&memory, &pids] {
            fs::create_dir_all(dir).unwrap();
        }
        fs::write(memory.join("memory.memsw.limit_in_bytes"), "").unwrap();
        let cgroup = Cgroup {
            memory: Some(memory.clone()),
            pids: Some(pids.clone()),
            version: 1,
        };
        cgroup.limit(&limits(Some(128 << 20))).unwrap();
        assert_eq!(
            fs::read_to_string(memory.join("memory.limit_in_bytes")).unwrap(),
            "134217728"
        );
        assert_eq!(
            fs::read_to_string(memory.join("memory.memsw.limit_in_bytes")).unwrap(),
            "134217728"
        );
        assert_eq!(fs::read_to_string(pids.join("pids.max")).unwrap(), "64");
        fs::remove_dir_all(root).unwrap();
    }

    #[test]
    fn writes_v2_limits_to_one_directory() {
        let dir = scratch("v2");
        let cgroup = Cgroup {
            memory: Some(dir.clone()),
            pids: Some(dir.clone()),
            version: 2,
        };
        assert_eq!(cgroup.dirs().len(), 1);
        cgroup.limit(&limits(Some(1 << 20))).unwrap();
        assert_eq!(
            fs::read_to_string(dir.join("memory.max")).unwrap(),
            "1048576"
        );
        assert!(!dir.join("memory.swap.max").exists());
        assert_eq!(fs::read_to_string(dir.join("pids.max")).unwrap(), "64");
        fs::remove_dir_all(dir).unwrap();
    }

    #[test]
    fn a_missing_controller_is_named() {
        let cgroup = Cgroup {
            memory: Some(PathBuf::from("/nonexistent/ignite")),
            pids: None,
            version: 1,
        };
        let error = cgroup.limit(&limits(Some(1))).unwrap_err();
        assert!(
            error.contains("/nonexistent/ignite/memory.limit_in_bytes"),
            "{error}"
        );
    }
}
