//! Fitting the report and the panel under it (a hint, the list, a message) into the window. When
//! they do not fit, passing scenarios collapse into one line first, then the panel gets at most
//! half the window, and then the report loses lines just above its rubric bars: the scenario
//! lines, the start of the first failure and the rubric stay in view.

/// The lines to draw above the state and status lines: at most `rows` rows at `cols` columns
/// once long lines wrap. `cut_note` replaces lines that had to go.
pub(super) fn body(report: &str, panel: &str, cols: usize, rows: usize, cut_note: &str) -> Vec<String> {
    let cols = cols.max(1);
    let mut report: Vec<String> = report.lines().map(str::to_owned).collect();
    while report.last().is_some_and(|l| strip(l).trim().is_empty()) {
        report.pop();
    }
    let panel: Vec<String> = if panel.trim().is_empty() {
        Vec::new()
    } else {
        std::iter::once(String::new()).chain(panel.trim_end().lines().flat_map(|l| wrap(l, cols))).collect()
    };
    let fits = |report: &[String], panel: &[String]| height(report, cols) + height(panel, cols) <= rows;
    // Each step gives up what a learner misses least, until the report fits.
    let steps: [Step; 4] = [fold_passing, drop_notes, fold_failing, drop_bars];
    for step in steps {
        if fits(&report, &panel) {
            return [report, panel].concat();
        }
        report = step(report, cols);
    }
    if fits(&report, &panel) {
        return [report, panel].concat();
    }
    let panel_rows = height(&panel, cols).min((rows / 2).max(rows.saturating_sub(height(&report, cols))));
    let panel = truncate(panel, panel_rows, cols, "  …");
    let report_rows = rows.saturating_sub(height(&panel, cols));
    let report = cut_before_rubric(report, report_rows, cols, cut_note);
    [report, panel].concat()
}

/// One way to shorten the report's lines at a width.
type Step = fn(Vec<String>, usize) -> Vec<String>;

/// Rows `lines` take at `cols` columns.
fn height(lines: &[String], cols: usize) -> usize {
    lines.iter().map(|l| width(l).div_ceil(cols).max(1)).sum()
}

/// Columns a line takes on screen: its characters, less color escapes.
pub(super) fn width(line: &str) -> usize {
    strip(line).chars().count()
}

/// `line` without ANSI escape sequences.
pub(super) fn strip(line: &str) -> String {
    let mut out = String::with_capacity(line.len());
    let mut chars = line.chars();
    while let Some(c) = chars.next() {
        if c == '\u{1b}' {
            // CSI sequences end with a byte in @..~; colors are all the reporters write.
            if chars.next() == Some('[') {
                chars.by_ref().find(|c| ('@'..='~').contains(c));
            }
        } else {
            out.push(c);
        }
    }
    out
}

/// `line` cut to `cols` columns, for lines that must never wrap (the status lines).
pub(super) fn clip(line: &str, cols: usize) -> String {
    line.chars().take(cols).collect()
}

/// Breaks plain `line` at spaces so that no piece is wider than `cols`, keeping its indent.
fn wrap(line: &str, cols: usize) -> Vec<String> {
    if width(line) <= cols {
        return vec![line.to_owned()];
    }
    let indent: String = line.chars().take_while(|c| *c == ' ').collect();
    let mut out = Vec::new();
    let mut current = indent.clone();
    for word in line.split_whitespace() {
        let len = current.chars().count();
        if len > indent.len() && len + 1 + word.chars().count() > cols {
            out.push(std::mem::replace(&mut current, indent.clone()));
        }
        if current.chars().count() > indent.len() {
            current.push(' ');
        }
        current.push_str(word);
    }
    out.push(current);
    out
}

/// A scenario line (`  ✓ pass  name  criterion  points`) that passed.
fn is_passing(line: &str) -> bool {
    strip(line).starts_with("  ✓ ")
}

/// A scenario line that did not pass. (Failure blocks' titles start at the margin.)
fn is_failing(line: &str) -> bool {
    strip(line).starts_with("  ✗ ")
}

/// Passing scenario lines become one line that says how many.
fn fold_passing(lines: Vec<String>, cols: usize) -> Vec<String> {
    let count = lines.iter().filter(|l| is_passing(l)).count();
    if count < 2 {
        return lines;
    }
    replace_matching(lines, is_passing, &clip(&format!("  ✓ {count} passing (folded to fit the window)"), cols))
}

/// Failing scenario lines become one line of their names, joined to the passing count; the first
/// failure's block below still names its scenario.
fn fold_failing(lines: Vec<String>, cols: usize) -> Vec<String> {
    let names: Vec<String> = lines
        .iter()
        .filter(|l| is_failing(l))
        .filter_map(|l| strip(l).split_whitespace().nth(2).map(str::to_owned))
        .collect();
    if names.len() < 2 {
        return lines;
    }
    let passing = lines.iter().map(|l| strip(l)).find_map(|l| {
        l.strip_prefix("  ✓ ").and_then(|rest| rest.split(' ').next()).and_then(|n| n.parse::<usize>().ok())
    });
    let passing = passing.map(|n| format!("✓ {n} passing · ")).unwrap_or_default();
    let summary = format!("  {passing}✗ {} failing: {}", names.len(), names.join(", "));
    let summary = if width(&summary) > cols { format!("{}…", clip(&summary, cols - 1)) } else { summary };
    let folded = fold_passing(lines, cols);
    // The passing count now lives in the summary.
    let lines: Vec<String> = folded.into_iter().filter(|l| passing.is_empty() || !is_passing(l)).collect();
    replace_matching(lines, is_failing, &summary)
}

/// The notes that only restate (how long the build took; that hidden scenarios exist) go.
fn drop_notes(lines: Vec<String>, _cols: usize) -> Vec<String> {
    lines
        .into_iter()
        .filter(|l| {
            let plain = strip(l);
            !plain.starts_with("  built in ") && !plain.contains("only in `challenge grade`")
        })
        .collect()
}

/// The rubric's per-criterion bars go; its total line stays.
fn drop_bars(lines: Vec<String>, _cols: usize) -> Vec<String> {
    lines.into_iter().filter(|l| !strip(l).contains(['█', '░'])).collect()
}

/// `lines` with those `matching` replaced by one `summary`, where the first of them was.
fn replace_matching(lines: Vec<String>, matching: fn(&str) -> bool, summary: &str) -> Vec<String> {
    let mut out = Vec::with_capacity(lines.len());
    let mut said = false;
    for line in lines {
        if !matching(&line) {
            out.push(line);
        } else if !said {
            out.push(summary.to_owned());
            said = true;
        }
    }
    out
}

/// The first lines of `lines` that fit in `rows`; when some must go, the last row says so.
fn truncate(lines: Vec<String>, rows: usize, cols: usize, note: &str) -> Vec<String> {
    if height(&lines, cols) <= rows {
        return lines;
    }
    let mut out = Vec::new();
    let mut used = 0;
    for line in lines {
        let h = height(std::slice::from_ref(&line), cols);
        if used + h + 1 > rows {
            break;
        }
        used += h;
        out.push(line);
    }
    if rows > 0 {
        out.push(clip(note, cols));
    }
    out
}

/// Keeps the top of the report and its rubric bars, dropping what lies between (the end of the
/// failure block, or a build's long compiler output) behind `note`.
fn cut_before_rubric(lines: Vec<String>, rows: usize, cols: usize, note: &str) -> Vec<String> {
    if height(&lines, cols) <= rows {
        return lines;
    }
    // The rubric is the block of bar lines at the end (or its total line, once the bars are
    // gone), with the blank line above it.
    let rubric =
        lines.iter().position(|l| strip(l).contains(['█', '░']) || strip(l).starts_with("  total ")).map(|first| {
            let blank_above = first > 0 && strip(&lines[first - 1]).trim().is_empty();
            first - usize::from(blank_above)
        });
    let Some(rubric) = rubric else { return truncate(lines, rows, cols, note) };
    let tail = lines[rubric..].to_vec();
    let head_rows = rows.saturating_sub(height(&tail, cols));
    if head_rows < 2 {
        return truncate(lines, rows, cols, note);
    }
    let mut head = truncate(lines[..rubric].to_vec(), head_rows, cols, note);
    head.extend(tail);
    head
}

#[cfg(test)]
mod tests {
    use super::*;

    fn report(scenarios: usize, failure_lines: usize) -> String {
        let mut text = String::from("challenge 1 · Per-key rate limiter · 01-rate-limiter\n  built in 0.2s\n\n");
        text.push_str("  ✗ fail         first                                    correctness    0/2\n");
        for i in 1..scenarios {
            text.push_str(&format!("  ✓ pass         scenario-{i:<30} correctness    2/2\n"));
        }
        text.push_str("\n✗ first (correctness, 0/2 points)\n");
        for i in 0..failure_lines {
            text.push_str(&format!("  failure line {i}\n"));
        }
        text.push_str("\n  correctness    █████░░░░░   2/4   points   20.0/40\n  total 50.0%  level 3\n\n");
        text
    }

    #[test]
    fn a_report_that_fits_is_shown_whole_with_the_panel_under_it() {
        let body = body(&report(3, 2), "Hint, tier 1:\nRead the brief.", 100, 40, "cut");
        let text = body.join("\n");
        assert!(text.starts_with("challenge 1"), "{text}");
        assert!(text.contains("scenario-2"), "{text}");
        assert!(text.ends_with("  total 50.0%  level 3\n\nHint, tier 1:\nRead the brief."), "{text}");
    }

    #[test]
    fn a_tall_report_folds_scenario_lines_then_cuts_above_the_total() {
        let body = body(&report(12, 30), "", 100, 30, "  … cut");
        assert!(height(&body, 100) <= 30, "{body:#?}");
        let text = body.join("\n");
        assert!(text.contains("  ✓ 11 passing (folded to fit the window)"), "{text}");
        assert!(text.contains("✗ fail         first"), "{text}");
        assert!(text.contains("✗ first (correctness"), "{text}");
        assert!(text.contains("  … cut\n\n  total 50.0%"), "{text}");
        assert!(text.ends_with("  total 50.0%  level 3"), "{text}");
    }

    #[test]
    fn a_small_window_keeps_the_failure_and_the_total_and_folds_the_rest() {
        let mut text = report(14, 6).replace("  ✗ fail         first", "  built in 0.2s\n  ✗ fail         first");
        for (i, name) in [(1, "second"), (2, "third")] {
            text = text.replace(&format!("  ✓ pass         scenario-{i} "), &format!("  ✗ fail         {name:<30}"));
        }
        text = text.replace("  total 50.0%  level 3\n", "  total 50.0%  level 3\n  11 hidden scenarios run only in `challenge grade`; this score counts visible ones.\n");
        let body = body(&text, "Hint, tier 1:\nRead the brief.", 80, 16, "  … cut");
        assert!(height(&body, 80) <= 16, "{body:#?}");
        let text = body.join("\n");
        assert!(text.contains("  ✓ 11 passing · ✗ 3 failing: first, second, third"), "{text}");
        assert!(text.contains("  failure line 5\n"), "{text}");
        assert!(text.contains("  total 50.0%  level 3\n\nHint, tier 1:"), "{text}");
        assert!(!text.contains("built in") && !text.contains("hidden") && !text.contains('█'), "{text}");
    }

    #[test]
    fn long_lines_count_the_rows_they_wrap_to_and_panels_wrap_at_spaces() {
        assert_eq!(height(&["x".repeat(25)], 10), 3);
        assert_eq!(height(&["\u{1b}[31mred\u{1b}[0m".to_owned()], 3), 1);
        assert_eq!(wrap("  one two three four", 10), ["  one two", "  three", "  four"]);
        let body = body("", &"word ".repeat(40), 20, 40, "cut");
        assert!(body.iter().all(|l| width(l) <= 20), "{body:#?}");
    }

    #[test]
    fn a_long_panel_gets_half_the_window() {
        let panel: String = (0..50).map(|i| format!("hint line {i}\n")).collect();
        let body = body(&report(3, 2), &panel, 100, 30, "  … cut");
        assert!(height(&body, 100) <= 30, "{body:#?}");
        let text = body.join("\n");
        assert!(text.contains("hint line 0") && !text.contains("hint line 20"), "{text}");
        assert!(text.contains("  total 50.0%"), "{text}");
    }
}
