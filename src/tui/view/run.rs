//! The Run screen: the settings, then a live view of a run (images and bytes done, rate, ETA, images in flight,
//! errors as they happen) and its summary.

use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{LineGauge, Paragraph, Wrap};
use ratatui::Frame;

use super::{bytes, duration, fit, pane_block, spinner, Theme};
use crate::tui::model::{Model, Pane, RunMode, RunOutcome, RunProgress, RunResult, RunSettings};

fn settings_line(settings: &RunSettings) -> String {
    let mode = settings.mode.as_str();
    let mut text = match settings.mode {
        RunMode::DiskToMirror => format!("{mode} {} → {}", settings.workspace, settings.destination),
        _ => format!("{mode} → {}", settings.destination),
    };
    if settings.destination.starts_with("docker://") {
        if settings.mode != RunMode::DiskToMirror {
            text.push_str(&format!(" (workspace {})", settings.workspace));
        }
        if !settings.dest_tls_verify {
            text.push_str(" tls-verify=false");
        }
    }
    text
}

pub(super) fn draw(model: &Model, theme: &Theme, frame: &mut Frame, area: Rect) {
    let focused = model.focus == Pane::Run;
    let block = pane_block(" Run ", focused, theme);
    let inner = block.inner(area);
    frame.render_widget(block, area);
    let Some(run) = &model.run else {
        let settings = &model.run_settings;
        let lines = vec![
            Line::from(vec![
                Span::styled("Last settings: ", theme.dim()),
                Span::raw(settings_line(settings)),
            ]),
            Line::raw(""),
            Line::from(vec![
                Span::styled("enter", theme.key()),
                Span::raw(" chooses the mode and destination and starts:"),
            ]),
            Line::styled(
                format!(
                    "  {:<17} plans only: mapping.txt and missing.txt",
                    RunMode::DryRun.as_str()
                ),
                theme.dim(),
            ),
            Line::styled(
                format!(
                    "  {:<17} archives in file://DIR to carry across",
                    RunMode::MirrorToDisk.as_str()
                ),
                theme.dim(),
            ),
            Line::styled(
                format!(
                    "  {:<17} straight into docker://HOST[/NS]",
                    RunMode::MirrorToMirror.as_str()
                ),
                theme.dim(),
            ),
            Line::styled(
                format!(
                    "  {:<17} archives (workspace file://DIR) into docker://HOST[/NS]",
                    RunMode::DiskToMirror.as_str()
                ),
                theme.dim(),
            ),
            Line::raw(""),
            Line::styled("ctrl-c cancels a run cleanly and returns to the editor.", theme.dim()),
        ];
        frame.render_widget(Paragraph::new(lines).wrap(Wrap { trim: false }), inner);
        return;
    };
    draw_progress(model, run, theme, frame, inner);
}

fn draw_progress(model: &Model, run: &RunProgress, theme: &Theme, frame: &mut Frame, area: Rect) {
    let width = usize::from(area.width);
    let [head, gauge, counters, rest] = Layout::vertical([
        Constraint::Length(1),
        Constraint::Length(1),
        Constraint::Length(3),
        Constraint::Min(0),
    ])
    .areas(area);
    // Lists share what is left of the height.
    let cap = usize::from(area.height / 4).max(3);
    frame.render_widget(
        Paragraph::new(Line::from(vec![
            run_state(model, run, theme),
            Span::raw("  "),
            Span::raw(fit(&settings_line(&run.settings), width.saturating_sub(30))),
        ])),
        head,
    );
    frame.render_widget(images_gauge(run, theme), gauge);
    frame.render_widget(
        Paragraph::new(counter_lines(model, run, theme)).wrap(Wrap { trim: true }),
        counters,
    );
    let mut lines = outcome_lines(run, width, cap, theme);
    lines.extend(error_and_log_lines(run, width, cap, theme));
    if !run.active() {
        lines.push(Line::raw(""));
        lines.push(Line::from(vec![
            Span::styled("enter", theme.key()),
            Span::raw(" runs again · "),
            Span::styled("esc", theme.key()),
            Span::raw(" back to the editor"),
        ]));
    }
    frame.render_widget(Paragraph::new(lines).wrap(Wrap { trim: false }), rest);
}

/// Running, cancelling, or how the run ended.
fn run_state(model: &Model, run: &RunProgress, theme: &Theme) -> Span<'static> {
    match &run.outcome {
        None if run.cancelling => Span::styled(format!("{} cancelling…", spinner(model.spinner)), theme.warning()),
        None => Span::styled(format!("{} running", spinner(model.spinner)), theme.accent()),
        Some(RunOutcome::Completed(result)) if result.failed == 0 => Span::styled("✓ complete", theme.success()),
        Some(RunOutcome::Completed(_)) => Span::styled("! complete with failures", theme.warning()),
        Some(RunOutcome::Failed(_)) => Span::styled("✗ failed", theme.error()),
        Some(RunOutcome::Cancelled) => Span::styled("cancelled", theme.warning()),
    }
}

/// Images processed (done or failed) of the total.
fn images_gauge(run: &RunProgress, theme: &Theme) -> LineGauge<'static> {
    let processed = run.images_done + run.images_failed;
    let ratio = if run.images_total == 0 {
        0.0
    } else {
        (processed as f64 / run.images_total as f64).clamp(0.0, 1.0)
    };
    LineGauge::default()
        .ratio(ratio)
        .label(format!("images {processed}/{}", run.images_total))
        .filled_symbol("█")
        .unfilled_symbol("░")
        .filled_style(theme.success())
        .unfilled_style(theme.dim())
}

/// Bytes, rate, elapsed time and ETA; then images, blobs, manifests and retries.
fn counter_lines(model: &Model, run: &RunProgress, theme: &Theme) -> Vec<Line<'static>> {
    let elapsed = run.finished.unwrap_or(model.now).saturating_duration_since(run.started);
    let rate = if run.active() {
        run.rate()
    } else {
        run.bytes as f64 / elapsed.as_secs_f64().max(0.001)
    };
    let eta = match run.eta(model.now) {
        Some(eta) if run.active() => format!("ETA {}", duration(eta)),
        _ => String::new(),
    };
    vec![
        Line::raw(format!(
            "{} copied · {}/s · elapsed {} {}",
            bytes(run.bytes),
            bytes(rate as u64),
            duration(elapsed),
            eta
        )),
        Line::styled(
            format!(
                "done {} (unchanged {}) · failed {} · blobs {} copied, {} skipped, {} mounted · manifests {} · retries {}",
                run.images_done,
                run.images_unchanged,
                run.images_failed,
                run.blobs_copied,
                run.blobs_skipped,
                run.blobs_mounted,
                run.manifests,
                run.retries
            ),
            theme.dim(),
        ),
    ]
}

/// The run's summary once it ended (files written, where the errors are), else the images in flight.
fn outcome_lines(run: &RunProgress, width: usize, cap: usize, theme: &Theme) -> Vec<Line<'static>> {
    let mut lines = Vec::new();
    match &run.outcome {
        Some(RunOutcome::Completed(result)) => {
            lines.push(Line::styled(summary(result), theme.success()));
            for file in &result.files {
                lines.push(Line::styled(format!("  wrote {file}"), theme.dim()));
            }
            if let Some(errors) = &result.errors_file {
                lines.push(Line::styled(format!("  errors in {errors}"), theme.warning()));
            }
        }
        Some(RunOutcome::Failed(error)) => {
            lines.extend(error.lines().map(|l| Line::styled(l.to_string(), theme.error())));
        }
        Some(RunOutcome::Cancelled) => lines.push(Line::styled(
            "cancelled: uploads in flight were abandoned and no manifest refers to them; the next run resumes",
            theme.warning(),
        )),
        None if !run.current.is_empty() => {
            lines.push(Line::styled(
                format!("In flight ({})", run.current.len()),
                theme.accent(),
            ));
            for name in run.current.values().take(cap) {
                lines.push(Line::raw(fit(&format!("  {name}"), width)));
            }
        }
        None => {}
    }
    lines
}

/// `12 images planned, 10 mirrored, ... in 1m02s`.
fn summary(result: &RunResult) -> String {
    format!(
        "{} images planned, {} mirrored, {} unchanged, {} failed, {} in {}{}",
        result.planned,
        result.mirrored,
        result.unchanged,
        result.failed,
        bytes(result.bytes),
        duration(result.elapsed),
        if result.dry_run {
            " (dry run: nothing copied)"
        } else {
            ""
        }
    )
}

/// The latest errors, newest first, then the latest log lines, oldest first; at most `cap` of each.
fn error_and_log_lines(run: &RunProgress, width: usize, cap: usize, theme: &Theme) -> Vec<Line<'static>> {
    let mut lines = Vec::new();
    if !run.errors.is_empty() {
        lines.push(Line::styled(format!("Errors ({})", run.errors.len()), theme.error()));
        for error in run.errors.iter().rev().take(cap) {
            lines.push(Line::styled(fit(&format!("  {error}"), width), theme.error()));
        }
    }
    if !run.log.is_empty() {
        lines.push(Line::styled("Log", theme.dim()));
        for line in run.log.iter().rev().take(cap).collect::<Vec<_>>().into_iter().rev() {
            lines.push(Line::styled(fit(&format!("  {line}"), width), theme.dim()));
        }
    }
    lines
}
