//! Changes since a release: the targets a mirror holding an earlier release may lack
//! ([`Client::targets_changed_since`]), found from the roles whose version changed instead of
//! resolving every name of the release.

use std::collections::{BTreeMap, HashMap, HashSet};

use super::search::{Resolver, Scratch};
use super::{Client, Transport};
use crate::error::Result;
use crate::leaf::Listed;
use crate::schema::{MetaFile, TargetInfo, TargetName};

/// `listing(role, version)`: the targets that version of a role lists, if known (see
/// [`Client::targets_changed_since`]).
pub type Listing<'a> = dyn Fn(&str, u64) -> Option<Listed> + Sync + 'a;

impl<T: Transport> Client<T> {
    /// The targets of this release that an earlier release of the same repository may not have
    /// had (in no particular order): what a mirror holding that release lacks, at most.
    /// `previous` is the earlier release's snapshot `meta`; `listing(role, version)` the
    /// targets that version of a role lists (from files the caller verified before), `None` if
    /// it is not known (then every name the role lists now counts as new; a name it no longer
    /// lists is not seen, which matters only where delegations overlap, as hashed bins do not).
    ///
    /// A search for a name depends only on the roles that delegate and on which roles list the
    /// name, with which entry: when every role that delegates is at its earlier version, a name
    /// resolves as before unless a role that changed lists it differently (added, changed,
    /// removed). Only those names are searched; at 250,000 documents and 1% new that is ~5,000
    /// of 500,000. `None` when a role that delegates changed, or the roles are not the same
    /// set as before: then use [`Self::all_targets`].
    pub fn targets_changed_since(
        &mut self,
        previous: &BTreeMap<String, MetaFile>,
        listing: &Listing<'_>,
    ) -> Result<Option<Vec<(TargetName, TargetInfo)>>> {
        let before = self.load_every_role_reading_listings(previous, listing)?;
        // Another set of roles (one gone, or no longer delegated to): names may resolve through
        // other roles than before without any role listing them differently.
        let roles_then: HashSet<&str> = previous
            .keys()
            .filter_map(|file| file.strip_suffix(".json"))
            .collect();
        if roles_then != self.roles.keys().map(String::as_str).collect() {
            return Ok(None);
        }
        let Some(names) = self.names_listed_differently(previous, &before) else {
            return Ok(None);
        };
        self.resolve_names(&names).map(Some)
    }

    /// [`Self::load_every_role`], while what the roles whose version changed listed before is
    /// read (the snapshot already says which changed): that, by role.
    fn load_every_role_reading_listings(
        &mut self,
        previous: &BTreeMap<String, MetaFile>,
        listing: &Listing<'_>,
    ) -> Result<HashMap<String, Listed>> {
        use rayon::prelude::*;
        let changed_meta: Vec<(String, u64)> = self
            .snapshot
            .meta
            .iter()
            .filter_map(|(file, meta)| {
                let role = file.strip_suffix(".json")?;
                let then = version_then(previous, role)?;
                (then != meta.version).then(|| (role.to_string(), then))
            })
            .collect();
        let (loaded, before) = std::thread::scope(|scope| {
            let before = scope.spawn(|| {
                changed_meta
                    .par_iter()
                    .filter_map(|(role, then)| Some((role.clone(), listing(role, *then)?)))
                    .collect::<HashMap<String, Listed>>()
            });
            let loaded = self.load_every_role();
            (loaded, before.join().unwrap_or_default())
        });
        loaded?;
        Ok(before)
    }

    /// The names a role that changed since `previous` lists differently from its earlier
    /// version (`before`: what changed roles listed then, where known), sorted; `None` when a
    /// role that delegates changed.
    fn names_listed_differently(
        &self,
        previous: &BTreeMap<String, MetaFile>,
        before: &HashMap<String, Listed>,
    ) -> Option<Vec<String>> {
        use rayon::prelude::*;
        let nothing = Listed::default();
        let changed: Vec<(&str, Option<u64>)> = self
            .roles
            .keys()
            .filter_map(|role| {
                let now = self
                    .snapshot
                    .meta
                    .get(&format!("{role}.json"))
                    .map(|m| m.version);
                let then = version_then(previous, role);
                (then.is_none() || then != now).then_some((role.as_str(), then))
            })
            .collect();
        if changed
            .iter()
            .any(|(role, _)| self.roles[*role].delegations.is_some())
        {
            return None;
        }
        let roles = &self.roles;
        let differing: Vec<Vec<String>> = changed
            .par_iter()
            .map(|(role, then)| {
                let now = &roles[*role].targets;
                let before = match then {
                    Some(_) => before.get(*role).unwrap_or(&nothing),
                    None => &nothing,
                };
                differing_names(now, before)
            })
            .collect();
        let mut names: Vec<String> = differing.into_iter().flatten().collect();
        names.par_sort_unstable();
        names.dedup();
        Some(names)
    }

    /// What each of `names` resolves to (5.6.7 over the loaded roles), the names no search
    /// finds left out.
    fn resolve_names(&self, names: &[String]) -> Result<Vec<(TargetName, TargetInfo)>> {
        use rayon::prelude::*;
        let resolver = Resolver::new(self);
        let found: Vec<Result<Option<(TargetName, TargetInfo)>>> = names
            .par_iter()
            .map_init(Scratch::default, |scratch, name| {
                Ok(resolver
                    .resolve(name, scratch)?
                    .map(|(target, info, _)| (target, info.clone())))
            })
            .collect();
        found
            .into_iter()
            .filter_map(Result::transpose)
            .collect::<Result<_>>()
    }
}

/// The version of `role` in the earlier release's snapshot `meta`, if it listed the role.
fn version_then(previous: &BTreeMap<String, MetaFile>, role: &str) -> Option<u64> {
    previous.get(&format!("{role}.json")).map(|m| m.version)
}

/// The names `now` and `before` list differently (added, removed, or another target), walking
/// both in name order.
fn differing_names(now: &BTreeMap<String, TargetInfo>, before: &Listed) -> Vec<String> {
    use std::cmp::Ordering;
    let mut names = Vec::new();
    let mut now = now.iter().peekable();
    let mut before = before.iter().peekable();
    loop {
        match (now.peek(), before.peek()) {
            (None, None) => return names,
            (Some((name, _)), None) => {
                names.push((*name).clone());
                now.next();
            }
            (None, Some((name, _))) => {
                names.push((*name).to_string());
                before.next();
            }
            (Some((name, info)), Some((then, then_info))) => match name.as_str().cmp(then) {
                Ordering::Less => {
                    names.push((*name).clone());
                    now.next();
                }
                Ordering::Greater => {
                    names.push((*then).to_string());
                    before.next();
                }
                Ordering::Equal => {
                    if info != then_info {
                        names.push((*name).clone());
                    }
                    now.next();
                    before.next();
                }
            },
        }
    }
}
