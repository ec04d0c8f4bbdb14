//! Shared helpers of ferry's integration tests: real registries, skopeo as the independent peer, generated fixtures,
//! a fault-injecting proxy, the `ferry` binary and per-test temp dirs.
//!
//! Typical test:
//! ```ignore
//! let dir = TestDir::new("m2m_copies_index");
//! let reg = TestRegistry::start();
//! let img = multi_arch_image(dir.join("src"), 1, &["linux/amd64", "linux/arm64/v8"], false);
//! img.push(&reg.host(), "app:v1");
//! let raw = skopeo_inspect_raw(&reg.docker_ref("app:v1")).unwrap();
//! assert_eq!(manifest_digest(&raw), img.index.digest);
//! ```

#![allow(dead_code, unused_imports)]

pub mod bench_data;
pub mod fixtures;
pub mod http;
pub mod mirror_run;
pub mod proxy;
pub mod registry;
pub mod signing;
pub mod skopeo;
pub mod static_server;
pub mod token_auth;

pub use fixtures::*;
pub use mirror_run::*;
pub use proxy::{FaultPlan, FaultProxy, Injected};
pub use registry::{RegistryOptions, TestRegistry};
pub use signing::ReleaseSigner;
pub use skopeo::*;
pub use static_server::StaticServer;
pub use token_auth::{TokenAuthOptions, TokenRegistry, TokenRequest, TokenServer};

use std::path::{Path, PathBuf};
use std::process::Command;

/// Set to keep the temp dirs of failing tests (their paths are printed).
pub const KEEP_ENV: &str = "FERRY_KEEP_TEST_DIRS";

/// The `auth` value of an auth file entry (and of a Basic `Authorization` header): base64 of `user:password`.
pub fn basic_b64(user: &str, password: &str) -> String {
    use base64::Engine as _;
    base64::engine::general_purpose::STANDARD.encode(format!("{user}:{password}"))
}

/// A `Command` for the `ferry` binary built by cargo for this test run. Variables through which a developer's
/// environment would leak into ferry (`REGISTRY_AUTH_FILE`, `CONTAINERS_REGISTRIES_CONF`, `DOCKER_CONFIG`,
/// `UPDATE_URL_OVERRIDE`, `OCP_SIGNATURE_URL`, `OCP_SIGNATURE_VERIFICATION_PK`) are
/// removed; set them again with `.env(...)` where a test needs them.
pub fn ferry_bin() -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_ferry"));
    for var in [
        "REGISTRY_AUTH_FILE",
        "CONTAINERS_REGISTRIES_CONF",
        "DOCKER_CONFIG",
        "UPDATE_URL_OVERRIDE",
        "OCP_SIGNATURE_URL",
        "OCP_SIGNATURE_VERIFICATION_PK",
    ] {
        cmd.env_remove(var);
    }
    cmd
}

/// `ferry_bin()` with `home` as HOME and no XDG directories: the developer's credential files stay out of the test.
pub fn ferry_at(home: &Path) -> Command {
    let mut cmd = ferry_bin();
    cmd.env("HOME", home)
        .env_remove("XDG_RUNTIME_DIR")
        .env_remove("XDG_CONFIG_HOME");
    cmd
}

/// A temp dir per test, removed on Drop unless the test panicked and `FERRY_KEEP_TEST_DIRS` is set.
pub struct TestDir {
    dir: Option<tempfile::TempDir>,
}

impl TestDir {
    /// `name` (the test's name) becomes part of the directory name, to find it when kept.
    pub fn new(name: &str) -> Self {
        let dir = tempfile::Builder::new()
            .prefix(&format!("ferry-{name}-"))
            .tempdir()
            .expect("test temp dir");
        TestDir { dir: Some(dir) }
    }

    pub fn path(&self) -> &Path {
        self.dir.as_ref().unwrap().path()
    }

    /// `self.path().join(rel)`.
    pub fn join(&self, rel: impl AsRef<Path>) -> PathBuf {
        self.path().join(rel)
    }
}

impl Drop for TestDir {
    fn drop(&mut self) {
        if std::thread::panicking() && std::env::var_os(KEEP_ENV).is_some() {
            let kept = self.dir.take().unwrap().keep();
            eprintln!("{KEEP_ENV}: kept test dir {}", kept.display());
        }
    }
}
