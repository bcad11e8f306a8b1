//! STUB (replaced by the wt-profile branch).
use std::path::Path;
pub const BEGIN_MARKER: &str = "# >>> golock >>>";
pub const END_MARKER: &str = "# <<< golock <<<";
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Shell {
    Posix,
    Fish,
}
impl Shell {
    pub fn for_path(_path: &Path) -> Shell {
        todo!()
    }
}
pub fn render_block(_shell: Shell, _goroot: &Path, _env: &[(String, String)]) -> String {
    todo!()
}
pub struct BlockSpan {
    pub range: std::ops::Range<usize>,
    pub begin_line: usize,
    pub end_line: usize,
}
pub fn find_block(_content: &[u8]) -> Result<Option<BlockSpan>, ProfileError> {
    todo!()
}
pub fn splice(_content: &[u8], _span: Option<&BlockSpan>, _block: &str) -> Vec<u8> {
    todo!()
}
pub fn block_hash(_block: &[u8]) -> String {
    todo!()
}
pub fn unified_diff(_display_path: &str, _old: &[u8], _new: &[u8]) -> String {
    todo!()
}
pub fn render_goenv(
    _existing: Option<&[u8]>,
    _set: &[(String, String)],
    _remove: &[String],
) -> Vec<u8> {
    todo!()
}
pub fn parse_goenv(_content: &[u8]) -> Vec<(String, String)> {
    todo!()
}
pub fn goenv_rejects(_key: &str) -> Option<&'static str> {
    todo!()
}
#[derive(Debug, thiserror::Error, miette::Diagnostic)]
pub enum ProfileError {
    #[error("stub")]
    Stub,
}
