//! FHIRPath tokens.

use super::ParseError;

#[derive(Clone, Debug, PartialEq)]
pub(crate) enum Tok {
    /// An identifier; `true` when it was delimited with backticks.
    Ident(String, bool),
    Str(String),
    /// Number text (`12`, `1.50`); `true` for a long (`12L`).
    Num(String, bool),
    /// `@2014-01-01`, `@2014-01-01T10:00`, `@T10:00` (text after the `@`).
    DateTime(String),
    /// `%name`, `%'name'`, `%`name``.
    Env(String),
    /// `$this`, `$index`, `$total`.
    Dollar(String),
    Sym(&'static str),
}

const SYMS: &[&str] =
    &["!=", "!~", "<=", ">=", ".", "(", ")", "[", "]", "{", "}", ",", "+", "-", "*", "/", "&", "|", "=", "~", "<", ">"];

fn string_lit(src: &str, i: &mut usize, quote: u8) -> Result<String, ParseError> {
    let b = src.as_bytes();
    let mut s = String::new();
    *i += 1;
    loop {
        match b.get(*i) {
            None => return Err(ParseError(format!("unterminated literal at {}", *i))),
            Some(&c) if c == quote => {
                *i += 1;
                return Ok(s);
            }
            Some(b'\\') => {
                let e = *b.get(*i + 1).ok_or_else(|| ParseError("bad escape".into()))?;
                *i += 2;
                match e {
                    b'n' => s.push('\n'),
                    b't' => s.push('\t'),
                    b'r' => s.push('\r'),
                    b'f' => s.push('\u{c}'),
                    b'u' => {
                        let hex = src.get(*i..*i + 4).ok_or_else(|| ParseError("bad \\u escape".into()))?;
                        let n = u32::from_str_radix(hex, 16).map_err(|_| ParseError("bad \\u escape".into()))?;
                        s.push(char::from_u32(n).unwrap_or('\u{fffd}'));
                        *i += 4;
                    }
                    b'\'' | b'"' | b'`' | b'\\' | b'/' => s.push(e as char),
                    other => return Err(ParseError(format!("bad escape \\{}", other as char))),
                }
            }
            Some(_) => {
                let ch = src[*i..].chars().next().unwrap_or('\0');
                s.push(ch);
                *i += ch.len_utf8();
            }
        }
    }
}

pub(crate) fn lex(src: &str) -> Result<Vec<Tok>, ParseError> {
    let b = src.as_bytes();
    let mut i = 0;
    let mut out = Vec::new();
    while i < b.len() {
        let c = b[i];
        if c.is_ascii_whitespace() {
            i += 1;
        } else if src[i..].starts_with("//") {
            while i < b.len() && b[i] != b'\n' {
                i += 1;
            }
        } else if src[i..].starts_with("/*") {
            match src[i + 2..].find("*/") {
                Some(end) => i += end + 4,
                None => return Err(ParseError("unterminated comment".into())),
            }
        } else if c == b'\'' {
            out.push(Tok::Str(string_lit(src, &mut i, b'\'')?));
        } else if c == b'"' {
            // Not FHIRPath, but R5's own eld-11 writes `contains(":")`; read as the HL7
            // reference engine does, as a string.
            out.push(Tok::Str(string_lit(src, &mut i, b'"')?));
        } else if c == b'`' {
            out.push(Tok::Ident(string_lit(src, &mut i, b'`')?, true));
        } else if c.is_ascii_digit() {
            let start = i;
            while i < b.len() && b[i].is_ascii_digit() {
                i += 1;
            }
            if i + 1 < b.len() && b[i] == b'.' && b[i + 1].is_ascii_digit() {
                i += 1;
                while i < b.len() && b[i].is_ascii_digit() {
                    i += 1;
                }
            }
            let text = src[start..i].to_string();
            let long = i < b.len() && b[i] == b'L';
            if long {
                i += 1;
            }
            out.push(Tok::Num(text, long));
        } else if c.is_ascii_alphabetic() || c == b'_' {
            let start = i;
            while i < b.len() && (b[i].is_ascii_alphanumeric() || b[i] == b'_') {
                i += 1;
            }
            out.push(Tok::Ident(src[start..i].to_string(), false));
        } else if c == b'@' {
            let start = i + 1;
            i += 1;
            // Date, time and zone characters; a zone sign only after a time.
            let mut seen_t = false;
            while i < b.len() {
                let ch = b[i];
                let digit_next = b.get(i + 1).is_some_and(u8::is_ascii_digit);
                let part = ch.is_ascii_digit()
                    || ch == b':'
                    || (matches!(ch, b'-' | b'.') && digit_next)
                    || (ch == b'+' && seen_t && digit_next);
                if part {
                    i += 1;
                } else if ch == b'T' && !seen_t {
                    seen_t = true;
                    i += 1;
                } else if ch == b'Z' && seen_t {
                    i += 1;
                    break;
                } else {
                    break;
                }
            }
            if i == start {
                return Err(ParseError("empty date/time literal".into()));
            }
            out.push(Tok::DateTime(src[start..i].to_string()));
        } else if c == b'%' {
            i += 1;
            match b.get(i) {
                Some(b'\'') => out.push(Tok::Env(string_lit(src, &mut i, b'\'')?)),
                Some(b'`') => out.push(Tok::Env(string_lit(src, &mut i, b'`')?)),
                _ => {
                    let start = i;
                    while i < b.len() && (b[i].is_ascii_alphanumeric() || b[i] == b'_' || b[i] == b'-') {
                        i += 1;
                    }
                    if i == start {
                        return Err(ParseError("expected a name after %".into()));
                    }
                    out.push(Tok::Env(src[start..i].to_string()));
                }
            }
        } else if c == b'$' {
            let start = i + 1;
            i += 1;
            while i < b.len() && b[i].is_ascii_alphanumeric() {
                i += 1;
            }
            out.push(Tok::Dollar(src[start..i].to_string()));
        } else if let Some(s) = SYMS.iter().find(|s| src[i..].starts_with(**s)) {
            out.push(Tok::Sym(s));
            i += s.len();
        } else {
            let ch = src[i..].chars().next().unwrap_or('?');
            return Err(ParseError(format!("unexpected '{ch}'")));
        }
    }
    Ok(out)
}
