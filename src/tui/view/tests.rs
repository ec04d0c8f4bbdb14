//! Screen snapshots: every screen drawn into a `TestBackend` at 80×24 and 120×40 (the real certified catalog also at
//! 200×50), compared with insta snapshots in `snapshots/` (digests and times filtered). Review changes with
//! `cargo insta review`, or run with `INSTA_UPDATE=always` and read the diff.

use std::io::Read as _;
use std::path::PathBuf;
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use crossterm::event::KeyCode;
use ratatui::backend::TestBackend;
use ratatui::style::Color;
use ratatui::Terminal;

use super::view;
use crate::catalog::listing::LoadedCatalog;
use crate::catalog::DeclarativeConfig;
use crate::events::Event;
use crate::image::Digest;
use crate::tui::model::*;
use crate::tui::msg::Msg;
use crate::tui::update::update;
use crate::tui::update_tests::{code, ctrl, empty_model, keys, loaded_model, model_with_catalog, t0};

/// The real certified-operators v4.16 catalog (see the test data's README), packed as `configs/<package>/catalog.yaml`.
const CERTIFIED: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../shared/testdata/fbc/large/certified-operators-v4.16.tar.gz"
);
/// The platforms of Red Hat's index images; each carries the same catalog.
const INDEX_PLATFORMS: [&str; 4] = ["linux/amd64", "linux/arm64", "linux/ppc64le", "linux/s390x"];

/// The certified catalog as the TUI sees it once loaded, read once per test binary. Without the test data it
/// panics: the tests that use it fail, they are not skipped.
fn certified_data() -> Arc<CatalogData> {
    static DATA: OnceLock<Arc<CatalogData>> = OnceLock::new();
    DATA.get_or_init(|| {
        let file = std::fs::File::open(CERTIFIED).unwrap_or_else(|e| panic!("{CERTIFIED}: {e}"));
        let mut archive = tar::Archive::new(flate2::read::GzDecoder::new(file));
        let mut files = Vec::new();
        for entry in archive.entries().unwrap() {
            let mut entry = entry.unwrap();
            if !entry.header().entry_type().is_file() {
                continue;
            }
            let path = entry.path().unwrap().into_owned();
            let path = path.strip_prefix("configs").map(PathBuf::from).unwrap_or(path);
            let mut bytes = Vec::new();
            entry.read_to_end(&mut bytes).unwrap();
            files.push((path, bytes));
        }
        let config = DeclarativeConfig::from_files(files).unwrap_or_else(|e| panic!("{CERTIFIED}: {e}"));
        let loaded = LoadedCatalog {
            name: "registry.redhat.io/redhat/certified-operator-index:v4.16".into(),
            digest: Digest::of_bytes(b"certified-operators-v4.16"),
            platforms: INDEX_PLATFORMS.iter().map(|p| (p.to_string(), 0)).collect(),
            contents: vec![config],
        };
        Arc::new(crate::tui::commands::catalog_data(&loaded))
    })
    .clone()
}

fn render(model: &Model, width: u16, height: u16) -> Terminal<TestBackend> {
    let mut terminal = Terminal::new(TestBackend::new(width, height)).unwrap();
    terminal.draw(|frame| view(model, frame)).unwrap();
    terminal
}

/// Snapshots the model at 80×24 and 120×40.
fn snap(name: &str, model: &Model) {
    snap_at(name, model, &[(80, 24), (120, 40)]);
}

/// Snapshots the model at each of `sizes`.
fn snap_at(name: &str, model: &Model, sizes: &[(u16, u16)]) {
    let mut settings = insta::Settings::clone_current();
    settings.add_filter(r"sha256:[0-9a-f]{64}", "sha256:[digest]");
    settings.add_filter(r"@[0-9a-f]{12}", "@[digest]");
    settings.add_filter(r"\b\d+(h\d\dm|m\d\ds|s)\b", "[time]");
    settings.set_prepend_module_to_snapshot(false);
    settings.bind(|| {
        for &(width, height) in sizes {
            let terminal = render(model, width, height);
            insta::assert_snapshot!(format!("{name}_{width}x{height}"), terminal.backend().to_string());
        }
    });
}

fn at(seconds: u64) -> std::time::Instant {
    t0() + Duration::from_secs(seconds)
}

fn with_selection() -> Model {
    let mut model = loaded_model();
    model.focus = Pane::Packages;
    keys(&mut model, " jj ");
    code(&mut model, KeyCode::Enter);
    keys(&mut model, "j ");
    code(&mut model, KeyCode::Enter);
    keys(&mut model, "jjmgM");
    model.focus = Pane::Platforms;
    keys(&mut model, " j ");
    model.focus = Pane::Packages;
    model
}

#[test]
fn operators_without_catalogs() {
    snap("operators_empty", &empty_model());
}

#[test]
fn operators_while_a_catalog_loads() {
    let mut model = empty_model();
    crate::tui::update::add_catalog(&mut model, "quay.io/redhat/redhat-operator-index:v4.18", "").unwrap();
    update(&mut model, Msg::Tick(at(3)));
    snap("operators_loading", &model);
    // The bytes read so far appear once the load reports them.
    let id = model.catalogs[0].id;
    update(
        &mut model,
        Msg::CatalogProgress {
            id,
            fetched: 12_900_000,
        },
    );
    let screen = render(&model, 120, 40).backend().to_string();
    assert!(screen.contains("12.3 MiB read"), "{screen}");
}

#[test]
fn operators_with_a_catalog_that_failed() {
    let mut model = loaded_model();
    crate::tui::update::add_catalog(&mut model, "quay.io/private/catalog:v1", "").unwrap();
    let id = model.catalogs[1].id;
    update(
        &mut model,
        Msg::CatalogLoaded {
            id,
            result: Err(crate::tui::commands::Hint::LogIn
                .explain("quay.io/private/catalog:v1: registry answered 401 Unauthorized")),
        },
    );
    snap("operators_failed", &model);
}

#[test]
fn operators_with_packages_selected() {
    snap("operators_selected", &with_selection());
}

#[test]
fn operators_while_filtering() {
    let mut model = with_selection();
    keys(&mut model, "/ba");
    snap("operators_filtering", &model);
}

#[test]
fn operators_with_no_filter_match() {
    let mut model = loaded_model();
    model.focus = Pane::Packages;
    keys(&mut model, "/nothing");
    code(&mut model, KeyCode::Enter);
    snap("operators_no_match", &model);
}

#[test]
fn operators_bundles_focused() {
    let mut model = with_selection();
    model.focus = Pane::Bundles;
    snap("operators_bundles", &model);
}

#[test]
fn operators_package_range() {
    let mut model = loaded_model();
    model.focus = Pane::Packages;
    keys(&mut model, "G"); // foo
    code(&mut model, KeyCode::Enter);
    keys(&mut model, "j"); // beta
    code(&mut model, KeyCode::Enter);
    keys(&mut model, "jjpgP");
    snap("operators_package_range", &model);
}

#[test]
fn operators_whole_catalog() {
    let mut model = loaded_model();
    keys(&mut model, " ");
    snap("operators_whole", &model);
}

/// The row of the packages pane that shows `name`, whole, on `screen`.
fn package_line<'a>(screen: &'a str, name: &str) -> Option<&'a str> {
    let whole = format!("[ ] {name}");
    screen.lines().find(|line| line.contains(&whole))
}

#[test]
fn the_longest_package_name_of_a_real_catalog_is_shown_whole() {
    let data = certified_data();
    let (at, longest) = data
        .packages
        .iter()
        .enumerate()
        .max_by_key(|(_, p)| p.name.chars().count())
        .map(|(at, p)| (at, p.name.clone()))
        .unwrap();
    assert_eq!(longest, "operator-certification-operator");
    let mut model = model_with_catalog("registry.redhat.io/redhat/certified-operator-index:v4.16", data);
    model.focus = Pane::Packages;
    model.catalog_mut().unwrap().package_cursor = at;
    snap_at("operators_certified", &model, &[(80, 24), (120, 40), (200, 50)]);

    for (width, height) in [(80, 24), (120, 40), (200, 50)] {
        let screen = render(&model, width, height).backend().to_string();
        let row = package_line(&screen, &longest).unwrap_or_else(|| panic!("{width}x{height}:\n{screen}"));
        // What a column gave way for is in the details below the list.
        for (column, detail) in [
            ("alpha", "default channel alpha"),
            ("1.6.0", "head 1.6.0"),
            ("amd64,arm64,ppc64le,s390x", "platforms amd64, arm64, ppc64le,"),
        ] {
            assert!(
                row.contains(column) || screen.contains(detail),
                "{width}x{height}: {column} is nowhere:\n{screen}"
            );
        }
    }
    let wide = render(&model, 200, 50).backend().to_string();
    let row = package_line(&wide, &longest).unwrap();
    assert!(
        row.contains("alpha") && row.contains("1.6.0") && row.contains("amd64,arm64,ppc64le,s390x"),
        "{row}"
    );
    let narrow = render(&model, 80, 24).backend().to_string();
    assert!(
        narrow.contains("default channel alpha") && narrow.contains("head 1.6.0"),
        "{narrow}"
    );

    // A filter typed is checked against whole names.
    keys(&mut model, "/certification");
    let screen = render(&model, 120, 40).backend().to_string();
    assert!(package_line(&screen, &longest).is_some(), "{screen}");
    assert!(screen.contains("1 shown of 46"), "{screen}");
}

#[test]
fn help_overlay() {
    let mut model = with_selection();
    keys(&mut model, "?");
    snap("help", &model);
}

#[test]
fn catalog_target_form() {
    let mut model = loaded_model();
    model.focus = Pane::Catalogs;
    keys(&mut model, "e");
    keys(&mut model, "mirror/index");
    snap("form_catalog_target", &model);
}

#[test]
fn add_catalog_form() {
    let mut model = loaded_model();
    keys(&mut model, "a");
    keys(
        &mut model,
        "docker://registry.redhat.io/redhat/certified-operator-index:v4.18",
    );
    snap("form_add_catalog", &model);
    code(&mut model, KeyCode::Tab);
    keys(&mut model, "/media");
    code(&mut model, KeyCode::Enter);
    snap("form_add_catalog_error", &model);
}

#[test]
fn quit_confirmation() {
    let mut model = with_selection();
    keys(&mut model, "q");
    snap("confirm_quit", &model);
}

#[test]
fn images_screen() {
    let mut model = empty_model();
    keys(&mut model, "2");
    snap("images_empty", &model);
    model.additional = vec![
        crate::config::AdditionalImage {
            name: "registry.redhat.io/ubi9/ubi:latest".into(),
            ..Default::default()
        },
        crate::config::AdditionalImage {
            name: "quay.io/app/web@sha256:1ce8c0187c8fe6b4be327dc848b8baf062ce1baa5096b4f5d955893d126d5b58".into(),
            target_repo: Some("mirror/web".into()),
            target_tag: Some("v1".into()),
            platforms: vec!["linux/arm64".parse().unwrap()],
        },
    ];
    model.blocked = vec![crate::config::BlockedImage {
        name: ".*/debug-.*".into(),
    }];
    model.helm.repositories = vec![crate::config::HelmRepository {
        name: "podinfo".into(),
        url: "https://stefanprodan.github.io/podinfo".into(),
        charts: vec![crate::config::HelmChart {
            name: "podinfo".into(),
            version: Some("6.9.0".into()),
            ..Default::default()
        }],
    }];
    model.helm.local = vec![crate::config::HelmChart {
        name: "app".into(),
        path: Some("./charts/app-1.0.0.tgz".into()),
        ..Default::default()
    }];
    snap("images", &model);
    keys(&mut model, "je");
    snap("form_edit_image", &model);
}

#[test]
fn releases_screen() {
    let mut model = empty_model();
    keys(&mut model, "3");
    snap("releases_empty", &model);
    keys(&mut model, "a");
    keys(&mut model, "stable-4.18");
    code(&mut model, KeyCode::Tab);
    code(&mut model, KeyCode::Tab);
    keys(&mut model, "4.18.1");
    code(&mut model, KeyCode::Enter);
    keys(&mut model, "j jj ");
    snap("releases", &model);
}

#[test]
fn preview_screen() {
    let mut model = with_selection();
    keys(&mut model, "4");
    snap("preview", &model);
    // Make it invalid: min above max.
    model.focus = Pane::Bundles;
    keys(&mut model, "gmjjM");
    keys(&mut model, "4");
    snap("preview_invalid", &model);
}

fn running_model() -> Model {
    let mut model = with_selection();
    keys(&mut model, "5");
    code(&mut model, KeyCode::Enter);
    let commands = code(&mut model, KeyCode::Enter);
    assert_eq!(commands.len(), 1, "{:?}", model.dialog);
    update(&mut model, Msg::Engine(Event::RunStarted { images: 12 }));
    for (index, name) in [
        "quay.io/oc-mirror/foo-bundle:v0.3.1",
        "quay.io/oc-mirror/bar-bundle:v1.0.0",
        "quay.io/oc-mirror/operator@sha256:1ce8c0187c8fe6b4be327dc848b8baf062ce1baa5096b4f5d955893d126d5b58",
    ]
    .iter()
    .enumerate()
    {
        update(
            &mut model,
            Msg::Engine(Event::ImageStarted {
                index,
                name: name.to_string(),
            }),
        );
    }
    for s in 1..=10 {
        update(&mut model, Msg::RunBytes(3 << 20));
        update(&mut model, Msg::Tick(at(s)));
    }
    update(
        &mut model,
        Msg::Engine(Event::ImageDone {
            index: 0,
            name: "quay.io/oc-mirror/foo-bundle:v0.3.1".into(),
            platforms: Vec::new(),
            outcome: crate::events::IndexOutcome::Complete,
            unchanged: false,
        }),
    );
    update(
        &mut model,
        Msg::Engine(Event::ImageFailed {
            index: 1,
            name: "quay.io/oc-mirror/bar-bundle:v1.0.0".into(),
            error: "manifest unknown".into(),
        }),
    );
    update(&mut model, Msg::Engine(Event::Info("collected 12 images".into())));
    update(
        &mut model,
        Msg::Engine(Event::Retrying {
            what: "blob sha256:abc".into(),
            attempt: 1,
            error: "503".into(),
        }),
    );
    model
}

#[test]
fn run_screen_before_a_run() {
    let mut model = with_selection();
    keys(&mut model, "5");
    snap("run_idle", &model);
    code(&mut model, KeyCode::Enter);
    snap("form_run", &model);
}

#[test]
fn run_screen_during_a_run() {
    snap("run_progress", &running_model());
}

#[test]
fn run_screen_after_a_run() {
    let mut model = running_model();
    update(
        &mut model,
        Msg::RunFinished(RunOutcome::Completed(RunResult {
            planned: 12,
            mirrored: 10,
            unchanged: 1,
            failed: 1,
            bytes: 30 << 20,
            elapsed: Duration::from_secs(10),
            dry_run: false,
            files: vec!["mirror/working-dir/cluster-resources/idms-oc-mirror.yaml".into()],
            errors_file: Some("mirror/working-dir/logs/mirroring_errors.txt".into()),
            exit_code: 4,
        })),
    );
    snap("run_done", &model);
}

#[test]
fn run_screen_after_cancelling() {
    let mut model = running_model();
    ctrl(&mut model, 'c');
    snap("run_cancelling", &model);
    update(&mut model, Msg::RunFinished(RunOutcome::Cancelled));
    keys(&mut model, "5");
    snap("run_cancelled", &model);
}

#[test]
fn a_tiny_terminal_gets_a_message_not_a_panic() {
    let model = with_selection();
    for (width, height) in [(0, 0), (1, 1), (20, 5), (39, 30), (80, 9)] {
        let terminal = render(&model, width, height);
        if width >= 20 {
            assert!(terminal.backend().to_string().contains("needs"), "{width}x{height}");
        }
    }
    // And every screen draws at in-between sizes without panicking.
    let mut model = running_model();
    for screen in ["1", "2", "3", "4", "5", "?"] {
        keys(&mut model, screen);
        for (width, height) in [(40, 10), (57, 13), (81, 25), (200, 60)] {
            render(&model, width, height);
        }
        model.dialog = None;
    }
}

#[test]
fn no_color_draws_without_colours() {
    let mut model = with_selection();
    let colored = |model: &Model| {
        let terminal = render(model, 120, 40);
        terminal
            .backend()
            .buffer()
            .content()
            .iter()
            .any(|cell| cell.fg != Color::Reset || cell.bg != Color::Reset)
    };
    assert!(!model.colors);
    for screen in ["1", "2", "3", "4", "5"] {
        keys(&mut model, screen);
        assert!(!colored(&model), "screen {screen} has colours with NO_COLOR");
    }
    model.colors = true;
    keys(&mut model, "1");
    assert!(colored(&model));
}

#[test]
fn releases_show_what_the_update_graph_resolves() {
    let mut model = empty_model();
    keys(&mut model, "3");
    model.releases.channels.push(crate::config::ReleaseChannel {
        name: "stable-4.16".into(),
        min_version: Some("4.16.1".into()),
        ..Default::default()
    });
    let versions: Vec<String> = (1..=12).map(|z| format!("4.16.{z}")).collect();
    model
        .resolved
        .insert("stable-4.16".into(), crate::tui::model::Resolved::Versions(versions));
    snap("releases_resolved", &model);
    model.resolved.insert(
        "stable-4.16".into(),
        crate::tui::model::Resolved::Failed("channel stable-4.16 (amd64): cannot fetch the update graph".into()),
    );
    snap("releases_unresolved", &model);
}
