//! Coverage: for each document, how many listed mirrors, countries and providers serve it, and
//! which documents fall under the floor (`coverage_floor_countries` in `directory.toml`).
//!
//! Today a listed mirror that served release R at its last audit serves every document of R
//! (the release whose targets the directory holds, [`crate::holdings`]); a mirror on another
//! release is not counted (its documents are not known: a floor alarm should not be soothed by
//! a guess). What a mirror does not serve of its release, its legal blocks (`mirror::blocks`,
//! as its signed log said at its last verified audit, kept in `holdings`), comes in through
//! [`Exceptions`] and is subtracted.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use serde::Serialize;

use crate::error::Result;
use crate::store::Mirror;

/// Documents a mirror does not serve although its release holds them, by document id: the
/// mirrors' ids.
#[derive(Clone, Debug, Default)]
pub struct Exceptions {
    pub withheld: BTreeMap<String, BTreeSet<i64>>,
}

impl Exceptions {
    /// No exceptions: every mirror serves all of its release.
    pub fn none() -> Exceptions {
        Exceptions::default()
    }

    /// The mirrors' legal blocks, as the audits recorded them.
    pub fn of(holdings: &crate::holdings::Holdings) -> Result<Exceptions> {
        Ok(Exceptions {
            withheld: holdings.withheld()?,
        })
    }
}

/// How one document is served.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct DocumentCoverage {
    pub id: String,
    pub mirrors: usize,
    pub countries: usize,
    pub providers: usize,
}

/// Coverage of the archive.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Coverage {
    /// The release counted (whose targets the directory holds).
    pub release: Option<u64>,
    /// Documents served in fewer countries than this are named in `under_floor`.
    pub floor_countries: usize,
    /// Listed mirrors serving the release.
    pub serving_mirrors: usize,
    /// Documents of the release.
    pub documents: usize,
    /// The documents under the floor, fewest countries first, then by id.
    pub under_floor: Vec<DocumentCoverage>,
    /// Every document, by id.
    pub by_document: Vec<DocumentCoverage>,
}

/// The coverage of `documents` (of `release`) by `mirrors`, minus `exceptions`.
pub fn compute(
    mirrors: &[Mirror],
    release: Option<u64>,
    documents: &[String],
    exceptions: &Exceptions,
    floor_countries: usize,
) -> Coverage {
    let serving: Vec<&Mirror> = mirrors
        .iter()
        .filter(|m| m.is_listed() && release.is_some() && m.release == release)
        .collect();
    let count = |serving: &mut dyn Iterator<Item = &&Mirror>| {
        let (mut n, mut countries, mut providers) = (0, BTreeSet::new(), BTreeSet::new());
        for mirror in serving {
            n += 1;
            countries.insert(mirror.country.as_str());
            providers.insert(mirror.provider.to_lowercase());
        }
        (n, countries.len(), providers.len())
    };
    let everyone = count(&mut serving.iter());
    let by_document: Vec<DocumentCoverage> = documents
        .iter()
        .map(|id| {
            let (mirrors, countries, providers) = match exceptions.withheld.get(id) {
                None => everyone,
                Some(withheld) => count(&mut serving.iter().filter(|m| !withheld.contains(&m.id))),
            };
            DocumentCoverage {
                id: id.clone(),
                mirrors,
                countries,
                providers,
            }
        })
        .collect();
    let mut under_floor: Vec<DocumentCoverage> = by_document
        .iter()
        .filter(|d| d.countries < floor_countries)
        .cloned()
        .collect();
    under_floor.sort_by(|a, b| (a.countries, &a.id).cmp(&(b.countries, &b.id)));
    Coverage {
        release,
        floor_countries,
        serving_mirrors: serving.len(),
        documents: documents.len(),
        under_floor,
        by_document,
    }
}

/// The coverage of the directory in `dir` now: its mirrors, the release it holds, its floor
/// (`samizdat directory coverage`; an error names a folder that is no directory).
pub fn report(dir: &Path) -> Result<Coverage> {
    let config = crate::config::Config::load(dir)?;
    let mirrors = crate::store::Store::open(dir)?.mirrors()?;
    let holdings = crate::holdings::Holdings::open(dir)?;
    Ok(compute(
        &mirrors,
        holdings.release()?,
        &holdings.documents()?,
        &Exceptions::of(&holdings)?,
        config.coverage_floor_countries,
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::machine::State;

    fn mirror(id: i64, state: State, release: u64, country: &str, provider: &str) -> Mirror {
        Mirror {
            id,
            url: format!("http://m{id}/"),
            country: country.to_owned(),
            provider: provider.to_owned(),
            contact: String::new(),
            state,
            reason: String::new(),
            failures: 0,
            weight: 100,
            disabled: false,
            enrolled_at: 0,
            audited_at: None,
            release: Some(release),
            latency_ms: None,
            blocks_log: None,
        }
    }

    #[test]
    fn listed_mirrors_of_the_release_count_by_country_and_provider_minus_exceptions() {
        let mirrors = [
            mirror(1, State::Active, 5, "NL", "Greenhost"),
            mirror(2, State::Degraded, 5, "NL", "greenhost"),
            mirror(3, State::Active, 5, "IS", "1984"),
            mirror(4, State::Active, 4, "DE", "Hetzner"),
            mirror(5, State::Delisted, 5, "US", "OVH"),
            mirror(6, State::Pending, 5, "FR", "OVH"),
        ];
        let documents = ["a".to_owned(), "b".to_owned()];
        let mut exceptions = Exceptions::none();
        exceptions
            .withheld
            .insert("b".to_owned(), BTreeSet::from([3]));
        let coverage = compute(&mirrors, Some(5), &documents, &exceptions, 2);
        assert_eq!(coverage.serving_mirrors, 3);
        assert_eq!(
            coverage.by_document,
            [
                DocumentCoverage {
                    id: "a".into(),
                    mirrors: 3,
                    countries: 2,
                    providers: 2
                },
                DocumentCoverage {
                    id: "b".into(),
                    mirrors: 2,
                    countries: 1,
                    providers: 1
                },
            ]
        );
        let under: Vec<&str> = coverage.under_floor.iter().map(|d| d.id.as_str()).collect();
        assert_eq!(under, ["b"]);
        // Nothing held: nothing counted.
        let none = compute(&mirrors, None, &[], &Exceptions::none(), 3);
        assert_eq!((none.serving_mirrors, none.documents), (0, 0));
    }

    #[test]
    fn a_report_of_a_folder_that_is_no_directory_names_its_configuration() {
        let dir = tempfile::tempdir().expect("tempdir");
        let error = report(dir.path()).expect_err("no directory.toml");
        assert!(error.message().contains("directory.toml"), "{error}");
    }
}
