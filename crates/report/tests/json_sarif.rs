//! The machine-readable formats: JSON Lines and SARIF.

mod common;

use common::design_race;
use serde_json::{json, Value};
use wasmgrind_report::{write_json_line, write_sarif, Finding, JSON_FORMAT_VERSION};

#[test]
fn json_lines_one_object_per_finding_with_documented_fields() {
    let mut out = Vec::new();
    write_json_line(&mut out, &design_race()).unwrap();
    write_json_line(&mut out, &design_race()).unwrap();
    let text = String::from_utf8(out).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 2);
    assert!(text.ends_with('\n'));
    let v: Value = serde_json::from_str(lines[0]).unwrap();
    let mut keys: Vec<&str> = v.as_object().unwrap().keys().map(String::as_str).collect();
    keys.sort_unstable();
    assert_eq!(
        keys,
        [
            "current",
            "format_version",
            "kind",
            "location",
            "previous",
            "summary"
        ]
    );
    assert_eq!(v["kind"], "data_race");
    assert_eq!(v["format_version"], JSON_FORMAT_VERSION);
    assert_eq!(v["summary"], "data race src/main.rs:14:9 in racy::bump");
    assert_eq!(
        v["location"],
        json!({"type": "global", "name": "racy::COUNTER", "addr": 0x110a40, "size": 4})
    );
    let current = &v["current"];
    assert_eq!(current["kind"], "write");
    assert_eq!(current["size"], 4);
    assert_eq!(current["addr"], 0x110a40);
    assert_eq!(current["thread"], 2);
    assert_eq!(v["previous"]["kind"], "read");
    assert_eq!(
        current["stack"][0],
        json!({
            "func_index": 7,
            "function": "racy::bump",
            "file": "/home/u/racy/src/main.rs",
            "line": 14,
            "column": 9,
            "code_offset": 0x120,
            "function_offset": 0x20,
        })
    );
    // The record is the finding's serde form: it reads back.
    let back: Finding = serde_json::from_value(v).unwrap();
    assert_eq!(back, design_race());
}

#[test]
fn json_location_variants() {
    use wasmgrind_report::AddressDescription::*;
    assert_eq!(serde_json::to_value(Heap).unwrap(), json!({"type": "heap"}));
    assert_eq!(
        serde_json::to_value(Stack { thread: 2 }).unwrap(),
        json!({"type": "stack", "thread": 2})
    );
    assert_eq!(
        serde_json::to_value(Unknown).unwrap(),
        json!({"type": "unknown"})
    );
    assert_eq!(
        serde_json::to_value(wasmgrind_report::AccessKind::AtomicWrite).unwrap(),
        json!("atomic_write")
    );
}

#[test]
fn sarif_has_one_result_per_finding_with_physical_locations() {
    let mut out = Vec::new();
    write_sarif(&mut out, &[design_race(), design_race()], "0.1.0").unwrap();
    let v: Value = serde_json::from_slice(&out).unwrap();
    assert_eq!(v["version"], "2.1.0");
    let run = &v["runs"][0];
    assert_eq!(run["tool"]["driver"]["name"], "wasmgrind");
    assert_eq!(run["tool"]["driver"]["version"], "0.1.0");
    assert_eq!(run["tool"]["driver"]["rules"][0]["id"], "data_race");
    assert_eq!(run["tool"]["driver"]["rules"].as_array().unwrap().len(), 1);
    let results = run["results"].as_array().unwrap();
    assert_eq!(results.len(), 2);
    let r = &results[0];
    assert_eq!(r["ruleId"], "data_race");
    assert_eq!(
        r["message"]["text"],
        "data race src/main.rs:14:9 in racy::bump"
    );
    let phys = &r["locations"][0]["physicalLocation"];
    assert_eq!(phys["artifactLocation"]["uri"], "src/main.rs");
    assert_eq!(phys["region"], json!({"startLine": 14, "startColumn": 9}));
    assert_eq!(
        r["locations"][0]["logicalLocations"][0]["fullyQualifiedName"],
        "racy::bump"
    );
    assert_eq!(
        r["relatedLocations"][0]["physicalLocation"]["region"]["startLine"],
        13
    );
    assert_eq!(r["stacks"].as_array().unwrap().len(), 2);
    assert_eq!(r["stacks"][0]["frames"].as_array().unwrap().len(), 2);
}

#[test]
fn sarif_for_no_findings_is_a_valid_empty_run() {
    let mut out = Vec::new();
    write_sarif(&mut out, &[], "0.1.0").unwrap();
    let v: Value = serde_json::from_slice(&out).unwrap();
    assert_eq!(v["runs"][0]["results"], json!([]));
}
