//! libstdc++'s `std::sort`, element movement for element movement.
//!
//! Fluxion sorts candidates by score and hosts by rank with `std::sort`,
//! which is not stable: which of two equal elements comes first is where
//! its introsort leaves them, and Fluxion's output (which of two equally
//! good cores is taken, the order of R's hosts) depends on that. So the
//! algorithm is reproduced here rather than replaced by a stable sort.

/// Elements a `std::sort` partition range must exceed to be split again.
const CXX_SORT_THRESHOLD: usize = 16;

/// Sort as libstdc++'s `std::sort` does (introsort, heapsort past the
/// depth limit, then insertion sort), so elements that compare equal end
/// where they end in Fluxion.
pub(crate) fn cxx_sort<T: Copy>(v: &mut [T], less: &impl Fn(&T, &T) -> bool) {
    if v.is_empty() {
        return;
    }
    let depth = 2 * v.len().ilog2() as usize;
    introsort_loop(v, depth, less);
    if v.len() > CXX_SORT_THRESHOLD {
        let (head, _) = v.split_at_mut(CXX_SORT_THRESHOLD);
        insertion_sort(head, less);
        for i in CXX_SORT_THRESHOLD..v.len() {
            linear_insert(v, i, less);
        }
    } else {
        insertion_sort(v, less);
    }
}

fn introsort_loop<T: Copy>(mut v: &mut [T], mut depth: usize, less: &impl Fn(&T, &T) -> bool) {
    while v.len() > CXX_SORT_THRESHOLD {
        if depth == 0 {
            heap_sort(v, less);
            return;
        }
        depth -= 1;
        let cut = partition_pivot(v, less);
        let (lo, hi) = std::mem::take(&mut v).split_at_mut(cut);
        introsort_loop(hi, depth, less);
        v = lo;
    }
}

/// Median of the second, middle and last elements to the front, then a
/// Hoare partition around it; returns the cut.
fn partition_pivot<T: Copy>(v: &mut [T], less: &impl Fn(&T, &T) -> bool) -> usize {
    let (a, b, c) = (1, v.len() / 2, v.len() - 1);
    let median = if less(&v[a], &v[b]) {
        if less(&v[b], &v[c]) {
            b
        } else if less(&v[a], &v[c]) {
            c
        } else {
            a
        }
    } else if less(&v[a], &v[c]) {
        a
    } else if less(&v[b], &v[c]) {
        c
    } else {
        b
    };
    v.swap(0, median);
    let (mut first, mut last) = (1, v.len());
    loop {
        while less(&v[first], &v[0]) {
            first += 1;
        }
        last -= 1;
        while less(&v[0], &v[last]) {
            last -= 1;
        }
        if first >= last {
            return first;
        }
        v.swap(first, last);
        first += 1;
    }
}

fn heap_sort<T: Copy>(v: &mut [T], less: &impl Fn(&T, &T) -> bool) {
    let len = v.len();
    if len >= 2 {
        let mut parent = (len - 2) / 2;
        loop {
            let value = v[parent];
            adjust_heap(v, parent, len, value, less);
            if parent == 0 {
                break;
            }
            parent -= 1;
        }
    }
    let mut last = len;
    while last > 1 {
        last -= 1;
        let value = v[last];
        v[last] = v[0];
        adjust_heap(v, 0, last, value, less);
    }
}

/// Sift the hole at `hole` down to a leaf of the heap `v[..len]`, then
/// `value` up from there.
fn adjust_heap<T: Copy>(
    v: &mut [T],
    mut hole: usize,
    len: usize,
    value: T,
    less: &impl Fn(&T, &T) -> bool,
) {
    let top = hole;
    let mut child = hole;
    while child < (len - 1) / 2 {
        child = 2 * (child + 1);
        if less(&v[child], &v[child - 1]) {
            child -= 1;
        }
        v[hole] = v[child];
        hole = child;
    }
    if len & 1 == 0 && child == (len - 2) / 2 {
        child = 2 * (child + 1);
        v[hole] = v[child - 1];
        hole = child - 1;
    }
    while hole > top {
        let parent = (hole - 1) / 2;
        if !less(&v[parent], &value) {
            break;
        }
        v[hole] = v[parent];
        hole = parent;
    }
    v[hole] = value;
}

fn insertion_sort<T: Copy>(v: &mut [T], less: &impl Fn(&T, &T) -> bool) {
    for i in 1..v.len() {
        if less(&v[i], &v[0]) {
            let value = v[i];
            v.copy_within(0..i, 1);
            v[0] = value;
        } else {
            linear_insert(v, i, less);
        }
    }
}

/// Move `v[at]` down past the elements greater than it.
fn linear_insert<T: Copy>(v: &mut [T], mut at: usize, less: &impl Fn(&T, &T) -> bool) {
    let value = v[at];
    while at > 0 && less(&value, &v[at - 1]) {
        v[at] = v[at - 1];
        at -= 1;
    }
    v[at] = value;
}
