//! How a page of the reader site mentions another document, and how a mirror withholds what
//! those mentions show.
//!
//! A mirror that blocks a document on a court's order (451) cannot re-sign the pages of the
//! release that quote it: the home page, the listings, the threads of other documents. It serves
//! them with each mention of a blocked document showing [`WITHHELD`] instead of its title or
//! its sender ([`withhold`]); the link is kept, and leads to the 451 notice. The site writes
//! every mention through [`open_link`] and [`open_by`], so the rule the mirror reads is the rule
//! the site writes: one module for both sides (the site's page key covers this file).
//!
//! A mention is an element opened exactly as `<a href="ROOT d/ID/">` (ROOT: `/`, nothing, or
//! `../` repeated) or `<span class="by" data-d="ID">`; what it shows runs to the next `</`
//! (titles are escaped text: no `<` inside).

/// What a withheld mention shows instead.
pub const WITHHELD: &str = "[withheld]";

const LINK: &str = "<a href=\"";
const BY: &str = "<span class=\"by\" data-d=\"";

/// Appends the opening of a link to document `id`'s page from a page `root` away from the
/// site's root (`../` repeated); the caller writes what it shows, then `</a>`.
pub fn open_link(out: &mut String, root: &str, id: &str) {
    out.push_str(LINK);
    out.push_str(root);
    out.push_str("d/");
    out.push_str(id);
    out.push_str("/\">");
}

/// Appends the opening of the span naming who sent document `id` (its sender or origin, in a
/// list of documents); the caller writes the name, then `</span>`.
pub fn open_by(out: &mut String, id: &str) {
    out.push_str(BY);
    out.push_str(id);
    out.push_str("\">");
}

/// A page with mentions withheld: its new bytes and the first document withheld.
#[derive(Debug, PartialEq, Eq)]
pub struct Withheld {
    pub page: Vec<u8>,
    pub first: String,
}

/// `page` with what each mention of a document that is `blocked` shows replaced by
/// [`WITHHELD`]; `None` when it mentions none of them (or is not UTF-8: not a page of ours).
pub fn withhold(page: &[u8], blocked: impl Fn(&str) -> bool) -> Option<Withheld> {
    let page = std::str::from_utf8(page).ok()?;
    let mut out = String::new();
    let mut first = None;
    let mut copied = 0;
    let mut from = 0;
    while let Some(found) = page[from..].find('<') {
        let at = from + found;
        from = at + 1;
        let Some((id, shown)) = mention_at(page, at) else {
            continue;
        };
        from = shown.end;
        if !blocked(id) {
            continue;
        }
        out.push_str(&page[copied..shown.start]);
        out.push_str(WITHHELD);
        copied = shown.end;
        first.get_or_insert_with(|| id.to_owned());
    }
    let first = first?;
    out.push_str(&page[copied..]);
    Some(Withheld {
        page: out.into_bytes(),
        first,
    })
}

/// The mention opened at `at` (a `<`), if one is: its document and the span of what it shows.
fn mention_at(page: &str, at: usize) -> Option<(&str, std::ops::Range<usize>)> {
    let rest = &page[at..];
    let (value_at, is_link) = if rest.starts_with(LINK) {
        (at + LINK.len(), true)
    } else if rest.starts_with(BY) {
        (at + BY.len(), false)
    } else {
        return None;
    };
    let value_len = page[value_at..].find('"')?;
    let value = &page[value_at..value_at + value_len];
    let shown_at = value_at + value_len;
    if !page[shown_at..].starts_with("\">") {
        return None;
    }
    let id = if is_link { linked_id(value)? } else { value };
    super::DocId::new(id).ok()?;
    let start = shown_at + 2;
    let end = start + page[start..].find("</")?;
    Some((id, start..end))
}

/// The document a link's address leads to: `ROOT d/ID/`.
fn linked_id(href: &str) -> Option<&str> {
    let mut rest = href.strip_prefix('/').unwrap_or(href);
    while let Some(up) = rest.strip_prefix("../") {
        rest = up;
    }
    rest.strip_prefix("d/")?.strip_suffix('/')
}

#[cfg(test)]
mod tests {
    use super::*;

    fn page(root: &str) -> String {
        let mut p = String::from("<ol><li><time>2002</time> ");
        open_link(&mut p, root, "m-a");
        p.push_str("Seals &amp; more</a> <span class=\"kind\">E-mail</span> ");
        open_by(&mut p, "m-a");
        p.push_str("Ann</span></li>\n<li>");
        open_link(&mut p, root, "m-b");
        p.push_str("Other</a> ");
        open_by(&mut p, "m-b");
        p.push_str("Bob</span></li></ol>");
        p
    }

    fn text(w: &Withheld) -> &str {
        std::str::from_utf8(&w.page).expect("utf-8")
    }

    #[test]
    fn the_title_and_sender_of_a_blocked_document_are_withheld_and_its_link_kept() {
        for root in ["", "/", "../", "../../../"] {
            let w = withhold(page(root).as_bytes(), |id| id == "m-a").expect("withheld");
            assert_eq!(w.first, "m-a");
            let t = text(&w);
            assert!(!t.contains("Seals") && !t.contains("Ann"), "{root}: {t}");
            assert!(
                t.contains(&format!("<a href=\"{root}d/m-a/\">[withheld]</a>")),
                "{root}: {t}"
            );
            assert!(t.contains("data-d=\"m-a\">[withheld]</span>"), "{t}");
            assert!(t.contains("Other</a>") && t.contains("Bob</span>"), "{t}");
        }
    }

    #[test]
    fn a_page_that_mentions_no_blocked_document_is_left_as_it_is() {
        assert_eq!(withhold(page("../").as_bytes(), |id| id == "m-c"), None);
        assert_eq!(withhold(b"\xff<a href=\"d/m-a/\">x</a>", |_| true), None);
    }

    #[test]
    fn only_the_exact_shapes_the_site_writes_are_mentions() {
        for not in [
            "<a href=\"d/m-a/x\">Seals</a>",
            "<a href=\"x/d/m-a/\">Seals</a>",
            "<a href=\"d/m-a/\" class=\"x\">Seals</a>",
            "<a href=\"d/m a/\">Seals</a>",
            "<a href=\"d/m-a/\">Seals",
            "<span class=\"by\">Seals</span>",
            "<a href=\"",
        ] {
            assert_eq!(withhold(not.as_bytes(), |_| true), None, "{not}");
        }
    }

    #[test]
    fn what_a_mention_shows_may_be_empty_and_mentions_may_follow_each_other() {
        let p = "<a href=\"d/x/\"></a><a href=\"d/y/\">Y</a><a href=\"d/x/\">X</a>";
        let w = withhold(p.as_bytes(), |id| id == "x").expect("withheld");
        assert_eq!(
            text(&w),
            "<a href=\"d/x/\">[withheld]</a><a href=\"d/y/\">Y</a><a href=\"d/x/\">[withheld]</a>"
        );
    }
}
