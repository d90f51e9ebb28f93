//! Why a lookup failed, and the reset that lets a retry succeed: a
//! failure is tied to the units (placeholder ids) ORC names as failed and
//! the errors those units reported, never to what other lookups saw.

use std::sync::Arc;

use super::dylib::Dylib;
use super::env::{InJit, Pending, SessionEnv};
use super::lazy::LazyModule;
use super::Session;
use crate::error::{Error, JitcoreErrorCode};
use crate::module::Module;
use crate::report;

/// Why a lookup failed.
#[derive(Debug)]
pub struct LookupFailure {
    pub error: Error,
    /// The units (placeholder ids) whose own materialization failed.
    pub failed_units: Vec<u64>,
}

/// What a reset did.
pub(super) struct Recovery {
    /// The lookup's error.
    pub error: Error,
    /// The members (named) whose cached object failed to link: they were
    /// reset to compile, so the lookup is worth one more try.
    pub cache_faults: Vec<String>,
}

/// The (JITDylib, symbols) pairs of ORC's "Failed to materialize symbols:
/// { (main, { a, b }), (lib, { c }) }" (empty for other messages).
pub(super) fn failed_symbols(message: &str) -> Vec<(&str, Vec<&str>)> {
    let Some(rest) = message.split("Failed to materialize symbols: ").nth(1) else { return Vec::new() };
    let mut out = Vec::new();
    let mut depth = 0usize;
    let (mut open, mut start) = (None, None);
    for (i, c) in rest.char_indices() {
        match c {
            '(' if depth == 1 => open = Some(i + 1),
            '{' => {
                depth += 1;
                if depth == 2 {
                    start = Some(i + 1);
                }
            }
            '}' => {
                if let (2, Some(o), Some(s)) = (depth, open.take(), start.take()) {
                    let dylib = rest[o..s - 1].trim().trim_end_matches(',').trim();
                    out.push((dylib, rest[s..i].split(',').map(str::trim).filter(|n| !n.is_empty()).collect()));
                }
                if depth <= 1 {
                    break;
                }
                depth -= 1;
            }
            _ => {}
        }
    }
    out
}


impl SessionEnv {
    pub(super) fn explain_lookup_failure(&self, e: Error, mark: u64, dylib: &Dylib, names: &[&str]) -> LookupFailure {
        let what = if names.len() == 1 { format!("'{}'", names[0]) } else { format!("{} symbols", names.len()) };
        if let Some(missing) = e.message.strip_prefix("Symbols not found: ") {
            // ORC's own answer for this lookup: nothing defines the name.
            // (Errors other lookups reported meanwhile are theirs.)
            let mut searched = vec![format!("'{}'", dylib.name())];
            searched.extend(dylib.link_order().iter().map(|d| format!("'{}'", d.name())));
            let subject = if names.len() == 1 { format!("symbol {what}") } else { format!("symbols {missing}") };
            let error =
                Error::symbol_not_found(format!("{subject} not found (searched JITDylib {})", searched.join(", ")));
            return LookupFailure { error, failed_units: Vec::new() };
        }
        // A materialization failed: the units whose own failure explains it
        // are those that define a symbol ORC names as failed. Reports of
        // other units (another thread's lookup) are not this lookup's.
        let units = self.units_defining(&failed_symbols(&e.message));
        let (cause, failed_units) = self.cause_of(&units, mark);
        let error = match &cause {
            Some(r) => {
                let mut err = r.error.clone();
                err.message = format!("{} (while looking up {what})", err.message);
                err
            }
            None => Error::from_orc_message(e.message, JitcoreErrorCode::JITCORE_ERROR_LINK)
                .context(format!("looking up {what}")),
        };
        LookupFailure { error, failed_units }
    }

    /// Why `units` (which ORC failed) failed: the report that explains it,
    /// if any, and the units to reset (those, and every unit whose compile
    /// failed since `mark`, reported on its own thread; nothing else).
    pub(super) fn cause_of(&self, units: &[u64], mark: u64) -> (Option<report::Reported>, Vec<u64>) {
        let reported = self.log.since(mark);
        let mut units = units.to_vec();
        // A failed unit whose link could not bind a name of another dylib
        // because what defines it failed (report_dependency) failed
        // because of those units: theirs are this lookup's failures too.
        loop {
            let more: Vec<u64> = reported
                .iter()
                .filter(|r| r.unit.is_some_and(|u| units.contains(&u)))
                .flat_map(|r| self.units_defining(&failed_symbols(&r.error.message)))
                .filter(|u| !units.contains(u))
                .collect();
            if more.is_empty() {
                break;
            }
            units.extend(more);
            units.sort_unstable();
            units.dedup();
        }
        let declared: Vec<(u64, Arc<Module>, Vec<String>)> = self
            .live_modules()
            .into_iter()
            .map(|(u, m)| {
                let d = m.declarations();
                (u, m, d)
            })
            .collect();
        let declares = |unit: u64, r: &report::Reported| {
            declared.iter().any(|(u, _, d)| *u == unit && r.missing.iter().any(|x| d.contains(x)))
        };
        // (A lazily added module has several units: the module's and its bodies'.)
        let declared_elsewhere = |unit: u64, r: &report::Reported| {
            let own = declared.iter().find(|(u, _, _)| *u == unit).map(|(_, m, _)| m);
            declared
                .iter()
                .any(|(_, m, d)| !own.is_some_and(|o| Arc::ptr_eq(o, m)) && r.missing.iter().any(|x| d.contains(x)))
        };
        // Reset what ORC failed (its symbols are in an error state), and
        // every unit whose compile failed (reported on its own thread);
        // nothing else.
        let mut failed_units = units.to_vec();
        failed_units.extend(reported.iter().filter(|r| r.missing.is_empty()).filter_map(|r| r.unit));
        // The cause, in the order reported: (1) an error of a failed unit
        // (a link error only if it is not another module's missing name:
        // ORC reports on whatever thread ran the link); (2) a link error
        // naming what a failed unit's module declares; (3) a link error no
        // module declares (an object's, an archive member's).
        let mine = |reported: &[report::Reported]| {
            reported
                .iter()
                .find(|r| {
                    r.unit.is_some_and(|u| units.contains(&u) && (r.missing.is_empty() || !declared_elsewhere(u, r)))
                })
                .cloned()
        };
        let linked = |reported: &[report::Reported]| {
            reported.iter().find_map(|r| {
                let (_, m, _) = declared.iter().find(|(u, _, _)| units.contains(u) && declares(*u, r))?;
                let mut r = r.clone();
                r.error = r.bare.clone().context(format!("module '{}'", m.name()));
                Some(r)
            })
        };
        let orphan = || {
            reported
                .iter()
                .find(|r| !r.missing.is_empty() && !declared.iter().any(|(u, _, _)| declares(*u, r)))
                .cloned()
        };
        // A unit that failed on another lookup's thread before this lookup
        // began (its reset is not done yet) reported its cause then: the
        // latest report of that unit, or naming what its module declares.
        let earlier = || {
            let all = self.log.since(0);
            let before: Vec<report::Reported> = all.into_iter().filter(|r| r.seq < mark).rev().collect();
            mine(&before).or_else(|| linked(&before))
        };
        let cause = mine(&reported).or_else(|| linked(&reported)).or_else(orphan).or_else(earlier);
        (cause, failed_units)
    }

    /// The modules of live members, with their units (a lazily added
    /// module's once per defined body, too).
    fn live_modules(&self) -> Vec<(u64, Arc<Module>)> {
        let mut out = Vec::new();
        for group in self.live_groups() {
            for member in group.state().members.iter() {
                if let Some(m) = &member.module {
                    out.push((member.unit_id, m.clone()));
                    let units = member.lazy.as_ref().map(|l| l.units()).unwrap_or_default();
                    out.extend(units.into_iter().map(|unit| (unit, m.clone())));
                }
            }
        }
        out
    }

    /// The units (placeholder ids) of members that define one of the
    /// symbols named for their JITDylib in `failed` (for a lazy function's
    /// body, the unit of its definition).
    fn units_defining(&self, failed: &[(&str, Vec<&str>)]) -> Vec<u64> {
        let mut units = Vec::new();
        if failed.is_empty() {
            return units;
        }
        for group in self.live_groups() {
            let Some(dylib) = self.dylib_by_id(group.dylib) else { continue };
            let Some((_, names)) = failed.iter().find(|(d, _)| *d == dylib.name()) else { continue };
            for member in group.state().members.iter() {
                // (A lazy module's failed body has a unit of its own: below.)
                let defines = match (&member.module, &member.materializer) {
                    (Some(m), _) => m.symbols().iter().any(|s| names.contains(&s.name.as_str())),
                    (_, Some(h)) => h.symbols().iter().any(|s| names.contains(&s.name.as_str())),
                    _ => false,
                };
                if defines && member.unit_id != 0 {
                    units.push(member.unit_id);
                }
                if let Some(lazy) = &member.lazy {
                    units.extend(names.iter().filter_map(|n| lazy.body_unit(n)).map(|(unit, _)| unit));
                }
            }
        }
        units
    }
}

impl Session {
    /// After a failed materialization ORC keeps the symbols in an error
    /// state; put the members whose own unit failed (and so never finished
    /// linking) back as not yet materialized, so that a retry (after the
    /// host supplies what was missing) can succeed. Members whose unit
    /// linked, here or in another JITDylib, are never touched.
    ///
    /// A reset removes code, so it waits until no lookup is in flight (ORC
    /// loses a query whose unit is removed mid-materialization). On a thread
    /// inside the JIT (a nested lookup from a materializer) it is deferred
    /// to the next lookup.
    pub(super) fn recover(&self, failure: LookupFailure) -> Recovery {
        let LookupFailure { error, failed_units } = failure;
        if failed_units.is_empty() && !self.failed_link_aliases() {
            return Recovery { error, cache_faults: Vec::new() };
        }
        if InJit::here() {
            self.env.queue_resets(failed_units);
            return Recovery { error, cache_faults: Vec::new() };
        }
        let (cache_faults, problem) = self.reset(failed_units);
        let error = match problem {
            Some(why) => Error { code: error.code, message: format!("{} ({why})", error.message) },
            None => error,
        };
        Recovery { error, cache_faults }
    }

    /// Does the resets deferred by [`recover`](Self::recover) and by failed
    /// lazy calls, if any.
    pub(super) fn deferred_resets(&self) {
        let due = |q: &std::sync::Mutex<Vec<u64>>| !q.lock().unwrap_or_else(|p| p.into_inner()).is_empty();
        if InJit::here() || !(due(&self.env.resets) || due(&self.env.body_resets) || self.failed_link_aliases()) {
            return;
        }
        let _ = self.reset(Vec::new());
    }

    /// Whether a link alias (cycles.rs) failed with what it stands for: its
    /// names stay in ORC's error state until a reset removes it.
    fn failed_link_aliases(&self) -> bool {
        self.env.dylibs.read().unwrap_or_else(|p| p.into_inner()).iter().any(|d| d.has_failed_aliases())
    }

    /// Resets the members whose unit is one of `units` or of the deferred
    /// resets, and removes the lazy bodies whose calls failed. Returns the
    /// members whose cached object was at fault, and what could not be
    /// reset.
    fn reset(&self, units: Vec<u64>) -> (Vec<String>, Option<String>) {
        // Lock order: lookups, then changes (as a removal).
        let _no_lookups = self.lookups.write().unwrap_or_else(|p| p.into_inner());
        let _changes = self.lock_changes();
        let mut failed_units = std::mem::take(&mut *self.env.resets.lock().unwrap_or_else(|p| p.into_inner()));
        failed_units.extend(units);
        // Only bodies whose call failed: a call-through does not hold the
        // lookups lock, so a body another call is still materializing (its
        // compile error reported, its responsibility not failed yet) must
        // not be removed; a failed call's body is done.
        let mut failed_bodies = std::mem::take(&mut *self.env.body_resets.lock().unwrap_or_else(|p| p.into_inner()));
        // A body (or globals partition) a lookup of this session saw fail
        // is done failing too (ORC failed it before answering), e.g. a lazy
        // module's constructor run by an initialization: reset it as well.
        failed_bodies.extend(failed_units.iter().copied());
        for d in self.env.dylibs.read().unwrap_or_else(|p| p.into_inner()).iter() {
            d.drop_failed_aliases();
        }
        let mut cache_faults = Vec::new();
        for group in self.env.live_groups() {
            let Some(dylib) = self.env.dylib_by_id(group.dylib) else { continue };
            let mut state = group.state();
            for member in state.members.iter_mut() {
                if let Some(lazy) = &member.lazy {
                    if let Err(why) = self.reset_lazy(&dylib, &group, lazy, &failed_bodies) {
                        return (cache_faults, Some(why));
                    }
                    continue;
                }
                if !failed_units.contains(&member.unit_id) {
                    continue;
                }
                let (pending, symbols, name) = match (&member.module, &member.materializer) {
                    (Some(m), _) => (
                        Pending::Module { module: m.clone(), group: group.clone() },
                        m.symbols().to_vec(),
                        format!("module '{}'", m.name()),
                    ),
                    (_, Some(h)) => {
                        (Pending::Host { materializer: h.clone(), group: group.clone() }, h.symbols(), h.name())
                    }
                    _ => continue,
                };
                // A unit the cache served failed: its cached object is at
                // fault (the validator cannot foresee every link error,
                // such as a relocation out of range), so the reset unit
                // compiles instead.
                let served = self.env.cache_marks().served.contains(&member.unit_id);
                self.env.forget_unit(member.unit_id);
                let _ = member.tracker.remove();
                match self.env.install_with(&dylib, &symbols, pending, served) {
                    Ok((tracker, unit_id)) => {
                        member.tracker = tracker;
                        member.unit_id = unit_id;
                        if served {
                            cache_faults.push(name);
                        }
                    }
                    Err(e) => return (cache_faults, Some(format!("and {name} could not be reset: {}", e.message))),
                }
            }
        }
        (cache_faults, None)
    }

    /// Resets what of a lazily added module failed a call: a failed body
    /// is only removed (the next call defines it anew, see lazy.rs); a
    /// failed globals partition is put back as not yet materialized.
    fn reset_lazy(
        &self,
        dylib: &Dylib,
        group: &Arc<super::tracker::Group>,
        lazy: &Arc<LazyModule>,
        failed: &[u64],
    ) -> Result<(), String> {
        for (body, unit) in lazy.take_bodies(Some(failed)) {
            let _ = body.remove();
            self.env.forget_unit(unit);
        }
        let Some((old, unit)) = lazy.take_globals(failed) else { return Ok(()) };
        self.env.forget_unit(unit);
        let _ = old.remove();
        let pending = Pending::Globals { module: lazy.clone(), group: group.clone() };
        let globals = self.env.install(dylib, lazy.plan.global_symbols(), pending).map_err(|e| {
            format!("and the globals of module '{}' could not be reset: {}", lazy.plan.module_name, e.message)
        })?;
        drop(lazy.set_globals(globals));
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::failed_symbols;

    #[test]
    fn failed_symbols_are_read_per_dylib() {
        let m = "looking up 'f': Failed to materialize symbols: { (race, { f, n }), (main, { g }) }";
        assert_eq!(failed_symbols(m), vec![("race", vec!["f", "n"]), ("main", vec!["g"])]);
        assert!(failed_symbols("Symbols not found: [ x ]").is_empty());
        assert_eq!(failed_symbols("Failed to materialize symbols: { (a, {  }) }"), vec![("a", vec![])]);
        assert!(failed_symbols("Failed to materialize symbols: { (a, { x").is_empty());
    }
}
