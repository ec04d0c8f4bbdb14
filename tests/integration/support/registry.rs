//! `TestRegistry`: a real CNCF distribution registry (`docker-registry serve`) on 127.0.0.1:<free port>, one per test.
//!
//! Storage, config and log live in a temp dir removed on Drop; the process is killed on Drop. Plain HTTP by default,
//! optionally htpasswd basic auth and/or TLS with a generated test CA. Many registries can run in parallel.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

const START_TIMEOUT: Duration = Duration::from_secs(20);

/// How to start a registry; `Default` is plain HTTP without auth.
#[derive(Clone, Debug, Default)]
pub struct RegistryOptions {
    /// Require HTTP basic auth with this (user, password) (bcrypt htpasswd file made with `htpasswd -Bbn`).
    pub htpasswd: Option<(String, String)>,
    /// Serve HTTPS with a certificate for 127.0.0.1/localhost signed by a fresh test CA (see `ca_cert`, `cert_dir`).
    pub tls: bool,
    /// Refuse manifest deletes (`storage.delete.enabled: false`), as distribution does by default.
    pub deletes_disabled: bool,
}

/// A running `docker-registry` process. Killed on Drop; if the test is panicking its log tail is printed.
pub struct TestRegistry {
    child: Option<Child>,
    port: u16,
    options: RegistryOptions,
    dir: tempfile::TempDir,
}

impl TestRegistry {
    /// Plain HTTP registry, no auth.
    pub fn start() -> Self {
        Self::start_with(RegistryOptions::default())
    }

    /// Plain HTTP registry that requires basic auth as `user`/`password`.
    pub fn start_with_htpasswd(user: &str, password: &str) -> Self {
        Self::start_with(RegistryOptions {
            htpasswd: Some((user.into(), password.into())),
            ..RegistryOptions::default()
        })
    }

    /// HTTPS registry with a test CA (`ca_cert()`); clients must trust it or skip verification.
    pub fn start_tls() -> Self {
        Self::start_with(RegistryOptions {
            tls: true,
            ..RegistryOptions::default()
        })
    }

    pub fn start_with(options: RegistryOptions) -> Self {
        Self::start_with_config_yaml(options, "")
    }

    /// Like `start_with`, with `extra_yaml` appended to the generated config: top-level sections the options do not
    /// cover, e.g. `auth:\n  token:\n    ...` (then `options.htpasswd` must be `None`: one `auth` section only).
    pub fn start_with_config_yaml(options: RegistryOptions, extra_yaml: &str) -> Self {
        let dir = tempfile::Builder::new()
            .prefix("ferry-registry-")
            .tempdir()
            .expect("registry temp dir");
        let storage = dir.path().join("storage");
        fs::create_dir_all(&storage).unwrap();
        let mut config = format!(
            "version: 0.1\n\
             log:\n  level: info\n\
             storage:\n  filesystem:\n    rootdirectory: \"{}\"\n  delete:\n    enabled: {}\n  \
             maintenance:\n    uploadpurging:\n      enabled: false\n\
             http:\n  addr: 127.0.0.1:0\n  secret: ferry-integration-tests\n",
            storage.display(),
            !options.deletes_disabled
        );
        if options.tls {
            let (cert, key) = make_tls_files(dir.path());
            config.push_str(&format!(
                "  tls:\n    certificate: \"{}\"\n    key: \"{}\"\n",
                cert.display(),
                key.display()
            ));
        }
        if let Some((user, password)) = &options.htpasswd {
            let file = dir.path().join("htpasswd");
            let out = Command::new("htpasswd")
                .args(["-Bbn", user, password])
                .output()
                .unwrap_or_else(|e| {
                    panic!("cannot run htpasswd (package apache2-utils; run scripts/test.sh to install it): {e}")
                });
            assert!(
                out.status.success(),
                "htpasswd failed: {}",
                String::from_utf8_lossy(&out.stderr)
            );
            fs::write(&file, &out.stdout).unwrap();
            config.push_str(&format!(
                "auth:\n  htpasswd:\n    realm: ferry-test-realm\n    path: \"{}\"\n",
                file.display()
            ));
        }
        config.push_str(extra_yaml);
        let config_path = dir.path().join("config.yml");
        fs::write(&config_path, &config).unwrap();

        let log_path = dir.path().join("registry.log");
        let log = fs::File::create(&log_path).unwrap();
        let mut cmd = Command::new("docker-registry");
        cmd.arg("serve")
            .arg(&config_path)
            .stdin(Stdio::null())
            .stdout(log.try_clone().unwrap())
            .stderr(log);
        // REGISTRY_* variables override the config file: keep the developer's environment out.
        for (name, _) in std::env::vars_os() {
            if name.to_string_lossy().starts_with("REGISTRY_") {
                cmd.env_remove(name);
            }
        }
        let child = cmd.spawn().unwrap_or_else(|e| {
            panic!(
                "cannot run docker-registry (Debian package docker-registry; run scripts/test.sh to install it): {e}"
            )
        });
        let mut registry = TestRegistry {
            child: Some(child),
            port: 0,
            options,
            dir,
        };
        registry.port = registry.wait_for_port();
        registry
    }

    fn wait_for_port(&mut self) -> u16 {
        let deadline = Instant::now() + START_TIMEOUT;
        loop {
            let log = self.log();
            if let Some(port) = parse_listening_port(&log) {
                return port;
            }
            if let Some(status) = self.child.as_mut().unwrap().try_wait().unwrap() {
                panic!("docker-registry exited ({status}) before listening; its log:\n{log}");
            }
            if Instant::now() > deadline {
                panic!("docker-registry did not log `listening on` within {START_TIMEOUT:?}; its log:\n{log}");
            }
            std::thread::sleep(Duration::from_millis(10));
        }
    }

    /// "127.0.0.1:PORT", what goes into image references.
    pub fn host(&self) -> String {
        format!("127.0.0.1:{}", self.port)
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    /// `docker://127.0.0.1:PORT/<repo_ref>`, e.g. `reg.docker_ref("ns/app:v1")`.
    pub fn docker_ref(&self, repo_ref: &str) -> String {
        format!("docker://{}/{}", self.host(), repo_ref)
    }

    /// The (user, password) it requires, if started with htpasswd.
    pub fn credentials(&self) -> Option<(&str, &str)> {
        self.options.htpasswd.as_ref().map(|(u, p)| (u.as_str(), p.as_str()))
    }

    pub fn is_tls(&self) -> bool {
        self.options.tls
    }

    /// PEM of the test CA that signed the server certificate (TLS registries only).
    pub fn ca_cert(&self) -> Option<PathBuf> {
        self.options.tls.then(|| self.cert_dir().join("ca.crt"))
    }

    /// A directory holding only `ca.crt`: what skopeo's `--cert-dir`/`--dest-cert-dir` expects.
    pub fn cert_dir(&self) -> PathBuf {
        self.dir.path().join("certs")
    }

    /// The filesystem storage root (`docker/registry/v2/...` below it once something is pushed).
    pub fn storage_dir(&self) -> PathBuf {
        self.dir.path().join("storage")
    }

    /// Everything the registry logged so far (including its access log).
    pub fn log(&self) -> String {
        fs::read_to_string(self.dir.path().join("registry.log")).unwrap_or_default()
    }

    /// Kills the process now (to simulate a registry dying mid-run). Idempotent.
    pub fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

impl Drop for TestRegistry {
    fn drop(&mut self) {
        self.kill();
        if std::thread::panicking() {
            let log = self.log();
            let lines: Vec<&str> = log.lines().collect();
            let tail = lines[lines.len().saturating_sub(20)..].join("\n");
            eprintln!(
                "--- log tail of registry {} ---\n{tail}\n--- end of registry log ---",
                self.host()
            );
        }
    }
}

/// Port from distribution's `msg="listening on 127.0.0.1:PORT"` (or `..., tls`).
fn parse_listening_port(log: &str) -> Option<u16> {
    let rest = &log[log.find("listening on ")? + "listening on ".len()..];
    let addr_end = rest
        .find(|c: char| c == '"' || c == ',' || c.is_whitespace())
        .unwrap_or(rest.len());
    rest[..addr_end].rsplit(':').next()?.parse().ok()
}

/// Writes a test CA (certs/ca.crt) and a server certificate for 127.0.0.1/localhost signed by it; returns (cert, key).
fn make_tls_files(dir: &Path) -> (PathBuf, PathBuf) {
    let certs = dir.join("certs");
    let tls = dir.join("tls");
    fs::create_dir_all(&certs).unwrap();
    fs::create_dir_all(&tls).unwrap();
    let ca_key = tls.join("ca.key");
    let ca_crt = certs.join("ca.crt");
    let key = tls.join("server.key");
    let csr = tls.join("server.csr");
    let crt = tls.join("server.crt");
    let ext = tls.join("server.ext");
    fs::write(
        &ext,
        "subjectAltName=IP:127.0.0.1,DNS:localhost\nbasicConstraints=CA:FALSE\n",
    )
    .unwrap();
    let ec = "-newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes";
    let p = |p: &Path| p.to_str().unwrap().to_string();
    let ca = format!(
        "req -x509 {ec} -days 3 -subj /CN=ferry-test-CA -keyout {} -out {}",
        p(&ca_key),
        p(&ca_crt)
    );
    let req = format!("req {ec} -subj /CN=127.0.0.1 -keyout {} -out {}", p(&key), p(&csr));
    let sign = format!(
        "x509 -req -days 3 -set_serial 1 -in {} -CA {} -CAkey {} -extfile {} -out {}",
        p(&csr),
        p(&ca_crt),
        p(&ca_key),
        p(&ext),
        p(&crt)
    );
    for args in [ca, req, sign] {
        // Temp paths contain no spaces, so splitting on whitespace is safe.
        let args: Vec<&str> = args.split_whitespace().collect();
        let out = Command::new("openssl")
            .args(&args)
            .output()
            .unwrap_or_else(|e| panic!("cannot run openssl to make the test CA: {e}"));
        assert!(
            out.status.success(),
            "openssl {args:?} failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    (crt, key)
}

#[cfg(test)]
mod tests {
    #[test]
    fn parses_listening_line() {
        let log = "time=\"x\" level=info msg=\"listening on 127.0.0.1:41345\" go.version=go1.19.8\n";
        assert_eq!(super::parse_listening_port(log), Some(41345));
        assert_eq!(
            super::parse_listening_port("msg=\"listening on 127.0.0.1:443, tls\""),
            Some(443)
        );
        assert_eq!(super::parse_listening_port("nothing yet"), None);
    }
}
