//! SARIF 2.1.0 output for a whole run: one result per finding.

use std::io::Write;

use serde_json::{json, Value};

use crate::error::ReportError;
use crate::finding::{Access, Finding};
use crate::frame::Frame;
use crate::source_path::display_path;

/// The SARIF log (as JSON) for `findings`, produced by wasmgrind `tool_version`.
///
/// Each result has `ruleId` = [`Finding::kind`], `level` `error`, the summary as its
/// message, the primary frame as its location (`physicalLocation` with file, line
/// and column when known, `logicalLocations` with the function), the previous access
/// of a race as a related location, and every access's stack under `stacks`.
pub fn sarif_log(findings: &[Finding], tool_version: &str) -> Value {
    let mut rules: Vec<Value> = Vec::new();
    let mut rule_ids: Vec<&str> = Vec::new();
    for f in findings {
        if !rule_ids.contains(&f.kind()) {
            rule_ids.push(f.kind());
            rules.push(json!({
                "id": f.kind(),
                "shortDescription": { "text": f.title() },
            }));
        }
    }
    let results: Vec<Value> = findings.iter().map(result).collect();
    json!({
        "$schema": "https://json.schemastore.org/sarif-2.1.0.json",
        "version": "2.1.0",
        "runs": [{
            "tool": { "driver": {
                "name": "wasmgrind",
                "version": tool_version,
                "rules": rules,
            }},
            "results": results,
        }],
    })
}

/// Writes [`sarif_log`] to `out`, pretty-printed, with a trailing newline.
pub fn write_sarif<W: Write + ?Sized>(
    out: &mut W,
    findings: &[Finding],
    tool_version: &str,
) -> Result<(), ReportError> {
    serde_json::to_writer_pretty(&mut *out, &sarif_log(findings, tool_version))?;
    out.write_all(b"\n")?;
    Ok(())
}

fn result(finding: &Finding) -> Value {
    let mut r = json!({
        "ruleId": finding.kind(),
        "level": "error",
        "message": { "text": finding.summary() },
        "locations": finding.primary_frame().map(location).into_iter().collect::<Vec<_>>(),
    });
    match finding {
        Finding::DataRace(race) => {
            if let Some(prev) = race.previous.stack.first() {
                let mut related = location(prev);
                related["id"] = json!(1);
                related["message"] = json!({ "text": access_line(&race.previous, "Previous ") });
                r["relatedLocations"] = json!([related]);
            }
            r["stacks"] = json!([stack(&race.current, ""), stack(&race.previous, "Previous "),]);
        }
        Finding::LockOrderInversion(inversion) => {
            let stacks: Vec<Value> = inversion
                .cycle
                .iter()
                .flat_map(|e| {
                    [
                        frames_stack(
                            &e.acquired_stack,
                            format!(
                                "Thread {} acquired lock 0x{:08x} while holding lock 0x{:08x}",
                                e.thread, e.acquired, e.held
                            ),
                        ),
                        frames_stack(
                            &e.held_stack,
                            format!("Lock 0x{:08x} acquired by thread {}", e.held, e.thread),
                        ),
                    ]
                })
                .collect();
            r["stacks"] = json!(stacks);
        }
        Finding::LockMisuse(misuse) => {
            r["stacks"] = json!([
                frames_stack(&misuse.stack, misuse.misuse.title().to_string()),
                frames_stack(&misuse.acquired_stack, "Lock acquired".to_string()),
            ]);
        }
        Finding::Hang(hang) => {
            let stacks: Vec<Value> = hang
                .threads
                .iter()
                .map(|t| frames_stack(&t.stack, format!("Thread {}", t.thread)))
                .collect();
            r["stacks"] = json!(stacks);
        }
    }
    r
}

fn access_line(access: &Access, prefix: &str) -> String {
    let kind = if prefix.is_empty() {
        access.kind.capitalized()
    } else {
        access.kind.lower()
    };
    format!(
        "{prefix}{kind} of size {} at 0x{:08x} by thread {}",
        access.size, access.addr, access.thread
    )
}

fn stack(access: &Access, prefix: &str) -> Value {
    let frames: Vec<Value> = access
        .stack
        .iter()
        .map(|f| json!({ "location": location(f) }))
        .collect();
    json!({ "message": { "text": access_line(access, prefix) }, "frames": frames })
}

/// A SARIF stack of `frames` with `message`.
fn frames_stack(frames: &[Frame], message: String) -> Value {
    let frames: Vec<Value> = frames
        .iter()
        .map(|f| json!({ "location": location(f) }))
        .collect();
    json!({ "message": { "text": message }, "frames": frames })
}

/// A SARIF `location` for a frame.
fn location(frame: &Frame) -> Value {
    let mut loc = json!({
        "logicalLocations": [{
            "fullyQualifiedName": frame.function_display(),
            "kind": "function",
        }],
    });
    if let Some(file) = &frame.file {
        let shown = display_path(file);
        let uri = if shown.starts_with('/') {
            format!("file://{shown}")
        } else {
            shown.into_owned()
        };
        let mut physical = json!({ "artifactLocation": { "uri": uri } });
        if let Some(line) = frame.line {
            let mut region = json!({ "startLine": line });
            if let Some(column) = frame.column {
                region["startColumn"] = json!(column);
            }
            physical["region"] = region;
        }
        loc["physicalLocation"] = physical;
    }
    if let Some(offset) = frame.code_offset {
        loc["physicalLocation"]["address"] =
            json!({ "absoluteAddress": offset, "kind": "instruction" });
    }
    loc
}
