//! The serde mirror of `golock.toml`: exactly the file's shape, nothing checked
//! beyond TOML types and known keys (`deny_unknown_fields` everywhere).
//!
//! Values whose content is validated later carry a [`Spanned`] so that
//! `validate.rs` can point a diagnostic at the offending bytes.

use std::fmt;
use std::marker::PhantomData;

use serde::Deserialize;
use serde::de::{IgnoredAny, MapAccess, Visitor};
use toml::Spanned;

/// A first look at the file that only reads `schema`, so that a file written
/// for a newer schema is reported as such rather than as a list of unknown keys.
#[derive(Debug, Deserialize)]
pub struct SchemaProbe {
    pub schema: Option<Spanned<toml::Value>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawLockfile {
    /// Checked by [`SchemaProbe`] before this struct is read.
    #[allow(dead_code)]
    pub schema: IgnoredAny,
    pub go: RawGo,
    #[serde(default)]
    pub modules: RawModules,
    #[serde(default)]
    pub env: Entries<Spanned<String>>,
    #[serde(default)]
    pub profile: RawProfile,
    #[serde(default)]
    pub trusted_keys: Vec<Spanned<String>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawGo {
    pub version: Spanned<String>,
    #[serde(default)]
    pub mirrors: Vec<Spanned<String>>,
    pub link: Option<Spanned<String>>,
    pub health_check: Option<Spanned<String>>,
    #[serde(default)]
    pub platforms: Vec<Spanned<String>>,
    #[serde(default)]
    pub signing_keys: Vec<Spanned<String>>,
    #[serde(default)]
    pub archives: Entries<RawArchive>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawArchive {
    pub file: Spanned<String>,
    pub sha256: Spanned<String>,
    #[serde(default)]
    pub size: u64,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawModules {
    #[serde(default)]
    pub proxies: Vec<Spanned<String>>,
    #[serde(default)]
    pub require: Entries<RawModuleHashes>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawModuleHashes {
    pub zip: Option<Spanned<String>>,
    #[serde(rename = "mod")]
    pub module: Spanned<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawProfile {
    #[serde(default)]
    pub files: Vec<Spanned<String>>,
    #[serde(default)]
    pub goenv: bool,
}

/// The entries of a TOML table with spanned keys, in file order.
///
/// TOML tables deserialize in key order, so the entries are re-sorted by the
/// position of their key in the file.
#[derive(Debug)]
pub struct Entries<V>(pub Vec<(Spanned<String>, V)>);

impl<V> Default for Entries<V> {
    fn default() -> Self {
        Entries(Vec::new())
    }
}

impl<'de, V: Deserialize<'de>> Deserialize<'de> for Entries<V> {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_map(EntriesVisitor(PhantomData))
    }
}

struct EntriesVisitor<V>(PhantomData<V>);

impl<'de, V: Deserialize<'de>> Visitor<'de> for EntriesVisitor<V> {
    type Value = Entries<V>;

    fn expecting(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter.write_str("a table")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        let mut entries: Vec<(Spanned<String>, V)> = Vec::new();
        while let Some(entry) = map.next_entry()? {
            entries.push(entry);
        }
        entries.sort_by_key(|(key, _)| key.span().start);
        Ok(Entries(entries))
    }
}
