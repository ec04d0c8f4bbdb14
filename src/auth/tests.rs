//! Tests of credential discovery, lookup order, helpers and secret hygiene. Discovery takes an explicit
//! [`AuthEnv`], so no test touches the process environment.

use std::fs;
use std::path::{Path, PathBuf};

use base64::engine::general_purpose::STANDARD;
use base64::Engine;

use super::*;

fn basic(username: &str, password: &str) -> Credential {
    Credential::Basic {
        username: username.into(),
        password: password.into(),
    }
}

fn auth(user_pass: &str) -> String {
    STANDARD.encode(user_pass)
}

fn write(dir: &Path, relative: &str, text: &str) -> PathBuf {
    let path = dir.join(relative);
    fs::create_dir_all(path.parent().unwrap()).unwrap();
    fs::write(&path, text).unwrap();
    path
}

fn store(text: &str) -> (tempfile::TempDir, CredentialStore) {
    let dir = tempfile::tempdir().unwrap();
    let path = write(dir.path(), "auth.json", text);
    let store = CredentialStore::from_file(&path).unwrap();
    (dir, store)
}

fn env_in(home: &Path) -> AuthEnv {
    AuthEnv {
        home: Some(home.to_path_buf()),
        ..AuthEnv::default()
    }
}

#[test]
fn auth_field_is_base64_user_colon_password_and_password_may_hold_colons() {
    let text = format!(
        r#"{{"auths": {{"quay.io": {{"auth": "{}"}}}}}}"#,
        auth("robot:pa:ss:word")
    );
    let (_dir, store) = store(&text);
    assert_eq!(
        store.lookup("quay.io/org/app").unwrap(),
        Some(basic("robot", "pa:ss:word"))
    );
    assert_eq!(store.lookup("registry.example.com/app").unwrap(), None);
}

#[test]
fn username_password_and_identitytoken_fields() {
    let text = r#"{"auths": {
        "a.example.com": {"username": "alice", "password": "pw"},
        "b.example.com": {"identitytoken": "refresh-me"},
        "c.example.com": {"auth": "", "email": "x@example.com"},
        "d.example.com": {"auth": "dTpw"}
    }}"#;
    let (_dir, store) = store(text);
    assert_eq!(store.lookup("a.example.com/x").unwrap(), Some(basic("alice", "pw")));
    assert_eq!(
        store.lookup("b.example.com/x").unwrap(),
        Some(Credential::IdentityToken("refresh-me".into()))
    );
    assert_eq!(
        store.lookup("c.example.com/x").unwrap(),
        None,
        "an empty entry is no credential"
    );
    assert_eq!(
        store.lookup("d.example.com/x").unwrap(),
        Some(basic("u", "p")),
        "unpadded base64 is accepted"
    );
}

#[test]
fn longest_namespace_key_wins() {
    let text = format!(
        r#"{{"auths": {{
            "my-registry.local": {{"auth": "{}"}},
            "my-registry.local/foo": {{"auth": "{}"}},
            "my-registry.local/foo/bar/image": {{"auth": "{}"}},
            "my-registry.local:5000": {{"auth": "{}"}}
        }}}}"#,
        auth("host:1"),
        auth("ns:2"),
        auth("repo:3"),
        auth("port:4")
    );
    let (_dir, store) = store(&text);
    let user = |name: &str| match store.lookup(name).unwrap() {
        Some(Credential::Basic { username, .. }) => username,
        other => panic!("{name}: {other:?}"),
    };
    assert_eq!(user("my-registry.local/foo/bar/image"), "repo");
    assert_eq!(user("my-registry.local/foo/bar/image:v1"), "repo", "tags are ignored");
    assert_eq!(user("my-registry.local/foo/bar/other"), "ns");
    assert_eq!(user("my-registry.local/foo/bar"), "ns");
    assert_eq!(
        user("my-registry.local/foobar/x"),
        "host",
        "prefixes match whole path components"
    );
    assert_eq!(user("my-registry.local"), "host");
    assert_eq!(
        user("my-registry.local:5000/foo/x"),
        "port",
        "a port is part of the host"
    );
}

#[test]
fn legacy_url_keys_and_docker_hub_aliases() {
    let text = format!(
        r#"{{"auths": {{
            "https://index.docker.io/v1/": {{"auth": "{}"}},
            "http://localhost:5000/v2/": {{"auth": "{}"}},
            "https://quay.io": {{"auth": "{}"}}
        }}}}"#,
        auth("hub:1"),
        auth("local:2"),
        auth("quay:3")
    );
    let (_dir, store) = store(&text);
    for hub in [
        "docker.io/library/busybox",
        "index.docker.io/org/app",
        "registry-1.docker.io/org/app",
        "docker.io",
    ] {
        assert_eq!(store.lookup(hub).unwrap(), Some(basic("hub", "1")), "{hub}");
    }
    assert_eq!(
        store.lookup("docker://localhost:5000/ns/app:1").unwrap(),
        Some(basic("local", "2"))
    );
    assert_eq!(store.lookup("quay.io/org/app").unwrap(), Some(basic("quay", "3")));
    let reference: ImageReference = "busybox:1".parse().unwrap();
    assert_eq!(store.lookup_reference(&reference).unwrap(), Some(basic("hub", "1")));
}

#[test]
fn an_exact_key_beats_a_normalised_one() {
    let text = format!(
        r#"{{"auths": {{"https://quay.io/v1/": {{"auth": "{}"}}, "quay.io": {{"auth": "{}"}}}}}}"#,
        auth("legacy:1"),
        auth("exact:2")
    );
    let (_dir, store) = store(&text);
    assert_eq!(store.lookup("quay.io/a/b").unwrap(), Some(basic("exact", "2")));
}

#[test]
fn bad_base64_names_file_and_key_but_not_the_value() {
    let dir = tempfile::tempdir().unwrap();
    let path = write(
        dir.path(),
        "auth.json",
        r#"{"auths": {"quay.io": {"auth": "%%not-base64-SECRET%%"}}}"#,
    );
    let err = CredentialStore::from_file(&path).unwrap_err();
    let text = format!("{err} {err:?}");
    assert!(text.contains(&path.display().to_string()), "{text}");
    assert!(text.contains("quay.io"), "{text}");
    assert!(!text.contains("SECRET"), "{text}");

    let no_colon = format!(r#"{{"auths": {{"quay.io": {{"auth": "{}"}}}}}}"#, auth("SECRETnocolon"));
    fs::write(&path, no_colon).unwrap();
    let err = CredentialStore::from_file(&path).unwrap_err();
    assert!(matches!(err, AuthError::BadAuth { .. }), "{err:?}");
    assert!(!format!("{err} {err:?}").contains("SECRET"));
}

#[test]
fn malformed_files_are_errors_naming_the_file_not_its_content() {
    let dir = tempfile::tempdir().unwrap();
    for (i, text) in [
        r#"{"auths": {"quay.io": {"auth": "SECRET"}"#,
        r#"{"auths": "SECRET"}"#,
        r#"{"auths": {"quay.io": "SECRET"}}"#,
        r#"{"auths": {"quay.io": {"auth": ["SECRET"]}}}"#,
        r#"["SECRET"]"#,
        r#"{"credHelpers": {"quay.io": "../../bin/SECRET"}}"#,
    ]
    .iter()
    .enumerate()
    {
        let path = write(dir.path(), &format!("auth{i}.json"), text);
        let err = CredentialStore::from_file(&path).unwrap_err();
        let shown = format!("{err} {err:?}");
        assert!(shown.contains(&path.display().to_string()), "{shown}");
        assert!(
            !shown.contains("SECRET") || matches!(err, AuthError::InvalidHelperName { .. }),
            "{shown}"
        );
        assert!(shown.contains("help:"), "{shown}");
    }
}

#[test]
fn explicit_file_must_exist() {
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("nope.json");
    let err = CredentialStore::discover_in(Some(&missing), &env_in(dir.path())).unwrap_err();
    assert!(matches!(err, AuthError::Missing { .. }));
    assert!(err.to_string().contains(&missing.display().to_string()));
    assert!(CredentialStore::from_file(&missing).is_err());
}

#[test]
fn secrets_never_reach_debug_or_display() {
    let credential = basic("robot", "hunter2-SECRET");
    let shown = format!("{credential:?}");
    assert!(
        shown.contains("robot") && shown.contains("<redacted>") && !shown.contains("SECRET"),
        "{shown}"
    );
    let token = Credential::IdentityToken("tok-SECRET".into());
    assert!(!format!("{token:?}").contains("SECRET"));

    let text = format!(
        r#"{{"auths": {{"quay.io": {{"auth": "{}"}}}}}}"#,
        auth("robot:hunter2-SECRET")
    );
    let (_dir, store) = store(&text);
    let shown = format!("{store:?} {:?}", store.lookup("quay.io/a").unwrap());
    assert!(!shown.contains("SECRET"), "{shown}");
}

#[test]
fn explicit_file_beats_environment() {
    let home = tempfile::tempdir().unwrap();
    let explicit = write(
        home.path(),
        "explicit.json",
        &format!(r#"{{"auths": {{"quay.io": {{"auth": "{}"}}}}}}"#, auth("explicit:1")),
    );
    let env_file = write(
        home.path(),
        "env.json",
        &format!(r#"{{"auths": {{"quay.io": {{"auth": "{}"}}}}}}"#, auth("env:2")),
    );
    write(
        home.path(),
        ".docker/config.json",
        &format!(r#"{{"auths": {{"other.io": {{"auth": "{}"}}}}}}"#, auth("docker:3")),
    );
    let env = AuthEnv {
        registry_auth_file: Some(env_file.clone()),
        ..env_in(home.path())
    };

    let store = CredentialStore::discover_in(Some(&explicit), &env).unwrap();
    assert_eq!(store.lookup("quay.io/a").unwrap(), Some(basic("explicit", "1")));
    assert_eq!(store.lookup("other.io/a").unwrap(), None, "--authfile is the only file");
    assert_eq!(store.source(), Some(explicit.as_path()));

    let store = CredentialStore::discover_in(None, &env).unwrap();
    assert_eq!(store.lookup("quay.io/a").unwrap(), Some(basic("env", "2")));
    assert_eq!(
        store.lookup("other.io/a").unwrap(),
        None,
        "REGISTRY_AUTH_FILE is the only file"
    );
    assert_eq!(store.sources(), vec![env_file.as_path()]);

    let env = AuthEnv {
        registry_auth_file: Some(home.path().join("missing.json")),
        ..env_in(home.path())
    };
    let store = CredentialStore::discover_in(None, &env).unwrap();
    assert_eq!(
        store.lookup("other.io/a").unwrap(),
        Some(basic("docker", "3")),
        "a missing REGISTRY_AUTH_FILE falls through"
    );
}

#[test]
fn default_files_are_searched_in_order_until_a_credential_is_found() {
    let home = tempfile::tempdir().unwrap();
    let runtime = tempfile::tempdir().unwrap();
    let primary = write(
        runtime.path(),
        "containers/auth.json",
        &format!(r#"{{"auths": {{"quay.io": {{"auth": "{}"}}}}}}"#, auth("runtime:1")),
    );
    write(
        home.path(),
        ".config/containers/auth.json",
        &format!(
            r#"{{"auths": {{"quay.io": {{"auth": "{}"}}, "config.example.com": {{"auth": "{}"}}}}}}"#,
            auth("config:2"),
            auth("config:3")
        ),
    );
    write(
        home.path(),
        ".docker/config.json",
        &format!(
            r#"{{"auths": {{"https://index.docker.io/v1/": {{"auth": "{}"}}, "config.example.com": {{"auth": "{}"}}}}, "psFormat": "table"}}"#,
            auth("docker:4"),
            auth("docker:5")
        ),
    );
    write(
        home.path(),
        ".dockercfg",
        &format!(
            r#"{{"https://legacy.example.com/v1/": {{"auth": "{}", "email": "e"}}}}"#,
            auth("legacy:6")
        ),
    );

    let env = AuthEnv {
        xdg_runtime_dir: Some(runtime.path().to_path_buf()),
        ..env_in(home.path())
    };
    let store = CredentialStore::discover_in(None, &env).unwrap();
    assert_eq!(store.lookup("quay.io/a").unwrap(), Some(basic("runtime", "1")));
    assert_eq!(
        store.lookup("config.example.com/a").unwrap(),
        Some(basic("config", "3"))
    );
    assert_eq!(
        store.lookup("docker.io/library/alpine").unwrap(),
        Some(basic("docker", "4"))
    );
    assert_eq!(
        store.lookup("legacy.example.com/ns/a").unwrap(),
        Some(basic("legacy", "6"))
    );
    let (_, source) = store.lookup_with_source("docker.io/x/y").unwrap().unwrap();
    assert_eq!(source, home.path().join(".docker/config.json"));
    assert_eq!(store.source(), Some(primary.as_path()));
    assert_eq!(store.sources().len(), 4);

    // XDG_CONFIG_HOME moves the second file; DOCKER_CONFIG replaces ~/.docker.
    let elsewhere = tempfile::tempdir().unwrap();
    write(
        elsewhere.path(),
        "cfg/containers/auth.json",
        &format!(r#"{{"auths": {{"quay.io": {{"auth": "{}"}}}}}}"#, auth("xdg:7")),
    );
    write(
        elsewhere.path(),
        "dockercfg/config.json",
        &format!(r#"{{"auths": {{"docker.io": {{"auth": "{}"}}}}}}"#, auth("dc:8")),
    );
    let env = AuthEnv {
        xdg_config_home: Some(elsewhere.path().join("cfg")),
        docker_config: Some(elsewhere.path().join("dockercfg")),
        ..env_in(home.path())
    };
    let store = CredentialStore::discover_in(None, &env).unwrap();
    assert_eq!(store.lookup("quay.io/a").unwrap(), Some(basic("xdg", "7")));
    assert_eq!(
        store.lookup("docker.io/library/alpine").unwrap(),
        Some(basic("dc", "8"))
    );
    assert_eq!(store.lookup("config.example.com/a").unwrap(), None);
}

#[test]
fn a_malformed_implicit_file_is_an_error_naming_it() {
    let home = tempfile::tempdir().unwrap();
    let path = write(home.path(), ".docker/config.json", "{not json");
    let err = CredentialStore::discover_in(None, &env_in(home.path())).unwrap_err();
    assert!(err.to_string().contains(&path.display().to_string()), "{err}");
}

#[test]
fn no_files_means_no_credentials() {
    let home = tempfile::tempdir().unwrap();
    let store = CredentialStore::discover_in(None, &env_in(home.path())).unwrap();
    assert_eq!(store.source(), None);
    assert_eq!(store.lookup("quay.io/a").unwrap(), None);
    assert_eq!(CredentialStore::empty().lookup("quay.io/a").unwrap(), None);
}

mod helpers {
    use super::*;

    /// A fake `docker-credential-fake` in a temp dir that logs each call to `calls`.
    fn fake_helper(dir: &Path) {
        let script = r#"#!/bin/sh
read -r server || true
echo "$server" >> "$(dirname "$0")/calls"
case "$server" in
  quay.io) printf '{"ServerURL":"quay.io","Username":"robot","Secret":"from-helper"}' ;;
  token.example.com) printf '{"ServerURL":"token.example.com","Username":"<token>","Secret":"tok"}' ;;
  https://index.docker.io/v1/) printf '{"ServerURL":"https://index.docker.io/v1/","Username":"hub","Secret":"hubpw"}' ;;
  broken.example.com) echo "keychain is locked" >&2; exit 3 ;;
  garbage.example.com) echo "not json" ;;
  *) echo "credentials not found in native keychain"; exit 1 ;;
esac
"#;
        let path = write(dir, "docker-credential-fake", script);
        use std::os::unix::fs::PermissionsExt;
        fs::set_permissions(&path, fs::Permissions::from_mode(0o755)).unwrap();
    }

    fn calls(dir: &Path) -> Vec<String> {
        fs::read_to_string(dir.join("calls"))
            .unwrap_or_default()
            .lines()
            .map(str::to_string)
            .collect()
    }

    fn helper_store(bin: &Path, text: &str) -> CredentialStore {
        let path = write(bin, "auth.json", text);
        let env = AuthEnv {
            helper_path: Some(bin.as_os_str().to_owned()),
            ..AuthEnv::default()
        };
        CredentialStore::discover_in(Some(&path), &env).unwrap()
    }

    #[test]
    fn cred_helpers_answer_for_their_host_and_are_cached() {
        let bin = tempfile::tempdir().unwrap();
        fake_helper(bin.path());
        let text = format!(
            r#"{{"auths": {{"quay.io/org": {{"auth": "{}"}}, "other.io": {{"auth": "{}"}}}},
                "credHelpers": {{"quay.io": "fake", "token.example.com": "fake", "nothing.example.com": "fake"}}}}"#,
            auth("file:1"),
            auth("file:2")
        );
        let store = helper_store(bin.path(), &text);
        // The helper configured for the host is used, not the file's entry (containers-auth.json(5)).
        assert_eq!(
            store.lookup("quay.io/org/app").unwrap(),
            Some(basic("robot", "from-helper"))
        );
        assert_eq!(
            store.lookup("quay.io/other/app").unwrap(),
            Some(basic("robot", "from-helper"))
        );
        assert_eq!(
            calls(bin.path()),
            vec!["quay.io"],
            "answers are cached per helper and host"
        );
        assert_eq!(
            store.lookup("token.example.com/a").unwrap(),
            Some(Credential::IdentityToken("tok".into()))
        );
        assert_eq!(
            store.lookup("nothing.example.com/a").unwrap(),
            None,
            "\"credentials not found\" is no credential"
        );
        assert_eq!(store.lookup("other.io/a").unwrap(), Some(basic("file", "2")));
        assert_eq!(calls(bin.path()).len(), 3);
    }

    #[test]
    fn creds_store_is_the_fallback_after_auths() {
        let bin = tempfile::tempdir().unwrap();
        fake_helper(bin.path());
        let text = format!(
            r#"{{"auths": {{"https://index.docker.io/v1/": {{}}, "other.io": {{"auth": "{}"}}}}, "credsStore": "fake"}}"#,
            auth("file:2")
        );
        let store = helper_store(bin.path(), &text);
        assert_eq!(store.lookup("other.io/a").unwrap(), Some(basic("file", "2")));
        assert!(calls(bin.path()).is_empty(), "a file credential needs no helper");
        assert_eq!(
            store.lookup("docker.io/library/busybox").unwrap(),
            Some(basic("hub", "hubpw"))
        );
        assert_eq!(calls(bin.path()), vec!["https://index.docker.io/v1/"]);
        assert_eq!(store.lookup("quay.io/a").unwrap(), Some(basic("robot", "from-helper")));
        assert_eq!(store.lookup("unknown.example.com/a").unwrap(), None);
    }

    #[test]
    fn helper_failures_are_errors_that_name_the_helper() {
        let bin = tempfile::tempdir().unwrap();
        fake_helper(bin.path());
        let text = r#"{"credHelpers": {"broken.example.com": "fake", "garbage.example.com": "fake", "absent.example.com": "absent"}}"#;
        let store = helper_store(bin.path(), text);

        let err = store.lookup("broken.example.com/a").unwrap_err();
        assert!(matches!(err, AuthError::HelperFailed { .. }), "{err:?}");
        let shown = err.to_string();
        assert!(
            shown.contains("docker-credential-fake") && shown.contains("keychain is locked"),
            "{shown}"
        );

        let err = store.lookup("garbage.example.com/a").unwrap_err();
        assert!(matches!(err, AuthError::HelperBadOutput { .. }), "{err:?}");

        let err = store.lookup("absent.example.com/a").unwrap_err();
        assert!(matches!(err, AuthError::HelperNotFound { .. }), "{err:?}");
        assert!(err.to_string().contains("docker-credential-absent"), "{err}");
    }
}
