//! Document URIs and the `/`-separated paths the compiler names files by.
//!
//! A `file:` URI becomes its decoded path (`file:///c%3A/x.flow` becomes
//! `c:/x.flow` on Windows). Any other URI (an unsaved `untitled:` buffer)
//! keeps its text as its path: it can be analysed, but relative imports from
//! it find nothing on disk.

use lsp_types::Uri;

/// The path the analysis knows a document by.
pub fn uri_to_path(uri: &Uri) -> String {
    let text = uri.as_str();
    let Some(rest) = text.strip_prefix("file://") else {
        return text.to_string();
    };
    // Skip an authority (`file://host/path`); local files have none.
    let path = match rest.find('/') {
        Some(slash) => &rest[slash..],
        None => rest,
    };
    let decoded = percent_decode(path);
    // `/c:/dir` is the Windows path `c:/dir`.
    let bytes = decoded.as_bytes();
    if bytes.len() >= 3 && bytes[0] == b'/' && bytes[1].is_ascii_alphabetic() && bytes[2] == b':' {
        decoded[1..].to_string()
    } else {
        decoded
    }
}

/// The `file:` URI of a path; `None` if the result would not parse as a
/// URI (which percent-encoding prevents, so only in theory).
pub fn path_to_uri(path: &str) -> Option<Uri> {
    let mut out = String::from("file://");
    if !path.starts_with('/') {
        out.push('/');
    }
    for byte in path.bytes() {
        let keep = byte.is_ascii_alphanumeric() || b"/-._~".contains(&byte);
        if keep {
            out.push(byte as char);
        } else {
            out.push_str(&format!("%{byte:02X}"));
        }
    }
    out.parse().ok()
}

fn percent_decode(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let escaped = (bytes[i] == b'%')
            .then(|| text.get(i + 1..i + 3))
            .flatten()
            .and_then(|hex| u8::from_str_radix(hex, 16).ok());
        match escaped {
            Some(byte) => {
                out.push(byte);
                i += 3;
            }
            None => {
                out.push(bytes[i]);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn uri(text: &str) -> Uri {
        text.parse().expect("valid uri")
    }

    #[test]
    fn file_uris_decode_to_paths() {
        assert_eq!(
            uri_to_path(&uri("file:///home/a/job.flow")),
            "/home/a/job.flow"
        );
        assert_eq!(
            uri_to_path(&uri("file:///home/a%20b/j%C3%A9.flow")),
            "/home/a b/jé.flow"
        );
        assert_eq!(
            uri_to_path(&uri("file:///c%3A/x/job.flow")),
            "c:/x/job.flow"
        );
        assert_eq!(uri_to_path(&uri("file:///C:/x/job.flow")), "C:/x/job.flow");
        assert_eq!(
            uri_to_path(&uri("untitled:Untitled-1")),
            "untitled:Untitled-1"
        );
        // A broken escape is kept as written.
        assert_eq!(percent_decode("/a%2"), "/a%2");
        assert_eq!(percent_decode("/a%zz"), "/a%zz");
    }

    #[test]
    fn paths_round_trip_through_uris() {
        for path in ["/home/a/job.flow", "/home/a b/jé#1.flow", "c:/x/job.flow"] {
            let uri = path_to_uri(path).expect("uri");
            assert_eq!(uri_to_path(&uri), path, "{}", uri.as_str());
        }
        assert_eq!(path_to_uri("/a b").expect("uri").as_str(), "file:///a%20b");
    }
}
