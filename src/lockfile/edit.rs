//! Rewriting golock.toml in place for `golock lock` and `golock init`:
//! comments, order and formatting of everything else are kept (toml_edit),
//! and so are the file's line endings: a CRLF golock.toml stays CRLF.

use std::collections::BTreeMap;

use toml_edit::{DocumentMut, InlineTable, Item, Table, Value};

use super::{ModuleHashes, ModuleKey, Platform};

#[derive(Debug, thiserror::Error, miette::Diagnostic)]
#[error("golock.toml cannot be edited: {0}")]
#[diagnostic(
    code(golock::lockfile::edit),
    help("fix the TOML syntax first (golock plan shows where)")
)]
pub struct EditError(String);

pub struct Editor {
    doc: DocumentMut,
    crlf: bool,
}

impl Editor {
    pub fn parse(text: &str) -> Result<Editor, EditError> {
        text.parse::<DocumentMut>()
            .map(|doc| Editor {
                doc,
                crlf: uses_crlf(text),
            })
            .map_err(|e| EditError(e.to_string()))
    }

    /// The edited text, with the line endings the parsed text had
    /// (toml_edit writes every line break as LF).
    pub fn finish(self) -> String {
        let text = self.doc.to_string();
        if self.crlf {
            text.replace("\r\n", "\n").replace('\n', "\r\n")
        } else {
            text
        }
    }

    fn table(&mut self, path: &[&str]) -> Result<&mut Table, EditError> {
        let mut table = self.doc.as_table_mut();
        for key in path {
            let entry = table.entry(key).or_insert_with(|| {
                let mut t = Table::new();
                t.set_implicit(false);
                Item::Table(t)
            });
            table = entry
                .as_table_mut()
                .ok_or_else(|| EditError(format!("[{key}] is not a table")))?;
        }
        Ok(table)
    }

    /// Make `[modules.require]` exactly `modules`, one inline table per module.
    pub fn set_modules(
        &mut self,
        modules: &BTreeMap<ModuleKey, ModuleHashes>,
    ) -> Result<(), EditError> {
        let require = self.table(&["modules", "require"])?;
        require.clear();
        for (key, hashes) in modules {
            let mut entry = InlineTable::new();
            if let Some(zip) = &hashes.zip {
                entry.insert("zip", Value::from(zip.as_str()));
            }
            entry.insert("mod", Value::from(hashes.module.as_str()));
            require.insert(&key.to_string(), Item::Value(Value::InlineTable(entry)));
        }
        Ok(())
    }

    /// Set one `[go.archives]` entry.
    pub fn set_archive(
        &mut self,
        platform: Platform,
        file: &str,
        sha256: &str,
        size: u64,
    ) -> Result<(), EditError> {
        let archives = self.table(&["go", "archives"])?;
        let mut entry = InlineTable::new();
        entry.insert("file", Value::from(file));
        entry.insert("sha256", Value::from(sha256));
        entry.insert("size", Value::from(i64::try_from(size).unwrap_or(i64::MAX)));
        archives.insert(
            &platform.to_string(),
            Item::Value(Value::InlineTable(entry)),
        );
        Ok(())
    }

    /// Drop one `[go.archives]` entry, if there.
    pub fn remove_archive(&mut self, platform: Platform) -> Result<(), EditError> {
        self.table(&["go", "archives"])?
            .remove(&platform.to_string());
        Ok(())
    }
}

/// A file's line endings are its first line's, as editors decide.
fn uses_crlf(text: &str) -> bool {
    text.find('\n').is_some_and(|i| text[..i].ends_with('\r'))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_comments_and_replaces_the_module_set() {
        let text = "# top\nschema = 1\n\n[go]\nversion = \"1.27.3\" # pinned\n\n[modules.require]\n\"old.example/x@v1.0.0\" = { mod = \"h1:x\" }\n";
        let mut e = Editor::parse(text).unwrap();
        let mut m = BTreeMap::new();
        m.insert(
            ModuleKey {
                path: "a.example/y".into(),
                version: "v1.2.3".into(),
            },
            ModuleHashes {
                zip: Some("h1:z".into()),
                module: "h1:m".into(),
            },
        );
        e.set_modules(&m).unwrap();
        e.set_archive("linux-amd64".parse().unwrap(), "go.tgz", "ab", 7)
            .unwrap();
        let out = e.finish();
        assert!(out.starts_with("# top\nschema = 1\n"), "{out}");
        assert!(out.contains("version = \"1.27.3\" # pinned"), "{out}");
        assert!(
            out.contains("\"a.example/y@v1.2.3\" = { zip = \"h1:z\", mod = \"h1:m\" }"),
            "{out}"
        );
        assert!(!out.contains("old.example"), "{out}");
        assert!(
            out.contains("linux-amd64 = { file = \"go.tgz\", sha256 = \"ab\", size = 7 }"),
            "{out}"
        );
    }

    #[test]
    fn keeps_crlf_line_endings() {
        let text = "# top\r\nschema = 1\r\n\r\n[go]\r\nversion = \"1.27.3\" # pinned\r\n\r\n[go.archives]\r\nlinux-amd64 = { file = \"a\", sha256 = \"b\", size = 1 }\r\n";
        let unchanged = Editor::parse(text).unwrap().finish();
        assert_eq!(unchanged, text);
        let mut e = Editor::parse(text).unwrap();
        e.set_archive("linux-arm64".parse().unwrap(), "go.tgz", "ab", 7)
            .unwrap();
        e.set_modules(&BTreeMap::new()).unwrap();
        let out = e.finish();
        assert!(out.starts_with("# top\r\nschema = 1\r\n"), "{out:?}");
        assert!(
            out.contains("linux-arm64 = { file = \"go.tgz\", sha256 = \"ab\", size = 7 }\r\n"),
            "{out:?}"
        );
        assert_eq!(
            out.matches('\n').count(),
            out.matches("\r\n").count(),
            "{out:?}"
        );
    }

    #[test]
    fn keeps_lf_line_endings() {
        let text = "schema = 1\n\n[go]\nversion = \"1.27.3\"\n";
        let mut e = Editor::parse(text).unwrap();
        e.set_archive("linux-arm64".parse().unwrap(), "go.tgz", "ab", 7)
            .unwrap();
        assert!(!e.finish().contains('\r'));
    }
}
