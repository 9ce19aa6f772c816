//! The metadata side file (`<trace>.meta.json`) mapping trace ids back to the program.
//!
//! JSON shape (all fields optional; ids are JSON object keys, hence strings):
//! ```json
//! {
//!   "variables": { "12": { "address": 1116736, "size": 4 } },
//!   "locations": { "7":  { "function": 31, "offset": 4242 } },
//!   "names": { "threads": ["main", "worker"], "locks": ["L0"], "variables": ["x"],
//!              "locations": { "3": "foo.c:12" } }
//! }
//! ```

use std::collections::BTreeMap;
use std::fs::File;
use std::io::{BufReader, BufWriter, Write};
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::error::{Result, TraceError};
use crate::names::Names;

/// Where a variable lives in linear memory.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct VariableInfo {
    /// Byte address in the shared memory.
    pub address: u64,
    /// Size in bytes of the accessed range.
    pub size: u32,
}

/// Where a location is in the original module.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct LocationInfo {
    /// Function index (imports included, as in the module's index space).
    pub function: u32,
    /// Original code offset of the instruction, in bytes from the start of the module.
    pub offset: u64,
}

/// Everything a trace's ids mean; see the module docs for the JSON shape.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Metadata {
    /// Variable id → address and size.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub variables: BTreeMap<u64, VariableInfo>,
    /// Location id → function index and original code offset.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub locations: BTreeMap<u32, LocationInfo>,
    /// Optional original names of threads, locks, variables and locations.
    #[serde(default, skip_serializing_if = "Names::is_empty")]
    pub names: Names,
}

impl Metadata {
    /// The conventional side-file path of a trace: `<trace>.meta.json`.
    pub fn path_for(trace: &Path) -> PathBuf {
        let mut s = trace.as_os_str().to_owned();
        s.push(".meta.json");
        PathBuf::from(s)
    }

    /// Reads metadata JSON from `path`.
    pub fn load(path: &Path) -> Result<Metadata> {
        let file = File::open(path)
            .map_err(|e| TraceError::io(format!("opening metadata {}", path.display()), e))?;
        serde_json::from_reader(BufReader::new(file)).map_err(|source| TraceError::Metadata {
            path: path.to_owned(),
            source,
        })
    }

    /// Writes metadata JSON to `path`.
    pub fn save(&self, path: &Path) -> Result<()> {
        let file = File::create(path)
            .map_err(|e| TraceError::io(format!("creating metadata {}", path.display()), e))?;
        let mut w = BufWriter::new(file);
        serde_json::to_writer_pretty(&mut w, self).map_err(|source| TraceError::Metadata {
            path: path.to_owned(),
            source,
        })?;
        w.flush()
            .map_err(|e| TraceError::io(format!("writing metadata {}", path.display()), e))
    }

    /// True when it carries nothing.
    pub fn is_empty(&self) -> bool {
        self.variables.is_empty() && self.locations.is_empty() && self.names.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_round_trip_with_documented_names() {
        let mut m = Metadata::default();
        m.variables.insert(
            12,
            VariableInfo {
                address: 0x110a40,
                size: 4,
            },
        );
        m.locations.insert(
            7,
            LocationInfo {
                function: 31,
                offset: 4242,
            },
        );
        m.names.threads = vec!["main".into()];
        let json = serde_json::to_value(&m).unwrap();
        assert_eq!(json["variables"]["12"]["address"], 0x110a40);
        assert_eq!(json["variables"]["12"]["size"], 4);
        assert_eq!(json["locations"]["7"]["function"], 31);
        assert_eq!(json["locations"]["7"]["offset"], 4242);
        assert_eq!(json["names"]["threads"][0], "main");
        let back: Metadata = serde_json::from_value(json).unwrap();
        assert_eq!(back, m);
    }

    #[test]
    fn save_load_and_errors() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("t.rapidbin.meta.json");
        assert_eq!(Metadata::path_for(&dir.path().join("t.rapidbin")), p);
        let mut m = Metadata::default();
        m.names.locks = vec!["L1".into()];
        m.save(&p).unwrap();
        assert_eq!(Metadata::load(&p).unwrap(), m);
        std::fs::write(&p, "{ not json").unwrap();
        let err = Metadata::load(&p).unwrap_err().to_string();
        assert!(err.contains("t.rapidbin.meta.json"), "{err}");
        assert!(Metadata::load(&dir.path().join("missing")).is_err());
        // An empty object is valid metadata.
        std::fs::write(&p, "{}").unwrap();
        assert!(Metadata::load(&p).unwrap().is_empty());
    }
}
