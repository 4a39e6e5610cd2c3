//! The pages that list documents: home, browse by date (year → month), kind, origin, tag and
//! sender, each with counts and paged; the search page; the mirrors page.

use crate::Context;
use crate::html::{esc, page_file, pager, push_esc, slug};
use crate::present::{KINDS, kind_label, sender_key, sender_name, time_tag, title_of};
use common::mention;
use std::collections::BTreeMap;
use std::fmt::Write;

/// Documents per page of a list.
const PER_PAGE: usize = 100;
/// Values per page of a facet's index (senders run to thousands).
const VALUES_PER_PAGE: usize = 500;
/// Newest documents on the home page.
const NEWEST: usize = 20;

/// A facet: its values, each with a label and its documents (numbers, in date order).
struct Facet {
    /// Path segment under `browse/`.
    dir: &'static str,
    /// Heading: "Origins".
    plural: &'static str,
    /// One value: "origin".
    singular: &'static str,
    values: BTreeMap<String, (String, Vec<usize>)>,
}

impl Facet {
    fn new(dir: &'static str, plural: &'static str, singular: &'static str) -> Facet {
        Facet {
            dir,
            plural,
            singular,
            values: BTreeMap::new(),
        }
    }

    fn add(&mut self, key: String, label: &str, doc: usize) {
        self.values
            .entry(key)
            .or_insert_with(|| (label.to_owned(), Vec::new()))
            .1
            .push(doc);
    }
}

/// One value of a list of values: a link (`href`, a relative path of ours) to `label` (text)
/// and its count.
fn value(m: &mut String, href: &str, label: &str, count: impl std::fmt::Display) {
    let _ = writeln!(
        m,
        "<li><a href=\"{href}\">{}</a> <span class=\"n\">{count}</span></li>",
        esc(label)
    );
}

/// A list of documents (numbers), as `<ol>` rows: date, title, kind, sender or origin.
fn list(out: &mut String, ctx: &Context<'_>, root: &str, docs: &[usize]) {
    out.push_str("<ol class=\"docs\">\n");
    for &i in docs {
        let d = &ctx.docs[i];
        out.push_str("<li>");
        if let Some(time) = time_tag(d, true) {
            out.push_str(&time);
            out.push(' ');
        }
        mention::open_link(out, root, d.id.as_str());
        push_esc(out, title_of(d));
        out.push_str("</a> <span class=\"kind\">");
        out.push_str(kind_label(d.kind));
        out.push_str("</span>");
        let by = d
            .email
            .as_ref()
            .and_then(|e| e.from.as_deref())
            .map(sender_name)
            .or(d.origin.as_deref());
        if let Some(by) = by {
            out.push(' ');
            mention::open_by(out, d.id.as_str());
            push_esc(out, by);
            out.push_str("</span>");
        }
        out.push_str("</li>\n");
    }
    out.push_str("</ol>\n");
}

/// Depth of a folder path (`browse/kind/email/` is 3): the `../` to get back to the root.
fn root_of(dir: &str) -> String {
    "../".repeat(dir.matches('/').count())
}

/// The pages of a paged list of documents in folder `dir` (ending in `/`).
#[allow(clippy::too_many_arguments)]
fn paged(
    out: &mut Vec<(String, String)>,
    ctx: &Context<'_>,
    dir: &str,
    title: &str,
    crumbs: &[(&str, &str)],
    intro: &str,
    docs: &[usize],
) {
    let root = root_of(dir);
    let footer = crate::footer(&root);
    let pages = docs.len().div_ceil(PER_PAGE).max(1);
    for p in 1..=pages {
        let chunk = &docs[((p - 1) * PER_PAGE).min(docs.len())..(p * PER_PAGE).min(docs.len())];
        let mut m = format!("<h1>{}</h1>\n{intro}", esc(title));
        let _ = writeln!(
            m,
            "<p class=\"count\">{} document{}{}</p>",
            docs.len(),
            if docs.len() == 1 { "" } else { "s" },
            if pages > 1 {
                format!(", page {p} of {pages}")
            } else {
                String::new()
            }
        );
        list(&mut m, ctx, &root, chunk);
        m.push_str(&pager(p, pages));
        let page_title = if p > 1 {
            format!("{title} (page {p})")
        } else {
            title.to_owned()
        };
        let html = ctx.shell(&root, &footer).page(&page_title, crumbs, &m);
        out.push((format!("{dir}{}", page_file(p)), html));
    }
}

/// A facet's index (its values with counts, paged) and each value's paged list, newest first.
fn facet_pages(out: &mut Vec<(String, String)>, ctx: &Context<'_>, facet: &Facet) {
    let dir = format!("browse/{}/", facet.dir);
    let root = root_of(&dir);
    let footer = crate::footer(&root);
    let mut values: Vec<(&String, &(String, Vec<usize>))> = facet.values.iter().collect();
    values.sort_by(|a, b| {
        a.1.0
            .to_lowercase()
            .cmp(&b.1.0.to_lowercase())
            .then(a.0.cmp(b.0))
    });
    let pages = values.len().div_ceil(VALUES_PER_PAGE).max(1);
    for p in 1..=pages {
        let chunk = &values[((p - 1) * VALUES_PER_PAGE).min(values.len())
            ..(p * VALUES_PER_PAGE).min(values.len())];
        let mut m = format!("<h1>By {}</h1>\n", facet.singular);
        let _ = writeln!(
            m,
            "<p class=\"count\">{} {}{}</p>",
            values.len(),
            facet.plural.to_lowercase(),
            if pages > 1 {
                format!(", page {p} of {pages}")
            } else {
                String::new()
            }
        );
        if values.is_empty() {
            let _ = writeln!(m, "<p>No document has a {}.</p>", facet.singular);
        }
        m.push_str("<ul class=\"values\">\n");
        for (key, (label, docs)) in chunk {
            value(&mut m, &format!("{}/", slug(key)), label, docs.len());
        }
        m.push_str("</ul>\n");
        m.push_str(&pager(p, pages));
        let html = ctx.shell(&root, &footer).page(
            &format!("By {}", facet.singular),
            &[("Home", ""), ("Browse", "browse/"), (facet.plural, "")],
            &m,
        );
        out.push((format!("{dir}{}", page_file(p)), html));
    }
    for (key, (label, docs)) in &facet.values {
        let newest_first: Vec<usize> = docs.iter().rev().copied().collect();
        let title = format!("{}: {label}", capitalise(facet.singular));
        let vdir = format!("{dir}{}/", slug(key));
        paged(
            out,
            ctx,
            &vdir,
            &title,
            &[
                ("Home", ""),
                ("Browse", "browse/"),
                (facet.plural, &dir),
                (label, ""),
            ],
            "<p>Newest first.</p>\n",
            &newest_first,
        );
    }
}

fn capitalise(s: &str) -> String {
    let mut c = s.chars();
    c.next()
        .map(|f| f.to_uppercase().chain(c).collect())
        .unwrap_or_default()
}

const MONTHS: [&str; 12] = [
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
];

/// By date: years with counts, each year's months, each month's documents (oldest first).
fn date_pages(out: &mut Vec<(String, String)>, ctx: &Context<'_>) -> BTreeMap<i32, usize> {
    let mut years: BTreeMap<i32, BTreeMap<u8, Vec<usize>>> = BTreeMap::new();
    let mut undated = Vec::new();
    for (i, d) in ctx.docs.iter().enumerate() {
        match d.date.map(|t| t.to_offset(time::UtcOffset::UTC)) {
            Some(t) => years
                .entry(t.year())
                .or_default()
                .entry(u8::from(t.month()))
                .or_default()
                .push(i),
            None => undated.push(i),
        }
    }
    let footer = crate::footer("../../");
    let mut m = String::from("<h1>By date</h1>\n<ul class=\"values\">\n");
    for (year, months) in &years {
        let n: usize = months.values().map(Vec::len).sum();
        value(&mut m, &format!("{year}/"), &year.to_string(), n);
    }
    if !undated.is_empty() {
        value(&mut m, "undated/", "Undated", undated.len());
    }
    m.push_str("</ul>\n");
    out.push((
        "browse/date/index.html".into(),
        ctx.shell("../../", &footer).page(
            "By date",
            &[("Home", ""), ("Browse", "browse/"), ("Date", "")],
            &m,
        ),
    ));
    let footer3 = crate::footer("../../../");
    for (year, months) in &years {
        let mut m = format!("<h1>{year}</h1>\n<ul class=\"values\">\n");
        for (month, docs) in months {
            let label = format!("{} {year}", MONTHS[usize::from(*month) - 1]);
            value(&mut m, &format!("{month:02}/"), &label, docs.len());
        }
        m.push_str("</ul>\n");
        let y = year.to_string();
        out.push((
            format!("browse/date/{year}/index.html"),
            ctx.shell("../../../", &footer3).page(
                &y,
                &[
                    ("Home", ""),
                    ("Browse", "browse/"),
                    ("Date", "browse/date/"),
                    (&y, ""),
                ],
                &m,
            ),
        ));
        for (month, docs) in months {
            let label = format!("{} {year}", MONTHS[usize::from(*month) - 1]);
            paged(
                out,
                ctx,
                &format!("browse/date/{year}/{month:02}/"),
                &label,
                &[
                    ("Home", ""),
                    ("Browse", "browse/"),
                    ("Date", "browse/date/"),
                    (&y, &format!("browse/date/{year}/")),
                    (&label, ""),
                ],
                "",
                docs,
            );
        }
    }
    if !undated.is_empty() {
        paged(
            out,
            ctx,
            "browse/date/undated/",
            "Undated",
            &[
                ("Home", ""),
                ("Browse", "browse/"),
                ("Date", "browse/date/"),
                ("Undated", ""),
            ],
            "",
            &undated,
        );
    }
    years
        .iter()
        .map(|(y, ms)| (*y, ms.values().map(Vec::len).sum()))
        .collect()
}

/// Every listing page, the home page, the search page and the mirrors page: (path, HTML).
pub fn pages(
    ctx: &Context<'_>,
    mirrors: &[String],
    index: &search::SearchIndex,
) -> Vec<(String, String)> {
    let mut out = Vec::new();
    let mut kinds = Facet::new("kind", "Kinds", "kind");
    let mut origins = Facet::new("origin", "Origins", "origin");
    let mut tags = Facet::new("tag", "Tags", "tag");
    let mut senders = Facet::new("sender", "Senders", "sender");
    for (i, d) in ctx.docs.iter().enumerate() {
        kinds.add(d.kind.as_str().to_owned(), kind_label(d.kind), i);
        if let Some(o) = &d.origin {
            origins.add(o.clone(), o, i);
        }
        for t in &d.tags {
            tags.add(t.clone(), t, i);
        }
        if let Some(from) = d.email.as_ref().and_then(|e| e.from.as_deref()) {
            senders.add(sender_key(from), from, i);
        }
    }
    // Kind pages live at browse/kind/<kind>/ (a fixed word, not a slug): document pages link there.
    let years = date_pages(&mut out, ctx);
    for facet in [&origins, &tags, &senders] {
        facet_pages(&mut out, ctx, facet);
    }
    kind_pages(&mut out, ctx, &kinds);

    // browse/: the ways in, with counts.
    let footer2 = crate::footer("../");
    let mut m = String::from("<h1>Browse</h1>\n<ul class=\"values\">\n");
    value(
        &mut m,
        "date/",
        "By date",
        counted(years.len(), "year", "years"),
    );
    for f in [&kinds, &origins, &tags, &senders] {
        value(
            &mut m,
            &format!("{}/", f.dir),
            &format!("By {}", f.singular),
            counted(f.values.len(), f.singular, &f.plural.to_lowercase()),
        );
    }
    m.push_str("</ul>\n");
    out.push((
        "browse/index.html".into(),
        ctx.shell("../", &footer2)
            .page("Browse", &[("Home", ""), ("Browse", "")], &m),
    ));

    out.push(("index.html".into(), home(ctx, &kinds, &years)));
    out.push(("search/index.html".into(), search_page(ctx, index)));
    out.push(("404.html".into(), not_found_page(ctx)));
    out.extend(mirror_pages(ctx, mirrors));
    out
}

fn kind_pages(out: &mut Vec<(String, String)>, ctx: &Context<'_>, kinds: &Facet) {
    let footer = crate::footer("../../");
    let mut m = String::from("<h1>By kind</h1>\n<ul class=\"values\">\n");
    for (key, (label, docs)) in &kinds.values {
        value(&mut m, &format!("{key}/"), label, docs.len());
    }
    m.push_str("</ul>\n");
    out.push((
        "browse/kind/index.html".into(),
        ctx.shell("../../", &footer).page(
            "By kind",
            &[("Home", ""), ("Browse", "browse/"), ("Kinds", "")],
            &m,
        ),
    ));
    for (key, (label, docs)) in &kinds.values {
        let newest_first: Vec<usize> = docs.iter().rev().copied().collect();
        paged(
            out,
            ctx,
            &format!("browse/kind/{key}/"),
            label,
            &[
                ("Home", ""),
                ("Browse", "browse/"),
                ("Kinds", "browse/kind/"),
                (label, ""),
            ],
            "<p>Newest first.</p>\n",
            &newest_first,
        );
    }
}

fn home(ctx: &Context<'_>, kinds: &Facet, years: &BTreeMap<i32, usize>) -> String {
    let mut m = format!("<h1>{}</h1>\n", esc(ctx.site));
    let _ = writeln!(
        m,
        "<p class=\"lead\">{}{}.</p>",
        counted(ctx.docs.len(), "document", "documents"),
        match (years.keys().next(), years.keys().next_back()) {
            (Some(a), Some(b)) if a != b => format!(", dated {a} to {b}"),
            (Some(a), _) => format!(", dated {a}"),
            _ => String::new(),
        }
    );
    m.push_str(
        "<form role=\"search\" class=\"big\" action=\"search/\" method=\"get\">\
         <label for=\"home-q\">Search the full text</label> \
         <input id=\"home-q\" name=\"q\" type=\"search\"> <button type=\"submit\">Search</button></form>\n",
    );
    m.push_str("<section aria-labelledby=\"kinds\"><h2 id=\"kinds\">Documents by kind</h2><ul class=\"values\">\n");
    for (key, (label, docs)) in &kinds.values {
        value(&mut m, &format!("browse/kind/{key}/"), label, docs.len());
    }
    m.push_str(
        "</ul>\n<p><a href=\"browse/\">Browse by date, origin, tag or sender</a></p></section>\n",
    );
    // The newest dated documents.
    let newest: Vec<usize> = (0..ctx.docs.len())
        .rev()
        .filter(|&i| ctx.docs[i].date.is_some())
        .take(NEWEST)
        .collect();
    if !newest.is_empty() {
        m.push_str("<section aria-labelledby=\"newest\"><h2 id=\"newest\">Newest documents</h2>\n");
        list(&mut m, ctx, "", &newest);
        m.push_str("</section>\n");
    }
    let footer = crate::footer("");
    ctx.shell("", &footer)
        .page_with(ctx.site, &[], &m, "", false)
}

fn search_page(ctx: &Context<'_>, index: &search::SearchIndex) -> String {
    let (script, root_file) = (&index.script, &index.root);
    // The search page names facet values as the rest of the site does ("E-mail", not the
    // index's "email"): the labels travel with the page, from the one table.
    let kinds: serde_json::Map<String, serde_json::Value> = KINDS
        .iter()
        .map(|kind| (kind.as_str().to_owned(), kind_label(*kind).into()))
        .collect();
    let labels = esc(&serde_json::json!({ "kind": kinds }).to_string());
    let m = format!(
        "<h1>Search</h1>\n\
         <form role=\"search\" id=\"search-form\" action=\"./\" method=\"get\">\
         <label for=\"q\">Search</label> <input id=\"q\" name=\"q\" type=\"search\"> \
         <button type=\"submit\">Search</button></form>\n\
         <div id=\"search-ui\" data-root=\"../{root_file}\" data-site=\"../\" \
         data-labels=\"{labels}\"></div>\n\
         <noscript><p>Search runs in your browser and needs JavaScript. Without it, \
         <a href=\"../browse/\">browse the archive</a> by date, kind, origin, tag or sender.</p></noscript>\n"
    );
    // Everything the first query needs, asked for at once rather than one after the other
    // (page → client → engine → stylesheet → index root).
    let mut head = format!("<script type=\"module\" src=\"../{script}\"></script>\n");
    for module in &index.modules {
        let _ = writeln!(head, "<link rel=\"modulepreload\" href=\"../{module}\">");
    }
    if let Some(style) = &index.style {
        let _ = writeln!(head, "<link rel=\"stylesheet\" href=\"../{style}\">");
    }
    let _ = writeln!(
        head,
        "<link rel=\"preload\" href=\"../{root_file}\" as=\"fetch\" crossorigin=\"anonymous\">"
    );
    let footer = crate::footer("../");
    ctx.shell("../", &footer)
        .page_with("Search", &[("Home", ""), ("Search", "")], &m, &head, false)
}

/// `404.html`: what a mirror answers (with status 404) for a path the release does not have,
/// at any depth; so its links, unlike every other page's, start at the site's root.
fn not_found_page(ctx: &Context<'_>) -> String {
    let m = "<h1>Not found</h1>\n<p>This archive has no page at this address. The document may \
             have another id, or it may never have been published here.</p>\n\
             <p><a href=\"/search/\">Search the archive</a>, \
             <a href=\"/browse/\">browse it</a>, or start from the <a href=\"/\">home page</a>.</p>\n";
    let footer = crate::footer("/");
    ctx.shell("/", &footer)
        .page("Not found", &[("Home", ""), ("Not found", "")], m)
}

/// `n` and the noun that goes with it: "1 year", "2 years".
fn counted(n: usize, one: &str, many: &str) -> String {
    format!("{n} {}", if n == 1 { one } else { many })
}

/// The mirrors page and `mirrors.json` (read by the service worker). The page shows the
/// release's own list; its script (`live-mirrors.js`) adds, above it, what each directory the
/// publisher vouches for lists now, with each mirror's state, country and provider.
fn mirror_pages(ctx: &Context<'_>, mirrors: &[String]) -> Vec<(String, String)> {
    let mut m = String::from(
        "<h1>Mirrors</h1>\n<p>This archive is served by independent mirrors. \
        Every one serves the same signed files: if this one stops answering, use another. \
        Once you have loaded this site, your browser tries the others by itself.</p>\n\
        <section id=\"live-mirrors\" data-site=\"../\" aria-labelledby=\"live\" hidden>\
        <h2 id=\"live\">Listed now by the directories</h2>\
        <p class=\"live-status\" aria-live=\"polite\">Asking the directories…</p></section>\n\
        <noscript><p>With JavaScript, this page also shows the mirrors that the directories \
        the publisher vouches for list now.</p></noscript>\n\
        <h2>Listed in this release</h2>\n",
    );
    if mirrors.is_empty() {
        m.push_str("<p>The publisher lists no other mirror yet.</p>\n");
    } else {
        m.push_str("<ul class=\"values\">\n");
        for url in mirrors {
            let _ = writeln!(m, "<li><a href=\"{0}\">{0}</a></li>", esc(url));
        }
        m.push_str("</ul>\n");
    }
    let footer = crate::footer("../");
    let head = "<script src=\"../live-mirrors.js\" defer></script>\n";
    let json = serde_json::json!({ "mirrors": mirrors }).to_string();
    vec![
        (
            "mirrors/index.html".into(),
            ctx.shell("../", &footer).page_with(
                "Mirrors",
                &[("Home", ""), ("Mirrors", "")],
                &m,
                head,
                true,
            ),
        ),
        ("mirrors.json".into(), json),
    ]
}
