//! Reading FHIR JSON into typed values, collecting every problem with its location.
//!
//! A [`Reader`] walks the JSON tree once. Each problem becomes an [`Issue`] with a
//! FHIRPath-like location (`Patient.identifier[2].system`) instead of aborting at the
//! first one, so a caller sees everything that is wrong with a resource in one go.
//!
//! Two modes ([`ReadMode`]):
//! - **Strict** (the default, as FHIR requires): unknown elements are errors.
//! - **Lenient**: unknown elements are warnings and are kept where the type has room
//!   for them; reading still fails when a value cannot be built at all (a required
//!   element missing, a value of the wrong JSON type).
//!
//! Generated code reads through [`Stream`](crate::stream::Stream), which reports here;
//! users only see [`ReadError`] and [`Issue`].

use crate::json::JsonValue;
use std::collections::HashSet;
use std::fmt;

/// How strictly to read.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum ReadMode {
    /// Unknown elements are errors (FHIR's rule for receivers that validate).
    #[default]
    Strict,
    /// Unknown elements are warnings; everything that can be read is read.
    Lenient,
}

/// How bad an [`Issue`] is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Severity {
    /// The value does not conform; reading into the requested type fails.
    Error,
    /// Worth knowing, but the value was read.
    Warning,
}

/// What kind of problem an [`Issue`] reports.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum IssueKind {
    /// The text is not JSON.
    Syntax,
    /// A JSON value of the wrong kind (string where an object belongs, …).
    JsonType,
    /// An element the type does not define.
    UnknownElement,
    /// A primitive value that breaks its datatype's rules (bad date, empty string, …).
    InvalidValue,
    /// A required element (`min >= 1`) is missing.
    Required,
    /// More repetitions than `max` allows, or an element the profile forbids (`max = 0`).
    Cardinality,
    /// `resourceType` missing or not the expected one.
    ResourceType,
    /// More than one type given for a choice element (`value[x]`), or a type the profile
    /// does not allow.
    Choice,
    /// A value differs from the profile's fixed or pattern value.
    FixedOrPattern,
    /// A code outside a required value set.
    Binding,
    /// A slice's cardinality or content is violated.
    Slicing,
    /// A FHIRPath invariant is violated.
    Invariant,
    /// JSON that FHIR forbids: `null` outside aligned arrays, empty objects or arrays.
    Structure,
    /// A reference to a resource of a type its element does not allow (`Reference(Patient)`
    /// holding `Practitioner/1`), or a `reference` and `type` that disagree.
    ReferenceTarget,
}

/// One problem found while reading or validating.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Issue {
    /// Error or warning.
    pub severity: Severity,
    /// What kind of problem.
    pub kind: IssueKind,
    /// FHIRPath-like location, e.g. `Patient.identifier[2].system`.
    pub path: String,
    /// A human-readable explanation.
    pub message: String,
}

impl fmt::Display for Issue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let sev = match self.severity {
            Severity::Error => "error",
            Severity::Warning => "warning",
        };
        write!(f, "{sev} at {}: {}", self.path, self.message)
    }
}

/// Reading failed; every problem found is listed, and the JSON that was read is kept so
/// nothing is lost (a caller can still store or forward it as generic JSON).
///
/// Its `Debug` (what `main() -> Result<(), Box<dyn Error>>` prints) is a summary and the
/// first issues, never the JSON tree.
#[derive(Clone, PartialEq)]
pub struct ReadError {
    /// All problems, errors and warnings, in document order.
    pub issues: Vec<Issue>,
    /// The parsed JSON, when the input was JSON at all.
    pub json: Option<JsonValue>,
}

impl ReadError {
    /// Only the errors.
    pub fn errors(&self) -> impl Iterator<Item = &Issue> {
        self.issues.iter().filter(|i| i.severity == Severity::Error)
    }
}

impl fmt::Display for ReadError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let n = self.errors().count();
        write!(f, "{n} error(s) reading FHIR JSON")?;
        for issue in &self.issues {
            write!(f, "\n  {issue}")?;
        }
        Ok(())
    }
}

impl std::error::Error for ReadError {}

/// How many issues `ReadError`'s `Debug` shows.
const DEBUG_ISSUES: usize = 5;

impl fmt::Debug for ReadError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let errors = self.errors().count();
        write!(f, "ReadError: {errors} error(s), {} warning(s)", self.issues.len() - errors)?;
        for issue in self.issues.iter().take(DEBUG_ISSUES) {
            write!(f, "\n  {issue}")?;
        }
        if self.issues.len() > DEBUG_ISSUES {
            write!(f, "\n  … and {} more", self.issues.len() - DEBUG_ISSUES)?;
        }
        if self.json.is_some() {
            write!(f, "\n  (the JSON read is kept in `.json`)")?;
        }
        Ok(())
    }
}

/// One step of a location pushed by the streaming reader, written into the path text only
/// when an issue needs it ([`Reader::sync_path`]).
#[derive(Clone, Copy, Debug)]
pub(crate) struct Seg {
    key: &'static str,
    /// `[index]`, when not `usize::MAX`.
    index: usize,
    /// `_key` rather than `key`.
    ext: bool,
    /// The length of the path text before this step, once it is written.
    start: usize,
}

/// Walks a JSON tree, tracking the current location and collecting issues.
#[derive(Debug)]
pub struct Reader {
    pub(crate) mode: ReadMode,
    pub(crate) path: String,
    /// Steps below `path` not written into it yet, except for the first `written` ones:
    /// reading a member costs a push, and the text is built only for an issue.
    segs: Vec<Seg>,
    written: usize,
    issues: Vec<Issue>,
    /// `(severity, kind, path)` of every issue, built by [`Reader::push_issue`] once there
    /// are more than a few.
    keys: Option<HashSet<(Severity, IssueKind, String)>>,
}

/// The location lists of the last reader dropped on this thread, emptied, for the next one
/// to reuse (a read of a document then allocates none for them): see [`Reader::new`] and
/// its `Drop`. Lists grown past [`SPARE_PATH_BYTES`] and [`SPARE_SEGS`] are not kept.
#[derive(Default)]
struct SpareLocation {
    path: String,
    segs: Vec<Seg>,
}

thread_local! {
    static SPARE_LOCATION: std::cell::Cell<SpareLocation> = const { std::cell::Cell::new(SpareLocation { path: String::new(), segs: Vec::new() }) };
}

/// The longest location text a dropped reader leaves for the next one.
const SPARE_PATH_BYTES: usize = 4096;
/// The most pending location steps a dropped reader leaves room for.
const SPARE_SEGS: usize = 256;

impl Reader {
    /// A reader whose locations start at `root` (usually the resource type).
    pub fn new(root: &str, mode: ReadMode) -> Self {
        let SpareLocation { mut path, segs } = SPARE_LOCATION
            .try_with(|s| s.take())
            .unwrap_or_default();
        path.clear();
        path.push_str(root);
        Reader { mode, path, segs, written: 0, issues: Vec::new(), keys: None }
    }

    /// Appends `.key` (`_key` with `ext`, then `[index]`) to the location without writing
    /// it out; returns what [`pop_seg`](Self::pop_seg) takes back to.
    #[inline]
    pub(crate) fn push_seg(&mut self, key: &'static str, index: Option<usize>, ext: bool) -> usize {
        let n = self.segs.len();
        self.segs.push(Seg { key, index: index.unwrap_or(usize::MAX), ext, start: 0 });
        n
    }

    /// Takes the location back to `n` steps pushed by [`push_seg`](Self::push_seg).
    #[inline]
    pub(crate) fn pop_seg(&mut self, n: usize) {
        if self.written > n {
            self.path.truncate(self.segs[n].start);
            self.written = n;
        }
        self.segs.truncate(n);
    }

    /// Writes the pending steps into the path text (before an issue is recorded there or
    /// the path is read).
    pub(crate) fn sync_path(&mut self) {
        for seg in &mut self.segs[self.written..] {
            seg.start = self.path.len();
            self.path.push('.');
            if seg.ext {
                self.path.push('_');
            }
            self.path.push_str(&crate::stream::shown(seg.key));
            if seg.index != usize::MAX {
                use std::fmt::Write;
                let _ = write!(self.path, "[{}]", seg.index);
            }
        }
        self.written = self.segs.len();
    }

    /// The reading mode.
    pub fn mode(&self) -> ReadMode {
        self.mode
    }

    /// The current location.
    pub fn path(&self) -> &str {
        &self.path
    }

    /// Issues collected so far.
    pub fn issues(&self) -> &[Issue] {
        &self.issues
    }

    /// Takes the collected issues.
    pub fn into_issues(mut self) -> Vec<Issue> {
        std::mem::take(&mut self.issues)
    }

    /// True when an error has been recorded.
    pub fn has_errors(&self) -> bool {
        self.issues.iter().any(|i| i.severity == Severity::Error)
    }

    /// Records an error at the current location.
    pub fn error(&mut self, kind: IssueKind, message: impl Into<String>) {
        self.sync_path();
        let issue = Issue { severity: Severity::Error, kind, path: self.path.clone(), message: message.into() };
        self.record(issue);
    }

    /// Records a warning at the current location.
    pub fn warning(&mut self, kind: IssueKind, message: impl Into<String>) {
        self.sync_path();
        let issue = Issue { severity: Severity::Warning, kind, path: self.path.clone(), message: message.into() };
        self.record(issue);
    }

    fn record(&mut self, issue: Issue) {
        if let Some(keys) = &mut self.keys {
            keys.insert((issue.severity, issue.kind, issue.path.clone()));
        }
        self.issues.push(issue);
    }

    /// Records an issue at an explicit location, unless the same kind of issue is already
    /// recorded there (the typed reader and the profile rules can both notice one problem).
    /// Takes constant time: a scan of the first few issues, then a hash set of the
    /// recorded locations.
    pub fn push_issue(&mut self, issue: Issue) {
        // Up to a few issues (most reads) a scan finds a repeat without building the set.
        const SCANNED: usize = 16;
        if self.keys.is_none() && self.issues.len() < SCANNED {
            if !self.issues.iter().any(|i| i.severity == issue.severity && i.kind == issue.kind && i.path == issue.path) {
                self.issues.push(issue);
            }
            return;
        }
        let keys = self
            .keys
            .get_or_insert_with(|| self.issues.iter().map(|i| (i.severity, i.kind, i.path.clone())).collect());
        if keys.insert((issue.severity, issue.kind, issue.path.clone())) {
            self.issues.push(issue);
        }
    }

    /// Records an issue at the current location unless the same kind is already there.
    pub fn error_once(&mut self, kind: IssueKind, message: impl Into<String>) {
        self.sync_path();
        let issue = Issue { severity: Severity::Error, kind, path: self.path.clone(), message: message.into() };
        self.push_issue(issue);
    }

    /// Runs `f` with `.name` (and `[index]`) appended to the location.
    pub fn at<R>(&mut self, name: &str, index: Option<usize>, f: impl FnOnce(&mut Reader) -> R) -> R {
        self.sync_path();
        let len = self.path.len();
        self.path.push('.');
        self.path.push_str(name);
        if let Some(i) = index {
            use std::fmt::Write;
            let _ = write!(self.path, "[{i}]");
        }
        let out = f(self);
        self.path.truncate(len);
        out
    }
}


/// Leaves the location lists, emptied, for the next reader on this thread (see
/// [`Reader::new`]).
impl Drop for Reader {
    fn drop(&mut self) {
        if self.path.capacity() > SPARE_PATH_BYTES || self.segs.capacity() > SPARE_SEGS {
            return;
        }
        let path = std::mem::take(&mut self.path);
        let mut segs = std::mem::take(&mut self.segs);
        segs.clear();
        // During the thread's teardown there is nowhere to keep them: they are freed.
        let _ = SPARE_LOCATION.try_with(|s| s.set(SpareLocation { path, segs }));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(path: &str, kind: IssueKind) -> Issue {
        Issue { severity: Severity::Error, kind, path: path.to_string(), message: "m".into() }
    }

    #[test]
    fn a_reader_starts_at_its_root_whatever_the_last_one_left() {
        // A reader left mid-way, its location written out for an issue, then dropped: the
        // next one on the thread reuses its lists and starts at its own root.
        let mut first = Reader::new("Patient", ReadMode::Strict);
        first.push_seg("contact", Some(3), false);
        first.push_seg("name", None, true);
        first.error(IssueKind::Required, "m");
        assert_eq!(first.issues()[0].path, "Patient.contact[3]._name");
        drop(first);
        let mut next = Reader::new("Observation", ReadMode::Lenient);
        assert_eq!(next.path(), "Observation");
        assert_eq!(next.mode(), ReadMode::Lenient);
        next.push_seg("code", None, false);
        next.error(IssueKind::Required, "m");
        assert_eq!(next.issues()[0].path, "Observation.code");
        // Issues taken out still leave the lists for the one after.
        assert_eq!(next.into_issues().len(), 1);
        assert_eq!(Reader::new("Bundle", ReadMode::Strict).path(), "Bundle");
    }

    #[test]
    fn repeats_are_dropped_before_and_after_the_set_is_built() {
        let mut r = Reader::new("Patient", ReadMode::Strict);
        // One issue recorded directly (as `error` does), then pushed again: a repeat.
        r.at("a", None, |r| r.error(IssueKind::Required, "first"));
        r.push_issue(at("Patient.a", IssueKind::Required));
        assert_eq!(r.issues().len(), 1);
        // Same place, another kind: kept.
        r.push_issue(at("Patient.a", IssueKind::Binding));
        assert_eq!(r.issues().len(), 2);
        // Past the scanned few, into the set: every earlier issue is still known.
        for i in 0..40 {
            r.push_issue(at(&format!("Patient.x[{i}]"), IssueKind::Cardinality));
        }
        assert_eq!(r.issues().len(), 42);
        r.push_issue(at("Patient.a", IssueKind::Required));
        r.push_issue(at("Patient.x[3]", IssueKind::Cardinality));
        r.push_issue(at("Patient.x[39]", IssueKind::Cardinality));
        assert_eq!(r.issues().len(), 42);
        // Recorded directly after the set exists, then pushed: still a repeat.
        r.at("b", None, |r| r.error(IssueKind::Required, "late"));
        r.push_issue(at("Patient.b", IssueKind::Required));
        assert_eq!(r.issues().len(), 43);
        // A warning at the same place and kind is another issue.
        let mut w = at("Patient.b", IssueKind::Required);
        w.severity = Severity::Warning;
        r.push_issue(w);
        assert_eq!(r.issues().len(), 44);
    }
}
