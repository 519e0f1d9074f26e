//! Positions as the Language Server Protocol counts them: zero-based lines
//! and columns in UTF-16 code units, converted to and from the byte offsets
//! the compiler's spans use.
//!
//! Clients may send positions past the end of a line or of the file (a stale
//! edit, a sloppy client); every conversion clamps instead of failing, and a
//! column that falls inside a character snaps to that character's start.

use lsp_types::{Position, Range, TextDocumentContentChangeEvent};

/// The start of every line of one text, for converting positions.
#[derive(Clone, Debug)]
pub struct LineMap {
    line_starts: Vec<usize>,
}

impl LineMap {
    pub fn new(text: &str) -> LineMap {
        let mut line_starts = vec![0];
        line_starts.extend(
            text.bytes()
                .enumerate()
                .filter(|(_, byte)| *byte == b'\n')
                .map(|(i, _)| i + 1),
        );
        LineMap { line_starts }
    }

    /// The byte offset of an LSP position in `text` (the text this map was
    /// built from). A line past the end gives the end of the text; a column
    /// past the end of its line gives the end of the line.
    pub fn offset(&self, text: &str, position: Position) -> usize {
        let Some(&line_start) = self.line_starts.get(position.line as usize) else {
            return text.len();
        };
        let line_end = self
            .line_starts
            .get(position.line as usize + 1)
            .map_or(text.len(), |next| next - 1);
        let line = text.get(line_start..line_end).unwrap_or("");
        let mut units = 0u32;
        for (byte, ch) in line.char_indices() {
            // `\r` of a `\r\n` line ending is not a column a cursor can be on.
            if units >= position.character || ch == '\r' && byte + 1 == line.len() {
                return line_start + byte;
            }
            units += ch.len_utf16() as u32;
            if units > position.character {
                // The column points inside a surrogate pair: snap to its start.
                return line_start + byte;
            }
        }
        line_start + line.len()
    }

    /// The LSP position of a byte offset into `text`, clamped to the text
    /// and to a character boundary.
    pub fn position(&self, text: &str, offset: usize) -> Position {
        let mut offset = offset.min(text.len());
        while !text.is_char_boundary(offset) {
            offset -= 1;
        }
        let line = match self.line_starts.binary_search(&offset) {
            Ok(line) => line,
            Err(next) => next.saturating_sub(1),
        };
        let line_start = self.line_starts.get(line).copied().unwrap_or(0);
        let character: usize = text
            .get(line_start..offset)
            .unwrap_or("")
            .chars()
            .map(char::len_utf16)
            .sum();
        Position::new(line as u32, character as u32)
    }

    /// The LSP range of a byte range into `text`.
    pub fn range(&self, text: &str, start: usize, end: usize) -> Range {
        Range::new(self.position(text, start), self.position(text, end))
    }
}

/// Applies one change of `textDocument/didChange` to `text`: a whole new
/// text when the change has no range, else a replacement of the range.
pub fn apply_change(text: &mut String, change: &TextDocumentContentChangeEvent) {
    match change.range {
        None => text.clone_from(&change.text),
        Some(range) => {
            let lines = LineMap::new(text);
            let start = lines.offset(text, range.start);
            let end = lines.offset(text, range.end).max(start);
            text.replace_range(start..end, &change.text);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn change(
        range: Option<((u32, u32), (u32, u32))>,
        text: &str,
    ) -> TextDocumentContentChangeEvent {
        TextDocumentContentChangeEvent {
            range: range.map(|((l1, c1), (l2, c2))| {
                Range::new(Position::new(l1, c1), Position::new(l2, c2))
            }),
            range_length: None,
            text: text.to_string(),
        }
    }

    #[test]
    fn ascii_positions_round_trip() {
        let text = "let a = 1\nlet b = 2\n";
        let lines = LineMap::new(text);
        for offset in 0..=text.len() {
            let position = lines.position(text, offset);
            assert_eq!(lines.offset(text, position), offset, "offset {offset}");
        }
        assert_eq!(lines.position(text, 10), Position::new(1, 0));
        assert_eq!(lines.position(text, text.len()), Position::new(2, 0));
    }

    #[test]
    fn columns_count_utf16_units() {
        // `é` is 2 bytes and 1 unit; `😀` is 4 bytes and 2 units.
        let text = "é😀x\n";
        let lines = LineMap::new(text);
        assert_eq!(lines.position(text, 2), Position::new(0, 1));
        assert_eq!(lines.position(text, 6), Position::new(0, 3));
        assert_eq!(lines.offset(text, Position::new(0, 3)), 6);
        assert_eq!(lines.offset(text, Position::new(0, 4)), 7);
        // Inside the surrogate pair: the start of the emoji.
        assert_eq!(lines.offset(text, Position::new(0, 2)), 2);
        // An offset inside a character snaps back to its start.
        assert_eq!(lines.position(text, 4), Position::new(0, 1));
    }

    #[test]
    fn out_of_range_positions_clamp() {
        let text = "ab\r\ncd";
        let lines = LineMap::new(text);
        assert_eq!(
            lines.offset(text, Position::new(0, 99)),
            2,
            "before the \\r"
        );
        assert_eq!(lines.offset(text, Position::new(1, 99)), text.len());
        assert_eq!(lines.offset(text, Position::new(7, 0)), text.len());
        assert_eq!(lines.position(text, 999), Position::new(1, 2));
    }

    #[test]
    fn range_edits_apply_in_utf16() {
        let mut text = "let s = \"😀\" + x\nlet y = 2\n".to_string();
        // Replace `x` (after the emoji, at UTF-16 column 15) by `yy`.
        apply_change(&mut text, &change(Some(((0, 15), (0, 16))), "yy"));
        assert_eq!(text, "let s = \"😀\" + yy\nlet y = 2\n");
        // Insert across lines, then delete across lines.
        apply_change(&mut text, &change(Some(((1, 0), (1, 0))), "// c\n"));
        assert_eq!(text, "let s = \"😀\" + yy\n// c\nlet y = 2\n");
        apply_change(&mut text, &change(Some(((0, 16), (2, 3))), ""));
        assert_eq!(text, "let s = \"😀\" + y y = 2\n");
        apply_change(&mut text, &change(None, "whole"));
        assert_eq!(text, "whole");
        // A reversed range deletes nothing and inserts at its start.
        apply_change(&mut text, &change(Some(((0, 3), (0, 1))), "-"));
        assert_eq!(text, "who-le");
    }
}
