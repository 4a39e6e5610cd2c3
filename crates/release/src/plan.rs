//! What a release publishes, worked out from the catalog: the records to rebuild, the files to
//! place, and the targets for the editor, either every one ([`all`]) or the changes since the
//! committed release ([`changes`]).
//!
//! A release from changes reads only the documents changed since (`documents.gen`), the records
//! a release built but never committed, and the e-mails and attachments (threads can change
//! when one message arrives); at 250,000 documents and 1% new, that is what keeps a release
//! within a few percent of the time of a full one. It relies on the catalog describing the
//! committed release exactly: the release writes its catalog rows only after it committed, and
//! notes the snapshot version it wrote (`released_version`); if that is not the committed one
//! (a release killed between its commit and its catalog write), the next release is a full one.
//! `SAMIZDAT_FULL_RELEASE=1` in the environment makes any release a full one (a check of the
//! other road; the tests compare the two).

use crate::records::{self, DocLite, Links};
use crate::{Error, ErrorKind, Result};
use archive::catalog::{LinkInputs, RecordState, ReleaseRow};
use archive::{Blob, Catalog, DocId, Store, layout};
use rayon::prelude::*;
use std::collections::{BTreeMap, HashMap, HashSet};
use trust::editor::{TargetChange, TargetEntry, is_original};

/// The targets of a new release.
pub enum Targets {
    All(Vec<TargetEntry>),
    /// The changes since the committed release, and how many targets are not originals.
    Changes {
        changes: Vec<TargetChange>,
        main_count: usize,
    },
}

/// What a release does, decided before it writes anything but blobs.
pub struct Work {
    pub documents: usize,
    pub targets_total: usize,
    pub rebuilt: usize,
    /// Store blobs to link into `release/targets`: (sha256, file name).
    pub to_place: Vec<(String, String)>,
    pub targets: Targets,
    /// Catalog rows to write once the release is committed.
    pub updates: Vec<RecordUpdate>,
}

impl Work {
    /// Nothing placed, no targets yet, for `documents` documents whose records were `checked`.
    fn new(documents: usize, checked: &[Checked]) -> Work {
        Work {
            documents,
            targets_total: 0,
            rebuilt: checked
                .iter()
                .filter(|c| matches!(c, Checked::Rebuilt(..)))
                .count(),
            to_place: Vec::new(),
            targets: Targets::All(Vec::new()),
            updates: Vec::new(),
        }
    }
}

/// A document's record row as the committed release will have it.
pub struct RecordUpdate {
    pub id: String,
    /// A record built now (else an up-to-date one, whose row may only lack what follows).
    pub rebuilt: Option<RecordState>,
    /// The `doc_sha` and links (JSON) the record is built from.
    pub doc_sha: String,
    pub links: String,
    /// `documents.doc_sha` is missing (a row from before the column).
    pub set_doc_sha: bool,
    /// The original's target name.
    pub original: String,
}

/// Whether a document's record is up to date, and if not, the new one.
enum Checked {
    /// Built from this document and these links: nothing to do.
    UpToDate,
    /// Up to date (checked by its inputs digest, a row from before `doc_sha` and `links`).
    Known(String),
    Rebuilt(String, RecordState),
}

/// Checks (and rebuilds if needed) the record of `row`, whose links are now `links`.
fn check(store: &Store, row: &ReleaseRow, links: &Links, links_json: &str) -> Result<Checked> {
    if let Some(r) = &row.record
        && row.doc_sha.is_some()
        && r.doc_sha == row.doc_sha
        && r.links.as_deref() == Some(links_json)
    {
        return Ok(Checked::UpToDate);
    }
    let doc_sha = row
        .doc_sha
        .clone()
        .unwrap_or_else(|| archive::catalog::doc_sha(&row.doc));
    let doc: archive::Document = serde_json::from_str(&row.doc).map_err(|e| {
        Error::new(
            ErrorKind::Catalog,
            format!("catalog: document {}: {e}", row.id),
        )
    })?;
    let inputs = records::inputs_digest(&doc, links);
    Ok(match &row.record {
        Some(r) if r.state.inputs == inputs => Checked::Known(doc_sha),
        _ => Checked::Rebuilt(
            doc_sha,
            records::build_with_inputs(store, &doc, links, inputs)?,
        ),
    })
}

fn lite(row: &ReleaseRow) -> Result<DocLite<'_>> {
    let doc: DocLite<'_> = serde_json::from_str(&row.doc).map_err(|e| {
        Error::new(
            ErrorKind::Catalog,
            format!("catalog: document {}: {e}", row.id),
        )
    })?;
    if doc.id != row.id {
        return Err(Error::new(
            ErrorKind::Catalog,
            format!("catalog: document {} has id {}", row.id, doc.id),
        ));
    }
    Ok(doc)
}

fn links_json(links: &Links) -> Result<String> {
    serde_json::to_string(links)
        .map_err(|e| Error::new(ErrorKind::Inconsistent, format!("links: {e}")))
}

pub fn entry(name: &str, sha256: &str, length: u64) -> Result<TargetEntry> {
    let mut sha = [0u8; 32];
    hex::decode_to_slice(sha256, &mut sha).map_err(|_| {
        Error::new(
            ErrorKind::Catalog,
            format!("target {name}: bad stored hash {sha256}"),
        )
    })?;
    Ok(TargetEntry {
        name: trust::TargetName::new(name)?,
        length,
        sha256: sha,
        custom: None,
    })
}

/// A published document's two targets: (name, sha256, length) of its original and its record.
struct DocTargets<'a> {
    original: (String, &'a str, u64),
    record: (String, &'a str, u64),
}

/// The outcome for one document whose record was checked: its targets and its catalog update
/// (`None`: the row is right as it is).
fn outcome<'a>(
    row: &'a ReleaseRow,
    doc: &'a DocLite<'a>,
    checked: &'a Checked,
    links_json: &str,
) -> Result<(DocTargets<'a>, Option<RecordUpdate>)> {
    let id = DocId::new(&row.id).map_err(|e| Error::new(ErrorKind::Catalog, e))?;
    let original = layout::original_target(&id, &doc.ext);
    let (record_blob, rebuilt, doc_sha) = match (checked, &row.record) {
        (Checked::Rebuilt(doc_sha, state), _) => (&state.blob, Some(state), doc_sha.as_str()),
        (Checked::Known(doc_sha), Some(r)) => (&r.state.blob, None, doc_sha.as_str()),
        (Checked::UpToDate, Some(r)) => (
            &r.state.blob,
            None,
            row.doc_sha.as_deref().unwrap_or_default(),
        ),
        (_, None) => {
            return Err(Error::new(
                ErrorKind::Catalog,
                format!("document {}: no record", row.id),
            ));
        }
    };
    let targets = DocTargets {
        original: (
            original.clone(),
            doc.original.sha256.as_ref(),
            doc.original.len,
        ),
        record: (
            layout::record_target(&id),
            record_blob.sha256.as_str(),
            record_blob.len,
        ),
    };
    let current = matches!(checked, Checked::UpToDate)
        && row
            .record
            .as_ref()
            .is_some_and(|r| r.placed && r.original.as_deref() == Some(original.as_str()));
    let update = (!current).then(|| RecordUpdate {
        id: row.id.clone(),
        rebuilt: rebuilt.cloned(),
        doc_sha: doc_sha.to_owned(),
        links: links_json.to_owned(),
        set_doc_sha: row.doc_sha.is_none(),
        original,
    });
    Ok((targets, update))
}

impl DocTargets<'_> {
    fn entries(&self) -> Result<[TargetEntry; 2]> {
        let [(n1, s1, l1), (n2, s2, l2)] = [&self.original, &self.record];
        Ok([entry(n1, s1, *l1)?, entry(n2, s2, *l2)?])
    }
}

fn place_names(targets: &DocTargets<'_>, to_place: &mut Vec<(String, String)>) {
    for (name, sha256, _) in [&targets.original, &targets.record] {
        to_place.push((sha256.to_string(), format!("{sha256}.{name}")));
    }
}

/// How the targets besides documents' (`extra`) differ from those of the committed release
/// (`released`): each name added or changed with its blob, each name gone with `None`.
pub fn extra_changes<'a>(
    extra: &'a [(String, Blob)],
    released: &'a [(String, Blob)],
) -> Vec<(&'a str, Option<&'a Blob>)> {
    let before: HashMap<&str, &Blob> = released.iter().map(|(n, b)| (n.as_str(), b)).collect();
    let now: HashSet<&str> = extra.iter().map(|(n, _)| n.as_str()).collect();
    let mut changes: Vec<(&str, Option<&Blob>)> = extra
        .iter()
        .filter(|(name, blob)| before.get(name.as_str()) != Some(&blob))
        .map(|(name, blob)| (name.as_str(), Some(blob)))
        .collect();
    changes.extend(
        released
            .iter()
            .filter(|(name, _)| !now.contains(name.as_str()))
            .map(|(name, _)| (name.as_str(), None)),
    );
    changes
}

/// Every target, from every published document.
pub fn all(
    catalog: &Catalog,
    store: &Store,
    extra: &[(String, Blob)],
    progress: &dyn archive::ingest::Progress,
) -> Result<Work> {
    let rows = catalog.release_rows()?;
    let lite: Vec<DocLite<'_>> = rows.par_iter().map(lite).collect::<Result<_>>()?;
    let ids: Vec<&str> = rows.iter().map(|r| r.id.as_str()).collect();
    let inputs: Vec<Option<LinkInputs<'_>>> = lite.iter().map(DocLite::link_inputs).collect();
    let input_refs: Vec<Option<&LinkInputs<'_>>> = inputs.iter().map(Option::as_ref).collect();
    let links = records::links_indexed(&ids, &input_refs)?;
    let links_json: Vec<String> = links.par_iter().map(links_json).collect::<Result<_>>()?;
    progress.start(rows.len() as u64);
    let checked: Vec<Checked> = (0..rows.len())
        .into_par_iter()
        .map(|i| {
            let checked = check(store, &rows[i], &links[i], &links_json[i]);
            progress.advance(&rows[i].id);
            checked
        })
        .collect::<Result<_>>()?;
    progress.finish();
    let mut work = Work::new(rows.len(), &checked);
    #[allow(clippy::type_complexity)]
    let outcomes: Vec<(DocTargets<'_>, Option<RecordUpdate>, [TargetEntry; 2])> = (0..rows.len())
        .into_par_iter()
        .map(|i| {
            let (targets, update) = outcome(&rows[i], &lite[i], &checked[i], &links_json[i])?;
            let entries = targets.entries()?;
            Ok((targets, update, entries))
        })
        .collect::<Result<_>>()?;
    let mut entries = Vec::with_capacity(rows.len() * 2 + extra.len());
    for (targets, update, pair) in outcomes {
        entries.extend(pair);
        if let Some(update) = update {
            // Not known to be in the committed release: placed again (a no-op if it is).
            place_names(&targets, &mut work.to_place);
            work.updates.push(update);
        }
    }
    for (name, blob) in extra {
        entries.push(entry(name, &blob.sha256, blob.len)?);
        work.to_place
            .push((blob.sha256.clone(), format!("{}.{name}", blob.sha256)));
    }
    work.targets_total = entries.len();
    work.targets = Targets::All(entries);
    Ok(work)
}

/// The changes since the committed release, which included the documents up to generation
/// `after`; `upto` is the newest generation now. `extra_changes`: how `extra` differs from what
/// the committed release holds besides documents ([`extra_changes`]).
pub fn changes(
    catalog: &Catalog,
    store: &Store,
    after: i64,
    upto: i64,
    extra: &[(String, Blob)],
    extra_changes: &[(&str, Option<&Blob>)],
    progress: &dyn archive::ingest::Progress,
) -> Result<Work> {
    let changed = catalog.changed_since(after, upto)?;

    // Links of every e-mail and attachment, and of the parents of attachments.
    let link_rows = catalog.link_rows()?;
    let parsed: Vec<LinkInputs<'_>> = link_rows
        .iter()
        .map(|r| {
            serde_json::from_str(&r.links_in).map_err(|e| {
                Error::new(
                    ErrorKind::Catalog,
                    format!("catalog: links of {}: {e}", r.id),
                )
            })
        })
        .collect::<Result<_>>()?;
    let with_inputs: HashSet<&str> = link_rows.iter().map(|r| r.id.as_str()).collect();
    let mut parents: Vec<&str> = parsed
        .iter()
        .filter_map(|p| p.parent.as_deref())
        .filter(|p| !with_inputs.contains(p))
        .collect();
    parents.sort_unstable();
    parents.dedup();
    let parents = catalog.published(&parents)?;
    let mut nodes: Vec<(&str, Option<&LinkInputs<'_>>)> = link_rows
        .iter()
        .zip(&parsed)
        .map(|(r, p)| (r.id.as_str(), Some(p)))
        .chain(parents.iter().map(|p| (p.as_str(), None)))
        .collect();
    nodes.sort_unstable_by(|a, b| a.0.cmp(b.0));
    let ids: Vec<&str> = nodes.iter().map(|n| n.0).collect();
    let inputs: Vec<Option<&LinkInputs<'_>>> = nodes.iter().map(|n| n.1).collect();
    let computed = records::links_indexed(&ids, &inputs)?;
    let mut links: HashMap<&str, (Links, String)> = HashMap::with_capacity(ids.len());
    for (id, l) in ids.iter().zip(computed) {
        let json = links_json(&l)?;
        links.insert(id, (l, json));
    }

    // The documents to look at: changed, built but not committed, or whose links differ from
    // those their record was built with.
    let unplaced = catalog.unplaced()?;
    let mut wanted: Vec<&str> = unplaced.iter().map(String::as_str).collect();
    let stored_links: HashMap<&str, Option<&str>> = link_rows
        .iter()
        .map(|r| (r.id.as_str(), r.record_links.as_deref()))
        .collect();
    for id in &ids {
        let now = links.get(id).map(|l| l.1.as_str());
        match stored_links.get(id) {
            Some(stored) if *stored == now => {}
            _ => wanted.push(id),
        }
    }
    let linked = catalog.linked_records()?;
    for id in &linked {
        if !links.contains_key(id.as_str()) {
            wanted.push(id);
        }
    }
    let changed_ids: HashSet<&str> = changed.iter().map(|c| c.row.id.as_str()).collect();
    wanted.retain(|id| !changed_ids.contains(id));
    wanted.sort_unstable();
    wanted.dedup();
    let others = catalog.release_rows_of(&wanted)?;
    let rows: Vec<&ReleaseRow> = changed
        .iter()
        .filter(|c| !c.withdrawn)
        .map(|c| &c.row)
        .chain(&others)
        .collect();

    let default_links = (Links::default(), links_json(&Links::default())?);
    let docs: Vec<DocLite<'_>> = rows.iter().map(|r| lite(r)).collect::<Result<_>>()?;
    progress.start(rows.len() as u64);
    let checked: Vec<Checked> = rows
        .par_iter()
        .map(|row| {
            let (l, json) = links.get(row.id.as_str()).unwrap_or(&default_links);
            let checked = check(store, row, l, json);
            progress.advance(&row.id);
            checked
        })
        .collect::<Result<_>>()?;
    progress.finish();

    // Removals first, then what is put: a name both removed and put is put.
    let mut changes: BTreeMap<String, TargetChange> = BTreeMap::new();
    let mut remove = |name: String| -> Result<()> {
        let target = trust::TargetName::new(&name)?;
        changes.insert(name, TargetChange::Remove(target));
        Ok(())
    };
    for c in changed.iter().filter(|c| c.withdrawn) {
        let id = DocId::new(&c.row.id).map_err(|e| Error::new(ErrorKind::Catalog, e))?;
        remove(layout::record_target(&id))?;
        remove(layout::original_target(&id, &lite(&c.row)?.ext))?;
        if let Some(original) = c.row.record.as_ref().and_then(|r| r.original.clone()) {
            remove(original)?;
        }
    }
    for row in &rows {
        if let Some(original) = row.record.as_ref().and_then(|r| r.original.clone()) {
            remove(original)?;
        }
    }
    for (name, blob) in extra_changes {
        if blob.is_none() {
            remove(name.to_string())?;
        }
    }
    let mut work = Work::new(catalog.count()? as usize, &checked);
    for ((row, doc), checked) in rows.iter().zip(&docs).zip(&checked) {
        let json = &links.get(row.id.as_str()).unwrap_or(&default_links).1;
        let (targets, update) = outcome(row, doc, checked, json)?;
        for put in targets.entries()? {
            changes.insert(put.name.as_str().to_owned(), TargetChange::Put(put));
        }
        place_names(&targets, &mut work.to_place);
        if let Some(update) = update {
            work.updates.push(update);
        }
    }
    for (name, blob) in extra_changes {
        if let Some(blob) = blob {
            changes.insert(
                name.to_string(),
                TargetChange::Put(entry(name, &blob.sha256, blob.len)?),
            );
            work.to_place
                .push((blob.sha256.clone(), format!("{}.{name}", blob.sha256)));
        }
    }
    let extra_main = extra.iter().filter(|(n, _)| !is_original(n)).count();
    work.targets_total = work.documents * 2 + extra.len();
    work.targets = Targets::Changes {
        changes: changes.into_values().collect(),
        main_count: work.documents + extra_main,
    };
    Ok(work)
}
