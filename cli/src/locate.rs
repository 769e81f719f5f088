//! Where an element is in the JSON text: a FHIRPath-like issue path mapped to a line and
//! column, computed only for resources that have issues.

use std::collections::HashMap;

/// 1-based line and column (in characters) of every value in a JSON document, keyed by
/// its path from the root: `""`, `identifier`, `identifier[2]`, `identifier[2].system`.
/// The text must be valid JSON (it was parsed before); nesting is bounded by the parser.
pub fn positions(text: &str) -> HashMap<String, (usize, usize)> {
    // A byte order mark is skipped and does not count, as in the parser.
    let start = if text.starts_with('\u{feff}') { 3 } else { 0 };
    let mut s = Scan { b: text.as_bytes(), i: start, line: 1, col: 1, out: HashMap::new() };
    let mut path = String::new();
    s.value(&mut path);
    s.out
}

struct Scan<'a> {
    b: &'a [u8],
    i: usize,
    line: usize,
    col: usize,
    out: HashMap<String, (usize, usize)>,
}

impl Scan<'_> {
    fn peek(&self) -> Option<u8> {
        self.b.get(self.i).copied()
    }

    fn adv(&mut self) {
        if let Some(c) = self.peek() {
            if c == b'\n' {
                self.line += 1;
                self.col = 1;
            } else if c & 0xC0 != 0x80 {
                self.col += 1;
            }
            self.i += 1;
        }
    }

    fn ws(&mut self) {
        while matches!(self.peek(), Some(b' ' | b'\t' | b'\r' | b'\n')) {
            self.adv();
        }
    }

    /// Skips a string, returning its raw content (keys are plain ASCII in FHIR).
    fn string(&mut self) -> String {
        self.adv();
        let start = self.i;
        while let Some(c) = self.peek() {
            match c {
                b'\\' => {
                    self.adv();
                    self.adv();
                }
                b'"' => {
                    let s = String::from_utf8_lossy(&self.b[start..self.i]).into_owned();
                    self.adv();
                    return s;
                }
                _ => self.adv(),
            }
        }
        String::new()
    }

    fn value(&mut self, path: &mut String) {
        self.ws();
        self.out.insert(path.clone(), (self.line, self.col));
        match self.peek() {
            Some(b'{') => {
                self.adv();
                loop {
                    self.ws();
                    match self.peek() {
                        Some(b'"') => {}
                        Some(b',') => {
                            self.adv();
                            continue;
                        }
                        _ => {
                            self.adv();
                            return;
                        }
                    }
                    let key = self.string();
                    self.ws();
                    self.adv(); // ':'
                    let len = path.len();
                    if !path.is_empty() {
                        path.push('.');
                    }
                    path.push_str(&key);
                    self.value(path);
                    path.truncate(len);
                }
            }
            Some(b'[') => {
                self.adv();
                let mut index = 0usize;
                loop {
                    self.ws();
                    match self.peek() {
                        Some(b']') | None => {
                            self.adv();
                            return;
                        }
                        Some(b',') => {
                            self.adv();
                            continue;
                        }
                        _ => {}
                    }
                    let len = path.len();
                    path.push_str(&format!("[{index}]"));
                    self.value(path);
                    path.truncate(len);
                    index += 1;
                }
            }
            Some(b'"') => {
                self.string();
            }
            _ => {
                while let Some(c) = self.peek() {
                    if matches!(c, b',' | b'}' | b']' | b' ' | b'\t' | b'\r' | b'\n') {
                        break;
                    }
                    self.adv();
                }
            }
        }
    }
}

/// The position of an issue's `path` (`Patient.identifier[0].system`) in a resource
/// found at `prefix` (`""` for a whole document, `entry[3].resource` in a Bundle): the
/// deepest element of the path that the text has, at least the resource itself.
pub fn find(positions: &HashMap<String, (usize, usize)>, prefix: &str, path: &str) -> Option<(usize, usize)> {
    // Drop the resource type, slice names (`:nationality`) and `[x]`.
    let mut segments: Vec<String> = path
        .split('.')
        .skip(1)
        .map(|s| {
            let (name, rest) = match s.find('[') {
                Some(i) => (&s[..i], &s[i..]),
                None => (s, ""),
            };
            let name = name.split(':').next().unwrap_or(name);
            let rest = if rest == "[x]" { "" } else { rest };
            format!("{name}{rest}")
        })
        .collect();
    loop {
        let mut key = prefix.to_string();
        for s in &segments {
            if !key.is_empty() {
                key.push('.');
            }
            key.push_str(s);
        }
        if let Some(p) = positions.get(&key) {
            return Some(*p);
        }
        // `name` where the text has `name[0]`, or `_name` for a primitive's extensions.
        if let Some(last) = segments.last() {
            for alt in [format!("{key}[0]"), underscore(&key, last)] {
                if let Some(p) = positions.get(&alt) {
                    return Some(*p);
                }
            }
        }
        segments.pop()?;
    }
}

fn underscore(key: &str, last: &str) -> String {
    let head = &key[..key.len() - last.len()];
    format!("{head}_{last}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn maps_paths_to_lines_and_columns() {
        let text = "{\n  \"resourceType\": \"Patient\",\n  \"identifier\": [\n    {\"system\": \"x\", \"value\": \"é1\"}\n  ],\n  \"_birthDate\": {}\n}";
        let p = positions(text);
        assert_eq!(p[""], (1, 1));
        assert_eq!(p["identifier"], (3, 17));
        assert_eq!(p["identifier[0]"], (4, 5));
        assert_eq!(p["identifier[0].system"], (4, 16));
        assert_eq!(find(&p, "", "Patient.identifier[0].system"), Some((4, 16)));
        // Deeper than the text goes: the deepest existing element.
        assert_eq!(find(&p, "", "Patient.identifier[0].period.start"), Some((4, 5)));
        assert_eq!(find(&p, "", "Patient.identifier[0].value"), Some((4, 30)));
        assert_eq!(find(&p, "", "Patient.birthDate"), Some((6, 17)));
        assert_eq!(find(&p, "", "Patient.name"), Some((1, 1)));
        assert_eq!(find(&p, "", "Patient"), Some((1, 1)));
    }

    #[test]
    fn bundle_entries_use_their_prefix() {
        let text = r#"{"entry":[{"resource":{"resourceType":"Patient","gender":"x"}}]}"#;
        let p = positions(text);
        assert_eq!(find(&p, "entry[0].resource", "Patient.gender"), Some((1, 58)));
        assert_eq!(find(&p, "entry[0].resource", "Patient.name"), Some((1, 23)));
    }
}
