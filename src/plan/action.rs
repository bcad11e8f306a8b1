//! The closed set of things an apply can do, each with its sigil.

use std::path::PathBuf;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::fetch::Source;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Sigil {
    Add,
    Change,
    Remove,
}

impl Sigil {
    pub fn symbol(self) -> char {
        match self {
            Sigil::Add => '+',
            Sigil::Change => '~',
            Sigil::Remove => '-',
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LinkRole {
    /// `<root>/go`, the GOROOT every shell uses.
    Active,
    /// `[go] link`, an extra stable path such as /usr/local/go.
    Extra,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FileRole {
    Profile,
    GoEnv,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Action {
    InstallToolchain {
        version: String,
        platform: String,
        file: String,
        sha256: String,
        size: u64,
        target: PathBuf,
        sources: Vec<Source>,
        /// Why an existing dir at `target` is replaced, if there is one.
        replaces: Option<String>,
        /// The trusted keys (`FINGERPRINT (key file)`) one of which must have
        /// signed the archive; empty without `[go] signing_keys`.
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        signed_by: Vec<String>,
    },
    SwitchLink {
        role: LinkRole,
        link: PathBuf,
        from: Option<PathBuf>,
        to: PathBuf,
    },
    WriteFile {
        role: FileRole,
        /// As listed in golock.toml.
        path: PathBuf,
        /// Where the bytes go (the target when `path` is a symlink).
        write_path: PathBuf,
        /// sha256 of the content the plan saw; apply refuses if it changed.
        before_sha256: Option<String>,
        after: Content,
        diff: String,
        /// A profile file that gets golock's block for the first time (it
        /// had none), so shells started before apply lack it.
        #[serde(default, skip_serializing_if = "std::ops::Not::not")]
        adds_block: bool,
    },
    /// Replace an installed toolchain that is not what golock.toml locks
    /// (another archive sha256, or files that differ from its manifest);
    /// the old tree is moved aside under the journal until commit.
    ReinstallToolchain {
        version: String,
        platform: String,
        file: String,
        sha256: String,
        size: u64,
        target: PathBuf,
        sources: Vec<Source>,
        reason: String,
        /// The trusted keys (`FINGERPRINT (key file)`) one of which must have
        /// signed the archive; empty without `[go] signing_keys`.
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        signed_by: Vec<String>,
    },
    RemoveToolchain {
        version: String,
        dir: PathBuf,
    },
    /// Take golock's block out of a profile file golock.toml no longer
    /// lists (recorded in state.json); the rest of the file stays.
    RemoveBlock {
        path: PathBuf,
        write_path: PathBuf,
        before_sha256: String,
        after: Content,
        diff: String,
    },
    /// Fetch, verify against the lock and install one module into GOMODCACHE.
    AddModule {
        path: String,
        version: String,
        /// go.sum `h1:` of the zip; `None` for a module locked by its go.mod only.
        zip: Option<String>,
        #[serde(rename = "mod")]
        go_mod: String,
        cache: PathBuf,
        sources: Vec<Source>,
        /// Why what is cached now is replaced, if anything is.
        repair: Option<String>,
        /// `--repair` found its zip or tree damaged: apply rehashes them
        /// (under cmd/go's lock) instead of trusting the `.ziphash`.
        #[serde(default, skip_serializing_if = "std::ops::Not::not")]
        rehash: bool,
    },
    /// Remove a link golock made to one of its toolchains (`uninstall`);
    /// moved aside under the journal until commit.
    RemoveLink {
        role: LinkRole,
        link: PathBuf,
        target: PathBuf,
    },
    /// Remove a file golock created that is empty once its part is out
    /// (`uninstall`); moved aside under the journal until commit.
    RemoveFile {
        role: FileRole,
        path: PathBuf,
        write_path: PathBuf,
        before_sha256: String,
        diff: String,
    },
    /// Remove a cached module golock.toml does not lock (--prune-modules),
    /// or one golock installed (`uninstall --modules`).
    RemoveModule {
        path: String,
        version: String,
        cache: PathBuf,
    },
}

impl Action {
    pub fn sigil(&self) -> Sigil {
        match self {
            Action::InstallToolchain { .. } => Sigil::Add,
            Action::SwitchLink { from: None, .. } => Sigil::Add,
            Action::SwitchLink { .. } => Sigil::Change,
            Action::WriteFile {
                before_sha256: None,
                ..
            } => Sigil::Add,
            Action::WriteFile { .. } => Sigil::Change,
            Action::ReinstallToolchain { .. } => Sigil::Change,
            Action::RemoveToolchain { .. } => Sigil::Remove,
            Action::RemoveBlock { .. } => Sigil::Remove,
            Action::AddModule { repair: None, .. } => Sigil::Add,
            Action::AddModule { .. } => Sigil::Change,
            Action::RemoveModule { .. } => Sigil::Remove,
            Action::RemoveLink { .. } | Action::RemoveFile { .. } => Sigil::Remove,
        }
    }
}

/// File bytes in JSON: a string when they are UTF-8 (the usual case), else
/// `{"hex": "…"}`, so no byte of a user's file is ever lost in a saved plan.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Content(pub Vec<u8>);

#[derive(Serialize, Deserialize)]
#[serde(untagged)]
enum ContentRepr {
    Text(String),
    Hex { hex: String },
}

impl Serialize for Content {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match std::str::from_utf8(&self.0) {
            Ok(text) => ContentRepr::Text(text.to_string()),
            Err(_) => ContentRepr::Hex {
                hex: hex::encode(&self.0),
            },
        }
        .serialize(s)
    }
}

impl<'de> Deserialize<'de> for Content {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        match ContentRepr::deserialize(d)? {
            ContentRepr::Text(t) => Ok(Content(t.into_bytes())),
            ContentRepr::Hex { hex } => hex::decode(hex)
                .map(Content)
                .map_err(serde::de::Error::custom),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn content_round_trips_text_and_binary() {
        for bytes in [b"export A=1\r\n".to_vec(), vec![0xff, 0xfe, b'\n']] {
            let json = serde_json::to_string(&Content(bytes.clone())).unwrap();
            let back: Content = serde_json::from_str(&json).unwrap();
            assert_eq!(back.0, bytes);
        }
        assert_eq!(
            serde_json::to_string(&Content(vec![0xff])).unwrap(),
            r#"{"hex":"ff"}"#
        );
    }
}
