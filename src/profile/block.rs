//! Finding and replacing the managed block inside arbitrary profile bytes.
//!
//! Profile files are treated as bytes, never as UTF-8. A marker is a whole
//! line equal to [`BEGIN_MARKER`] or [`END_MARKER`], optionally followed by
//! trailing whitespace or `\r`; an indented marker is not a marker.
//!
//! Line endings: the block is always written with LF, whatever the rest of
//! the file uses. sh, bash, zsh and fish read a `\r` before the newline as
//! part of the last word (`syntax error near unexpected token $'in\r'`), so a
//! CRLF block would break every login; [`crlf_lines`] counts the file's own
//! CRLF lines so the caller can warn about them, and they are left as they are.

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

/// Lines outside the managed block that end in CRLF: the shell reads their
/// `\r` as part of the line, so they are worth a warning (golock never
/// rewrites them).
pub fn crlf_lines(content: &[u8], span: Option<&BlockSpan>) -> usize {
    let range = clamped_range(content, span);
    [&content[..range.start], &content[range.end..]]
        .iter()
        .map(|part| part.windows(2).filter(|w| w == b"\r\n").count())
        .sum()
}

/// Replace the span's bytes with `block`, or append when `span` is None.
///
/// `span` must come from [`find_block`] on the same `content`; an
/// out-of-bounds span is clamped to the content rather than panicking.
/// `block` is LF text (as rendered) and is written as it is, LF even in a
/// CRLF file. When appending, a `\n` is first added if the file is non-empty
/// and does not end with one; an empty file becomes just the block.
pub fn splice(content: &[u8], span: Option<&BlockSpan>, block: &str) -> Vec<u8> {
    let mut out = Vec::with_capacity(content.len() + block.len() + 1);
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
                out.push(b'\n');
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
    fn crlf_files_get_an_lf_block_and_keep_their_own_bytes() {
        let content = b"export A=1\r\nexport B=2\r\n";
        let out = apply(content, &block());
        assert_eq!(out, [&content[..], block().as_bytes()].concat());
        assert_eq!(crlf_lines(&out, span_of(&out).as_ref()), 2);

        let no_final_newline = b"export A=1\r\nexport B=2";
        let out = apply(no_final_newline, &block());
        assert_eq!(
            out,
            [&no_final_newline[..], b"\n", block().as_bytes()].concat()
        );

        // An older CRLF block is replaced by an LF one; the rest is kept.
        let old = b"a\r\n# >>> golock >>>\r\nold\r\n# <<< golock <<<\r\nb\r\n";
        let out = apply(old, &block());
        assert_eq!(out, [&b"a\r\n"[..], block().as_bytes(), b"b\r\n"].concat());
    }

    #[test]
    fn crlf_lines_counts_outside_the_block_only() {
        assert_eq!(crlf_lines(b"", None), 0);
        assert_eq!(crlf_lines(b"a\nb\n", None), 0);
        let content = b"a\r\n# >>> golock >>>\r\n1\r\n# <<< golock <<<\r\nb\r\n";
        assert_eq!(crlf_lines(content, span_of(content).as_ref()), 2);
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
