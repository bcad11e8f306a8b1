//! Finding and replacing the managed block inside arbitrary profile bytes.
//!
//! Profile files are treated as bytes, never as UTF-8. A marker is a whole
//! line equal to [`BEGIN_MARKER`] or [`END_MARKER`], optionally followed by
//! trailing whitespace or `\r`; an indented marker is not a marker.
//!
//! Line endings: the rendered block always uses LF. When the bytes outside the
//! block predominantly use CRLF (strictly more CRLF than bare-LF line ends),
//! the block is written with CRLF so the file stays consistent; ties and files
//! without line ends get LF. Counting only outside the block keeps [`splice`]
//! idempotent whatever endings an older block had.

use std::borrow::Cow;
use std::ops::Range;

use sha2::{Digest, Sha256};
use similar::TextDiff;

use super::{BEGIN_MARKER, END_MARKER, ProfileError};

/// Where the managed block sits in a file.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BlockSpan {
    /// From the first byte of the begin-marker line through the end-marker
    /// line's terminator (`\n`, if the file has one there).
    pub range: Range<usize>,
    /// 1-based line number of the begin marker.
    pub begin_line: usize,
    /// 1-based line number of the end marker.
    pub end_line: usize,
}

/// The line terminator golock writes into a given file.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LineEnding {
    Lf,
    CrLf,
}

impl LineEnding {
    /// The predominant ending among `parts` (see the module doc for the rule).
    pub fn predominant<'a>(parts: impl IntoIterator<Item = &'a [u8]>) -> LineEnding {
        let (mut crlf, mut lf) = (0usize, 0usize);
        for part in parts {
            for (i, _) in part.iter().enumerate().filter(|(_, b)| **b == b'\n') {
                if i > 0 && part[i - 1] == b'\r' {
                    crlf += 1;
                } else {
                    lf += 1;
                }
            }
        }
        if crlf > lf {
            LineEnding::CrLf
        } else {
            LineEnding::Lf
        }
    }

    fn as_str(self) -> &'static str {
        match self {
            LineEnding::Lf => "\n",
            LineEnding::CrLf => "\r\n",
        }
    }

    /// Converts an LF-only text (as [`render_block`](super::render_block)
    /// returns) to this ending.
    pub fn apply(self, lf_text: &str) -> Cow<'_, str> {
        match self {
            LineEnding::Lf => Cow::Borrowed(lf_text),
            LineEnding::CrLf => Cow::Owned(lf_text.replace('\n', "\r\n")),
        }
    }
}

/// One line of a byte buffer, by offsets.
struct Line {
    /// 1-based.
    number: usize,
    start: usize,
    /// End of the text, excluding `\n`.
    text_end: usize,
    /// End including the `\n`, if any.
    end: usize,
}

fn lines(content: &[u8]) -> impl Iterator<Item = Line> + '_ {
    let mut start = 0;
    let mut number = 0;
    std::iter::from_fn(move || {
        let rest = content.get(start..).filter(|rest| !rest.is_empty())?;
        number += 1;
        let (text_end, end) = match rest.iter().position(|&b| b == b'\n') {
            Some(i) => (start + i, start + i + 1),
            None => (content.len(), content.len()),
        };
        let line = Line {
            number,
            start,
            text_end,
            end,
        };
        start = end;
        Some(line)
    })
}

fn is_marker(text: &[u8], marker: &str) -> bool {
    text.trim_ascii_end() == marker.as_bytes()
}

/// Locates the managed block, or `None` when the file has no markers.
///
/// Duplicate, unpaired or reversed markers are an error naming the lines, so
/// golock never guesses which part of a hand-edited file it owns.
pub fn find_block(content: &[u8]) -> Result<Option<BlockSpan>, ProfileError> {
    let mut begins = Vec::new();
    let mut ends = Vec::new();
    for line in lines(content) {
        let text = &content[line.start..line.text_end];
        if is_marker(text, BEGIN_MARKER) {
            begins.push(line);
        } else if is_marker(text, END_MARKER) {
            ends.push(line);
        }
    }
    match (begins.as_slice(), ends.as_slice()) {
        ([], []) => Ok(None),
        ([first, second, ..], _) => Err(ProfileError::DuplicateBegin {
            first: first.number,
            second: second.number,
        }),
        (_, [first, second, ..]) => Err(ProfileError::DuplicateEnd {
            first: first.number,
            second: second.number,
        }),
        ([begin], []) => Err(ProfileError::UnpairedBegin { line: begin.number }),
        ([], [end]) => Err(ProfileError::UnpairedEnd { line: end.number }),
        ([begin], [end]) if end.number < begin.number => Err(ProfileError::ReversedMarkers {
            begin: begin.number,
            end: end.number,
        }),
        ([begin], [end]) => Ok(Some(BlockSpan {
            range: begin.start..end.end,
            begin_line: begin.number,
            end_line: end.number,
        })),
    }
}

/// The exact text [`splice`] inserts for `block` into `content`: `block` with
/// the file's line ending. Hash this to remember what golock wrote.
pub fn block_as_written<'a>(
    content: &[u8],
    span: Option<&BlockSpan>,
    block: &'a str,
) -> Cow<'a, str> {
    let range = clamped_range(content, span);
    let outside = [&content[..range.start], &content[range.end..]];
    LineEnding::predominant(outside).apply(block)
}

/// Replace the span's bytes with `block`, or append when `span` is None.
///
/// `span` must come from [`find_block`] on the same `content`; an
/// out-of-bounds span is clamped to the content rather than panicking.
/// `block` is LF text (as rendered); it is converted to CRLF when the rest of
/// the file predominantly uses CRLF. When appending, a line ending is first
/// added if the file is non-empty and does not end with `\n`; an empty file
/// becomes just the block.
pub fn splice(content: &[u8], span: Option<&BlockSpan>, block: &str) -> Vec<u8> {
    let block = block_as_written(content, span, block);
    let mut out = Vec::with_capacity(content.len() + block.len() + 2);
    match span {
        Some(_) => {
            let range = clamped_range(content, span);
            out.extend_from_slice(&content[..range.start]);
            out.extend_from_slice(block.as_bytes());
            out.extend_from_slice(&content[range.end..]);
        }
        None => {
            out.extend_from_slice(content);
            if !content.is_empty() && !content.ends_with(b"\n") {
                out.extend_from_slice(LineEnding::predominant([content]).as_str().as_bytes());
            }
            out.extend_from_slice(block.as_bytes());
        }
    }
    out
}

/// The span's range limited to `content`; an empty range at the end for None.
fn clamped_range(content: &[u8], span: Option<&BlockSpan>) -> Range<usize> {
    let len = content.len();
    match span {
        Some(span) => {
            let start = span.range.start.min(len);
            start..span.range.end.clamp(start, len)
        }
        None => len..len,
    }
}

/// sha256 hex of the block bytes (used to detect user edits).
pub fn block_hash(block: &[u8]) -> String {
    hex::encode(Sha256::digest(block))
}

/// A unified diff (`--- a/<path>`, `+++ b/<path>`, 3 lines of context) for
/// showing a planned change; bytes are decoded lossily for display. Empty
/// when `old == new`.
pub fn unified_diff(display_path: &str, old: &[u8], new: &[u8]) -> String {
    if old == new {
        return String::new();
    }
    let old = String::from_utf8_lossy(old);
    let new = String::from_utf8_lossy(new);
    let path = display_path.trim_start_matches('/');
    TextDiff::from_lines(old.as_ref(), new.as_ref())
        .unified_diff()
        .context_radius(3)
        .header(&format!("a/{path}"), &format!("b/{path}"))
        .to_string()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::profile::{Shell, render_block};
    use std::path::Path;

    fn block() -> String {
        render_block(
            Shell::Posix,
            Path::new("/opt/golock/go"),
            &[("GOFLAGS".into(), "-mod=mod".into())],
        )
    }

    fn other_block() -> String {
        render_block(Shell::Posix, Path::new("/opt/golock/go"), &[])
    }

    fn span_of(content: &[u8]) -> Option<BlockSpan> {
        find_block(content).unwrap()
    }

    /// Splices `block` into `content` the way the caller will.
    fn apply(content: &[u8], block: &str) -> Vec<u8> {
        splice(content, span_of(content).as_ref(), block)
    }

    #[test]
    fn find_block_none_without_markers() {
        assert_eq!(find_block(b"").unwrap(), None);
        assert_eq!(find_block(b"export A=1\n# golock\n").unwrap(), None);
    }

    #[test]
    fn find_block_reports_range_and_lines() {
        let content = b"a\nb\n# >>> golock >>>\nx\n# <<< golock <<<\nc\n";
        let span = span_of(content).unwrap();
        assert_eq!(span.begin_line, 3);
        assert_eq!(span.end_line, 5);
        assert_eq!(
            &content[span.range.clone()],
            b"# >>> golock >>>\nx\n# <<< golock <<<\n"
        );
    }

    #[test]
    fn markers_allow_trailing_whitespace_and_cr_only() {
        let content = b"# >>> golock >>>  \t\r\nx\r\n# <<< golock <<<\r";
        let span = span_of(content).unwrap();
        assert_eq!(span.range, 0..content.len());
        assert_eq!((span.begin_line, span.end_line), (1, 3));
        // Indented or prefixed lines are not markers.
        assert_eq!(
            find_block(b"  # >>> golock >>>\n# <<< golock <<< x\n").unwrap(),
            None
        );
    }

    #[test]
    fn marker_errors_name_the_lines() {
        let dup_begin = b"# >>> golock >>>\n\n# >>> golock >>>\n# <<< golock <<<\n";
        let err = find_block(dup_begin).unwrap_err();
        assert_eq!(
            err,
            ProfileError::DuplicateBegin {
                first: 1,
                second: 3
            }
        );
        assert_eq!(
            err.to_string(),
            "duplicate golock begin marker at lines 1 and 3"
        );

        let dup_end = b"# >>> golock >>>\n# <<< golock <<<\nx\n# <<< golock <<<\n";
        assert_eq!(
            find_block(dup_end).unwrap_err(),
            ProfileError::DuplicateEnd {
                first: 2,
                second: 4
            }
        );

        let err = find_block(b"a\n# >>> golock >>>\nb\n").unwrap_err();
        assert_eq!(err, ProfileError::UnpairedBegin { line: 2 });
        assert!(err.to_string().contains("line 2"));

        let err = find_block(b"a\nb\n# <<< golock <<<").unwrap_err();
        assert_eq!(err, ProfileError::UnpairedEnd { line: 3 });

        let err = find_block(b"# <<< golock <<<\nx\n# >>> golock >>>\n").unwrap_err();
        assert_eq!(err, ProfileError::ReversedMarkers { begin: 3, end: 1 });
        assert_eq!(
            err.to_string(),
            "golock end marker at line 1 comes before the begin marker at line 3"
        );
    }

    #[test]
    fn marker_errors_have_help() {
        use miette::Diagnostic;
        let err = find_block(b"# <<< golock <<<\n").unwrap_err();
        assert!(err.help().is_some());
        assert!(err.code().is_some());
    }

    #[test]
    fn append_to_empty_file_is_just_the_block() {
        assert_eq!(apply(b"", &block()), block().as_bytes());
    }

    #[test]
    fn append_adds_missing_newline_first() {
        let out = apply(b"export A=1", &block());
        assert_eq!(out, format!("export A=1\n{}", block()).as_bytes());
        let out = apply(b"export A=1\n", &block());
        assert_eq!(out, format!("export A=1\n{}", block()).as_bytes());
    }

    #[test]
    fn replace_preserves_surrounding_bytes_exactly() {
        let before: &[u8] = b"\xff\xfeweird \x80 bytes\r\nexport A=1\n";
        let after: &[u8] = b"tail \xc3\x28 no newline";
        let old = b"# >>> golock >>>\nold stuff\n# <<< golock <<<\n";
        let content = [before, old, after].concat();
        let out = apply(&content, &block());
        assert_eq!(out, [before, block().as_bytes(), after].concat());
    }

    #[test]
    fn replace_end_marker_at_eof_without_newline() {
        let content = b"x\n# >>> golock >>>\nold\n# <<< golock <<<";
        let out = apply(content, &block());
        assert_eq!(out, format!("x\n{}", block()).as_bytes());
    }

    #[test]
    fn splice_is_idempotent() {
        let inputs: [&[u8]; 6] = [
            b"",
            b"no newline",
            b"a\r\nb\r\nc\r\n",
            b"a\n# >>> golock >>>\nold\n# <<< golock <<<\nb",
            b"\xff\n# >>> golock >>>\r\nold\r\n# <<< golock <<<\r\n\xfe",
            b"a\r\n# >>> golock >>>\nold\nold\nold\nold\n# <<< golock <<<\n",
        ];
        for input in inputs {
            let once = apply(input, &block());
            let twice = apply(&once, &block());
            assert_eq!(once, twice, "input {:?}", String::from_utf8_lossy(input));
            // Changing the block content and back also converges.
            let changed = apply(&apply(&once, &other_block()), &block());
            assert_eq!(changed, once);
        }
    }

    #[test]
    fn crlf_files_get_a_crlf_block() {
        let content = b"export A=1\r\nexport B=2\r\n";
        let out = apply(content, &block());
        let crlf_block = block().replace('\n', "\r\n");
        assert_eq!(out, [&content[..], crlf_block.as_bytes()].concat());
        // No bare LF was introduced.
        assert_eq!(LineEnding::predominant([out.as_slice()]), LineEnding::CrLf);
        assert!(!out.windows(2).any(|w| w[1] == b'\n' && w[0] != b'\r'));

        let no_final_newline = b"export A=1\r\nexport B=2";
        let out = apply(no_final_newline, &block());
        assert_eq!(
            out,
            [&no_final_newline[..], b"\r\n", crlf_block.as_bytes()].concat()
        );
    }

    #[test]
    fn line_ending_counts_outside_the_block_and_ties_are_lf() {
        assert_eq!(LineEnding::predominant([&b"a\r\nb\n"[..]]), LineEnding::Lf);
        assert_eq!(LineEnding::predominant([&b""[..]]), LineEnding::Lf);
        assert_eq!(
            LineEnding::predominant([&b"a\r\n"[..], &b"\nb\r\n"[..]]),
            LineEnding::CrLf
        );
        // A long LF block inside a CRLF file does not flip the decision.
        let content = b"a\r\n# >>> golock >>>\n1\n2\n3\n# <<< golock <<<\n";
        let span = span_of(content);
        let written = block_as_written(content, span.as_ref(), "x\n");
        assert_eq!(written, "x\r\n");
    }

    #[test]
    fn out_of_bounds_span_does_not_panic() {
        let span = BlockSpan {
            range: 5..50,
            begin_line: 1,
            end_line: 2,
        };
        assert_eq!(splice(b"abc", Some(&span), "B\n"), b"abcB\n");
    }

    #[test]
    fn block_hash_is_sha256_hex() {
        assert_eq!(
            block_hash(b""),
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
        );
        assert_eq!(block_hash(b"abc").len(), 64);
        assert_ne!(block_hash(b"a\n"), block_hash(b"a\r\n"));
    }

    #[test]
    fn unified_diff_shows_headers_and_context() {
        let old = b"1\n2\n3\n4\n5\n6\n7\n8\n9\n";
        let new = b"1\n2\n3\n4\nfive\n6\n7\n8\n9\n";
        let diff = unified_diff("/home/u/.bashrc", old, new);
        assert_eq!(
            diff,
            "--- a/home/u/.bashrc\n+++ b/home/u/.bashrc\n@@ -2,7 +2,7 @@\n 2\n 3\n 4\n-5\n+five\n 6\n 7\n 8\n"
        );
        assert_eq!(unified_diff("x", old, old), "");
    }

    #[test]
    fn unified_diff_is_lossy_for_non_utf8() {
        let diff = unified_diff(".profile", b"\xff\n", b"\xfe\nnew\n");
        assert!(diff.starts_with("--- a/.profile\n+++ b/.profile\n"));
        assert!(diff.contains("+new"));
        assert!(diff.contains('\u{FFFD}'));
    }
}
