//! The published record of each document (`<id>.json`): its metadata, its extracted text, and the
//! links that only the whole archive knows (reply-to, thread, replies, attachments).
//!
//! A record is rebuilt only when what it is made of changed (its document, its links, its text),
//! so a release after a small `add` rewrites few records, touches few bins, and re-signs little.

use crate::{Error, ErrorKind};
use archive::catalog::{LinkInputs, RecordState, ThreadHeaders};
use archive::{Blob, DocId, Document, Kind, Store};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::borrow::Cow;
use std::collections::{HashMap, HashSet};

/// Links between documents, computed over the whole archive at release time.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Links {
    /// The message this one answers (its In-Reply-To, else the last resolvable References entry).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reply_to: Option<DocId>,
    /// The first message of the thread, for every message that is in a thread.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub thread: Option<DocId>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub replies: Vec<DocId>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub attachments: Vec<DocId>,
}

#[derive(Serialize)]
struct Record<'a> {
    document: &'a Document,
    links: &'a Links,
    text: &'a str,
}

/// Computes the links of every document. `docs` is every published document, in any order:
/// [`links_indexed`] over them in id order (the order a release computes records' links in, so
/// that a Message-ID two documents share resolves the same way for the site and the records).
pub fn links(docs: &[Document]) -> Result<HashMap<DocId, Links>, Error> {
    let mut order: Vec<&Document> = docs.iter().collect();
    order.sort_unstable_by(|a, b| a.id.cmp(&b.id));
    let ids: Vec<&str> = order.iter().map(|d| d.id.as_str()).collect();
    let inputs: Vec<Option<LinkInputs<'_>>> = order.iter().map(|d| LinkInputs::of(d)).collect();
    let inputs: Vec<Option<&LinkInputs<'_>>> = inputs.iter().map(Option::as_ref).collect();
    let links = links_indexed(&ids, &inputs)?;
    Ok(order.into_iter().map(|d| d.id.clone()).zip(links).collect())
}

/// The part of a stored document a release needs for every document (its links and its
/// targets), parsed borrowing from the stored JSON; the rest is skipped, unparsed.
#[derive(Debug, Deserialize)]
pub struct DocLite<'a> {
    #[serde(borrow)]
    pub id: Cow<'a, str>,
    pub kind: Kind,
    #[serde(default, borrow)]
    pub email: Option<EmailLite<'a>>,
    #[serde(default, borrow)]
    pub parent: Option<Cow<'a, str>>,
    #[serde(borrow)]
    pub original: BlobLite<'a>,
    #[serde(borrow)]
    pub ext: Cow<'a, str>,
}

#[derive(Debug, Default, Deserialize)]
pub struct EmailLite<'a> {
    #[serde(default, borrow)]
    pub message_id: Option<Cow<'a, str>>,
    #[serde(default, borrow)]
    pub in_reply_to: Vec<Cow<'a, str>>,
    #[serde(default, borrow)]
    pub references: Vec<Cow<'a, str>>,
}

#[derive(Debug, Deserialize)]
pub struct BlobLite<'a> {
    #[serde(borrow)]
    pub sha256: Cow<'a, str>,
    pub len: u64,
}

impl DocLite<'_> {
    /// What its links are computed from: [`LinkInputs::from_parts`], the rule
    /// [`LinkInputs::of`] a whole document follows too.
    pub fn link_inputs(&self) -> Option<LinkInputs<'_>> {
        let email = self.email.as_ref().map(|e| ThreadHeaders {
            message_id: e.message_id.as_deref(),
            in_reply_to: &e.in_reply_to[..],
            references: &e.references[..],
        });
        LinkInputs::from_parts(self.kind, email, self.parent.as_deref())
    }
}

/// [`links`] by index: `ids` in id order, `inputs[i]` what the links of `ids[i]` are computed
/// from (`None`: neither an e-mail nor an attachment). The links of `ids[i]` are at `[i]`.
///
/// Over every published document, or only over the e-mails and attachments and the parents of
/// attachments: the links are the same (a document with no inputs has links only as a parent).
pub fn links_indexed(
    ids: &[&str],
    inputs: &[Option<&LinkInputs<'_>>],
) -> Result<Vec<Links>, Error> {
    let n = ids.len();
    let mut by_message_id: HashMap<&str, usize> = HashMap::new();
    for (i, d) in inputs.iter().enumerate() {
        if let Some(d) = d
            && d.kind == Some(Kind::Email)
            && let Some(mid) = d.message_id.as_deref()
        {
            by_message_id.insert(mid, i);
        }
    }
    let mut index: HashMap<&str, usize> = HashMap::new();
    let mut reply_to: Vec<Option<usize>> = vec![None; n];
    let mut attachments: Vec<Vec<usize>> = vec![Vec::new(); n];
    let mut replies: Vec<Vec<usize>> = vec![Vec::new(); n];
    for (i, doc) in inputs.iter().enumerate() {
        let Some(doc) = doc else { continue };
        let resolve = |mid: &Cow<'_, str>| by_message_id.get(mid.as_ref()).copied();
        reply_to[i] = doc
            .in_reply_to
            .iter()
            .filter_map(resolve)
            .chain(doc.references.iter().rev().filter_map(resolve))
            .find(|p| ids[*p] != ids[i]);
        if doc.parent.is_some() && index.is_empty() {
            index = ids.iter().enumerate().map(|(i, id)| (*id, i)).collect();
        }
        // A parent that is not published (withdrawn) has no links to carry its attachments.
        if let Some(p) = doc.parent.as_deref().and_then(|p| index.get(p)) {
            attachments[*p].push(i);
        }
    }
    for (i, parent) in reply_to.iter().enumerate() {
        if let Some(p) = parent {
            replies[*p].push(i);
        }
    }
    // The ids are the catalog's: one that is not an id is the catalog's fault.
    let id = |i: usize| DocId::new(ids[i]).map_err(|e| Error::new(ErrorKind::Catalog, e));
    let mut out = Vec::with_capacity(n);
    for i in 0..n {
        let mut links = Links::default();
        if reply_to[i].is_some() || !replies[i].is_empty() {
            let mut root = i;
            let mut seen = HashSet::new();
            while let Some(up) = reply_to[root] {
                if !seen.insert(up) {
                    break;
                }
                root = up;
            }
            links.thread = Some(id(root)?);
        }
        if let Some(p) = reply_to[i] {
            links.reply_to = Some(id(p)?);
        }
        links.replies = replies[i]
            .iter()
            .map(|&j| id(j))
            .collect::<Result<_, _>>()?;
        links.attachments = attachments[i]
            .iter()
            .map(|&j| id(j))
            .collect::<Result<_, _>>()?;
        links.replies.sort();
        links.attachments.sort();
        out.push(links);
    }
    Ok(out)
}

/// A digest of what a record is built from: if it is unchanged, so is the record.
pub fn inputs_digest(doc: &Document, links: &Links) -> String {
    let mut h = Sha256::new();
    h.update(serde_json::to_vec(doc).unwrap_or_default());
    h.update([0]);
    h.update(serde_json::to_vec(links).unwrap_or_default());
    hex::encode(h.finalize())
}

/// Builds and stores the record of one document; `inputs` is its [`inputs_digest`].
pub fn build_with_inputs(
    store: &Store,
    doc: &Document,
    links: &Links,
    inputs: String,
) -> Result<RecordState, Error> {
    let text = store.read(&doc.text).map_err(|e| {
        Error::new(
            ErrorKind::Io,
            format!("document {}: cannot read its text: {e}", doc.id),
        )
    })?;
    let text = String::from_utf8_lossy(&text);
    let record = Record {
        document: doc,
        links,
        text: &text,
    };
    let bytes = serde_json::to_vec(&record).map_err(|e| {
        Error::new(
            ErrorKind::Inconsistent,
            format!("document {}: cannot encode its record: {e}", doc.id),
        )
    })?;
    let blob: Blob = store.put(&bytes).map_err(|e| {
        Error::new(
            ErrorKind::Io,
            format!("document {}: cannot store its record: {e}", doc.id),
        )
    })?;
    Ok(RecordState { inputs, blob })
}

/// Puts documents in date order, the order that numbers them (document *n* is at index *n − 1*):
/// by date, then id; undated documents last. The reader site's index relies on it, so that a date
/// range is a range of numbers. Numbers are per release; the ids are what stays stable.
pub fn sort_by_date(docs: &mut [Document]) {
    docs.sort_by(|a, b| {
        (a.date.is_none(), a.date, a.id.as_str()).cmp(&(b.date.is_none(), b.date, b.id.as_str()))
    });
}

#[cfg(test)]
mod tests {
    use super::*;
    use archive::EmailHeaders;

    fn email(id: &str, mid: &str, reply_to: &[&str], refs: &[&str]) -> Document {
        Document {
            id: DocId::new(id).expect("id"),
            kind: Kind::Email,
            title: id.to_owned(),
            date: None,
            date_source: None,
            encoding: None,
            text_source: None,
            origin: None,
            tags: vec![],
            record_kind: None,
            author: None,
            email: Some(EmailHeaders {
                message_id: Some(mid.to_owned()),
                in_reply_to: reply_to.iter().map(|s| s.to_string()).collect(),
                references: refs.iter().map(|s| s.to_string()).collect(),
                ..Default::default()
            }),
            pages: None,
            parent: None,
            source: format!("{id}.eml"),
            original: Blob {
                sha256: String::new(),
                len: 0,
            },
            ext: "eml".into(),
            media_type: "message/rfc822".into(),
            text: Blob {
                sha256: String::new(),
                len: 0,
            },
        }
    }

    fn id(s: &str) -> DocId {
        DocId::new(s).expect("id")
    }

    #[test]
    fn threads_link_through_in_reply_to_and_references() {
        let docs = vec![
            email("a", "a@x", &[], &[]),
            email("b", "b@x", &["a@x"], &["a@x"]),
            // Unknown In-Reply-To: falls back to the last known References entry.
            email("c", "c@x", &["gone@x"], &["a@x", "b@x"]),
            email("lonely", "l@x", &["nowhere@x"], &[]),
        ];
        let links = links(&docs).expect("links");
        assert_eq!(links[&id("b")].reply_to, Some(id("a")));
        assert_eq!(links[&id("c")].reply_to, Some(id("b")));
        assert_eq!(links[&id("c")].thread, Some(id("a")));
        assert_eq!(links[&id("a")].thread, Some(id("a")));
        assert_eq!(links[&id("a")].replies, vec![id("b")]);
        assert_eq!(links[&id("lonely")], Links::default());
    }

    fn same_as_indexed(docs: &[Document]) {
        let by_id = links(docs).expect("links");
        let json: Vec<String> = docs
            .iter()
            .map(|d| serde_json::to_string(d).expect("json"))
            .collect();
        let lite: Vec<DocLite<'_>> = json
            .iter()
            .map(|j| serde_json::from_str(j).expect("lite"))
            .collect();
        let ids: Vec<&str> = lite.iter().map(|d| d.id.as_ref()).collect();
        let inputs: Vec<_> = lite.iter().map(DocLite::link_inputs).collect();
        let inputs: Vec<_> = inputs.iter().map(Option::as_ref).collect();
        let indexed = links_indexed(&ids, &inputs).expect("links");
        for (doc, l) in docs.iter().zip(&indexed) {
            assert_eq!(&by_id[&doc.id], l, "{}", doc.id);
        }
        // Over the e-mails and attachments and their parents only, from the stored inputs: the
        // same links, and none for the rest.
        let stored: Vec<Option<String>> = docs
            .iter()
            .map(|d| LinkInputs::of(d).map(|l| serde_json::to_string(&l).expect("json")))
            .collect();
        let parents: HashSet<&str> = docs
            .iter()
            .filter_map(|d| d.parent.as_ref())
            .map(|p| p.as_str())
            .collect();
        let graph: Vec<usize> = (0..docs.len())
            .filter(|&i| stored[i].is_some() || parents.contains(docs[i].id.as_str()))
            .collect();
        let graph_ids: Vec<&str> = graph.iter().map(|&i| docs[i].id.as_str()).collect();
        let graph_inputs: Vec<Option<LinkInputs<'_>>> = graph
            .iter()
            .map(|&i| {
                stored[i]
                    .as_deref()
                    .map(|j| serde_json::from_str(j).expect("inputs"))
            })
            .collect();
        let graph_inputs: Vec<_> = graph_inputs.iter().map(Option::as_ref).collect();
        let from_graph = links_indexed(&graph_ids, &graph_inputs).expect("links");
        for (&i, l) in graph.iter().zip(&from_graph) {
            assert_eq!(&indexed[i], l, "{}", docs[i].id);
        }
        for (i, l) in indexed.iter().enumerate() {
            if !graph.contains(&i) {
                assert_eq!(l, &Links::default(), "{}", docs[i].id);
            }
        }
    }

    #[test]
    fn indexed_links_are_the_same() {
        let mut attachment = email("a-a1", "x@y", &[], &[]);
        attachment.kind = Kind::Binary;
        attachment.email = None;
        attachment.parent = Some(id("a"));
        let mut orphan = email("z-a1", "z@y", &[], &[]);
        orphan.parent = Some(id("gone"));
        same_as_indexed(&[
            email("a", "a@x", &[], &[]),
            attachment,
            email("b", "b@x", &["a@x"], &["a@x"]),
            email("c", "c@x", &["gone@x"], &["a@x", "b@x"]),
            email("d", "d@x", &["b@x"], &[]),
            email("lonely", "l@x", &["nowhere@x"], &[]),
            email("self", "s@x", &["s@x"], &[]),
            email("x", "x@x", &["y@x"], &[]),
            email("y", "y@x", &["x@x"], &[]),
            orphan,
        ]);
    }

    /// Two documents with one Message-ID: a reply to it resolves to the same one whatever the
    /// order the documents come in (the site passes them in date order, the release in id order).
    #[test]
    fn a_shared_message_id_resolves_the_same_in_any_order() {
        let mut docs = vec![
            email("b", "dup@x", &[], &[]),
            email("a", "dup@x", &[], &[]),
            email("r", "r@x", &["dup@x"], &[]),
        ];
        let one = links(&docs).expect("links");
        docs.reverse();
        let other = links(&docs).expect("links");
        assert_eq!(one, other);
        assert_eq!(one[&id("r")].reply_to, Some(id("b")));
    }

    #[test]
    fn forged_reply_cycle_terminates() {
        let docs = vec![
            email("a", "a@x", &["b@x"], &[]),
            email("b", "b@x", &["a@x"], &[]),
        ];
        let links = links(&docs).expect("links");
        assert!(links[&id("a")].thread.is_some());
        assert!(links[&id("b")].thread.is_some());
    }

    #[test]
    fn date_order_numbers_by_date_then_id_and_undated_last() {
        use time::macros::datetime;
        let mut docs = vec![
            email("c", "c@x", &[], &[]),
            email("b", "b@x", &[], &[]),
            email("a", "a@x", &[], &[]),
            email("z", "z@x", &[], &[]),
        ];
        docs[0].date = Some(datetime!(2002-01-01 0:00 UTC));
        docs[1].date = Some(datetime!(1999-05-01 0:00 UTC));
        docs[3].date = Some(datetime!(2002-01-01 0:00 UTC));
        sort_by_date(&mut docs);
        let order: Vec<&str> = docs.iter().map(|d| d.id.as_str()).collect();
        assert_eq!(order, ["b", "c", "z", "a"]);
    }
}
