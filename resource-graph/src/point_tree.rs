//! The change points of a busy planner, kept so that every query and
//! update costs O(log n) in the number of points once there are many.
//!
//! Up to [`FLAT_MAX`] points live in a sorted vector: a window's points
//! are contiguous, and scanning a few dozen of them beats walking any
//! tree. Past that they move to the tree below.
//!
//! A treap keyed by time. Each point holds the usage over `[point, next
//! point)` and how many spans start or end there. Subtrees carry the
//! maximum usage below them and a pending addition, so "add `a` over
//! `[s, e)`" and "the highest usage over `[s, e)`" touch O(log n) nodes
//! however many points lie in the window. A planner whose jobs end at
//! thousands of distinct times (the usual case under a wall clock) pays
//! the same per booking as one whose jobs all end together.

const NIL: u32 = u32::MAX;

/// Most points kept in a sorted vector before they move to a treap.
pub(crate) const FLAT_MAX: usize = 128;

/// One change point in the flat form.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Flat {
    key: i64,
    /// Usage over `[key, next key)`.
    val: i64,
    /// Spans starting or ending at `key`.
    count: u32,
}

/// Change points, their usage and span counts: a sorted vector while
/// few, a treap beyond [`FLAT_MAX`].
#[derive(Debug, Clone)]
pub(crate) enum ChangePoints {
    Flat(Vec<Flat>),
    Tree(PointTree),
}

impl Default for ChangePoints {
    fn default() -> Self {
        ChangePoints::Flat(Vec::new())
    }
}

impl ChangePoints {
    /// Usage at instant `t`: that of the last point at or before it, 0
    /// before the first.
    pub fn usage_at(&self, t: i64) -> i64 {
        match self {
            ChangePoints::Flat(v) => {
                let i = v.partition_point(|p| p.key <= t);
                if i == 0 {
                    0
                } else {
                    v[i - 1].val
                }
            }
            ChangePoints::Tree(tree) => tree.usage_at(t),
        }
    }

    /// Highest usage over `[at, end)`.
    pub fn peak(&self, at: i64, end: i64) -> i64 {
        match self {
            ChangePoints::Flat(v) => {
                // Points after `at`; the one before them holds the usage at `at`.
                let lo = v.partition_point(|p| p.key <= at);
                let first = if lo == 0 { 0 } else { v[lo - 1].val };
                if at >= end {
                    return first;
                }
                let hi = v.partition_point(|p| p.key < end);
                v[lo..hi.max(lo)]
                    .iter()
                    .map(|p| p.val)
                    .fold(first, i64::max)
            }
            ChangePoints::Tree(tree) => tree.peak(at, end),
        }
    }

    /// Make `t` a point (holding the usage there) if it is not one.
    pub fn ensure_point(&mut self, t: i64) {
        let v = match self {
            ChangePoints::Tree(tree) => return tree.ensure_point(t),
            ChangePoints::Flat(v) => v,
        };
        let Err(i) = v.binary_search_by_key(&t, |p| p.key) else {
            return;
        };
        let val = if i == 0 { 0 } else { v[i - 1].val };
        v.insert(
            i,
            Flat {
                key: t,
                val,
                count: 0,
            },
        );
        if v.len() > FLAT_MAX {
            let mut tree = PointTree::default();
            for p in v.iter() {
                tree.push_last(p.key, p.val, p.count);
            }
            *self = ChangePoints::Tree(tree);
        }
    }

    /// Add `a` to the usage of every point in `[lo, hi)`.
    pub fn add_range(&mut self, lo: i64, hi: i64, a: i64) {
        match self {
            ChangePoints::Flat(v) => {
                let from = v.partition_point(|p| p.key < lo);
                for p in v[from..].iter_mut().take_while(|p| p.key < hi) {
                    p.val += a;
                }
            }
            ChangePoints::Tree(tree) => tree.add_range(lo, hi, a),
        }
    }

    /// Change the span count of point `t` by `delta`; the new count, or
    /// None when `t` is not a point.
    pub fn add_count(&mut self, t: i64, delta: i32) -> Option<u32> {
        match self {
            ChangePoints::Flat(v) => {
                let i = v.binary_search_by_key(&t, |p| p.key).ok()?;
                let p = &mut v[i];
                p.count = p.count.saturating_add_signed(delta);
                Some(p.count)
            }
            ChangePoints::Tree(tree) => tree.add_count(t, delta),
        }
    }

    /// Spans starting or ending at `t`.
    pub fn count(&self, t: i64) -> u32 {
        match self {
            ChangePoints::Flat(v) => v
                .binary_search_by_key(&t, |p| p.key)
                .map_or(0, |i| v[i].count),
            ChangePoints::Tree(tree) => tree.count(t),
        }
    }

    /// Drop point `t` if it is one.
    pub fn remove_point(&mut self, t: i64) {
        match self {
            ChangePoints::Flat(v) => {
                if let Ok(i) = v.binary_search_by_key(&t, |p| p.key) {
                    v.remove(i);
                }
            }
            ChangePoints::Tree(tree) => tree.remove_point(t),
        }
    }

    /// Append the points at or after `t`, ascending.
    pub fn keys_from(&self, t: i64, out: &mut Vec<i64>) {
        match self {
            ChangePoints::Flat(v) => {
                let from = v.partition_point(|p| p.key < t);
                out.extend(v[from..].iter().map(|p| p.key));
            }
            ChangePoints::Tree(tree) => tree.keys_from(t, out),
        }
    }

    /// Whether the points are in the treap.
    #[cfg(test)]
    fn is_tree(&self) -> bool {
        matches!(self, ChangePoints::Tree(_))
    }
}

#[derive(Debug, Clone)]
struct Node {
    key: i64,
    /// Usage over `[key, next key)`, pending additions of strict
    /// ancestors not included.
    val: i64,
    /// Highest `val` in the subtree, on the same footing as `val`.
    max: i64,
    /// Addition not yet passed on to the children.
    lazy: i64,
    /// Spans starting or ending at `key`.
    count: u32,
    prio: u32,
    left: u32,
    right: u32,
}

/// Change points, their usage and span counts, in a treap (see the
/// module doc).
#[derive(Debug, Clone)]
pub(crate) struct PointTree {
    nodes: Vec<Node>,
    free: Vec<u32>,
    root: u32,
    seed: u64,
}

impl Default for PointTree {
    fn default() -> Self {
        PointTree {
            nodes: Vec::new(),
            free: Vec::new(),
            root: NIL,
            seed: 0x9e37_79b9_7f4a_7c15,
        }
    }
}

impl PointTree {
    fn n(&self, i: u32) -> &Node {
        &self.nodes[i as usize]
    }

    fn n_mut(&mut self, i: u32) -> &mut Node {
        &mut self.nodes[i as usize]
    }

    fn max_of(&self, i: u32) -> i64 {
        if i == NIL {
            i64::MIN
        } else {
            self.n(i).max
        }
    }

    fn apply(&mut self, i: u32, a: i64) {
        if i != NIL {
            let n = self.n_mut(i);
            n.val += a;
            n.max += a;
            n.lazy += a;
        }
    }

    fn push(&mut self, i: u32) {
        let (lazy, l, r) = {
            let n = self.n(i);
            (n.lazy, n.left, n.right)
        };
        if lazy != 0 {
            self.apply(l, lazy);
            self.apply(r, lazy);
            self.n_mut(i).lazy = 0;
        }
    }

    fn pull(&mut self, i: u32) {
        let (l, r) = (self.n(i).left, self.n(i).right);
        let m = self.n(i).val.max(self.max_of(l)).max(self.max_of(r));
        self.n_mut(i).max = m;
    }

    /// Split `i` into keys below `k` (at or below it when `inclusive`)
    /// and the rest.
    fn split(&mut self, i: u32, k: i64, inclusive: bool) -> (u32, u32) {
        if i == NIL {
            return (NIL, NIL);
        }
        self.push(i);
        let key = self.n(i).key;
        if key < k || (inclusive && key == k) {
            let (a, b) = self.split(self.n(i).right, k, inclusive);
            self.n_mut(i).right = a;
            self.pull(i);
            (i, b)
        } else {
            let (a, b) = self.split(self.n(i).left, k, inclusive);
            self.n_mut(i).left = b;
            self.pull(i);
            (a, i)
        }
    }

    /// Join `a` and `b`, every key of `a` below every key of `b`.
    fn merge(&mut self, a: u32, b: u32) -> u32 {
        if a == NIL {
            return b;
        }
        if b == NIL {
            return a;
        }
        if self.n(a).prio >= self.n(b).prio {
            self.push(a);
            let r = self.merge(self.n(a).right, b);
            self.n_mut(a).right = r;
            self.pull(a);
            a
        } else {
            self.push(b);
            let l = self.merge(a, self.n(b).left);
            self.n_mut(b).left = l;
            self.pull(b);
            b
        }
    }

    fn find(&self, t: i64) -> Option<u32> {
        let mut i = self.root;
        while i != NIL {
            let n = self.n(i);
            if t == n.key {
                return Some(i);
            }
            i = if t < n.key { n.left } else { n.right };
        }
        None
    }

    /// Usage at instant `t`: that of the last point at or before it, 0
    /// before the first.
    pub fn usage_at(&self, t: i64) -> i64 {
        let (mut i, mut acc, mut best) = (self.root, 0, 0);
        while i != NIL {
            let n = self.n(i);
            if n.key <= t {
                best = n.val + acc;
                acc += n.lazy;
                i = n.right;
            } else {
                acc += n.lazy;
                i = n.left;
            }
        }
        best
    }

    /// Highest usage of the points in `[lo, hi)`, if any.
    fn max_in(&self, lo: i64, hi: i64) -> Option<i64> {
        let (mut i, mut acc) = (self.root, 0);
        // Down to the first point inside the range: the paths to its two
        // ends part there.
        while i != NIL {
            let n = self.n(i);
            if n.key < lo {
                acc += n.lazy;
                i = n.right;
            } else if n.key >= hi {
                acc += n.lazy;
                i = n.left;
            } else {
                break;
            }
        }
        if i == NIL {
            return None;
        }
        let top = self.n(i);
        let mut best = top.val + acc;
        // Its left subtree: whatever lies at or after `lo`.
        let (mut m, mut a) = (top.left, acc + top.lazy);
        while m != NIL {
            let n = self.n(m);
            if n.key >= lo {
                best = best.max(n.val + a);
                if n.right != NIL {
                    best = best.max(self.n(n.right).max + a + n.lazy);
                }
                a += n.lazy;
                m = n.left;
            } else {
                a += n.lazy;
                m = n.right;
            }
        }
        // Its right subtree: whatever lies before `hi`.
        let (mut m, mut a) = (top.right, acc + top.lazy);
        while m != NIL {
            let n = self.n(m);
            if n.key < hi {
                best = best.max(n.val + a);
                if n.left != NIL {
                    best = best.max(self.n(n.left).max + a + n.lazy);
                }
                a += n.lazy;
                m = n.right;
            } else {
                a += n.lazy;
                m = n.left;
            }
        }
        Some(best)
    }

    /// Highest usage over `[at, end)`.
    pub fn peak(&self, at: i64, end: i64) -> i64 {
        let first = self.usage_at(at);
        if at >= end {
            return first;
        }
        self.max_in(at.saturating_add(1), end)
            .map_or(first, |m| m.max(first))
    }

    /// Make `t` a point (holding the usage there) if it is not one.
    pub fn ensure_point(&mut self, t: i64) {
        if self.find(t).is_some() {
            return;
        }
        let val = self.usage_at(t);
        let i = self.new_node(t, val, 0);
        let (a, b) = self.split(self.root, t, false);
        let left = self.merge(a, i);
        self.root = self.merge(left, b);
    }

    /// Append point `t` after every point held.
    fn push_last(&mut self, t: i64, val: i64, count: u32) {
        let i = self.new_node(t, val, count);
        self.root = self.merge(self.root, i);
    }

    fn new_node(&mut self, key: i64, val: i64, count: u32) -> u32 {
        // xorshift: priorities independent of the keys keep the treap
        // balanced in expectation whatever order points come in.
        self.seed ^= self.seed << 13;
        self.seed ^= self.seed >> 7;
        self.seed ^= self.seed << 17;
        let node = Node {
            key,
            val,
            max: val,
            lazy: 0,
            count,
            prio: (self.seed >> 32) as u32,
            left: NIL,
            right: NIL,
        };
        match self.free.pop() {
            Some(i) => {
                self.nodes[i as usize] = node;
                i
            }
            None => {
                self.nodes.push(node);
                (self.nodes.len() - 1) as u32
            }
        }
    }

    /// Add `a` to the usage of every point in `[lo, hi)`.
    pub fn add_range(&mut self, lo: i64, hi: i64, a: i64) {
        if lo < hi && a != 0 {
            self.add_range_below(self.root, lo, hi, a, i64::MIN, i64::MAX);
        }
    }

    /// `add_range` within subtree `i`, whose keys lie in `[min, max]`:
    /// subtrees wholly inside the range take the addition lazily, so only
    /// the two paths to the range's ends are walked, and nothing moves.
    fn add_range_below(&mut self, i: u32, lo: i64, hi: i64, a: i64, min: i64, max: i64) {
        if i == NIL || max < lo || min >= hi {
            return;
        }
        if lo <= min && max < hi {
            self.apply(i, a);
            return;
        }
        self.push(i);
        let (key, l, r) = {
            let n = self.n(i);
            (n.key, n.left, n.right)
        };
        if lo <= key && key < hi {
            self.n_mut(i).val += a;
        }
        if key > min {
            self.add_range_below(l, lo, hi, a, min, key - 1);
        }
        if key < max {
            self.add_range_below(r, lo, hi, a, key + 1, max);
        }
        self.pull(i);
    }

    /// Change the span count of point `t` by `delta`; the new count, or
    /// None when `t` is not a point.
    pub fn add_count(&mut self, t: i64, delta: i32) -> Option<u32> {
        let i = self.find(t)?;
        let n = self.n_mut(i);
        n.count = n.count.saturating_add_signed(delta);
        Some(n.count)
    }

    /// Spans starting or ending at `t`.
    pub fn count(&self, t: i64) -> u32 {
        self.find(t).map_or(0, |i| self.n(i).count)
    }

    /// Drop point `t` if it is one.
    pub fn remove_point(&mut self, t: i64) {
        let (left, rest) = self.split(self.root, t, false);
        let (mid, right) = self.split(rest, t, true);
        if mid != NIL {
            self.free.push(mid);
        }
        self.root = self.merge(left, right);
    }

    /// Whether the tree holds no point.
    #[cfg(test)]
    pub fn is_empty(&self) -> bool {
        self.root == NIL
    }

    /// Append the points at or after `t`, ascending.
    pub fn keys_from(&self, t: i64, out: &mut Vec<i64>) {
        let mut stack = Vec::new();
        let mut i = self.root;
        loop {
            while i != NIL {
                let n = self.n(i);
                if n.key >= t {
                    stack.push(i);
                    i = n.left;
                } else {
                    i = n.right;
                }
            }
            let Some(j) = stack.pop() else { break };
            out.push(self.n(j).key);
            i = self.n(j).right;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeMap;

    /// What the random test drives: both forms answer the same questions.
    trait Points {
        fn ensure_point(&mut self, t: i64);
        fn add_range(&mut self, lo: i64, hi: i64, a: i64);
        fn remove_point(&mut self, t: i64);
        fn usage_at(&self, t: i64) -> i64;
        fn peak(&self, at: i64, end: i64) -> i64;
        fn keys_from(&self, t: i64, out: &mut Vec<i64>);
    }

    macro_rules! points_impl {
        ($t:ty) => {
            impl Points for $t {
                fn ensure_point(&mut self, t: i64) {
                    <$t>::ensure_point(self, t)
                }
                fn add_range(&mut self, lo: i64, hi: i64, a: i64) {
                    <$t>::add_range(self, lo, hi, a)
                }
                fn remove_point(&mut self, t: i64) {
                    <$t>::remove_point(self, t)
                }
                fn usage_at(&self, t: i64) -> i64 {
                    <$t>::usage_at(self, t)
                }
                fn peak(&self, at: i64, end: i64) -> i64 {
                    <$t>::peak(self, at, end)
                }
                fn keys_from(&self, t: i64, out: &mut Vec<i64>) {
                    <$t>::keys_from(self, t, out)
                }
            }
        };
    }
    points_impl!(PointTree);
    points_impl!(ChangePoints);

    /// Random points, range additions and removals; after each step every
    /// query must agree with a plain ordered map. `check` sees each step.
    fn agrees_with_an_ordered_map<P: Points>(pts: &mut P, mut check: impl FnMut(usize, &P)) {
        let mut map: BTreeMap<i64, i64> = BTreeMap::new();
        let mut seed = 7u64;
        let mut next = |m: u64| {
            seed = seed
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            (seed >> 33) % m
        };
        let usage =
            |map: &BTreeMap<i64, i64>, t: i64| map.range(..=t).next_back().map_or(0, |(_, &v)| v);
        for step in 0..4000 {
            match next(4) {
                0 | 1 => {
                    let t = next(300) as i64;
                    pts.ensure_point(t);
                    let v = usage(&map, t);
                    map.entry(t).or_insert(v);
                }
                2 => {
                    let lo = next(300) as i64;
                    let hi = lo + next(80) as i64;
                    let a = next(9) as i64 - 4;
                    pts.add_range(lo, hi, a);
                    for (_, v) in map.range_mut(lo..hi) {
                        *v += a;
                    }
                }
                _ => {
                    if let Some(&t) = map.keys().nth(next(map.len().max(1) as u64) as usize) {
                        pts.remove_point(t);
                        map.remove(&t);
                    }
                }
            }
            for t in (0..320).step_by(13) {
                assert_eq!(pts.usage_at(t), usage(&map, t), "step {step} t {t}");
                for d in [1i64, 7, 40, 400] {
                    let want = map
                        .range(t + 1..t + d)
                        .map(|(_, &v)| v)
                        .fold(usage(&map, t), i64::max);
                    assert_eq!(pts.peak(t, t + d), want, "step {step} [{t}, {})", t + d);
                }
            }
            let mut keys = Vec::new();
            pts.keys_from(100, &mut keys);
            assert_eq!(keys, map.range(100..).map(|(&k, _)| k).collect::<Vec<_>>());
            check(step, pts);
        }
        for t in map.keys().copied().collect::<Vec<_>>() {
            pts.remove_point(t);
        }
        let mut keys = Vec::new();
        pts.keys_from(i64::MIN, &mut keys);
        assert!(keys.is_empty());
    }

    #[test]
    fn treap_agrees_with_an_ordered_map() {
        let mut tree = PointTree::default();
        agrees_with_an_ordered_map(&mut tree, |_, _| {});
        assert!(tree.is_empty());
    }

    /// The flat form answers alike, and moves to the treap once past
    /// `FLAT_MAX` points with the same answers.
    #[test]
    fn flat_then_treap_agree_with_an_ordered_map() {
        let mut pts = ChangePoints::default();
        let mut was_flat = false;
        agrees_with_an_ordered_map(&mut pts, |step, p| {
            if step < 50 {
                was_flat |= !p.is_tree();
            }
        });
        assert!(was_flat, "the test saw the flat form");
        assert!(pts.is_tree(), "and the treap");
    }

    #[test]
    fn counts_and_extreme_keys() {
        let mut flat = ChangePoints::default();
        flat.ensure_point(i64::MAX);
        flat.ensure_point(i64::MIN);
        flat.add_range(i64::MIN, i64::MAX, 3);
        assert_eq!((flat.usage_at(0), flat.usage_at(i64::MAX)), (3, 0));
        assert_eq!(flat.add_count(i64::MAX, 1), Some(1));
        assert_eq!(flat.count(i64::MAX), 1);
        assert_eq!(flat.peak(0, i64::MAX), 3);
        let mut tree = PointTree::default();
        tree.ensure_point(i64::MAX);
        tree.ensure_point(i64::MIN);
        tree.add_range(i64::MIN, i64::MAX, 3);
        assert_eq!(tree.usage_at(0), 3);
        assert_eq!(
            tree.usage_at(i64::MAX),
            0,
            "the last point is not in the range"
        );
        assert_eq!(tree.add_count(i64::MAX, 1), Some(1));
        assert_eq!(tree.add_count(5, 1), None, "not a point");
        assert_eq!(tree.count(i64::MAX), 1);
        tree.remove_point(i64::MAX);
        assert_eq!(tree.count(i64::MAX), 0);
        assert_eq!(tree.peak(0, i64::MAX), 3);
    }
}
