//! Target search (5.6.7): the pre-order depth-first walk over the delegations loaded so far,
//! and, for resolving every name of a release at once, a per-role index of delegations by hash
//! prefix ([`Resolver`]). Nothing here fetches or verifies: a search that reaches a role not
//! loaded says so ([`Search::Load`]) and the caller loads it.

use std::collections::HashMap;

use super::{Client, Transport};
use crate::error::{Error, ErrorKind, Result};
use crate::schema::{Delegations, Digest, TargetInfo, TargetName, Targets};

/// 5.6.7, the search for target `name` (pre-order depth-first), over the roles loaded so far:
/// the one search behind [`Client::target_info`] (which loads what it asks for and searches
/// again) and [`Client::all_targets`] (which loads every role first, then searches in parallel).
pub(super) fn search<'a>(
    roles: &'a HashMap<String, Targets>,
    most: usize,
    name: &str,
) -> Search<'a> {
    let hash = NameHash::of(name);
    let children = |_: &str, delegations: &'a Delegations, out: &mut Vec<usize>| {
        out.extend(
            (0..delegations.roles.len()).filter(|&i| delegations.roles[i].covers(name, hash.hex())),
        );
    };
    search_with(roles, most, name, &children, &mut Scratch::default())
}

/// The lists a search works with, kept from one search to the next.
#[derive(Default)]
pub(super) struct Scratch<'a> {
    to_visit: Vec<(&'a str, &'a str)>,
    visited: Vec<&'a str>,
    covering: Vec<usize>,
    next: Vec<(&'a str, &'a str)>,
}

/// The hex SHA-256 of a target name, which `path_hash_prefixes` match.
struct NameHash(String);

impl NameHash {
    fn of(name: &str) -> Self {
        NameHash(Digest::of(name.as_bytes()).to_hex())
    }
    fn hex(&self) -> &str {
        &self.0
    }
}

/// 5.6.7's pre-order depth-first search for `name` over the loaded `roles`; `children(role,
/// its delegations, out)` appends the positions, in order, of the delegations that cover `name`.
fn search_with<'a>(
    roles: &'a HashMap<String, Targets>,
    most: usize,
    name: &str,
    children: &dyn Fn(&str, &'a Delegations, &mut Vec<usize>),
    scratch: &mut Scratch<'a>,
) -> Search<'a> {
    let Scratch {
        to_visit,
        visited,
        covering,
        next,
    } = scratch;
    to_visit.clear();
    visited.clear();
    to_visit.push(("targets", ""));
    while let Some((role_name, delegator)) = to_visit.pop() {
        // 5.6.7.1: skip a role seen before (cycles); stop after the maximum number of visits.
        if visited.contains(&role_name) {
            continue;
        }
        if visited.len() >= most {
            break;
        }
        let Some((role_key, role)) = roles.get_key_value(role_name) else {
            return Search::Load {
                role: role_name.to_owned(),
                delegator: delegator.to_owned(),
            };
        };
        // 5.6.7.1: this role has the target: done.
        if let Some(info) = role.targets.get(name) {
            return Search::Found(info, role_key);
        }
        visited.push(role_key);
        // 5.6.7.2: search the delegations in order of appearance.
        let Some(delegations) = &role.delegations else {
            continue;
        };
        covering.clear();
        children(role_key, delegations, covering);
        next.clear();
        for &i in covering.iter() {
            let delegated = &delegations.roles[i];
            next.push((delegated.name.as_str(), role_key.as_str()));
            // 5.6.7.2.1: a terminating delegation ends the search after its subtree.
            if delegated.terminating {
                to_visit.clear();
                break;
            }
        }
        // 5.6.7.2.2: non-terminating ones are searched in order, first one first.
        to_visit.extend(next.drain(..).rev());
    }
    Search::NotFound
}

/// The delegations of one role, indexed by hash prefix: which cover a name, without testing
/// each (a middle bin delegates to ~80 leaves; a mirror resolves ~500,000 names).
struct DelegationIndex<'a> {
    by_prefix: HashMap<&'a str, Vec<usize>>,
    prefix_lengths: Vec<usize>,
    /// Delegations by `paths` (patterns), tested one by one.
    by_paths: Vec<usize>,
}

impl<'a> DelegationIndex<'a> {
    fn new(delegations: &'a Delegations) -> Self {
        let mut index = DelegationIndex {
            by_prefix: HashMap::new(),
            prefix_lengths: Vec::new(),
            by_paths: Vec::new(),
        };
        for (i, delegated) in delegations.roles.iter().enumerate() {
            match &delegated.path_hash_prefixes {
                Some(prefixes) => {
                    for prefix in prefixes {
                        let positions = index.by_prefix.entry(prefix.as_str()).or_default();
                        if positions.last() != Some(&i) {
                            positions.push(i);
                        }
                        if !index.prefix_lengths.contains(&prefix.len()) {
                            index.prefix_lengths.push(prefix.len());
                        }
                    }
                }
                None => index.by_paths.push(i),
            }
        }
        index
    }

    /// What [`DelegatedRole::covers`] says of each delegation, in order.
    fn covering(
        &self,
        delegations: &Delegations,
        name: &str,
        hash: &NameHash,
        out: &mut Vec<usize>,
    ) {
        for &length in &self.prefix_lengths {
            if let Some(prefix) = hash.hex().get(..length)
                && let Some(positions) = self.by_prefix.get(prefix)
            {
                out.extend(positions);
            }
        }
        out.extend(
            self.by_paths
                .iter()
                .filter(|&&i| delegations.roles[i].covers(name, hash.hex())),
        );
        out.sort_unstable();
        out.dedup();
    }
}

/// Where a search over the loaded roles ended.
pub(super) enum Search<'a> {
    /// The entry, and the role that lists it.
    Found(&'a TargetInfo, &'a str),
    NotFound,
    /// It reaches `role` (delegated by `delegator`), not loaded yet.
    Load {
        role: String,
        delegator: String,
    },
}

/// Searches names over every loaded role of a client, on any thread.
pub(super) struct Resolver<'a> {
    roles: &'a HashMap<String, Targets>,
    most: usize,
    version: u64,
    indexes: HashMap<&'a str, DelegationIndex<'a>>,
}

impl<'a> Resolver<'a> {
    pub(super) fn new<T: Transport>(client: &'a Client<T>) -> Self {
        let indexes = client
            .roles
            .iter()
            .filter_map(|(name, role)| Some((name.as_str(), role.delegations.as_ref()?)))
            .map(|(name, d)| (name, DelegationIndex::new(d)))
            .collect();
        Resolver {
            roles: &client.roles,
            most: client.options.max_delegation_visits,
            version: client.version(),
            indexes,
        }
    }

    /// The entry `name` resolves to, and the role that lists it; an error if the name is not a
    /// valid target name (every listed name must be, found or not).
    pub(super) fn resolve(
        &self,
        name: &str,
        scratch: &mut Scratch<'a>,
    ) -> Result<Option<(TargetName, &'a TargetInfo, &'a str)>> {
        let target = TargetName::new(name).map_err(|error| {
            Error::new(
                ErrorKind::Malformed,
                format!("release {}: {}", self.version, error.message()),
            )
        })?;
        let hash = NameHash::of(name);
        let children = |role: &str, delegations: &Delegations, out: &mut Vec<usize>| {
            if let Some(index) = self.indexes.get(role) {
                index.covering(delegations, name, &hash, out);
            }
        };
        match search_with(self.roles, self.most, name, &children, scratch) {
            Search::Found(info, role) => Ok(Some((target, info, role))),
            Search::NotFound => Ok(None),
            // Not reachable: every role a search can visit is loaded.
            Search::Load { role, .. } => Err(Error::new(
                ErrorKind::Malformed,
                format!("release {}: role {role} was not loaded", self.version),
            )),
        }
    }
}
