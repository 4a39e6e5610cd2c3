//! The site's files that quote a document this mirror blocks: served with what they show of
//! it withheld, or not at all.
//!
//! A legal block (`blocks`) hides the document's own files, but the release's other pages
//! quote it: the home page and the listings show its title and sender, the threads of other
//! e-mails its subject, the search's card blocks its title. The mirror cannot re-sign them, and
//! hiding them would take the archive's home page down with one document. So by its plain
//! path such a file is served with each mention showing `[withheld]`
//! (`common::mention::withhold`, the rule the site writes its mentions by;
//! `search::withhold_cards` for card blocks), the link kept (it leads to the 451 notice), never
//! kept by a cache; by its `/targets/` name, whose signed bytes cannot change, it is 451.
//!
//! Only pages (`.html`) and card blocks are looked at: the other site files (the search's
//! shards, facets, scripts) carry no title. Known gap: a facet lists sender and origin values
//! with their counts, not which document each is.

use common::mention::Withheld;

use crate::served::Served;

/// The largest file looked at: a page of the site is paged, a card block holds four cards. A
/// larger one (none is made) is served as it is.
pub(crate) const READ_MAX: u64 = 64 << 20;

/// Whether the target `name` is a file of the reader site that may quote other documents: a
/// page, or a card block of the search.
pub(crate) fn may_quote(name: &str) -> bool {
    if !common::layout::is_site_target(name) {
        return false;
    }
    name.ends_with(".html")
        || common::layout::plain_path_of_target(name)
            .is_some_and(|path| path.starts_with("/search/c/") && path.ends_with(".json"))
}

/// The file `name`'s `bytes` with the mentions of every document `served` blocks withheld;
/// `None` when it quotes none.
pub(crate) fn withhold(name: &str, bytes: &[u8], served: &Served) -> Option<Withheld> {
    let blocked = |id: &str| served.blocked(id).is_some();
    if name.ends_with(".json") {
        search::withhold_cards(bytes, blocked)
    } else {
        common::mention::withhold(bytes, blocked)
    }
}

#[cfg(test)]
mod tests {
    use super::may_quote;

    #[test]
    fn pages_and_card_blocks_may_quote_and_nothing_else_is_looked_at() {
        for name in [
            "_s_index.html",
            "_s_browse_date_2002_index.html",
            "m-a.html",
            "_s_search_c_3fa9c2e1b0d4.json",
        ] {
            assert!(may_quote(name), "{name}");
        }
        for name in [
            "m-a.json",
            "m-a.original.html",
            "_s_search_s_3fa9c2e1b0d4.bin",
            "_s_search_f.3fa9c2e1b0d4.json",
            "_s_assets_search.3fa9c2e1b0d4.js",
            "_withdrawn.json",
        ] {
            assert!(!may_quote(name), "{name}");
        }
    }
}
