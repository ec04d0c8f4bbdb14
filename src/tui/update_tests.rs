//! `update`, one interaction at a time: keys in, model and commands out. No terminal, no network.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use crossterm::event::{KeyCode, KeyEvent, KeyEventKind, KeyEventState, KeyModifiers};

use super::commands::Command;
use super::model::*;
use super::msg::{Msg, SaveError};
use super::update::update;
use crate::config::{parse_imageset, ImageSetConfiguration};
use crate::events::{Event, IndexOutcome};

pub(crate) const CATALOG: &str = "registry.example.com/redhat/test-catalog:v1";

fn bundle(name: &str, version: &str) -> BundleInfo {
    BundleInfo {
        name: name.into(),
        version: Some(version.into()),
    }
}

fn channel(name: &str, bundles: Vec<BundleInfo>) -> ChannelInfo {
    ChannelInfo {
        name: name.into(),
        head: bundles.first().map(|b| b.name.clone()),
        head_version: bundles.first().and_then(|b| b.version.clone()),
        bundles,
    }
}

/// The shape of oc-mirror's test catalogs: foo, bar, baz on three platforms; s390x lacks baz.
pub(crate) fn catalog_data() -> CatalogData {
    let all = vec!["linux/amd64".to_string(), "linux/arm64".into(), "linux/s390x".into()];
    CatalogData {
        digest: "sha256:1ce8c0187c8fe6b4be327dc848b8baf062ce1baa5096b4f5d955893d126d5b58".into(),
        platforms: all.clone(),
        packages: vec![
            PackageInfo {
                name: "bar".into(),
                default_channel: Some("stable".into()),
                head_version: Some("1.0.0".into()),
                platforms: all.clone(),
                architectures: vec!["amd64".into()],
                channels: vec![channel(
                    "stable",
                    vec![
                        bundle("bar.v1.0.0", "1.0.0"),
                        bundle("bar.v0.2.0", "0.2.0"),
                        bundle("bar.v0.1.0", "0.1.0"),
                    ],
                )],
            },
            PackageInfo {
                name: "baz".into(),
                default_channel: Some("stable".into()),
                head_version: Some("1.1.0".into()),
                platforms: all[..2].to_vec(),
                architectures: vec!["amd64".into(), "arm64".into()],
                channels: vec![channel(
                    "stable",
                    vec![
                        bundle("baz.v1.1.0", "1.1.0"),
                        bundle("baz.v1.0.1", "1.0.1"),
                        bundle("baz.v1.0.0", "1.0.0"),
                    ],
                )],
            },
            PackageInfo {
                name: "foo".into(),
                default_channel: Some("beta".into()),
                head_version: Some("0.3.1".into()),
                platforms: all,
                architectures: vec!["amd64".into(), "arm64".into(), "s390x".into()],
                channels: vec![
                    channel("alpha", vec![bundle("foo.v0.1.0", "0.1.0")]),
                    channel(
                        "beta",
                        vec![
                            bundle("foo.v0.3.1", "0.3.1"),
                            bundle("foo.v0.3.0", "0.3.0"),
                            bundle("foo.v0.2.0", "0.2.0"),
                            BundleInfo {
                                name: "foo.unversioned".into(),
                                version: None,
                            },
                        ],
                    ),
                ],
            },
        ],
    }
}

pub(crate) fn t0() -> Instant {
    static T0: std::sync::OnceLock<Instant> = std::sync::OnceLock::new();
    *T0.get_or_init(Instant::now)
}

pub(crate) fn empty_model() -> Model {
    let mut model = Model::new(
        ImageSetConfiguration::default(),
        PathBuf::from("imageset-config.yaml"),
        None,
        t0(),
    );
    model.colors = false;
    model
}

/// A model with one catalog, loaded.
pub(crate) fn loaded_model() -> Model {
    model_with_catalog(&format!("docker://{CATALOG}"), Arc::new(catalog_data()))
}

/// A model with the catalog `reference` added and loaded with `data`.
pub(crate) fn model_with_catalog(reference: &str, data: Arc<CatalogData>) -> Model {
    let mut model = empty_model();
    let commands = super::update::add_catalog(&mut model, reference, "").unwrap();
    let Command::LoadCatalog { id, .. } = commands[0].clone() else {
        panic!("{commands:?}")
    };
    update(&mut model, Msg::CatalogLoaded { id, result: Ok(data) });
    model
}

pub(crate) fn key_event(code: KeyCode, modifiers: KeyModifiers) -> KeyEvent {
    KeyEvent {
        code,
        modifiers,
        kind: KeyEventKind::Press,
        state: KeyEventState::NONE,
    }
}

pub(crate) fn code(model: &mut Model, code: KeyCode) -> Vec<Command> {
    update(model, Msg::Key(key_event(code, KeyModifiers::NONE)))
}

pub(crate) fn ctrl(model: &mut Model, c: char) -> Vec<Command> {
    update(model, Msg::Key(key_event(KeyCode::Char(c), KeyModifiers::CONTROL)))
}

/// Types each character as a key press.
pub(crate) fn keys(model: &mut Model, text: &str) -> Vec<Command> {
    text.chars().flat_map(|c| code(model, KeyCode::Char(c))).collect()
}

fn saved_isc(commands: &[Command]) -> ImageSetConfiguration {
    let [Command::Save { yaml, .. }] = commands else {
        panic!("expected one save: {commands:?}")
    };
    parse_imageset(yaml, Path::new("saved.yaml")).unwrap_or_else(|e| panic!("{e}\n{yaml}"))
}

fn package_names(model: &Model) -> Vec<String> {
    model
        .catalog()
        .unwrap()
        .operator
        .packages
        .iter()
        .map(|p| p.name.clone())
        .collect()
}

#[test]
fn catalogs_of_the_configuration_and_the_command_line_are_loaded_once_each() {
    let base = parse_imageset(
        &format!(
            "apiVersion: mirror.openshift.io/v2alpha1\nkind: ImageSetConfiguration\nmirror:\n  operators:\n  - catalog: {CATALOG}\n    packages:\n    - name: foo\n"
        ),
        Path::new("isc.yaml"),
    )
    .unwrap();
    let options = super::Options {
        catalogs: vec![format!("docker://{CATALOG}"), "oci:///tmp/layout".into()],
        output: "out.yaml".into(),
        ..super::Options::default()
    };
    let (model, commands) = super::init(&options, base, t0()).unwrap();
    let references: Vec<&str> = model.catalogs.iter().map(|c| c.operator.catalog.as_str()).collect();
    assert_eq!(references, [CATALOG, "oci:///tmp/layout"]);
    assert_eq!(commands.len(), 2);
    assert!(matches!(&commands[0], Command::LoadCatalog { reference, .. } if reference == CATALOG));
    assert!(model.catalogs.iter().all(CatalogEntry::is_loading));
    assert!(!model.is_dirty(), "a loaded configuration starts clean");
    let bad = super::Options {
        catalogs: vec!["not a reference".into()],
        ..super::Options::default()
    };
    assert!(super::init(&bad, ImageSetConfiguration::default(), t0()).is_err());
}

#[test]
fn load_results_fill_the_catalog_or_show_the_error() {
    let mut model = loaded_model();
    assert_eq!(model.catalog().unwrap().data().unwrap().packages.len(), 3);
    assert_eq!(model.status.kind, StatusKind::Success);
    let commands = super::update::add_catalog(&mut model, "quay.io/private/catalog:v1", "").unwrap();
    let Command::LoadCatalog { id, .. } = commands[0].clone() else {
        panic!()
    };
    update(
        &mut model,
        Msg::CatalogLoaded {
            id,
            result: Err("401 Unauthorized\n  help: log in".into()),
        },
    );
    assert!(matches!(&model.catalogs[1].load, LoadState::Failed(e) if e.contains("401")));
    assert_eq!(model.status.kind, StatusKind::Error);
    // A result for a catalog removed meanwhile is ignored.
    update(
        &mut model,
        Msg::CatalogLoaded {
            id: 999,
            result: Err("late".into()),
        },
    );
    // `r` loads it again.
    model.catalog_cursor = 1;
    let commands = code(&mut model, KeyCode::Char('r'));
    assert!(matches!(&commands[..], [Command::LoadCatalog { id: i, .. }] if *i == id));
    assert!(model.catalogs[1].is_loading());
    assert!(
        code(&mut model, KeyCode::Char('r')).is_empty(),
        "no second load while loading"
    );
}

#[test]
fn arrows_and_jk_move_within_bounds() {
    let mut model = loaded_model();
    code(&mut model, KeyCode::Enter);
    assert_eq!(model.focus, Pane::Packages);
    keys(&mut model, "j");
    assert_eq!(model.catalog().unwrap().package_cursor, 1);
    code(&mut model, KeyCode::Down);
    code(&mut model, KeyCode::Down);
    assert_eq!(model.catalog().unwrap().package_cursor, 2, "stops at the last row");
    keys(&mut model, "k");
    code(&mut model, KeyCode::Up);
    code(&mut model, KeyCode::Up);
    assert_eq!(model.catalog().unwrap().package_cursor, 0);
    keys(&mut model, "G");
    assert_eq!(model.catalog().unwrap().package_cursor, 2);
    code(&mut model, KeyCode::Home);
    assert_eq!(model.catalog().unwrap().package_cursor, 0);
    code(&mut model, KeyCode::PageDown);
    assert_eq!(model.catalog().unwrap().package_cursor, 2);
}

#[test]
fn tab_and_shift_tab_cycle_panes_and_digits_jump_to_screens() {
    let mut model = loaded_model();
    let mut seen = vec![model.focus];
    for _ in 0..Pane::ORDER.len() {
        code(&mut model, KeyCode::Tab);
        seen.push(model.focus);
    }
    assert_eq!(&seen[..Pane::ORDER.len()], Pane::ORDER);
    assert_eq!(model.focus, Pane::Catalogs, "wraps around");
    code(&mut model, KeyCode::BackTab);
    assert_eq!(model.focus, Pane::Run);
    keys(&mut model, "2");
    assert_eq!(model.screen(), Screen::Images);
    keys(&mut model, "4");
    assert_eq!(model.focus, Pane::Preview);
    keys(&mut model, "1");
    assert_eq!(model.focus, Pane::Catalogs);
}

#[test]
fn enter_opens_and_esc_backs_out() {
    let mut model = loaded_model();
    code(&mut model, KeyCode::Enter);
    assert_eq!(model.focus, Pane::Packages);
    code(&mut model, KeyCode::Enter);
    assert_eq!(model.focus, Pane::Channels);
    code(&mut model, KeyCode::Enter);
    assert_eq!(model.focus, Pane::Bundles);
    code(&mut model, KeyCode::Esc);
    assert_eq!(model.focus, Pane::Channels);
    code(&mut model, KeyCode::Esc);
    assert_eq!(model.focus, Pane::Packages);
    code(&mut model, KeyCode::Esc);
    assert_eq!(model.focus, Pane::Catalogs);
}

#[test]
fn slash_filters_as_you_type() {
    let mut model = loaded_model();
    code(&mut model, KeyCode::Enter);
    keys(&mut model, "/ba");
    assert!(model.filtering);
    let names = |m: &Model| -> Vec<String> {
        m.catalog()
            .unwrap()
            .package_rows()
            .iter()
            .map(|r| r.name.to_string())
            .collect()
    };
    assert_eq!(names(&model), ["bar", "baz"]);
    keys(&mut model, "Z");
    assert_eq!(names(&model), ["baz"], "case-insensitive");
    code(&mut model, KeyCode::Backspace);
    code(&mut model, KeyCode::Down);
    assert_eq!(model.catalog().unwrap().focused_package().unwrap().name, "baz");
    // `q` and `j` are text while filtering.
    keys(&mut model, "q");
    assert!(!model.quit);
    assert!(names(&model).is_empty());
    code(&mut model, KeyCode::Backspace);
    code(&mut model, KeyCode::Enter);
    assert!(!model.filtering);
    assert_eq!(model.catalog().unwrap().filter, "ba", "enter keeps the filter");
    code(&mut model, KeyCode::Esc);
    assert_eq!(model.catalog().unwrap().filter, "", "esc clears a kept filter");
    assert_eq!(model.focus, Pane::Packages);
    keys(&mut model, "/fo");
    code(&mut model, KeyCode::Esc);
    assert!(!model.filtering);
    assert_eq!(names(&model).len(), 3);
}

#[test]
fn space_selects_packages_and_a_reselected_package_keeps_its_channels() {
    let mut model = loaded_model();
    code(&mut model, KeyCode::Enter);
    keys(&mut model, "/foo");
    code(&mut model, KeyCode::Char(' '));
    assert!(model.filtering, "space selects without leaving the filter");
    assert_eq!(package_names(&model), ["foo"]);
    assert!(model.is_dirty());
    code(&mut model, KeyCode::Enter);
    code(&mut model, KeyCode::Enter);
    code(&mut model, KeyCode::Char(' '));
    assert_eq!(model.catalog().unwrap().operator.packages[0].channels[0].name, "alpha");
    code(&mut model, KeyCode::Esc);
    code(&mut model, KeyCode::Char(' '));
    assert!(package_names(&model).is_empty());
    assert!(!model.is_dirty(), "back to what was saved");
    code(&mut model, KeyCode::Char(' '));
    assert_eq!(model.catalog().unwrap().operator.packages[0].channels[0].name, "alpha");
    let isc = model.isc();
    assert_eq!(isc.spec.mirror.operators[0].catalog, CATALOG);
}

/// The loaded model with the bundles of foo's beta channel focused (0.3.1, 0.3.0, 0.2.0, unversioned), by keys.
fn foo_beta_bundles() -> Model {
    let mut model = loaded_model();
    code(&mut model, KeyCode::Enter);
    keys(&mut model, "G"); // foo
    code(&mut model, KeyCode::Enter);
    keys(&mut model, "j"); // beta
    code(&mut model, KeyCode::Enter);
    assert_eq!(model.focus, Pane::Bundles);
    model
}

#[test]
fn channels_are_selected_and_bundles_set_the_version_range() {
    let mut model = foo_beta_bundles();
    keys(&mut model, "jj"); // 0.2.0
    keys(&mut model, "m");
    keys(&mut model, "k"); // 0.3.0
    keys(&mut model, "M");
    let package = &model.catalog().unwrap().operator.packages[0];
    assert_eq!(package.name, "foo", "m selected the package");
    assert_eq!(package.channels.len(), 1);
    assert_eq!(package.channels[0].name, "beta", "and the channel");
    assert_eq!(package.channels[0].min_version.as_deref(), Some("0.2.0"));
    assert_eq!(package.channels[0].max_version.as_deref(), Some("0.3.0"));
    // Max below min: allowed in the editor, flagged at once.
    keys(&mut model, "jm");
    keys(&mut model, "jjm");
    assert_eq!(model.status.kind, StatusKind::Warning, "{:?}", model.status);
    assert_eq!(
        model.catalog().unwrap().operator.packages[0].channels[0]
            .min_version
            .as_deref(),
        Some("0.2.0"),
        "a bundle without version does not bound a range"
    );
    keys(&mut model, "kM");
    keys(&mut model, "c");
    let channel = &model.catalog().unwrap().operator.packages[0].channels[0];
    assert_eq!(
        (channel.min_version.as_ref(), channel.max_version.as_ref()),
        (None, None)
    );
    // space in Channels deselects it.
    code(&mut model, KeyCode::Esc);
    code(&mut model, KeyCode::Char(' '));
    assert!(model.catalog().unwrap().operator.packages[0].channels.is_empty());
}

#[test]
fn p_and_shift_p_set_the_package_range_which_does_not_mix_with_channel_ranges() {
    let mut model = foo_beta_bundles();
    keys(&mut model, "jjp"); // 0.2.0
    keys(&mut model, "gP"); // 0.3.1
    let package = &model.catalog().unwrap().operator.packages[0];
    assert_eq!(package.name, "foo", "p selected the package");
    assert!(
        package.channels.is_empty(),
        "but no channel: the range applies to every channel"
    );
    assert_eq!(package.min_version.as_deref(), Some("0.2.0"));
    assert_eq!(package.max_version.as_deref(), Some("0.3.1"));
    assert_eq!(model.status.kind, StatusKind::Info, "{:?}", model.status);
    let isc = saved_isc(&ctrl(&mut model, 's'));
    let saved = &isc.spec.mirror.operators[0].packages[0];
    assert_eq!(
        (saved.min_version.as_deref(), saved.max_version.as_deref()),
        (Some("0.2.0"), Some("0.3.1"))
    );
    assert!(isc.check().is_empty(), "{:?}", isc.check());

    // A channel range is refused while the package has one, and nothing changes.
    keys(&mut model, "m");
    assert_eq!(model.status.kind, StatusKind::Warning, "{:?}", model.status);
    assert!(model.status.text.contains("clear it with c"), "{}", model.status.text);
    assert!(model.catalog().unwrap().operator.packages[0].channels.is_empty());

    // c clears the package range; then a channel range is fine, and a package range is refused.
    keys(&mut model, "c");
    let package = &model.catalog().unwrap().operator.packages[0];
    assert_eq!(
        (package.min_version.as_ref(), package.max_version.as_ref()),
        (None, None)
    );
    keys(&mut model, "m");
    assert_eq!(
        model.catalog().unwrap().operator.packages[0].channels[0]
            .min_version
            .as_deref(),
        Some("0.3.1")
    );
    keys(&mut model, "P");
    assert_eq!(model.status.kind, StatusKind::Warning, "{:?}", model.status);
    assert!(model.status.text.contains("channel beta"), "{}", model.status.text);
    assert_eq!(model.catalog().unwrap().operator.packages[0].max_version, None);

    // min above max in the package range: allowed in the editor, flagged at once and by validation.
    keys(&mut model, "c");
    keys(&mut model, "gp");
    keys(&mut model, "jjP");
    assert_eq!(model.status.kind, StatusKind::Warning, "{:?}", model.status);
    assert!(
        model.status.text.contains("minVersion is above maxVersion"),
        "{}",
        model.status.text
    );
}

#[test]
fn platforms_are_checkboxes_in_index_order() {
    let mut model = loaded_model();
    model.focus = Pane::Platforms;
    let rows = model.catalog().unwrap().platform_rows();
    assert_eq!(
        rows.iter().map(|r| r.name.as_str()).collect::<Vec<_>>(),
        ["linux/amd64", "linux/arm64", "linux/s390x"]
    );
    keys(&mut model, "jj ");
    keys(&mut model, "gj ");
    let platforms: Vec<String> = model
        .catalog()
        .unwrap()
        .operator
        .platforms
        .iter()
        .map(ToString::to_string)
        .collect();
    assert_eq!(platforms, ["linux/arm64", "linux/s390x"]);
    keys(&mut model, " ");
    assert_eq!(model.catalog().unwrap().operator.platforms.len(), 1);
    // A catalog with no packages selected stays out of the configuration, platforms or not.
    assert!(model.isc().spec.mirror.operators.is_empty());
    model.focus = Pane::Packages;
    keys(&mut model, " ");
    let isc = model.isc();
    assert_eq!(isc.spec.mirror.operators[0].platforms[0].to_string(), "linux/s390x");
}

#[test]
fn space_on_a_catalog_mirrors_it_whole_and_back() {
    let mut model = loaded_model();
    model.focus = Pane::Packages;
    keys(&mut model, " j ");
    assert_eq!(package_names(&model), ["bar", "baz"]);
    model.focus = Pane::Catalogs;
    keys(&mut model, " ");
    let catalog = model.catalog().unwrap();
    assert!(catalog.whole && catalog.operator.packages.is_empty());
    assert_eq!(
        model.isc().spec.mirror.operators.len(),
        1,
        "in the configuration without packages"
    );
    keys(&mut model, " ");
    assert_eq!(package_names(&model), ["bar", "baz"], "the selection comes back");
    keys(&mut model, " ");
    model.focus = Pane::Packages;
    keys(&mut model, "G ");
    assert!(
        !model.catalog().unwrap().whole,
        "selecting a package ends whole-catalog mode"
    );
    assert_eq!(package_names(&model), ["foo"]);
}

#[test]
fn ctrl_s_saves_a_configuration_that_round_trips() {
    let mut model = loaded_model();
    model.focus = Pane::Packages;
    keys(&mut model, "j ");
    model.focus = Pane::Platforms;
    keys(&mut model, "j ");
    let commands = ctrl(&mut model, 's');
    let isc = saved_isc(&commands);
    assert_eq!(isc, model.isc());
    assert_eq!(isc.spec.mirror.operators[0].packages[0].name, "baz");
    assert_eq!(isc.spec.mirror.operators[0].platforms[0].to_string(), "linux/arm64");
    assert!(isc.check().is_empty());
    let [Command::Save { path, yaml }] = &commands[..] else {
        panic!()
    };
    assert_eq!(path, Path::new("imageset-config.yaml"));
    assert!(model.is_dirty());
    update(
        &mut model,
        Msg::Saved {
            path: path.clone(),
            yaml: yaml.clone(),
            result: Ok(()),
        },
    );
    assert!(!model.is_dirty());
    assert_eq!(model.status.kind, StatusKind::Success);
    keys(&mut model, "q");
    assert!(model.quit, "nothing unsaved: q quits at once");
}

#[test]
fn an_invalid_configuration_is_not_saved() {
    let mut model = loaded_model();
    model.focus = Pane::Bundles;
    model.catalog_mut().unwrap().package_cursor = 2; // foo
    model.catalog_mut().unwrap().channel_cursor = 1; // beta: 0.3.1, 0.3.0, 0.2.0, unversioned
    keys(&mut model, "gM");
    keys(&mut model, "jjm"); // min 0.2.0 < max 0.3.1: fine
    assert!(saved_isc(&ctrl(&mut model, 's')).check().is_empty());
    keys(&mut model, "gm");
    keys(&mut model, "jjM"); // min 0.3.1 > max 0.2.0
    assert!(ctrl(&mut model, 's').is_empty());
    assert_eq!(model.status.kind, StatusKind::Error);
    assert!(model.status.text.contains("minVersion"), "{}", model.status.text);
    assert_eq!(model.focus, Pane::Preview, "the preview lists the problems");
}

#[test]
fn a_failed_save_keeps_the_changes_unsaved() {
    let mut model = loaded_model();
    model.focus = Pane::Packages;
    keys(&mut model, " ");
    let commands = ctrl(&mut model, 's');
    let [Command::Save { path, yaml }] = &commands[..] else {
        panic!()
    };
    update(
        &mut model,
        Msg::Saved {
            path: path.clone(),
            yaml: yaml.clone(),
            result: Err(SaveError {
                path: path.clone(),
                source: Arc::new(std::io::Error::from(std::io::ErrorKind::PermissionDenied)),
            }),
        },
    );
    assert!(model.is_dirty());
    assert_eq!(model.status.kind, StatusKind::Error);
}

#[test]
fn q_asks_before_dropping_unsaved_changes() {
    let mut model = loaded_model();
    model.focus = Pane::Packages;
    keys(&mut model, " q");
    assert_eq!(model.dialog, Some(Dialog::ConfirmQuit));
    assert!(!model.quit);
    keys(&mut model, "x");
    assert_eq!(model.dialog, Some(Dialog::ConfirmQuit), "other keys keep asking");
    keys(&mut model, "n");
    assert_eq!(model.dialog, None);
    keys(&mut model, "q");
    code(&mut model, KeyCode::Esc);
    assert!(!model.quit);
    keys(&mut model, "qy");
    assert!(model.quit);

    // `s`: save, then quit once the save succeeded.
    let mut model = loaded_model();
    model.focus = Pane::Packages;
    keys(&mut model, " q");
    let commands = keys(&mut model, "s");
    let [Command::Save { path, yaml }] = &commands[..] else {
        panic!("{commands:?}")
    };
    assert!(!model.quit);
    update(
        &mut model,
        Msg::Saved {
            path: path.clone(),
            yaml: yaml.clone(),
            result: Ok(()),
        },
    );
    assert!(model.quit);

    // ctrl-c outside a run is quit too.
    let mut model = loaded_model();
    ctrl(&mut model, 'c');
    assert!(model.quit);
}

#[test]
fn question_mark_shows_every_key_and_esc_closes_it() {
    let mut model = loaded_model();
    keys(&mut model, "?");
    assert_eq!(model.dialog, Some(Dialog::Help { scroll: 0 }));
    keys(&mut model, "jj");
    assert_eq!(model.dialog, Some(Dialog::Help { scroll: 2 }));
    keys(&mut model, "q");
    assert_eq!(model.dialog, None);
    assert!(!model.quit, "q closes the help, it does not quit");
    keys(&mut model, "?");
    code(&mut model, KeyCode::Esc);
    assert_eq!(model.dialog, None);
    for key in [
        "tab",
        "shift-tab",
        "enter",
        "space",
        "esc",
        "ctrl-s",
        "ctrl-c",
        "/",
        "?",
        "q",
        "j k",
    ] {
        assert!(
            super::view::help::LINES.iter().any(|(k, _)| k.contains(key)),
            "the help lists {key}"
        );
    }
}

#[test]
fn a_adds_a_catalog_by_reference() {
    let mut model = empty_model();
    keys(&mut model, "a");
    assert!(matches!(&model.dialog, Some(Dialog::Form(f)) if f.kind == FormKind::AddCatalog));
    keys(&mut model, "not a ref");
    assert!(code(&mut model, KeyCode::Enter).is_empty());
    let Some(Dialog::Form(form)) = &model.dialog else {
        panic!()
    };
    assert!(form.error.is_some(), "the form stays open with the error");
    ctrl(&mut model, 'u');
    update(&mut model, Msg::Paste("docker://quay.io/redhat/catalog:v4.18\n".into()));
    code(&mut model, KeyCode::Tab);
    keys(&mut model, "/tmp/x");
    let commands = code(&mut model, KeyCode::Enter);
    let Some(Dialog::Form(form)) = &model.dialog else {
        panic!("archive must be file://")
    };
    assert!(form.error.as_deref().unwrap().contains("file://DIR"));
    assert!(commands.is_empty());
    ctrl(&mut model, 'u');
    let commands = code(&mut model, KeyCode::Enter);
    assert_eq!(model.dialog, None);
    assert!(
        matches!(&commands[..], [Command::LoadCatalog { reference, from: None, .. }] if reference == "quay.io/redhat/catalog:v4.18")
    );
    assert_eq!(model.catalogs.len(), 1);
    assert!(
        model.isc().spec.mirror.operators.is_empty(),
        "not in the configuration before a selection"
    );
    // The same catalog again: refused.
    keys(&mut model, "a");
    keys(&mut model, "quay.io/redhat/catalog:v4.18");
    code(&mut model, KeyCode::Enter);
    assert!(
        matches!(&model.dialog, Some(Dialog::Form(f)) if f.error.as_deref().is_some_and(|e| e.contains("already")))
    );
    code(&mut model, KeyCode::Esc);
    assert_eq!(model.dialog, None);
    // From an archive, and an OCI layout.
    keys(&mut model, "a");
    keys(&mut model, "registry.redhat.io/redhat/redhat-operator-index:v4.18");
    code(&mut model, KeyCode::Down);
    keys(&mut model, "file:///media/usb");
    let commands = code(&mut model, KeyCode::Enter);
    assert!(matches!(&commands[..], [Command::LoadCatalog { from: Some(f), .. }] if f == "file:///media/usb"));
    keys(&mut model, "a");
    keys(&mut model, "oci:///srv/catalog");
    let commands = code(&mut model, KeyCode::Enter);
    assert!(matches!(&commands[..], [Command::LoadCatalog { reference, .. }] if reference == "oci:///srv/catalog"));
    assert_eq!(model.catalog_cursor, 2);
    // d removes the focused one.
    keys(&mut model, "d");
    assert_eq!(model.catalogs.len(), 2);
}

#[test]
fn additional_images_are_added_edited_and_deleted() {
    let mut model = empty_model();
    keys(&mut model, "2");
    assert_eq!(model.focus, Pane::Images);
    keys(&mut model, "a");
    keys(&mut model, "quay.io/app/web:1.0");
    code(&mut model, KeyCode::Tab);
    code(&mut model, KeyCode::Tab);
    code(&mut model, KeyCode::Tab);
    keys(&mut model, "linux/arm64, bogus");
    code(&mut model, KeyCode::Enter);
    let Some(Dialog::Form(form)) = &model.dialog else {
        panic!()
    };
    assert!(form.error.as_deref().unwrap().contains("bogus"));
    for _ in 0..", bogus".len() {
        code(&mut model, KeyCode::Backspace);
    }
    code(&mut model, KeyCode::Enter);
    assert_eq!(model.additional.len(), 1);
    assert_eq!(model.additional[0].platforms[0].to_string(), "linux/arm64");
    code(&mut model, KeyCode::Enter);
    code(&mut model, KeyCode::Tab);
    keys(&mut model, "mirror/web");
    code(&mut model, KeyCode::Enter);
    assert_eq!(model.additional[0].target_repo.as_deref(), Some("mirror/web"));
    assert_eq!(
        model.additional[0].name, "quay.io/app/web:1.0",
        "editing keeps the other fields"
    );
    keys(&mut model, "a");
    keys(
        &mut model,
        "quay.io/app/db@sha256:1ce8c0187c8fe6b4be327dc848b8baf062ce1baa5096b4f5d955893d126d5b58",
    );
    code(&mut model, KeyCode::Enter);
    assert_eq!(model.image_cursor, 1);
    let isc = saved_isc(&ctrl(&mut model, 's'));
    assert_eq!(isc.spec.mirror.additional_images.len(), 2);
    keys(&mut model, "kd");
    assert_eq!(model.additional.len(), 1);
    assert!(model.additional[0].name.contains("db@sha256"));
}

#[test]
fn release_channels_and_architectures_are_edited() {
    let mut model = empty_model();
    keys(&mut model, "3a");
    keys(&mut model, "stable-4.18");
    code(&mut model, KeyCode::Tab);
    code(&mut model, KeyCode::Right); // okd
    code(&mut model, KeyCode::Tab);
    keys(&mut model, "4.18.x");
    code(&mut model, KeyCode::Enter);
    let Some(Dialog::Form(form)) = &model.dialog else {
        panic!()
    };
    assert!(form.error.as_deref().unwrap().contains("4.18.x"));
    code(&mut model, KeyCode::Backspace);
    keys(&mut model, "3");
    code(&mut model, KeyCode::Enter);
    let channel = &model.releases.channels[0];
    assert_eq!(channel.name, "stable-4.18");
    assert_eq!(channel.channel_type, crate::config::ChannelType::Okd);
    assert_eq!(channel.min_version.as_deref(), Some("4.18.3"));
    // Architectures follow the channels in the list.
    keys(&mut model, "j ");
    keys(&mut model, "j ");
    assert_eq!(model.releases.architectures, ["amd64", "arm64"]);
    keys(&mut model, "k ");
    assert_eq!(model.releases.architectures, ["arm64"]);
    keys(&mut model, "g");
    code(&mut model, KeyCode::Enter);
    for _ in 0..4 {
        code(&mut model, KeyCode::Tab);
    }
    code(&mut model, KeyCode::Char(' ')); // full: yes
    code(&mut model, KeyCode::Enter);
    assert!(model.releases.channels[0].full);
    assert_eq!(model.releases.channels[0].min_version.as_deref(), Some("4.18.3"));
    let isc = saved_isc(&ctrl(&mut model, 's'));
    assert_eq!(isc.spec.mirror.platform.channels.len(), 1);
    keys(&mut model, "d");
    assert!(model.releases.channels.is_empty());
}

#[test]
fn fields_of_a_loaded_configuration_that_the_tui_does_not_edit_are_kept() {
    let text = format!(
        "kind: ImageSetConfiguration
apiVersion: mirror.openshift.io/v2alpha1
archiveSize: 8
mirror:
  platform:
    graph: true
    channels:
    - name: stable-4.16
      minVersion: 4.16.1
      maxVersion: 4.16.4
  operators:
  - catalog: {CATALOG}
    targetCatalog: mirror/catalog
    targetTag: v1-filtered
    skipDependencies: true
    packages:
    - name: foo
      defaultChannel: alpha
      channels:
      - name: alpha
        minVersion: 0.1.0
    - name: gone-from-catalog
  - catalog: quay.io/other/catalog:v2
  additionalImages:
  - name: quay.io/app/web:1.0
    targetTag: pinned
    platforms: [linux/arm64]
  helm:
    repositories:
    - name: podinfo
      url: https://stefanprodan.github.io/podinfo
      charts:
      - name: podinfo
        version: 5.0.0
  blockedImages:
  - name: ^quay\\.io/bad/
"
    );
    let base = parse_imageset(&text, Path::new("isc.yaml")).unwrap();
    let mut model = Model::new(base.clone(), "out.yaml".into(), None, t0());
    assert!(model.catalogs[1].whole, "a catalog without packages is mirrored whole");
    let id = model.catalogs[0].id;
    update(
        &mut model,
        Msg::CatalogLoaded {
            id,
            result: Ok(Arc::new(catalog_data())),
        },
    );
    // The package missing from the catalog is listed, selected, after the catalog's packages.
    let rows = model.catalog().unwrap().package_rows();
    let names: Vec<&str> = rows.iter().map(|r| r.name).collect();
    assert_eq!(names, ["bar", "baz", "foo", "gone-from-catalog"]);
    assert!(rows[3].selected && rows[3].info.is_none());
    // Select bar; every other field survives.
    model.focus = Pane::Packages;
    keys(&mut model, " ");
    let saved = saved_isc(&ctrl(&mut model, 's'));
    let mut expected = base;
    expected.spec.mirror.operators[0].packages.push(crate::config::Package {
        name: "bar".into(),
        ..Default::default()
    });
    assert_eq!(saved, expected);
}

#[test]
fn a_run_is_started_followed_and_cancelled() {
    let mut model = loaded_model();
    keys(&mut model, "5");
    assert_eq!(model.focus, Pane::Run);
    code(&mut model, KeyCode::Enter);
    // Nothing selected yet.
    let commands = code(&mut model, KeyCode::Enter);
    assert!(commands.is_empty());
    let Some(Dialog::Form(form)) = &model.dialog else {
        panic!()
    };
    assert!(form.error.as_deref().unwrap().contains("nothing selected"));
    code(&mut model, KeyCode::Esc);
    keys(&mut model, "1");
    model.focus = Pane::Packages;
    keys(&mut model, " 5");
    code(&mut model, KeyCode::Enter);
    code(&mut model, KeyCode::Right); // mirror-to-disk
    code(&mut model, KeyCode::Right); // mirror-to-mirror
    code(&mut model, KeyCode::Enter);
    let Some(Dialog::Form(form)) = &model.dialog else {
        panic!()
    };
    assert!(form.error.as_deref().unwrap().contains("docker://"), "{form:?}");
    code(&mut model, KeyCode::Down);
    ctrl(&mut model, 'u');
    keys(&mut model, "docker://localhost:5000/mirror");
    code(&mut model, KeyCode::Down);
    code(&mut model, KeyCode::Down);
    code(&mut model, KeyCode::Left); // tls verify: no
    let commands = code(&mut model, KeyCode::Enter);
    let [Command::StartRun { yaml, settings }] = &commands[..] else {
        panic!("{commands:?}")
    };
    assert_eq!(settings.mode, RunMode::MirrorToMirror);
    assert!(!settings.dest_tls_verify);
    assert!(yaml.contains("name: bar"));
    assert!(model.running());

    let t = |s: u64| t0() + Duration::from_secs(s);
    update(&mut model, Msg::Engine(Event::RunStarted { images: 4 }));
    update(
        &mut model,
        Msg::Engine(Event::ImageStarted {
            index: 0,
            name: "quay.io/a:1".into(),
        }),
    );
    update(
        &mut model,
        Msg::Engine(Event::ImageStarted {
            index: 1,
            name: "quay.io/b:1".into(),
        }),
    );
    update(&mut model, Msg::RunBytes(4 << 20));
    update(&mut model, Msg::Tick(t(2)));
    update(&mut model, Msg::Engine(Event::BlobCopied { size: 4 << 20 }));
    update(
        &mut model,
        Msg::Engine(Event::ImageDone {
            index: 0,
            name: "quay.io/a:1".into(),
            platforms: Vec::new(),
            outcome: IndexOutcome::Complete,
            unchanged: false,
        }),
    );
    update(
        &mut model,
        Msg::Engine(Event::ImageFailed {
            index: 1,
            name: "quay.io/b:1".into(),
            error: "manifest unknown".into(),
        }),
    );
    let run = model.run.as_ref().unwrap();
    assert_eq!((run.images_total, run.images_done, run.images_failed), (4, 1, 1));
    assert_eq!(run.bytes, 4 << 20);
    assert!(run.current.is_empty());
    assert_eq!(run.errors, ["quay.io/b:1: manifest unknown"]);
    assert_eq!(run.rate(), (4 << 20) as f64 / 2.0);
    assert_eq!(run.eta(t(2)), Some(Duration::from_secs(2)));

    // q does not quit during a run; ctrl-c cancels, once.
    keys(&mut model, "q");
    assert!(!model.quit);
    assert_eq!(ctrl(&mut model, 'c'), [Command::CancelRun]);
    assert!(ctrl(&mut model, 'c').is_empty());
    assert!(model.run.as_ref().unwrap().cancelling);
    update(&mut model, Msg::RunFinished(RunOutcome::Cancelled));
    assert!(!model.running());
    assert_eq!(model.focus, Pane::Catalogs, "back to the editor");
    assert_eq!(model.status.kind, StatusKind::Warning);
    keys(&mut model, "5");
    let commands = code(&mut model, KeyCode::Enter);
    assert!(commands.is_empty());
    assert!(
        matches!(&model.dialog, Some(Dialog::Form(f)) if f.value(FieldId::Destination) == "docker://localhost:5000/mirror"),
        "the settings are remembered"
    );
}

#[test]
fn a_finished_run_reports_its_summary() {
    let mut model = loaded_model();
    model.focus = Pane::Packages;
    keys(&mut model, " 5");
    code(&mut model, KeyCode::Enter);
    let commands = code(&mut model, KeyCode::Enter);
    let [Command::StartRun { settings, .. }] = &commands[..] else {
        panic!("{:?}", model.dialog)
    };
    assert_eq!(settings.mode, RunMode::DryRun);
    update(
        &mut model,
        Msg::RunFinished(RunOutcome::Completed(RunResult {
            planned: 3,
            dry_run: true,
            ..RunResult::default()
        })),
    );
    assert_eq!(model.status.kind, StatusKind::Success);
    assert_eq!(model.focus, Pane::Run, "the summary stays in view");
    update(&mut model, Msg::RunFinished(RunOutcome::Failed("boom".into())));
    assert_eq!(model.status.kind, StatusKind::Error);
}

#[test]
fn key_releases_and_resizes_change_nothing() {
    let mut model = loaded_model();
    let mut release = key_event(KeyCode::Char('q'), KeyModifiers::NONE);
    release.kind = KeyEventKind::Release;
    assert!(update(&mut model, Msg::Key(release)).is_empty());
    assert!(update(&mut model, Msg::Resize).is_empty());
    assert!(!model.quit);
}

#[test]
fn ticks_advance_the_clock_and_keep_a_short_rate_window() {
    let mut model = loaded_model();
    model.run = Some(RunProgress::new(RunSettings::default(), t0()));
    for s in 1..=20 {
        update(&mut model, Msg::RunBytes(1000));
        update(&mut model, Msg::Tick(t0() + Duration::from_secs(s)));
    }
    assert_eq!(model.now, t0() + Duration::from_secs(20));
    let run = model.run.as_ref().unwrap();
    assert!(run.samples.len() <= 7, "{}", run.samples.len());
    assert!((run.rate() - 1000.0).abs() < 1.0);
}

#[test]
fn slash_in_any_operators_pane_filters_packages_and_tab_leaves_the_filter() {
    let mut model = loaded_model();
    assert_eq!(model.focus, Pane::Catalogs);
    keys(&mut model, "/foo");
    assert_eq!(model.focus, Pane::Packages);
    assert!(model.filtering);
    assert_eq!(model.catalog().unwrap().package_rows().len(), 1);
    code(&mut model, KeyCode::Char(' '));
    let commands = ctrl(&mut model, 's');
    assert_eq!(commands.len(), 1, "ctrl-s saves while filtering");
    code(&mut model, KeyCode::Tab);
    assert!(!model.filtering);
    assert_eq!(model.focus, Pane::Channels);
    assert_eq!(model.catalog().unwrap().filter, "foo");
}

#[test]
fn load_progress_updates_only_a_loading_catalog() {
    let mut model = loaded_model();
    let loaded_id = model.catalogs[0].id;
    super::update::add_catalog(&mut model, "quay.io/org/other:v1", "").unwrap();
    let loading_id = model.catalogs[1].id;
    update(
        &mut model,
        Msg::CatalogProgress {
            id: loading_id,
            fetched: 4096,
        },
    );
    assert!(matches!(
        model.catalogs[1].load,
        LoadState::Loading { fetched: 4096, .. }
    ));
    // A late progress report for a catalog that already loaded changes nothing.
    update(
        &mut model,
        Msg::CatalogProgress {
            id: loaded_id,
            fetched: 1,
        },
    );
    assert!(matches!(model.catalogs[0].load, LoadState::Loaded(_)));
}

#[test]
fn e_sets_and_clears_where_a_catalog_goes_in_the_mirror() {
    let mut model = loaded_model();
    model.focus = Pane::Catalogs;
    keys(&mut model, " "); // the whole catalog: it is in the configuration
    keys(&mut model, "e");
    assert!(matches!(&model.dialog, Some(Dialog::Form(f)) if f.kind == FormKind::CatalogTarget(0)));
    keys(&mut model, "Mirror/Index");
    code(&mut model, KeyCode::Enter);
    let Some(Dialog::Form(form)) = &model.dialog else {
        panic!("an invalid target keeps the form open")
    };
    assert!(form.error.as_deref().unwrap().contains("lower case"), "{form:?}");
    ctrl(&mut model, 'u');
    keys(&mut model, "mirror/index");
    code(&mut model, KeyCode::Tab);
    keys(&mut model, "v4.18-filtered");
    code(&mut model, KeyCode::Enter);
    assert_eq!(model.dialog, None);
    let operator = &model.isc().spec.mirror.operators[0];
    assert_eq!(operator.target_catalog.as_deref(), Some("mirror/index"));
    assert_eq!(operator.target_tag.as_deref(), Some("v4.18-filtered"));
    assert!(model.isc().check().is_empty(), "{:?}", model.isc().check());

    // The form opens with the current values; emptied fields remove the keys.
    keys(&mut model, "e");
    let Some(Dialog::Form(form)) = &model.dialog else {
        panic!()
    };
    assert_eq!(form.value(FieldId::TargetCatalog), "mirror/index");
    ctrl(&mut model, 'u');
    code(&mut model, KeyCode::Tab);
    ctrl(&mut model, 'u');
    code(&mut model, KeyCode::Enter);
    let operator = &model.isc().spec.mirror.operators[0];
    assert_eq!(
        (operator.target_catalog.as_deref(), operator.target_tag.as_deref()),
        (None, None)
    );
}

#[test]
fn blocked_images_are_added_edited_and_removed_on_the_images_screen() {
    let mut model = empty_model();
    keys(&mut model, "2");
    code(&mut model, KeyCode::Tab);
    assert_eq!(model.focus, Pane::Charts);
    code(&mut model, KeyCode::Tab);
    assert_eq!(model.focus, Pane::Blocked);
    keys(&mut model, "a");
    assert!(matches!(&model.dialog, Some(Dialog::Form(f)) if f.kind == FormKind::AddBlocked));
    keys(&mut model, "quay.io/(broken");
    code(&mut model, KeyCode::Enter);
    let Some(Dialog::Form(form)) = &model.dialog else {
        panic!("an invalid expression keeps the form open")
    };
    assert!(
        form.error.as_deref().unwrap().contains("regular expression"),
        "{form:?}"
    );
    ctrl(&mut model, 'u');
    keys(&mut model, ".*/debug-.*");
    code(&mut model, KeyCode::Enter);
    assert_eq!(model.dialog, None);
    assert_eq!(model.isc().spec.mirror.blocked_images[0].name, ".*/debug-.*");
    assert!(
        model.isc().to_yaml().contains("blockedImages"),
        "{}",
        model.isc().to_yaml()
    );
    // Edit, then remove.
    keys(&mut model, "e");
    ctrl(&mut model, 'u');
    keys(&mut model, "quay.io/org/old");
    code(&mut model, KeyCode::Enter);
    assert_eq!(model.isc().spec.mirror.blocked_images[0].name, "quay.io/org/old");
    keys(&mut model, "d");
    assert!(model.isc().spec.mirror.blocked_images.is_empty());
}

#[test]
fn a_release_channel_added_is_resolved_in_the_background() {
    let mut model = empty_model();
    keys(&mut model, "3a");
    keys(&mut model, "fast-4.17");
    let commands = code(&mut model, KeyCode::Enter);
    assert!(
        commands.iter().any(|c| matches!(
            c,
            Command::ResolveChannel { channel, arch } if channel.name == "fast-4.17" && arch == "amd64"
        )),
        "{commands:?}"
    );
    assert_eq!(
        model.resolved.get("fast-4.17"),
        Some(&crate::tui::model::Resolved::Loading)
    );
    update(
        &mut model,
        Msg::ChannelResolved {
            name: "fast-4.17".into(),
            result: Ok(vec!["4.17.3".into(), "4.17.4".into()]),
        },
    );
    assert_eq!(
        model.resolved.get("fast-4.17"),
        Some(&crate::tui::model::Resolved::Versions(vec![
            "4.17.3".into(),
            "4.17.4".into()
        ]))
    );
}

#[test]
fn helm_charts_are_added_edited_and_removed_keeping_what_the_form_does_not_show() {
    let mut model = empty_model();
    keys(&mut model, "2");
    code(&mut model, KeyCode::Tab);
    assert_eq!(model.focus, Pane::Charts);
    let add = |model: &mut Model, fields: [&str; 3]| {
        keys(model, "a");
        for (i, value) in fields.iter().enumerate() {
            if i > 0 {
                code(model, KeyCode::Tab);
            }
            keys(model, value);
        }
        code(model, KeyCode::Enter);
    };
    add(&mut model, ["https://charts.example.com/stable", "podinfo", "6.9.0"]);
    add(&mut model, ["https://charts.example.com/stable", "redis", ""]);
    add(&mut model, ["./charts/app", "app", ""]);
    assert!(model.dialog.is_none(), "{:?}", model.dialog);
    let helm = model.isc().spec.mirror.helm;
    assert_eq!(helm.repositories.len(), 1, "one repository holds both charts: {helm:?}");
    assert_eq!(helm.repositories[0].name, "charts.example.com");
    let charts: Vec<_> = helm.repositories[0]
        .charts
        .iter()
        .map(|c| (c.name.as_str(), c.version.as_deref()))
        .collect();
    assert_eq!(charts, [("podinfo", Some("6.9.0")), ("redis", None)]);
    assert_eq!(helm.local[0].path.as_deref(), Some("./charts/app"));

    // An edit keeps the image paths the form does not show.
    model.helm.repositories[0].charts[0].image_paths = vec!["{.spec.x.image}".into()];
    code(&mut model, KeyCode::Home);
    keys(&mut model, "e");
    code(&mut model, KeyCode::Tab);
    code(&mut model, KeyCode::Tab);
    for _ in 0..5 {
        code(&mut model, KeyCode::Backspace);
    }
    keys(&mut model, "6.14.1");
    code(&mut model, KeyCode::Enter);
    let edited = model.isc().spec.mirror.helm.repositories[0]
        .charts
        .iter()
        .find(|c| c.name == "podinfo")
        .cloned()
        .unwrap();
    assert_eq!(
        (edited.version.as_deref(), edited.image_paths.len()),
        (Some("6.14.1"), 1)
    );

    // A form without a source is refused and stays open; removing every chart of a repository removes it.
    keys(&mut model, "a");
    code(&mut model, KeyCode::Enter);
    assert!(matches!(&model.dialog, Some(Dialog::Form(f)) if f.error.as_deref().is_some_and(|e| e.contains("source"))));
    code(&mut model, KeyCode::Esc);
    keys(&mut model, "ddd");
    assert_eq!(model.isc().spec.mirror.helm, crate::config::Helm::default());
}
