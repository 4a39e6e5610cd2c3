//! One page per document, at its permalink `d/<id>/`: the metadata table, the e-mail headers and
//! its thread, attachments, the original file, and the full text with cross-references linked.

use crate::Context;
use crate::html::{esc, push_esc, size};
use crate::present::{date_attr, kind_label, sender_key, sender_name, time_tag, title_of};
use archive::{DocId, Document, Kind, TextSource};
use common::mention;
use release::records::Links;
use std::collections::HashMap;
use std::fmt::Write;
use std::sync::LazyLock;

/// The messages of each thread, in date order, by the thread's first message.
pub struct ThreadIndex {
    members: HashMap<DocId, Vec<usize>>,
}

impl ThreadIndex {
    pub fn new(docs: &[Document], links: &HashMap<DocId, Links>) -> ThreadIndex {
        let mut members: HashMap<DocId, Vec<usize>> = HashMap::new();
        for (i, doc) in docs.iter().enumerate() {
            if let Some(root) = links.get(&doc.id).and_then(|l| l.thread.clone()) {
                members.entry(root).or_default().push(i);
            }
        }
        ThreadIndex { members }
    }

    pub fn of(&self, root: &DocId) -> &[usize] {
        self.members.get(root).map_or(&[], Vec::as_slice)
    }
}

/// Most messages of a thread a page lists; a longer thread links to its first message.
const THREAD_SHOWN: usize = 200;

/// A link to document `i` from a page `root` away from the site root.
fn doc_link(out: &mut String, ctx: &Context<'_>, root: &str, i: usize) {
    let d = &ctx.docs[i];
    mention::open_link(out, root, d.id.as_str());
    push_esc(out, title_of(d));
    out.push_str("</a>");
    if let Some(time) = time_tag(d, false) {
        out.push(' ');
        out.push_str(&time);
    }
}

/// The references in a text to other documents of the archive: the span and the document.
pub type References = Vec<(std::ops::Range<usize>, usize)>;

pub fn references(ctx: &Context<'_>, number: usize, text: &str) -> References {
    REFERENCE
        .captures_iter(text)
        .filter_map(|caps| {
            let whole = caps.get(0)?;
            Some((whole.range(), resolve(ctx, number, &caps)?))
        })
        .collect()
}

/// The source of every module a document page is rendered by, by name (`crate::<name>`, `lib`
/// for the crate root): part of [`page_key`], so that a change to any of them renders every
/// page again. A module this file uses must be listed (a test checks it): the sender helpers
/// once lived in `browse`, outside the key, and a change to them left cached e-mail pages with
/// stale sender links.
const RENDERER_SOURCES: [(&str, &str); 6] = [
    ("document", include_str!("document.rs")),
    ("present", include_str!("present.rs")),
    ("html", include_str!("html.rs")),
    // The escaping rule the pages use lives in the shared crate.
    ("common html", include_str!("../../common/src/html.rs")),
    // So does the shape of a mention, which a blocking mirror reads.
    (
        "common mention",
        include_str!("../../common/src/mention.rs"),
    ),
    ("lib", include_str!("lib.rs")),
];

/// The digest of the renderer's sources, [`RENDERER_SOURCES`] in order.
fn renderer_digest(sources: &[(&str, &str)]) -> [u8; 32] {
    use sha2::{Digest, Sha256};
    let mut h = Sha256::new();
    for (_, source) in sources {
        h.update(source.as_bytes());
    }
    h.finalize().into()
}

/// What the page of document `number` is made of, as a digest: its document, its links, what
/// the page shows of each document it links to, its references, and the renderer itself (the
/// source of every module it uses, [`RENDERER_SOURCES`]). Two releases that agree on it render
/// the same page.
pub fn page_key(ctx: &Context<'_>, number: usize, refs: &References) -> [u8; 32] {
    use sha2::{Digest, Sha256};
    static RENDERER: LazyLock<[u8; 32]> = LazyLock::new(|| renderer_digest(&RENDERER_SOURCES));
    let doc = &ctx.docs[number];
    let mut h = Sha256::new();
    h.update(*RENDERER);
    h.update(ctx.site.as_bytes());
    h.update([0]);
    h.update(ctx.style.as_bytes());
    h.update([0]);
    h.update(serde_json::to_vec(doc).unwrap_or_default());
    let shown = |h: &mut Sha256, i: usize| {
        let d = &ctx.docs[i];
        h.update(d.id.as_str().as_bytes());
        h.update([0]);
        h.update(title_of(d).as_bytes());
        h.update([0]);
        h.update(date_attr(d).unwrap_or_default().as_bytes());
        h.update([0]);
        let from = d.email.as_ref().and_then(|e| e.from.as_deref());
        h.update(from.unwrap_or_default().as_bytes());
        h.update(d.original.len.to_le_bytes());
    };
    if let Some(links) = ctx.links.get(&doc.id) {
        let linked = links
            .reply_to
            .iter()
            .chain(&links.replies)
            .chain(&links.attachments)
            .chain(doc.parent.iter());
        for id in linked {
            if let Some(&i) = ctx.number.get(id) {
                shown(&mut h, i);
            }
        }
        if let Some(first) = &links.thread {
            let members = ctx.threads.of(first);
            h.update(members.len().to_le_bytes());
            for &i in members.iter().take(THREAD_SHOWN) {
                shown(&mut h, i);
            }
        }
    }
    for (span, i) in refs {
        h.update(span.start.to_le_bytes());
        h.update(span.end.to_le_bytes());
        shown(&mut h, *i);
    }
    h.finalize().into()
}

/// The page of document `number` (0-based) whose extracted text is `text`, with the
/// [`references`] found in it.
pub fn page(ctx: &Context<'_>, number: usize, text: &str, refs: &References) -> String {
    let doc = &ctx.docs[number];
    let root = "../../";
    let links = ctx.links.get(&doc.id);
    let mut m = String::with_capacity(text.len() + 4096);
    m.push_str("<article class=\"doc\">\n<h1>");
    push_esc(&mut m, title_of(doc));
    m.push_str("</h1>\n");

    // Where it sits: the message it is attached to.
    if let Some(parent) = doc.parent.as_ref().and_then(|p| ctx.number.get(p)) {
        m.push_str("<p class=\"note\">Attachment of ");
        doc_link(&mut m, ctx, root, *parent);
        m.push_str("</p>\n");
    }

    m.push_str("<table class=\"meta\">\n<caption>About this document</caption>\n<tbody>\n");
    let row = |m: &mut String, k: &str, v: &str| {
        let _ = writeln!(m, "<tr><th scope=\"row\">{k}</th><td>{v}</td></tr>");
    };
    if let Some(time) = time_tag(doc, false) {
        row(&mut m, "Date", &time);
    }
    // A JSON Lines row's own kind ("cable", "minutes") beside the kind it is browsed under.
    let own_kind = doc
        .record_kind
        .as_deref()
        .map(|k| format!(" ({})", esc(k)))
        .unwrap_or_default();
    row(
        &mut m,
        "Kind",
        &format!(
            "<a href=\"{root}browse/kind/{}/\">{}</a>{own_kind}",
            doc.kind.as_str(),
            kind_label(doc.kind)
        ),
    );
    if let Some(origin) = &doc.origin {
        row(
            &mut m,
            "Origin",
            &format!(
                "<a href=\"{root}browse/origin/{}/\">{}</a>",
                crate::html::slug(origin),
                esc(origin)
            ),
        );
    }
    if !doc.tags.is_empty() {
        let tags: Vec<String> = doc
            .tags
            .iter()
            .map(|t| {
                format!(
                    "<a href=\"{root}browse/tag/{}/\">{}</a>",
                    crate::html::slug(t),
                    esc(t)
                )
            })
            .collect();
        row(&mut m, "Tags", &tags.join(", "));
    }
    if let Some(author) = &doc.author {
        row(&mut m, "Author", &esc(author));
    }
    if let Some(pages) = doc.pages {
        row(&mut m, "Pages", &pages.to_string());
    }
    row(
        &mut m,
        "Original",
        &format!(
            "<a href=\"original.{ext}\" type=\"{mt}\">original.{ext}</a> ({}, {})",
            size(doc.original.len),
            esc(&doc.media_type),
            ext = esc(&archive::layout::clean_ext(&doc.ext)),
            mt = esc(&doc.media_type),
        ),
    );
    row(
        &mut m,
        "Record",
        "<a href=\"doc.json\">doc.json</a> (metadata and text, signed)",
    );
    row(
        &mut m,
        "SHA-256",
        &format!("<code class=\"hash\">{}</code>", doc.original.sha256),
    );
    row(&mut m, "Permalink", &format!("<code>/d/{}/</code>", doc.id));
    m.push_str("</tbody>\n</table>\n");

    if let Some(email) = &doc.email {
        m.push_str("<table class=\"meta headers\">\n<caption>E-mail headers</caption>\n<tbody>\n");
        if let Some(from) = &email.from {
            row(
                &mut m,
                "From",
                &format!(
                    "<a href=\"{root}browse/sender/{}/\">{}</a>",
                    crate::html::slug(&sender_key(from)),
                    esc(from)
                ),
            );
        }
        if !email.to.is_empty() {
            row(&mut m, "To", &esc(&email.to.join(", ")));
        }
        if !email.cc.is_empty() {
            row(&mut m, "Cc", &esc(&email.cc.join(", ")));
        }
        if let Some(subject) = &email.subject {
            row(&mut m, "Subject", &esc(subject));
        }
        if let Some(mid) = &email.message_id {
            row(&mut m, "Message-ID", &format!("<code>{}</code>", esc(mid)));
        }
        m.push_str("</tbody>\n</table>\n");
    }

    if let Some(links) = links {
        thread(&mut m, ctx, root, number, links);
        if !links.attachments.is_empty() {
            m.push_str("<section aria-labelledby=\"att\"><h2 id=\"att\">Attachments</h2><ul>\n");
            for a in &links.attachments {
                if let Some(&i) = ctx.number.get(a) {
                    m.push_str("<li>");
                    doc_link(&mut m, ctx, root, i);
                    let _ = writeln!(m, " ({})</li>", size(ctx.docs[i].original.len));
                }
            }
            m.push_str("</ul></section>\n");
        }
    }

    // An image shows itself: a browser renders these formats (not TIFF), and the mirror
    // serves them with their own type (`original_content_type`), inert.
    let ext = archive::layout::clean_ext(&doc.ext);
    if doc.kind == Kind::Image && matches!(ext.as_str(), "png" | "jpg" | "gif" | "webp" | "bmp") {
        let _ = writeln!(
            m,
            "<figure class=\"image\"><img src=\"original.{}\" alt=\"{}\" loading=\"lazy\"></figure>",
            esc(&ext),
            esc(title_of(doc))
        );
    }
    m.push_str("<section aria-labelledby=\"text\">\n<h2 id=\"text\">Text</h2>\n");
    if doc.text_source == Some(TextSource::Ocr) && !text.trim().is_empty() {
        m.push_str(
            "<p class=\"note\">Text recognised by OCR (Tesseract): it may contain errors; the original is what was published.</p>\n",
        );
    }
    if text.trim().is_empty() && doc.kind == Kind::Image {
        let _ = writeln!(
            m,
            "<p class=\"note\">No text: OCR was not run on this image or found none; see the <a href=\"original.{}\">original file</a>.</p>",
            esc(&ext)
        );
    } else if text.trim().is_empty() {
        let _ = writeln!(
            m,
            "<p class=\"note\">No text was extracted from this document: see the <a href=\"original.{}\">original file</a>.</p>",
            esc(&archive::layout::clean_ext(&doc.ext))
        );
    } else {
        m.push_str("<pre class=\"text\">");
        text_with_links(&mut m, ctx, root, text, refs);
        m.push_str("</pre>\n");
    }
    m.push_str("</section>\n</article>\n");

    let footer = crate::footer(root);
    ctx.shell(root, &footer).page(
        title_of(doc),
        &[
            ("Home", ""),
            (
                kind_label(doc.kind),
                &format!("browse/kind/{}/", doc.kind.as_str()),
            ),
            (title_of(doc), ""),
        ],
        &m,
    )
}

/// The thread a message belongs to: what it answers, its replies, and every message of the
/// thread in date order (this one marked).
fn thread(m: &mut String, ctx: &Context<'_>, root: &str, number: usize, links: &Links) {
    let Some(first) = &links.thread else {
        return;
    };
    m.push_str(
        "<nav class=\"thread\" aria-labelledby=\"thread\">\n<h2 id=\"thread\">Thread</h2>\n",
    );
    if let Some(parent) = links.reply_to.as_ref().and_then(|p| ctx.number.get(p)) {
        m.push_str("<p>In reply to ");
        doc_link(m, ctx, root, *parent);
        m.push_str("</p>\n");
    }
    let members = ctx.threads.of(first);
    let _ = writeln!(
        m,
        "<p>{} message{} in this thread{}:</p>\n<ol>",
        members.len(),
        if members.len() == 1 { "" } else { "s" },
        if members.len() > THREAD_SHOWN {
            format!(", the first {THREAD_SHOWN}")
        } else {
            String::new()
        }
    );
    for &i in members.iter().take(THREAD_SHOWN) {
        if i == number {
            m.push_str("<li aria-current=\"page\"><strong>");
            push_esc(m, title_of(&ctx.docs[i]));
            m.push_str("</strong> (this message)</li>\n");
        } else {
            m.push_str("<li>");
            doc_link(m, ctx, root, i);
            if let Some(from) = ctx.docs[i].email.as_ref().and_then(|e| e.from.as_deref()) {
                m.push_str(" — ");
                push_esc(m, sender_name(from));
            }
            m.push_str("</li>\n");
        }
    }
    m.push_str("</ol>\n");
    if !links.replies.is_empty() {
        m.push_str("<p>Replies:</p><ul>\n");
        for r in &links.replies {
            if let Some(&i) = ctx.number.get(r) {
                m.push_str("<li>");
                doc_link(m, ctx, root, i);
                m.push_str("</li>\n");
            }
        }
        m.push_str("</ul>\n");
    }
    m.push_str("</nav>\n");
}

/// What in a text may name another document: a Message-ID in angle brackets, or a path to a
/// text file of the archive (`Documentation/filesystems/vfs.rst`). A path is ASCII, and so are
/// its word boundaries: where text has no spaces (Chinese, Japanese), a path right after a
/// letter is still a path; a Unicode `\b` found none there (only the part after its first `/`),
/// and made the regex engine fall back to its slowest matcher on any text with a non-ASCII
/// byte (13% of a release of 250,000 documents, perf).
static REFERENCE: LazyLock<regex::Regex> = LazyLock::new(|| {
    regex::Regex::new(
        r"<([A-Za-z0-9!#$%&'*+/=?^_`{|}~.-]{1,200}@[A-Za-z0-9.-]{1,200})>|(?-u:\b)((?:[A-Za-z0-9_.-]+/)*[A-Za-z0-9_.-]+\.(?:rst|txt|md|html?))(?-u:\b)",
    )
    .unwrap_or_else(|e| panic!("reference pattern: {e}"))
});

/// The document a reference in a text names, if it is in the archive (and is not this one).
fn resolve(ctx: &Context<'_>, this: usize, caps: &regex::Captures<'_>) -> Option<usize> {
    let found = if let Some(mid) = caps.get(1) {
        ctx.by_message_id.get(mid.as_str()).copied()
    } else {
        let path = caps.get(2)?.as_str();
        let path = path.strip_prefix("./").unwrap_or(path);
        ctx.by_source
            .get(path)
            .or_else(|| ctx.by_source.get(path.strip_prefix("Documentation/")?))
            .copied()
    };
    found.filter(|&i| i != this)
}

/// Appends the text, escaped, with every reference to another document of the archive linked.
fn text_with_links(m: &mut String, ctx: &Context<'_>, root: &str, text: &str, refs: &References) {
    let mut at = 0;
    for (span, i) in refs {
        push_esc(m, &text[at..span.start]);
        mention::open_link(m, root, ctx.docs[*i].id.as_str());
        push_esc(m, &text[span.clone()]);
        m.push_str("</a>");
        at = span.end;
    }
    push_esc(m, &text[at..]);
}

#[cfg(test)]
mod tests {
    use super::*;
    use archive::{Blob, EmailHeaders, Kind};

    fn doc(id: &str, kind: Kind, title: &str, source: &str) -> Document {
        Document {
            id: DocId::new(id).expect("id"),
            kind,
            title: title.to_owned(),
            date: None,
            date_source: None,
            encoding: None,
            text_source: None,
            origin: None,
            tags: vec![],
            record_kind: None,
            author: None,
            email: None,
            pages: None,
            parent: None,
            source: source.to_owned(),
            original: Blob {
                sha256: "00".repeat(32),
                len: 10,
            },
            ext: "txt".into(),
            media_type: "text/plain".into(),
            text: Blob {
                sha256: "11".repeat(32),
                len: 0,
            },
        }
    }

    fn mail(id: &str, title: &str, mid: &str, reply_to: Option<&str>) -> Document {
        let mut d = doc(id, Kind::Email, title, &format!("{id}.eml"));
        d.email = Some(EmailHeaders {
            from: Some(format!("Sender {id} <{id}@example.org>")),
            message_id: Some(mid.to_owned()),
            in_reply_to: reply_to.into_iter().map(str::to_owned).collect(),
            ..Default::default()
        });
        d
    }

    fn context<'a>(docs: &'a [Document], links: &'a HashMap<DocId, Links>) -> Context<'a> {
        Context::new("Test <archive>", "assets/style-0.css".into(), docs, links)
    }

    #[test]
    fn a_reply_shows_its_thread_and_links_what_its_text_names() {
        let mut docs = vec![
            mail("m-a", "Seals <replaced>", "a@example.org", None),
            mail("m-b", "Re: Seals", "b@example.org", Some("a@example.org")),
            doc(
                "filesystems-vfs-rst",
                Kind::Rst,
                "VFS",
                "filesystems/vfs.rst.gz",
            ),
        ];
        docs[0].date = Some(time::macros::datetime!(2002-08-21 16:03 +02:00));
        let links = release::records::links(&docs).expect("links");
        let ctx = context(&docs, &links);
        let text = "As <a@example.org> said, see Documentation/filesystems/vfs.rst \
                    and <nobody@example.org> & <b@example.org>.";
        let refs = references(&ctx, 1, text);
        let html = page(&ctx, 1, text, &refs);
        for expected in [
            // The text links the message it quotes and the file it names, not unknown ids nor
            // itself, and escapes the rest.
            "<a href=\"../../d/m-a/\">&lt;a@example.org&gt;</a>",
            "<a href=\"../../d/filesystems-vfs-rst/\">Documentation/filesystems/vfs.rst</a>",
            "&lt;nobody@example.org&gt; &amp; &lt;b@example.org&gt;.",
            // The thread: what it answers, both messages, this one marked.
            "<p>In reply to <a href=\"../../d/m-a/\">Seals &lt;replaced&gt;</a> \
             <time datetime=\"2002-08-21T14:03Z\">2002-08-21 14:03 UTC</time></p>",
            "<p>2 messages in this thread:</p>",
            "<li aria-current=\"page\"><strong>Re: Seals</strong> (this message)</li>",
            // The sender links to its page, under a slug of the address.
            "browse/sender/m-b-example-org-",
            "<title>Re: Seals · Test &lt;archive&gt;</title>",
        ] {
            assert!(html.contains(expected), "{expected}\nnot in\n{html}");
        }
        assert!(!html.contains("<replaced>"), "a title unescaped");
        // The first message lists its reply.
        let first = page(&ctx, 0, "", &Vec::new());
        assert!(
            first.contains("<p>Replies:</p><ul>\n<li><a href=\"../../d/m-b/\">Re: Seals</a></li>"),
            "{first}"
        );
        assert!(first.contains("No text was extracted"), "{first}");
    }

    #[test]
    fn a_path_is_found_whole_next_to_any_letter_but_an_ascii_one() {
        let docs = vec![
            doc("a", Kind::Text, "A", "notes.txt"),
            doc("vfs-rst", Kind::Rst, "VFS", "filesystems/vfs.rst"),
        ];
        let links = release::records::links(&docs).expect("links");
        let ctx = context(&docs, &links);
        let linked = |text: &str| -> Vec<String> {
            references(&ctx, 0, text)
                .into_iter()
                .map(|(span, _)| text[span].to_owned())
                .collect()
        };
        // Chinese has no spaces: the whole path is linked (a Unicode `\b` linked only
        // "filesystems/vfs.rst", after the first `/`).
        assert_eq!(
            linked("参见Documentation/filesystems/vfs.rst。"),
            ["Documentation/filesystems/vfs.rst"]
        );
        assert_eq!(
            linked("see «filesystems/vfs.rst» (filesystems/vfs.rst)."),
            ["filesystems/vfs.rst"; 2]
        );
        // Glued to ASCII letters or digits, it is part of another word.
        assert!(linked("xfilesystems/vfs.rst filesystems/vfs.rstx").is_empty());
    }

    #[test]
    fn a_page_key_changes_with_what_the_page_shows() {
        let docs = vec![
            mail("m-a", "Seals", "a@example.org", None),
            mail("m-b", "Re: Seals", "b@example.org", Some("a@example.org")),
        ];
        let links = release::records::links(&docs).expect("links");
        let key = page_key(&context(&docs, &links), 1, &Vec::new());
        assert_eq!(key, page_key(&context(&docs, &links), 1, &Vec::new()));
        // The parent's title is shown on the reply's page: renamed, the page changes.
        let mut renamed = docs.clone();
        renamed[0].title = "Seals, again".into();
        let links2 = release::records::links(&renamed).expect("links");
        assert_ne!(key, page_key(&context(&renamed, &links2), 1, &Vec::new()));
        // A reference found in the text changes it too.
        assert_ne!(key, page_key(&context(&docs, &links), 1, &vec![(0..3, 0)]));
    }

    /// The renderer's part of the key covers every module a page is rendered by: each
    /// `crate::<module>` a listed module names is listed too (or is an item of the crate root),
    /// and a change to any listed source (the sender helpers of `present`, say) changes the key.
    #[test]
    fn the_page_key_covers_every_module_a_page_uses() {
        let listed: Vec<&str> = RENDERER_SOURCES.iter().map(|(name, _)| *name).collect();
        let lib = RENDERER_SOURCES
            .iter()
            .find(|(name, _)| *name == "lib")
            .map(|(_, source)| *source)
            .expect("lib.rs is listed");
        for (module, source) in RENDERER_SOURCES.iter().filter(|(name, _)| *name != "lib") {
            // (Spelt in two halves, or this very line would match.)
            let grouped = ["crate", "::{"].concat();
            assert!(
                !source.contains(&grouped),
                "{module}: name modules one by one"
            );
            for (at, _) in source.match_indices("crate::") {
                let name: String = source[at + 7..]
                    .chars()
                    .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
                    .collect();
                let in_root = [
                    format!("pub fn {name}("),
                    format!("fn {name}("),
                    format!("pub struct {name}"),
                ]
                .iter()
                .any(|item| lib.contains(item.as_str()));
                assert!(
                    name.is_empty() || listed.contains(&name.as_str()) || in_root,
                    "{module}.rs uses `{name}` of the crate, which is not part of the page key"
                );
            }
        }
        assert!(listed.contains(&"present"));
        let key = renderer_digest(&RENDERER_SOURCES);
        for i in 0..RENDERER_SOURCES.len() {
            let mut changed: Vec<(&str, &str)> = RENDERER_SOURCES.to_vec();
            let edited = format!("{}\n// edited", changed[i].1);
            changed[i].1 = &edited;
            assert_ne!(key, renderer_digest(&changed), "{}", changed[i].0);
        }
    }
}
