//! `challenge grades`: what instructors read from the gradebook, and merging gradebooks that CI
//! shards wrote separately.

use std::fmt::Write as _;
use std::path::Path;

use serde::Serialize;

use super::{print, CommandError, Context};
use crate::cli::{ExportFormat, GradesCommand};
use crate::gradebook::{GradeRow, Gradebook};

pub(super) fn run(cx: &Context, path: &Path, command: Option<GradesCommand>) -> Result<u8, CommandError> {
    if let Some(GradesCommand::Merge { sources, into }) = &command {
        return merge(sources, into);
    }
    if !path.is_file() {
        return Err(CommandError::Usage(format!(
            "no gradebook at {}: grade something first (`challenge grade …`), or pass --gradebook PATH",
            path.display()
        )));
    }
    let book = Gradebook::open(path)?;
    match command {
        None => print(&latest_table(&book.latest_grades()?)),
        Some(GradesCommand::Show { student }) => show(&book, &student),
        Some(GradesCommand::History { student, challenge }) => {
            let slug = cx.catalog.find(&challenge).map(|c| c.slug.clone()).unwrap_or(challenge);
            let runs = book.history(&student, &slug)?;
            if runs.is_empty() {
                return Err(CommandError::Usage(format!("no graded run of {student} on {slug} in {}", path.display())));
            }
            let mut out = format!("{student} · {slug}: {} run{}, oldest first\n", runs.len(), if runs.len() == 1 { "" } else { "s" });
            for g in &runs {
                let _ = writeln!(
                    out,
                    "  run {:<5} {}  source {}  challenge {}  {:>6.1}%  level {}{}",
                    g.run_id,
                    g.finished_at,
                    &g.source_hash[..g.source_hash.len().min(12)],
                    g.tool_version,
                    g.percent,
                    g.level,
                    if g.score_changed { "  FLAGGED: same source, different score" } else { "" }
                );
            }
            print(&out)
        }
        Some(GradesCommand::Export { format }) => export(&book.latest_grades()?, format),
        Some(GradesCommand::Merge { .. }) => unreachable!("handled above"),
    }
}

fn latest_table(grades: &[GradeRow]) -> String {
    if grades.is_empty() {
        return "The gradebook holds no grades yet.\n".to_owned();
    }
    let mut out = format!(
        "{:<16} {:<16} {:>7}  {:<5}  {:<6}  {}\n",
        "student", "challenge", "percent", "level", "passed", "graded"
    );
    for g in grades {
        let _ = writeln!(
            out,
            "{:<16} {:<16} {:>6.1}%  {:<5}  {:<6}  {}{}",
            g.student,
            g.challenge,
            g.percent,
            g.level,
            if g.passed { "yes" } else { "no" },
            g.finished_at,
            if g.score_changed { "  FLAGGED: same source scored differently before" } else { "" }
        );
    }
    out
}

fn show(book: &Gradebook, student: &str) -> Result<u8, CommandError> {
    let latest: Vec<GradeRow> = book.latest_grades()?.into_iter().filter(|g| g.student == student).collect();
    if latest.is_empty() {
        return Err(CommandError::Usage(format!("no grades for {student:?}; `challenge grades` lists the students")));
    }
    let mut out = String::new();
    for g in &latest {
        let _ = writeln!(
            out,
            "{student} · {} · {:.1}% · level {} · {} (run {}, {})",
            g.challenge,
            g.percent,
            g.level,
            if g.passed { "passed" } else { "below the pass mark" },
            g.run_id,
            g.finished_at
        );
        for s in book.scenario_results(g.run_id)? {
            let _ = writeln!(
                out,
                "  {:<13} {:<40} {:<12} {:>2}/{:<2} {:<7}  {}",
                s.verdict, s.scenario, s.criterion, s.points, s.max_points, s.visibility, s.message
            );
        }
        out.push('\n');
    }
    print(&out)
}

#[derive(Serialize)]
struct ExportRow<'a> {
    student: &'a str,
    challenges: std::collections::BTreeMap<&'a str, ExportGrade<'a>>,
}

#[derive(Serialize)]
struct ExportGrade<'a> {
    percent: f64,
    score: f64,
    max_score: f64,
    level: u8,
    passed: bool,
    score_changed: bool,
    run: &'a str,
    graded_at: &'a str,
}

fn export(grades: &[GradeRow], format: ExportFormat) -> Result<u8, CommandError> {
    let mut challenges: Vec<&str> = grades.iter().map(|g| g.challenge.as_str()).collect();
    challenges.sort_unstable();
    challenges.dedup();
    let mut rows: Vec<ExportRow<'_>> = Vec::new();
    for g in grades {
        if rows.last().is_none_or(|r| r.student != g.student) {
            rows.push(ExportRow { student: &g.student, challenges: Default::default() });
        }
        let grade = ExportGrade {
            percent: (g.percent * 100.0).round() / 100.0,
            score: (g.score * 100.0).round() / 100.0,
            max_score: g.max_score,
            level: g.level,
            passed: g.passed,
            score_changed: g.score_changed,
            run: &g.run_uid,
            graded_at: &g.finished_at,
        };
        rows.last_mut().expect("pushed above").challenges.insert(&g.challenge, grade);
    }
    match format {
        ExportFormat::Json => {
            let text = serde_json::to_string_pretty(&serde_json::json!({ "students": rows })).expect("serializable");
            print(&format!("{text}\n"))
        }
        ExportFormat::Csv => {
            let mut header = vec!["student".to_owned()];
            for c in &challenges {
                header.extend([format!("{c} percent"), format!("{c} level"), format!("{c} passed")]);
            }
            let mut out = csv_line(&header);
            for row in &rows {
                let mut fields = vec![row.student.to_owned()];
                for c in &challenges {
                    match row.challenges.get(c) {
                        Some(g) => {
                            fields.extend([format!("{:.2}", g.percent), g.level.to_string(), g.passed.to_string()])
                        }
                        None => fields.extend([String::new(), String::new(), String::new()]),
                    }
                }
                out.push_str(&csv_line(&fields));
            }
            print(&out)
        }
    }
}

/// One CSV record (RFC 4180): fields with commas, quotes or newlines are quoted, quotes doubled.
fn csv_line(fields: &[String]) -> String {
    let quoted: Vec<String> = fields
        .iter()
        .map(|f| if f.contains([',', '"', '\n', '\r']) { format!("\"{}\"", f.replace('"', "\"\"")) } else { f.clone() })
        .collect();
    format!("{}\n", quoted.join(","))
}

fn merge(sources: &[std::path::PathBuf], into: &Path) -> Result<u8, CommandError> {
    let mut target = Gradebook::open(into)?;
    let mut out = String::new();
    for source in sources {
        if source.canonicalize().ok() == into.canonicalize().ok() {
            return Err(CommandError::Usage(format!(
                "{} is also the --into gradebook; merge other gradebooks into it",
                source.display()
            )));
        }
        let stats = target.merge_from(&Gradebook::open_read_only(source)?)?;
        let _ = writeln!(
            out,
            "{}: {} runs added, {} already present",
            source.display(),
            stats.added,
            stats.already_present
        );
    }
    print(&out)
}

#[cfg(test)]
mod tests {
    use super::csv_line;

    #[test]
    fn csv_quotes_only_what_needs_it() {
        let fields = ["alice".to_owned(), "o'brien, jr".to_owned(), "say \"hi\"".to_owned(), "two\nlines".to_owned()];
        assert_eq!(csv_line(&fields), "alice,\"o'brien, jr\",\"say \"\"hi\"\"\",\"two\nlines\"\n");
    }
}
