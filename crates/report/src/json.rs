//! JSON Lines output: one object per finding per line (field names in the crate docs).

use std::io::Write;

use crate::error::ReportError;
use crate::finding::Finding;

/// Version of the JSON record layout, written as `format_version` in every record;
/// bumped on any incompatible change to field names or meanings.
pub const JSON_FORMAT_VERSION: u32 = 1;

/// The JSON record for `finding`: the finding's own fields plus `summary` and
/// `format_version`.
pub fn to_json_value(finding: &Finding) -> Result<serde_json::Value, ReportError> {
    let mut value = serde_json::to_value(finding)?;
    if let serde_json::Value::Object(map) = &mut value {
        map.insert("summary".into(), finding.summary().into());
        map.insert("format_version".into(), JSON_FORMAT_VERSION.into());
    }
    Ok(value)
}

/// Writes `finding` as one line of JSON (JSON Lines) to `out`.
pub fn write_json_line<W: Write + ?Sized>(
    out: &mut W,
    finding: &Finding,
) -> Result<(), ReportError> {
    let mut line = serde_json::to_vec(&to_json_value(finding)?)?;
    line.push(b'\n');
    out.write_all(&line)?;
    Ok(())
}
