//! Progress on the terminal where a person waits (the demo's seeding, `import-csv`,
//! migrations). Drawn on standard error only when it is a terminal; in logs and tests the
//! bars stay silent and the steps are logged instead.
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

fn target() -> ProgressDrawTarget {
    ProgressDrawTarget::stderr()
}

/// Numbered steps: `[3/7] configuring ConnectWise …`.
pub fn steps(total: u64) -> ProgressBar {
    let bar = ProgressBar::with_draw_target(Some(total), target());
    bar.set_style(
        ProgressStyle::with_template("{spinner} [{pos}/{len}] {msg} ({elapsed})")
            .unwrap_or_else(|_| ProgressStyle::default_spinner()),
    );
    bar.enable_steady_tick(std::time::Duration::from_millis(120));
    bar
}

/// Moves to the next step and says what it does.
pub fn step(bar: &ProgressBar, what: &str) {
    bar.inc(1);
    bar.set_message(what.to_owned());
    if bar.is_hidden() {
        tracing::info!(
            step = bar.position(),
            of = bar.length().unwrap_or(0),
            "{what}"
        );
    }
}

/// A bar over `len` items: `validating ████░░ 1200/5000 rows`.
pub fn items(len: u64, what: &str, unit: &str) -> ProgressBar {
    let bar = ProgressBar::with_draw_target(Some(len), target());
    bar.set_style(
        ProgressStyle::with_template(&format!(
            "{{msg:12}} {{wide_bar}} {{pos}}/{{len}} {unit} ({{elapsed}}, {{eta}} left)"
        ))
        .unwrap_or_else(|_| ProgressStyle::default_bar()),
    );
    bar.set_message(what.to_owned());
    bar
}
