//! The pieces every page is made of: escaping, the page shell, lists of documents, paging.
//!
//! Pages are written with `write!` into a `String` rather than through a template engine: there
//! are few page shapes, and a release writes one page per document, so the cost per page matters.

use std::fmt::Write;

/// Escapes text for HTML element content and double-quoted attribute values.
pub fn esc(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + text.len() / 16);
    push_esc(&mut out, text);
    out
}

/// Appends `text` escaped (the one rule for every page: `common::html::push_escaped`).
pub use common::html::push_escaped as push_esc;

/// What every page shares.
pub struct Shell<'a> {
    /// The archive's title.
    pub site: &'a str,
    /// The relative way back to the site root from this page: `""`, `"../"`, `"../../"`.
    pub root: &'a str,
    /// The stylesheet's path from the site root (content-hashed).
    pub style: &'a str,
    /// The release's version and date, for the footer.
    pub footer: &'a str,
}

impl Shell<'_> {
    /// A whole page: `title` (plain text), `crumbs` (pairs of label and link from the root;
    /// the last is this page), `main` (HTML).
    pub fn page(&self, title: &str, crumbs: &[(&str, &str)], main: &str) -> String {
        self.page_with(title, crumbs, main, "", true)
    }

    /// As [`Shell::page`], with extra `<head>` elements and without the header's search form
    /// (the search page has its own).
    pub fn page_with(
        &self,
        title: &str,
        crumbs: &[(&str, &str)],
        main: &str,
        head: &str,
        search_form: bool,
    ) -> String {
        let root = self.root;
        let home = if root.is_empty() { "./" } else { root };
        let mut out = String::with_capacity(main.len() + 2048);
        let _ = write!(
            out,
            "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n\
             <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n\
             <title>{}</title>\n<link rel=\"stylesheet\" href=\"{root}{}\">\n\
             <link rel=\"icon\" href=\"data:,\">\n{head}</head>\n<body>\n\
             <a class=\"skip\" href=\"#main\">Skip to content</a>\n<header class=\"top\">\n\
             <nav aria-label=\"Site\"><a class=\"brand\" href=\"{home}\">{}</a> \
             <a href=\"{root}browse/\">Browse</a> <a href=\"{root}search/\">Search</a> \
             <a href=\"{root}mirrors/\">Mirrors</a></nav>\n",
            if title == self.site {
                esc(title)
            } else {
                format!("{} · {}", esc(title), esc(self.site))
            },
            self.style,
            esc(self.site),
        );
        if search_form {
            let _ = writeln!(
                out,
                "<form role=\"search\" class=\"quick\" action=\"{root}search/\" method=\"get\">\
                 <label for=\"top-q\" class=\"vh\">Search the archive</label>\
                 <input id=\"top-q\" name=\"q\" type=\"search\" placeholder=\"Search the archive\">\
                 <button type=\"submit\">Search</button></form>"
            );
        }
        out.push_str("</header>\n");
        if crumbs.len() > 1 {
            out.push_str("<nav class=\"crumbs\" aria-label=\"Breadcrumb\"><ol>");
            for (i, (label, link)) in crumbs.iter().enumerate() {
                if i + 1 == crumbs.len() {
                    let _ = write!(
                        out,
                        "<li><span aria-current=\"page\">{}</span></li>",
                        esc(label)
                    );
                } else {
                    let link = if link.is_empty() && root.is_empty() {
                        "./"
                    } else {
                        link
                    };
                    let _ = write!(out, "<li><a href=\"{root}{link}\">{}</a></li>", esc(label));
                }
            }
            out.push_str("</ol></nav>\n");
        }
        let _ = write!(
            out,
            "<main id=\"main\">\n{main}</main>\n<footer><p>{}</p></footer>\n\
             <script src=\"{root}sw-register.js\" defer></script>\n</body>\n</html>\n",
            self.footer
        );
        out
    }
}

/// A page of a paged list: its file name and the links to the others.
pub fn page_file(page: usize) -> String {
    if page == 1 {
        "index.html".to_owned()
    } else {
        format!("{page}.html")
    }
}

/// The pager between `pages` pages of a list, on page `page` (1-based); empty when one page.
pub fn pager(page: usize, pages: usize) -> String {
    if pages <= 1 {
        return String::new();
    }
    let link = |p: usize| {
        if p == 1 {
            "./".to_owned()
        } else {
            format!("{p}.html")
        }
    };
    let mut out = String::from("<nav class=\"pager\" aria-label=\"Pages\"><ul>");
    if page > 1 {
        let _ = write!(
            out,
            "<li><a rel=\"prev\" href=\"{}\">Previous</a></li>",
            link(page - 1)
        );
    }
    // First, last, and a window around this page.
    let mut last_shown = 0;
    for p in 1..=pages {
        let near = p.abs_diff(page) <= 3;
        if p == 1 || p == pages || near {
            if last_shown + 1 < p {
                out.push_str("<li aria-hidden=\"true\">…</li>");
            }
            if p == page {
                let _ = write!(out, "<li><span aria-current=\"page\">{p}</span></li>");
            } else {
                let _ = write!(out, "<li><a href=\"{}\">{p}</a></li>", link(p));
            }
            last_shown = p;
        }
    }
    if page < pages {
        let _ = write!(
            out,
            "<li><a rel=\"next\" href=\"{}\">Next</a></li>",
            link(page + 1)
        );
    }
    out.push_str("</ul></nav>\n");
    out
}

/// A readable size: `532 B`, `12.4 KB`, `3.1 MB`.
pub fn size(bytes: u64) -> String {
    if bytes < 1000 {
        format!("{bytes} B")
    } else if bytes < 1_000_000 {
        format!("{:.1} KB", bytes as f64 / 1e3)
    } else if bytes < 1_000_000_000 {
        format!("{:.1} MB", bytes as f64 / 1e6)
    } else {
        format!("{:.1} GB", bytes as f64 / 1e9)
    }
}

/// A path segment for a facet value: a readable slug and a short hash of the value, so that
/// two values never share a page and the path never changes for a value.
pub fn slug(value: &str) -> String {
    use sha2::{Digest, Sha256};
    let mut s = String::new();
    for c in value.chars() {
        if c.is_ascii_alphanumeric() {
            s.push(c.to_ascii_lowercase());
        } else if !s.ends_with('-') && !s.is_empty() {
            s.push('-');
        }
        if s.len() >= 40 {
            break;
        }
    }
    let s = s.trim_end_matches('-');
    let tag = &hex::encode(Sha256::digest(value.as_bytes()))[..8];
    if s.is_empty() {
        tag.to_owned()
    } else {
        format!("{s}-{tag}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_markup_and_drops_controls() {
        assert_eq!(
            esc("<a href=\"x\">&'\u{1}\r\n"),
            "&lt;a href=&quot;x&quot;&gt;&amp;&#39;\n"
        );
        assert_eq!(
            esc("invoice\u{202E}gnp.exe \u{2066}x\u{2069}"),
            "invoicegnp.exe x"
        );
    }

    #[test]
    fn slugs_are_path_safe_and_distinct() {
        let a = slug("Jane Doe <jane@example.org>");
        let b = slug("jane doe <jane@example.org>");
        assert!(a.starts_with("jane-doe-jane-example-org-"), "{a}");
        assert_ne!(a, b);
        assert!(slug("日本").len() == 8);
        for s in [a, b, slug("日本"), slug("-x-")] {
            assert!(
                s.bytes()
                    .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == b'-'),
                "{s}"
            );
        }
    }

    #[test]
    fn pager_marks_this_page_and_elides() {
        let p = pager(5, 20);
        assert!(p.contains("<span aria-current=\"page\">5</span>"));
        assert!(p.contains("href=\"./\">1</a>"));
        assert!(p.contains("href=\"20.html\">20</a>"));
        assert!(p.contains("…"));
        assert!(pager(1, 1).is_empty());
    }
}
