//! Progress bars for long stages, silent in CI and when not on a terminal.

use indicatif::{ProgressBar, ProgressStyle};

pub fn bar(len: u64, label: &str) -> ProgressBar {
    if crate::project::quiet_output() {
        return ProgressBar::hidden();
    }
    let bar = ProgressBar::new(len);
    bar.set_style(
        ProgressStyle::with_template("{prefix:>10} [{bar:30}] {pos}/{len} {msg}")
            .expect("static template is valid")
            .progress_chars("=> "),
    );
    bar.set_prefix(label.to_owned());
    bar
}
