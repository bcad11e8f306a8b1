//! STUB (replaced by the wt-archive branch).
use std::path::Path;
pub struct Limits {
    pub max_unpacked_bytes: u64,
    pub max_entries: u64,
}
impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_unpacked_bytes: 1 << 30,
            max_entries: 100_000,
        }
    }
}
pub struct Extracted {
    pub sha256: [u8; 32],
    pub compressed_bytes: u64,
    pub unpacked_bytes: u64,
    pub entries: u64,
}
#[derive(Debug, thiserror::Error, miette::Diagnostic)]
pub enum ArchiveError {
    #[error("stub")]
    Stub,
}
pub fn extract_tar_gz<R: std::io::Read>(
    _source: R,
    _dest: &Path,
    _limits: &Limits,
    _on_progress: &mut dyn FnMut(u64),
) -> Result<Extracted, ArchiveError> {
    todo!()
}
