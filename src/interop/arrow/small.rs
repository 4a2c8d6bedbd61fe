//! A short list kept inline (no allocation) up to `N` items, on the heap beyond: the axes of a
//! tensor and the levels of nested lists, which are few in practice but not bounded by `N`.

/// Up to `N` items inline, more on the heap.
#[derive(Clone)]
pub enum Small<T, const N: usize> {
    Inline(usize, [T; N]),
    Heap(Vec<T>),
}

impl<T: Default + Clone, const N: usize> Small<T, N> {
    pub fn new() -> Small<T, N> {
        Small::Inline(0, std::array::from_fn(|_| T::default()))
    }

    pub fn from_slice(items: &[T]) -> Small<T, N> {
        if items.len() <= N {
            let mut a: [T; N] = std::array::from_fn(|_| T::default());
            a[..items.len()].clone_from_slice(items);
            Small::Inline(items.len(), a)
        } else {
            Small::Heap(items.to_vec())
        }
    }

    pub fn push(&mut self, item: T) {
        match self {
            Small::Inline(n, a) if *n < N => {
                a[*n] = item;
                *n += 1;
            }
            Small::Inline(n, a) => {
                let mut v: Vec<T> = a[..*n].to_vec();
                v.push(item);
                *self = Small::Heap(v);
            }
            Small::Heap(v) => v.push(item),
        }
    }
}

impl<T: Default + Clone, const N: usize> Default for Small<T, N> {
    fn default() -> Small<T, N> {
        Small::new()
    }
}

impl<T, const N: usize> std::ops::Deref for Small<T, N> {
    type Target = [T];
    fn deref(&self) -> &[T] {
        match self {
            Small::Inline(n, a) => &a[..*n],
            Small::Heap(v) => v,
        }
    }
}

impl<T, const N: usize> std::ops::DerefMut for Small<T, N> {
    fn deref_mut(&mut self) -> &mut [T] {
        match self {
            Small::Inline(n, a) => &mut a[..*n],
            Small::Heap(v) => v,
        }
    }
}

impl<T: PartialEq, const N: usize> PartialEq for Small<T, N> {
    fn eq(&self, other: &Small<T, N>) -> bool {
        **self == **other
    }
}

impl<T: Eq, const N: usize> Eq for Small<T, N> {}

impl<T: std::fmt::Debug, const N: usize> std::fmt::Debug for Small<T, N> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let items: &[T] = match self {
            Small::Inline(n, a) => &a[..*n],
            Small::Heap(v) => v,
        };
        items.fmt(f)
    }
}

#[cfg(test)]
mod tests {
    use super::Small;

    #[test]
    fn inline_then_heap() {
        let mut s: Small<usize, 3> = Small::new();
        let mut want = Vec::new();
        for i in 0..7 {
            assert_eq!(&s[..], &want[..]);
            assert_eq!(matches!(s, Small::Inline(..)), i <= 3);
            s.push(i * 10);
            want.push(i * 10);
        }
        assert_eq!(&s[..], &want[..]);
        s[0] = 5;
        assert_eq!(s[0], 5);
        for n in 0..6 {
            let items: Vec<usize> = (0..n).collect();
            let f: Small<usize, 3> = Small::from_slice(&items);
            assert_eq!(&f[..], &items[..]);
            assert_eq!(matches!(f, Small::Inline(..)), n <= 3);
        }
    }
}
