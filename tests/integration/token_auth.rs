//! Bearer token authentication (the scheme of quay.io and registry.redhat.io) against a real `docker-registry` with
//! `auth: token:` and the test token server of `support::token_auth`: skopeo first (the fixture is right on its
//! own), then the `ferry` binary with the token registry as destination and as source.

use std::path::{Path, PathBuf};

use crate::support::token_auth::TOKEN_SERVICE;
use crate::support::*;

const USER: &str = "token-user";
const PASSWORD: &str = "t0ken-Pa55word";
const WRONG_PASSWORD: &str = "not-the-t0ken-password";

/// `ferry mirror` of `additionalImages: images` to `docker://destination`, with `authfile` when given.
fn mirror(dir: &TestDir, images: &[&str], destination: &str, authfile: Option<&Path>) -> MirrorRun {
    let authfile = authfile.map(|path| path.to_str().unwrap());
    let extra: Vec<&str> = authfile.map(|path| vec!["--authfile", path]).unwrap_or_default();
    mirror_to_registry(dir, &additional_images(images), destination, &extra)
}

/// An auth file with one `auths` entry for `host`.
fn write_authfile(path: PathBuf, host: &str, user: &str, password: &str) -> PathBuf {
    use base64::Engine as _;
    let auth = base64::engine::general_purpose::STANDARD.encode(format!("{user}:{password}"));
    std::fs::write(&path, format!(r#"{{"auths":{{"{host}":{{"auth":"{auth}"}}}}}}"#)).unwrap();
    path
}

/// The fixture on its own: skopeo pushes with the right credentials (getting a push token), reads back the same
/// digest, and is refused with a wrong password or without credentials; the registry really verified the tokens.
#[test]
fn skopeo_pushes_to_and_pulls_from_the_token_registry() {
    let dir = TestDir::new("token_skopeo");
    let reg = TokenRegistry::start(USER, PASSWORD);
    let image = multi_arch_image(dir.join("img"), 301, &["linux/amd64", "linux/arm64"], false);

    let dest = reg.docker_ref("ns/app:v1");
    let src = format!("oci:{}:{}", image.layout.dir().display(), MultiArchImage::TAG);
    let err = try_skopeo_copy_all(&src, &dest, None, None).expect_err("anonymous push must fail");
    assert!(
        err.contains("401") || err.to_lowercase().contains("unauthorized"),
        "{err}"
    );
    assert_eq!(reg.push_tokens_issued(), 0, "{}", reg.server.describe());

    let err = try_skopeo_copy_all(&src, &dest, None, Some((USER, WRONG_PASSWORD))).expect_err("wrong password");
    assert!(!err.is_empty());
    assert!(reg.server.refusals() >= 1, "{}", reg.server.describe());

    try_skopeo_copy_all(&src, &dest, None, Some((USER, PASSWORD)))
        .unwrap_or_else(|e| panic!("{e}\n--- token server ---\n{}", reg.server.describe()));
    assert!(reg.push_tokens_issued() >= 1, "{}", reg.server.describe());

    let raw = skopeo_inspect_raw_with_creds(&dest, Some((USER, PASSWORD))).unwrap();
    assert_eq!(manifest_digest(&raw), image.index.digest);
    assert!(
        skopeo_inspect_raw(&dest).is_err(),
        "anonymous pull must be refused when anonymous_pull is off"
    );
    assert!(skopeo_inspect_raw_with_creds(&dest, Some((USER, WRONG_PASSWORD))).is_err());
    // The registry got Bearer tokens and accepted them: it logs the token's subject as the authenticated user.
    assert!(
        reg.log().contains(&format!("auth.user.name=\"{USER}\""))
            || reg.log().contains(&format!("auth.user.name={USER}")),
        "registry log shows no request authenticated by a token:\n{}",
        reg.log()
    );
}

/// The registry really verifies what it gets: a token from the token server opens `/v2/`; the same token with its
/// claims altered (signature kept), or with its signature cut, is refused as `invalid_token`.
#[test]
fn registry_accepts_issued_tokens_and_refuses_altered_ones() {
    use base64::Engine as _;
    let reg = TokenRegistry::start(USER, PASSWORD);
    let challenge = http::request(&reg.host(), "GET", "/v2/", &[], b"").unwrap();
    assert_eq!(challenge.status(), 401);
    let www = challenge.header("www-authenticate").unwrap_or_default().to_string();
    assert!(
        www.starts_with("Bearer ") && www.contains(&reg.server.realm()) && www.contains(TOKEN_SERVICE),
        "{www}"
    );

    let target = format!("/token?service={TOKEN_SERVICE}&scope=repository%3Ans%2Fapp%3Apull%2Cpush");
    let basic = http::basic_auth(USER, PASSWORD);
    let answer = http::request(&reg.server.host(), "GET", &target, &[("Authorization", &basic)], b"").unwrap();
    assert_eq!(answer.status(), 200, "{}", answer.body_text());
    let body: serde_json::Value = serde_json::from_slice(&answer.body).unwrap();
    let token = body["token"].as_str().unwrap().to_string();
    assert_eq!(body["access_token"].as_str(), Some(token.as_str()));
    let parts: Vec<&str> = token.split('.').collect();
    assert_eq!(parts.len(), 3);
    let b64 = base64::engine::general_purpose::URL_SAFE_NO_PAD;
    let header: serde_json::Value = serde_json::from_slice(&b64.decode(parts[0]).unwrap()).unwrap();
    assert_eq!(header["alg"], "RS256");
    assert_eq!(header["x5c"].as_array().map(Vec::len), Some(1));
    let mut claims: serde_json::Value = serde_json::from_slice(&b64.decode(parts[1]).unwrap()).unwrap();
    assert_eq!(claims["aud"], TOKEN_SERVICE);
    assert_eq!(claims["sub"], USER);
    assert_eq!(claims["access"][0]["actions"], serde_json::json!(["pull", "push"]));

    let get_v2 = |token: &str| {
        let auth = format!("Bearer {token}");
        http::request(&reg.host(), "GET", "/v2/", &[("Authorization", &auth)], b"").unwrap()
    };
    assert_eq!(
        get_v2(&token).status(),
        200,
        "an issued token is refused:\n{}",
        reg.log()
    );

    claims["access"][0]["name"] = "other/app".into();
    let altered = format!("{}.{}.{}", parts[0], b64.encode(claims.to_string()), parts[2]);
    let refused = get_v2(&altered);
    assert_eq!(refused.status(), 401, "an altered token was accepted");
    assert!(
        refused
            .header("www-authenticate")
            .unwrap_or_default()
            .contains("invalid_token"),
        "{:?}",
        refused.head
    );
    let cut = &token[..token.len() - 8];
    assert_eq!(get_v2(cut).status(), 401, "a token with a cut signature was accepted");
}

/// With `anonymous_pull` the token server gives pull-only tokens without credentials: skopeo reads, cannot write.
#[test]
fn anonymous_pull_tokens_allow_reading_only() {
    let dir = TestDir::new("token_anon");
    let reg = TokenRegistry::start_with(TokenAuthOptions {
        anonymous_pull: true,
        ..TokenAuthOptions::new(USER, PASSWORD)
    });
    let image = multi_arch_image(dir.join("img"), 302, &["linux/amd64"], false);
    push_layout_with_creds(
        image.layout.dir(),
        MultiArchImage::TAG,
        &reg.host(),
        "pub/app:v1",
        Some((USER, PASSWORD)),
    );
    let raw = skopeo_inspect_raw(&reg.docker_ref("pub/app:v1")).unwrap();
    assert_eq!(manifest_digest(&raw), image.index.digest);
    let src = format!("oci:{}:{}", image.layout.dir().display(), MultiArchImage::TAG);
    assert!(try_skopeo_copy_all(&src, &reg.docker_ref("pub/other:v1"), None, None).is_err());
    let anonymous = reg
        .token_requests()
        .into_iter()
        .filter(|r| r.user.is_none())
        .collect::<Vec<_>>();
    assert!(
        !anonymous.is_empty() && anonymous.iter().all(|r| !r.issued_push()),
        "{}",
        reg.server.describe()
    );
}

#[test]
fn mirror_into_token_registry_with_right_credentials() {
    let dir = TestDir::new("token_dest");
    let src = TestRegistry::start();
    let dst = TokenRegistry::start(USER, PASSWORD);
    let image = multi_arch_image(dir.join("img"), 311, &["linux/amd64", "linux/arm64/v8"], false);
    image.push(&src.host(), "ns/app:v1");
    let authfile = write_authfile(dir.join("auth.json"), &dst.host(), USER, PASSWORD);

    let run = mirror(
        &dir,
        &[&format!("{}/ns/app:v1", src.host())],
        &format!("{}/mirror", dst.host()),
        Some(&authfile),
    );
    run.assert_success_with(&dst.server.describe());

    let copied = skopeo_inspect_raw_with_creds(&dst.docker_ref("mirror/ns/app:v1"), Some((USER, PASSWORD)))
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(manifest_digest(&copied), image.index.digest);
    for child in &image.manifests {
        let raw = skopeo_inspect_raw_with_creds(
            &dst.docker_ref(&format!("mirror/ns/app@{}", child.digest)),
            Some((USER, PASSWORD)),
        )
        .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(manifest_digest(&raw), child.digest);
    }
    let requests = dst.token_requests();
    assert!(
        requests.iter().any(|r| r.issued_push()
            && r.user.as_deref() == Some(USER)
            && r.scopes.iter().any(|s| s.contains("mirror/ns/app"))),
        "no push token for mirror/ns/app was issued to {USER}:\n{}",
        dst.server.describe()
    );
    assert_eq!(dst.server.refusals(), 0, "{}", dst.server.describe());
    assert!(
        !run.stderr().contains(PASSWORD) && !run.log().contains(PASSWORD),
        "a password leaked"
    );
}

#[test]
fn mirror_into_token_registry_with_wrong_password_is_refused() {
    let dir = TestDir::new("token_wrong");
    let src = TestRegistry::start();
    let dst = TokenRegistry::start(USER, PASSWORD);
    let image = multi_arch_image(dir.join("img"), 321, &["linux/amd64"], false);
    image.push(&src.host(), "ns/app:v1");
    let authfile = write_authfile(dir.join("auth.json"), &dst.host(), USER, WRONG_PASSWORD);

    let run = mirror(
        &dir,
        &[&format!("{}/ns/app:v1", src.host())],
        &format!("{}/mirror", dst.host()),
        Some(&authfile),
    );
    assert_ne!(
        run.code(),
        0,
        "ferry succeeded with a wrong password:\n{}",
        run.stderr()
    );
    let stderr = run.stderr();
    assert!(stderr.contains("refused the credentials"), "{stderr}");
    assert!(stderr.contains(&dst.host()), "{stderr}");
    assert!(!stderr.contains(WRONG_PASSWORD), "a password leaked: {stderr}");
    assert!(!run.log().contains(WRONG_PASSWORD), "a password leaked into the log");
    // Refused by the token server (the Bearer flow was taken), and nothing reached the registry.
    assert!(dst.server.refusals() >= 1, "{}", dst.server.describe());
    assert_eq!(dst.tokens_issued(), 0, "{}", dst.server.describe());
    assert!(skopeo_inspect_raw_with_creds(&dst.docker_ref("mirror/ns/app:v1"), Some((USER, PASSWORD))).is_err());
}

#[test]
fn token_registry_as_source_mirrors_to_a_plain_registry() {
    let dir = TestDir::new("token_src");
    let src = TokenRegistry::start(USER, PASSWORD);
    let dst = TestRegistry::start();
    let image = multi_arch_image(dir.join("img"), 331, &["linux/amd64", "linux/s390x"], false);
    push_layout_with_creds(
        image.layout.dir(),
        MultiArchImage::TAG,
        &src.host(),
        "team/app:v2",
        Some((USER, PASSWORD)),
    );
    let pushed_with = src.tokens_issued();
    let authfile = write_authfile(dir.join("auth.json"), &src.host(), USER, PASSWORD);

    let run = mirror(
        &dir,
        &[&format!("{}/team/app:v2", src.host())],
        &format!("{}/mirror", dst.host()),
        Some(&authfile),
    );
    run.assert_success_with(&src.server.describe());

    let copied = skopeo_inspect_raw(&dst.docker_ref("mirror/team/app:v2")).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(manifest_digest(&copied), image.index.digest);
    for child in &image.manifests {
        let raw = skopeo_inspect_raw(&dst.docker_ref(&format!("mirror/team/app@{}", child.digest)))
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(manifest_digest(&raw), child.digest);
    }
    let ferry_requests = &src.token_requests()[..];
    let ferry_requests: Vec<_> = ferry_requests.iter().skip(pushed_with).collect();
    assert!(
        ferry_requests
            .iter()
            .any(|r| r.status == 200 && r.user.as_deref() == Some(USER)),
        "ferry got no token from the source's token server:\n{}",
        src.server.describe()
    );
}

/// A public repository on a token registry (like quay.io's): ferry reads it with anonymous tokens, no auth file.
#[test]
fn anonymous_pull_token_registry_as_source_needs_no_credentials() {
    let dir = TestDir::new("token_src_anon");
    let src = TokenRegistry::start_with(TokenAuthOptions {
        anonymous_pull: true,
        ..TokenAuthOptions::new(USER, PASSWORD)
    });
    let dst = TestRegistry::start();
    let image = multi_arch_image(dir.join("img"), 341, &["linux/amd64", "linux/arm64"], false);
    push_layout_with_creds(
        image.layout.dir(),
        MultiArchImage::TAG,
        &src.host(),
        "public/app:v3",
        Some((USER, PASSWORD)),
    );

    let run = mirror(
        &dir,
        &[&format!("{}/public/app:v3", src.host())],
        &format!("{}/mirror", dst.host()),
        None,
    );
    run.assert_success_with(&src.server.describe());
    let copied = skopeo_inspect_raw(&dst.docker_ref("mirror/public/app:v3")).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(manifest_digest(&copied), image.index.digest);
    assert!(
        src.token_requests().iter().any(|r| r.status == 200 && r.user.is_none()),
        "{}",
        src.server.describe()
    );
}

/// Two repositories with the same layers: the second one's blobs are mounted from the first, which needs one token
/// for two scopes (`repository:DEST:pull,push` and `repository:HOME:pull`).
#[test]
fn cross_repository_mounts_use_a_token_for_both_repositories() {
    let dir = TestDir::new("token_mount");
    let src = TestRegistry::start();
    let dst = TokenRegistry::start(USER, PASSWORD);
    let image = multi_arch_image(dir.join("img"), 351, &["linux/amd64", "linux/arm64"], false);
    image.push(&src.host(), "one/app:v1");
    image.push(&src.host(), "two/app:v1");
    let authfile = write_authfile(dir.join("auth.json"), &dst.host(), USER, PASSWORD);

    let run = mirror(
        &dir,
        &[
            &format!("{}/one/app:v1", src.host()),
            &format!("{}/two/app:v1", src.host()),
        ],
        &format!("{}/mirror", dst.host()),
        Some(&authfile),
    );
    run.assert_success_with(&dst.server.describe());
    for repo in ["one", "two"] {
        let copied = skopeo_inspect_raw_with_creds(
            &dst.docker_ref(&format!("mirror/{repo}/app:v1")),
            Some((USER, PASSWORD)),
        )
        .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(manifest_digest(&copied), image.index.digest);
    }
    let mount_tokens: Vec<TokenRequest> = dst
        .token_requests()
        .into_iter()
        .filter(|r| r.status == 200 && r.granted.len() == 2)
        .collect();
    assert!(
        mount_tokens
            .iter()
            .any(|r| r.granted.iter().any(|g| g.ends_with(":pull,push"))
                && r.granted.iter().any(|g| g.ends_with(":pull"))),
        "no token for a mount (two scopes) was issued:\n{}",
        dst.server.describe()
    );
    let stderr = run.stderr();
    let mounted = stderr
        .lines()
        .find_map(|l| l.strip_prefix("blobs: "))
        .and_then(|l| {
            l.split(", ")
                .find_map(|part| part.split_once(" mounted").map(|(n, _)| n))
        })
        .and_then(|n| n.trim().parse::<u32>().ok());
    assert!(mounted.is_some_and(|n| n > 0), "no blob was mounted:\n{stderr}");
}

/// A read-only account (like a pull-only robot account on quay.io) pushing: the token server accepts the
/// credentials but grants `pull` only, and the registry answers 401 `insufficient_scope`. That is a permission
/// problem, not wrong credentials: ferry must say access was denied, not that the credentials were refused.
#[test]
fn pull_only_account_pushing_is_denied_not_told_its_credentials_are_wrong() {
    let dir = TestDir::new("token_pull_only");
    let src = TestRegistry::start();
    let dst = TokenRegistry::start_with(TokenAuthOptions {
        user_can_push: false,
        ..TokenAuthOptions::new(USER, PASSWORD)
    });
    let image = multi_arch_image(dir.join("img"), 361, &["linux/amd64"], false);
    image.push(&src.host(), "ns/app:v1");
    let authfile = write_authfile(dir.join("auth.json"), &dst.host(), USER, PASSWORD);

    let run = mirror(
        &dir,
        &[&format!("{}/ns/app:v1", src.host())],
        &format!("{}/mirror", dst.host()),
        Some(&authfile),
    );
    assert_ne!(
        run.code(),
        0,
        "ferry pushed with a pull-only account:\n{}",
        run.stderr()
    );
    let stderr = run.stderr();
    assert!(stderr.contains("denied access to mirror/ns/app"), "{stderr}");
    assert!(!stderr.contains("refused the credentials"), "{stderr}");
    assert_eq!(dst.server.refusals(), 0, "{}", dst.server.describe());
    assert!(
        dst.tokens_issued() >= 1 && dst.push_tokens_issued() == 0,
        "{}",
        dst.server.describe()
    );
}
