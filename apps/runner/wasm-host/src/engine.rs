//! The engine configuration shared by `precompile` and `serve`, and the cache key naming it.
//!
//! Everything that changes the machine code Wasmtime emits is set here, once: a component
//! precompiled with one configuration only loads into an engine of the same configuration (and
//! the same Wasmtime version, and the same CPU features), which is what [`cache_key`] names.

use std::hash::{Hash, Hasher};

use sha2::{Digest, Sha256};
use wasmtime::{Config, Engine, InstanceAllocationStrategy, PoolingAllocationConfig, Result};

/// The Wasmtime version this crate is built with (the three crates are pinned to it in
/// Cargo.toml; a test checks that this constant matches Cargo.lock).
pub const WASMTIME_VERSION: &str = "48.0.8";

/// Bumped by hand when this crate changes how it compiles in a way Wasmtime's own
/// compatibility hash would not see (none so far): part of the cache key.
const CONFIG_REVISION: u32 = 1;

/// Linear memory a pool slot keeps resident between instances (see [`config`]).
const KEEP_RESIDENT: usize = 4 << 20;

/// How many instances may live at once, and how large their memories may grow: the pooling
/// allocator reserves its slots up front. These do not change compiled code, so they are not
/// part of the cache key.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PoolSettings {
    /// Component instances alive at once (one per request in flight): requests beyond it wait.
    pub max_instances: u32,
    /// The largest linear memory an instance may have, in bytes (the function's memory limit).
    pub max_memory_bytes: u64,
}

impl Default for PoolSettings {
    fn default() -> Self {
        PoolSettings {
            max_instances: 256,
            max_memory_bytes: 128 << 20,
        }
    }
}

/// The configuration of every engine of this host: async calls (a guest that waits yields its
/// thread), epoch interruption (the time limit), the pooling instance allocator with
/// copy-on-write memory images (instantiation in microseconds), Cranelift at `speed`.
pub fn config(pool: &PoolSettings) -> Config {
    let mut config = Config::new();
    config.wasm_component_model(true);
    config.epoch_interruption(true);
    config.cranelift_opt_level(wasmtime::OptLevel::Speed);
    // Linear memories are mapped from the module's data image, copy-on-write: instantiation
    // does not copy the data segments, and a fresh instance shares untouched pages.
    config.memory_init_cow(true);
    let mut pooling = PoolingAllocationConfig::new();
    let instances = pool.max_instances.max(1);
    // A component of the `wasi:http/proxy` world built by the SDK has a handful of core
    // instances (the program, the adapter shims) and one or two memories and tables.
    pooling.total_component_instances(instances);
    pooling.total_core_instances(instances.saturating_mul(8));
    pooling.total_memories(instances.saturating_mul(2));
    pooling.total_tables(instances.saturating_mul(4));
    pooling.total_stacks(instances);
    pooling.max_memory_size(usize::try_from(pool.max_memory_bytes).unwrap_or(usize::MAX));
    // Slots that served a request keep their pages resident up to this much, so that the next
    // instance in the slot does not fault them in again: with PAGEMAP_SCAN (Linux 6.7+) only
    // the pages the instance dirtied are reset (a memset each), without it the lowest
    // KEEP_RESIDENT bytes are, and the rest is given back to the kernel (madvise).
    pooling.linear_memory_keep_resident(KEEP_RESIDENT);
    pooling.pagemap_scan(wasmtime::Enabled::Auto);
    pooling.table_keep_resident(16 << 10);
    config.allocation_strategy(InstanceAllocationStrategy::Pooling(pooling));
    config
}

/// An engine of this host's configuration.
pub fn engine(pool: &PoolSettings) -> Result<Engine> {
    Engine::new(&config(pool))
}

/// Names the engine a precompiled component is for: the Wasmtime version, then a digest of
/// Wasmtime's own compatibility hash (target, Cranelift and CPU flags, tunables, wasm features)
/// and this crate's configuration revision, e.g. `wasmtime-48.0.8-3f2a9c0d1e4b5a67`.
///
/// The compile worker stores a component's precompiled form as
/// `<component sha256>.<cache key>.cwasm` beside the component; a host whose key differs (an
/// upgraded Wasmtime, another configuration, another CPU) looks for another file name and
/// precompiles again instead of loading a stale one.
pub fn cache_key(engine: &Engine) -> String {
    let mut hasher = DigestHasher(Sha256::new());
    engine.precompile_compatibility_hash().hash(&mut hasher);
    CONFIG_REVISION.hash(&mut hasher);
    let digest = hasher.0.finalize();
    let hex: String = digest[..8].iter().map(|b| format!("{b:02x}")).collect();
    format!("wasmtime-{WASMTIME_VERSION}-{hex}")
}

/// The file name of a precompiled component: `<component sha256>.<cache key>.cwasm`.
pub fn precompiled_file_name(component_sha256: &str, cache_key: &str) -> String {
    format!("{component_sha256}.{cache_key}.cwasm")
}

/// A [`Hasher`] feeding SHA-256, so that the key is the same in every process (std's hashers
/// are seeded per process).
struct DigestHasher(Sha256);

impl Hasher for DigestHasher {
    fn finish(&self) -> u64 {
        unreachable!("only the digest is used")
    }

    fn write(&mut self, bytes: &[u8]) {
        self.0.update(bytes);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_cache_key_is_stable_and_names_the_version() {
        let engine = engine(&PoolSettings::default()).unwrap();
        let key = cache_key(&engine);
        assert!(key.starts_with("wasmtime-48.0.8-"), "{key}");
        assert_eq!(key.len(), "wasmtime-48.0.8-".len() + 16);
        // Pool sizes do not change compiled code, so not the key either.
        let other = super::engine(&PoolSettings {
            max_instances: 3,
            max_memory_bytes: 1 << 30,
        })
        .unwrap();
        assert_eq!(cache_key(&other), key);
    }

    #[test]
    fn the_cache_key_changes_with_the_configuration() {
        let engine = engine(&PoolSettings::default()).unwrap();
        let mut config = config(&PoolSettings::default());
        config.epoch_interruption(false);
        let other = Engine::new(&config).unwrap();
        assert_ne!(cache_key(&other), cache_key(&engine));
    }

    #[test]
    fn the_version_constant_is_the_locked_one() {
        let lock = include_str!("../Cargo.lock");
        let locked = lock
            .split("[[package]]")
            .find(|package| package.contains("\nname = \"wasmtime\"\n"))
            .and_then(|package| package.lines().find(|line| line.starts_with("version = ")))
            .unwrap();
        assert_eq!(locked, format!("version = \"{WASMTIME_VERSION}\""));
    }

    #[test]
    fn names_the_file() {
        assert_eq!(
            precompiled_file_name("ab12", "wasmtime-48.0.8-00ff"),
            "ab12.wasmtime-48.0.8-00ff.cwasm"
        );
    }
}
