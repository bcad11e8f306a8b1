//! A fast path for `[modules.require]`, most of a large golock.toml (a
//! 1,000-module file spent most of a no-op plan's time in the TOML parser).
//! Lines of the one shape `golock lock` writes,
//! `"path@version" = { zip = "h1:…", mod = "h1:…" }`, are read here; the
//! section is then cut off when it ends the file, else blanked into one
//! comment of the same length (so every span in the rest stays right), and
//! only the rest goes to the TOML parser.
//!
//! Anything else — another shape, an escape, a comment after an entry, a
//! duplicate key, or `modules` named anywhere else in the file — makes
//! [`split`] return `None`, and the whole file goes to the TOML parser
//! unchanged. The validator checks the values as usual; when it finds a
//! problem, the file is read again the full way, so every error and its
//! span are the TOML parser's own.

use std::collections::HashSet;

use toml::Spanned;

use super::raw::RawModuleHashes;

const HEADER: &str = "[modules.require]";

/// The file with `[modules.require]` blanked, and that table's entries.
pub struct Split {
    pub rest: String,
    pub require: Vec<(Spanned<String>, RawModuleHashes)>,
}

pub fn split(text: &str) -> Option<Split> {
    let lines = lines_with_offsets(text);
    let header = lines.iter().position(|(_, l)| l.trim() == HEADER)?;
    let end = lines[header + 1..]
        .iter()
        .position(|(_, l)| l.trim_start().starts_with('['))
        .map_or(lines.len(), |i| header + 1 + i);
    let outside = lines[..header].iter().chain(&lines[end..]);
    if outside.clone().any(|(_, l)| names_modules(l)) {
        return None;
    }
    let mut require = Vec::with_capacity(end - header);
    let mut seen = HashSet::with_capacity(end - header);
    for &(offset, line) in &lines[header + 1..end] {
        let trimmed = line.trim();
        if trimmed.is_empty() || trimmed.starts_with('#') {
            continue;
        }
        let (key, hashes) = entry(line, offset)?;
        if !seen.insert(&text[key.span()]) {
            return None;
        }
        require.push((key, hashes));
    }
    let start = lines[header].0;
    let rest = match lines.get(end) {
        None => text[..start].to_owned(),
        Some(&(stop, _)) => blank(text, start, stop)?,
    };
    Some(Split { rest, require })
}

/// `text` with `start..stop` (whole lines) made one comment line.
fn blank(text: &str, start: usize, stop: usize) -> Option<String> {
    let mut rest = text.as_bytes().to_vec();
    rest[start..stop - 1].fill(b' ');
    rest[start] = b'#';
    rest[stop - 1] = b'\n';
    String::from_utf8(rest).ok()
}

/// Each line (without its `\n`) and where it starts.
fn lines_with_offsets(text: &str) -> Vec<(usize, &str)> {
    let mut offset = 0;
    text.split('\n')
        .map(|line| {
            let start = offset;
            offset += line.len() + 1;
            (start, line)
        })
        .collect()
}

/// A line outside the section that could define or extend `modules`.
fn names_modules(line: &str) -> bool {
    let t = line.trim_start();
    let header = t.starts_with('[') && t.contains("modules") && t.trim_end() != "[modules]";
    header
        || ["modules", "\"modules", "'modules"]
            .iter()
            .any(|p| t.starts_with(p))
}

/// One entry of exactly the written shape, with values the validator accepts.
fn entry(line: &str, offset: usize) -> Option<(Spanned<String>, RawModuleHashes)> {
    let line = line.strip_suffix('\r').unwrap_or(line);
    let mut c = Cursor {
        line,
        pos: 0,
        offset,
    };
    c.spaces();
    let key = c.string()?;
    c.spaces();
    c.expect(b'=')?;
    c.spaces();
    c.expect(b'{')?;
    let (mut zip, mut module) = (None, None);
    loop {
        c.spaces();
        let name = c.bare_key()?;
        c.spaces();
        c.expect(b'=')?;
        c.spaces();
        let value = c.string()?;
        let slot = match name {
            "zip" => &mut zip,
            "mod" => &mut module,
            _ => return None,
        };
        if slot.replace(value).is_some() {
            return None;
        }
        c.spaces();
        match c.next()? {
            b',' => continue,
            b'}' => break,
            _ => return None,
        }
    }
    c.spaces();
    if c.pos != line.len() {
        return None;
    }
    Some((
        key,
        RawModuleHashes {
            zip,
            module: module?,
        },
    ))
}

struct Cursor<'a> {
    line: &'a str,
    pos: usize,
    offset: usize,
}

impl<'a> Cursor<'a> {
    fn spaces(&mut self) {
        while matches!(self.line.as_bytes().get(self.pos), Some(b' ' | b'\t')) {
            self.pos += 1;
        }
    }

    fn next(&mut self) -> Option<u8> {
        let b = *self.line.as_bytes().get(self.pos)?;
        self.pos += 1;
        Some(b)
    }

    fn expect(&mut self, want: u8) -> Option<()> {
        (self.next()? == want).then_some(())
    }

    /// A basic string with nothing to unescape (printable ASCII, no `\`).
    fn string(&mut self) -> Option<Spanned<String>> {
        let start = self.pos;
        self.expect(b'"')?;
        let body = self.pos;
        let len = self.line[body..].find('"')?;
        let value = &self.line[body..body + len];
        if !value
            .bytes()
            .all(|b| (0x20..0x7f).contains(&b) && b != b'\\')
        {
            return None;
        }
        self.pos = body + len + 1;
        let span = self.offset + start..self.offset + self.pos;
        Some(Spanned::new(span, value.to_owned()))
    }

    fn bare_key(&mut self) -> Option<&'a str> {
        let start = self.pos;
        while matches!(self.line.as_bytes().get(self.pos), Some(b) if b.is_ascii_alphanumeric() || *b == b'_' || *b == b'-')
        {
            self.pos += 1;
        }
        (self.pos > start).then(|| &self.line[start..self.pos])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const H1: &str = "h1:DE9NAt/IlsgUbDrprGT6kM12mCBkZS73k8myy2bfgH8=";

    fn file(require: &str) -> String {
        format!(
            "schema = 1\n[modules]\nproxies = []\n\n[modules.require]\n{require}\n[env]\nA = \"b\"\n"
        )
    }

    #[test]
    fn written_entries_are_read_and_their_section_blanked() {
        let text = file(&format!(
            "\"a.example/m@v1.0.0\" = {{ zip = \"{H1}\", mod = \"{H1}\" }}\n# note\n\"a.example/n@v1.0.0\" = {{ mod = \"{H1}\" }}\r"
        ));
        let split = split(&text).unwrap();
        assert_eq!(split.rest.len(), text.len());
        assert!(!split.rest.contains("require") && split.rest.contains("\n[env]\n"));
        let last =
            format!("[env]\nA = \"b\"\n{HEADER}\n\"a.example/m@v1.0.0\" = {{ mod = \"{H1}\" }}\n");
        assert_eq!(super::split(&last).unwrap().rest, "[env]\nA = \"b\"\n");
        assert_eq!(split.require.len(), 2);
        let (key, hashes) = &split.require[0];
        assert_eq!(key.get_ref(), "a.example/m@v1.0.0");
        assert_eq!(&text[key.span()], "\"a.example/m@v1.0.0\"");
        assert_eq!(hashes.zip.as_ref().unwrap().get_ref(), H1);
        assert!(split.require[1].1.zip.is_none());
    }

    #[test]
    fn anything_else_goes_to_the_toml_parser() {
        let entry = format!("\"a.example/m@v1.0.0\" = {{ mod = \"{H1}\" }}");
        for odd in [
            format!("{entry} # comment"),
            format!("{entry}\n{entry}"),
            entry.replace("a.example", "a\\u0041.example"),
            entry.replace("mod =", "\"mod\" ="),
            entry.replace("mod =", "other ="),
            entry.replace(" }", ", }"),
            format!("{entry}\n'a.example/x@v1.0.0' = {{ mod = \"{H1}\" }}"),
        ] {
            assert!(split(&file(&odd)).is_none(), "{odd}");
        }
        let elsewhere = format!("modules.proxies = []\n[modules.require]\n{entry}\n");
        assert!(split(&elsewhere).is_none());
        let twice = format!("[modules.require]\n{entry}\n[ modules.require ]\n");
        assert!(split(&twice).is_none());
    }
}
