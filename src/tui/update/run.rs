//! The Preview and Run screens: the run form, engine events as progress, the run's end.

use super::*;

pub(super) fn preview_key(model: &mut Model, key: KeyEvent) {
    let scroll = usize::from(model.preview_scroll);
    let lines = model.preview().len();
    if let Some(mv) = movement(&key) {
        model.preview_scroll = u16::try_from(moved(scroll, lines, mv)).unwrap_or(u16::MAX);
    } else if key.code == KeyCode::Esc {
        model.focus = Pane::Catalogs;
    }
}

pub(super) fn run_key(model: &mut Model, key: KeyEvent) {
    match key.code {
        KeyCode::Enter if !model.running() => {
            model.dialog = Some(Dialog::Form(run_form(&model.run_settings)));
        }
        KeyCode::Esc => model.focus = Pane::Catalogs,
        _ => {}
    }
}

pub(super) fn run_form(settings: &RunSettings) -> Form {
    Form {
        kind: FormKind::Run,
        title: "Run the selection".into(),
        fields: vec![
            Field::choice(
                FieldId::Mode,
                RunMode::ALL.iter().map(|m| m.as_str()).collect(),
                settings.mode.as_str(),
                "dry-run plans only; mirror-to-disk writes archives; mirror-to-mirror pushes; disk-to-mirror pushes archives",
            ),
            Field::text(
                FieldId::Destination,
                settings.destination.clone(),
                "file://DIR (dry-run, mirror-to-disk) or docker://HOST[:PORT][/NS]",
            ),
            Field::text(
                FieldId::Workspace,
                settings.workspace.clone(),
                "file://DIR: state, logs and cluster resources of a registry destination (disk-to-mirror: the archives)",
            ),
            Field::choice(
                FieldId::DestTlsVerify,
                vec!["yes", "no"],
                yes_no(settings.dest_tls_verify),
                "no: skip certificate checks and allow plain HTTP",
            ),
        ],
        focus: 0,
        error: None,
    }
}

pub(super) fn engine_event(model: &mut Model, event: Event) {
    let Some(run) = model.run.as_mut() else {
        return;
    };
    let mut log = |line: String| {
        run.log.push_back(line);
        while run.log.len() > LOG_LINES {
            run.log.pop_front();
        }
    };
    match event {
        Event::RunStarted { images } => run.images_total = images,
        Event::ImageStarted { index, name } => {
            run.current.insert(index, name);
        }
        Event::BytesCopied(bytes) => run.bytes += bytes,
        Event::BlobCopied { .. } => run.blobs_copied += 1,
        Event::BlobSkipped => run.blobs_skipped += 1,
        Event::BlobMounted => run.blobs_mounted += 1,
        Event::ManifestPushed => run.manifests += 1,
        Event::ImageDone { index, unchanged, .. } => {
            run.current.remove(&index);
            run.images_done += 1;
            if unchanged {
                run.images_unchanged += 1;
            }
        }
        Event::ImageFailed { index, name, error, .. } => {
            run.current.remove(&index);
            run.images_failed += 1;
            run.errors.push(format!("{name}: {error}"));
        }
        Event::Warning(text) => {
            log(format!("warning: {text}"));
            run.warnings.push(text);
        }
        Event::Info(text) => log(text),
        Event::Collected(found) => log(found.to_string()),
        Event::Retrying { what, attempt, error } => {
            run.retries += 1;
            log(format!("retry {attempt} of {what}: {error}"));
        }
    }
}

pub(super) fn run_finished(model: &mut Model, outcome: RunOutcome) {
    let now = model.now;
    let Some(run) = model.run.as_mut() else {
        return;
    };
    run.cancelling = false;
    run.finished = Some(now);
    run.current.clear();
    let (kind, text) = match &outcome {
        RunOutcome::Completed(result) if result.failed == 0 => (
            StatusKind::Success,
            format!(
                "run complete: {} images{}",
                result.planned,
                if result.dry_run { " planned (dry run)" } else { "" }
            ),
        ),
        RunOutcome::Completed(result) => (
            StatusKind::Warning,
            format!("run complete: {} of {} images failed", result.failed, result.planned),
        ),
        RunOutcome::Failed(error) => (StatusKind::Error, format!("run failed: {error}")),
        RunOutcome::Cancelled => (
            StatusKind::Warning,
            "run cancelled: uploads in flight were abandoned and no manifest refers to them; run again to resume"
                .to_string(),
        ),
    };
    if let RunOutcome::Completed(result) = &outcome {
        // A dry run reports no per-image events: the summary has the counts.
        run.images_total = run.images_total.max(result.planned);
        if run.images_done + run.images_failed == 0 {
            run.images_done = result.mirrored + result.unchanged;
            run.images_unchanged = result.unchanged;
            run.images_failed = result.failed;
        }
    }
    let cancelled = outcome == RunOutcome::Cancelled;
    run.outcome = Some(outcome);
    if cancelled {
        model.focus = Pane::Catalogs;
    }
    say(model, kind, text);
}
