//! Who hears whom: the media graph with VoxEngine semantics.
//!
//! Every unit (call, player, recorder, conference port) has at most one audio
//! input, and connecting a new input replaces the old one. `connect(a, b)`
//! means "b hears a" (`a.sendMediaTo(b)`); a unit may hear itself (echo).
//! `disconnect(a, b)` only removes b's input if it is still a. Removing a unit
//! drops its own input and every edge that starts at it. The graph knows
//! nothing of whether the units exist yet: edges may be made before the
//! endpoints they join are allocated and take effect when they appear.

use std::collections::HashMap;

use crate::UnitId;

#[derive(Debug, Default, Clone)]
pub struct MediaGraph {
    /// to -> from
    input: HashMap<UnitId, UnitId>,
    /// from -> every to whose input it is
    outputs: HashMap<UnitId, Vec<UnitId>>,
}

impl MediaGraph {
    pub fn new() -> MediaGraph {
        MediaGraph::default()
    }

    /// `to` now hears `from`. Returns the input it replaced, if any.
    pub fn connect(&mut self, from: UnitId, to: UnitId) -> Option<UnitId> {
        let old = self.input.insert(to, from);
        if let Some(old) = old {
            self.unlink(old, to);
        }
        self.outputs.entry(from).or_default().push(to);
        old
    }

    /// Removes `to`'s input if (and only if) it is `from`.
    pub fn disconnect(&mut self, from: UnitId, to: UnitId) -> bool {
        if self.input.get(&to) != Some(&from) {
            return false;
        }
        self.input.remove(&to);
        self.unlink(from, to);
        true
    }

    /// Drops `unit`'s input and every edge from it; returns the units that
    /// lost `unit` as their input.
    pub fn remove(&mut self, unit: UnitId) -> Vec<UnitId> {
        if let Some(from) = self.input.remove(&unit) {
            self.unlink(from, unit);
        }
        let orphans = self.outputs.remove(&unit).unwrap_or_default();
        for to in &orphans {
            // A self-edge was already taken out with the input above.
            self.input.remove(to);
        }
        orphans
    }

    pub fn input_of(&self, unit: UnitId) -> Option<UnitId> {
        self.input.get(&unit).copied()
    }

    /// Units whose input is `unit`.
    pub fn outputs_of(&self, unit: UnitId) -> &[UnitId] {
        self.outputs.get(&unit).map_or(&[], Vec::as_slice)
    }

    pub fn edge_count(&self) -> usize {
        self.input.len()
    }

    fn unlink(&mut self, from: UnitId, to: UnitId) {
        if let Some(list) = self.outputs.get_mut(&from) {
            list.retain(|t| *t != to);
            if list.is_empty() {
                self.outputs.remove(&from);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const A: UnitId = UnitId(1);
    const B: UnitId = UnitId(2);
    const C: UnitId = UnitId(3);

    fn consistent(g: &MediaGraph) {
        let mut n = 0;
        for (from, tos) in &g.outputs {
            assert!(!tos.is_empty());
            for to in tos {
                assert_eq!(g.input.get(to), Some(from));
                n += 1;
            }
        }
        assert_eq!(n, g.input.len());
    }

    #[test]
    fn new_input_replaces_the_old_one() {
        let mut g = MediaGraph::new();
        assert_eq!(g.connect(A, C), None);
        assert_eq!(g.connect(B, C), Some(A));
        assert_eq!(g.input_of(C), Some(B));
        assert!(g.outputs_of(A).is_empty());
        assert_eq!(g.outputs_of(B), &[C]);
        consistent(&g);
    }

    #[test]
    fn one_source_feeds_many() {
        let mut g = MediaGraph::new();
        g.connect(A, B);
        g.connect(A, C);
        assert_eq!(g.outputs_of(A), &[B, C]);
        assert_eq!(g.edge_count(), 2);
        consistent(&g);
    }

    #[test]
    fn disconnect_only_removes_the_named_input() {
        let mut g = MediaGraph::new();
        g.connect(A, C);
        g.connect(B, C);
        assert!(!g.disconnect(A, C), "A is no longer C's input");
        assert_eq!(g.input_of(C), Some(B));
        assert!(g.disconnect(B, C));
        assert_eq!(g.input_of(C), None);
        assert!(!g.disconnect(B, C));
        consistent(&g);
    }

    #[test]
    fn bridge_both_ways_and_remove() {
        let mut g = MediaGraph::new();
        g.connect(A, B);
        g.connect(B, A);
        g.connect(A, C);
        let mut orphans = g.remove(A);
        orphans.sort();
        assert_eq!(orphans, vec![B, C]);
        assert_eq!(g.input_of(A), None);
        assert_eq!(g.input_of(B), None);
        assert_eq!(g.input_of(C), None);
        assert_eq!(g.edge_count(), 0);
        consistent(&g);
    }

    #[test]
    fn a_unit_may_be_its_own_input() {
        let mut g = MediaGraph::new();
        g.connect(A, A);
        assert_eq!(g.input_of(A), Some(A));
        assert_eq!(g.outputs_of(A), &[A]);
        g.connect(A, B);
        assert_eq!(g.remove(A), vec![B]);
        assert_eq!(g.edge_count(), 0);
        consistent(&g);
        g.connect(B, B);
        assert!(g.disconnect(B, B));
        assert_eq!(g.edge_count(), 0);
        consistent(&g);
    }

    #[test]
    fn reconnecting_the_same_edge_is_idempotent() {
        let mut g = MediaGraph::new();
        g.connect(A, B);
        assert_eq!(g.connect(A, B), Some(A));
        assert_eq!(g.outputs_of(A), &[B]);
        consistent(&g);
    }

    #[test]
    fn removing_an_unknown_unit_is_harmless() {
        let mut g = MediaGraph::new();
        g.connect(A, B);
        assert!(g.remove(C).is_empty());
        assert_eq!(g.input_of(B), Some(A));
    }
}
