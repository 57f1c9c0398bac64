//! Rows in PostgreSQL's `COPY … FROM STDIN` text format, written straight into a buffer.
//!
//! Fields are tab-separated, rows end with a newline, `\N` is NULL, and backslash, tab and
//! line breaks inside a value are escaped. Timestamps are written in UTC with microseconds,
//! arrays as `{"…","…"}` literals (every element quoted, so commas and spaces are safe).

use std::fmt::Write as _;

use chrono::{DateTime, Datelike, NaiveDate, Timelike, Utc};
use uuid::Uuid;

/// One table's COPY text, built row by row.
#[derive(Debug, Default)]
pub struct CopyText {
    buf: String,
    rows: u64,
    /// Whether the current row has a field yet (the next one needs a tab first).
    open: bool,
}

impl CopyText {
    pub fn as_bytes(&self) -> &[u8] {
        self.buf.as_bytes()
    }

    pub fn rows(&self) -> u64 {
        self.rows
    }

    pub fn is_empty(&self) -> bool {
        self.rows == 0
    }

    fn sep(&mut self) -> &mut String {
        if self.open {
            self.buf.push('\t');
        }
        self.open = true;
        &mut self.buf
    }

    /// Ends the current row.
    pub fn end(&mut self) {
        self.buf.push('\n');
        self.open = false;
        self.rows += 1;
    }

    pub fn text(&mut self, value: &str) -> &mut Self {
        let buf = self.sep();
        escape_into(buf, value);
        self
    }

    pub fn null(&mut self) -> &mut Self {
        self.sep().push_str("\\N");
        self
    }

    pub fn opt_text(&mut self, value: Option<&str>) -> &mut Self {
        match value {
            Some(v) => self.text(v),
            None => self.null(),
        }
    }

    pub fn int(&mut self, value: i64) -> &mut Self {
        let _ = write!(self.sep(), "{value}");
        self
    }

    pub fn opt_int(&mut self, value: Option<i64>) -> &mut Self {
        match value {
            Some(v) => self.int(v),
            None => self.null(),
        }
    }

    pub fn bool(&mut self, value: bool) -> &mut Self {
        self.sep().push(if value { 't' } else { 'f' });
        self
    }

    pub fn uuid(&mut self, value: Uuid) -> &mut Self {
        let mut tmp = Uuid::encode_buffer();
        let s = value.hyphenated().encode_lower(&mut tmp);
        self.sep().push_str(s);
        self
    }

    pub fn opt_uuid(&mut self, value: Option<Uuid>) -> &mut Self {
        match value {
            Some(v) => self.uuid(v),
            None => self.null(),
        }
    }

    /// A `timestamptz` in UTC with microseconds.
    pub fn time(&mut self, t: DateTime<Utc>) -> &mut Self {
        let (d, tm) = (t.date_naive(), t.time());
        let _ = write!(
            self.sep(),
            "{:04}-{:02}-{:02} {:02}:{:02}:{:02}.{:06}+00",
            d.year(),
            d.month(),
            d.day(),
            tm.hour(),
            tm.minute(),
            tm.second(),
            tm.nanosecond() / 1_000
        );
        self
    }

    pub fn opt_time(&mut self, t: Option<DateTime<Utc>>) -> &mut Self {
        match t {
            Some(t) => self.time(t),
            None => self.null(),
        }
    }

    pub fn date(&mut self, d: NaiveDate) -> &mut Self {
        let _ = write!(
            self.sep(),
            "{:04}-{:02}-{:02}",
            d.year(),
            d.month(),
            d.day()
        );
        self
    }

    /// A `text[]`: each element double-quoted, `"` and `\` backslash-escaped for the array
    /// parser, then the whole literal escaped for COPY.
    pub fn text_array<'a>(&mut self, items: impl IntoIterator<Item = &'a str>) -> &mut Self {
        let mut literal = String::from("{");
        for (i, item) in items.into_iter().enumerate() {
            if i > 0 {
                literal.push(',');
            }
            literal.push('"');
            for c in item.chars() {
                if c == '"' || c == '\\' {
                    literal.push('\\');
                }
                literal.push(c);
            }
            literal.push('"');
        }
        literal.push('}');
        let buf = self.sep();
        escape_into(buf, &literal);
        self
    }
}

/// COPY text escaping of one value.
fn escape_into(out: &mut String, value: &str) {
    if !value
        .bytes()
        .any(|b| matches!(b, b'\\' | b'\t' | b'\n' | b'\r'))
    {
        out.push_str(value);
        return;
    }
    for c in value.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '\t' => out.push_str("\\t"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            _ => out.push(c),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rows_are_escaped() {
        let mut c = CopyText::default();
        let t = DateTime::from_timestamp(1_790_000_000, 123_456_000).expect("time");
        c.text("a\tb\\c").null().int(-5).bool(true).time(t);
        c.end();
        c.text_array(["plant", "CN-SH-01", "say \"hi\", ok", "a\\b"]);
        c.end();
        assert_eq!(c.rows(), 2);
        let text = std::str::from_utf8(c.as_bytes()).expect("utf8");
        assert_eq!(
            text,
            "a\\tb\\\\c\t\\N\t-5\tt\t2026-09-21 14:13:20.123456+00\n\
             {\"plant\",\"CN-SH-01\",\"say \\\\\"hi\\\\\", ok\",\"a\\\\\\\\b\"}\n"
        );
    }
}
