//! String interning for resource types, subsystems and relations, so hot
//! loops compare integers rather than strings.
use std::collections::HashMap;

/// An interned string: an index into the graph's [`Interner`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Sym(pub u32);

/// Maps strings to dense [`Sym`]s and back.
#[derive(Debug, Default, Clone)]
pub struct Interner {
    names: Vec<String>,
    /// Seeded, so strings a document chose cannot be picked to collide;
    /// readers intern a type and a basename per vertex, and SipHash cost
    /// more than the rest of a look-up.
    index: HashMap<String, Sym, foldhash::fast::RandomState>,
}

impl Interner {
    /// The symbol for `s`, creating it on first use.
    pub fn intern(&mut self, s: &str) -> Sym {
        if let Some(&sym) = self.index.get(s) {
            return sym;
        }
        let sym = Sym(self.names.len() as u32);
        self.names.push(s.to_owned());
        self.index.insert(s.to_owned(), sym);
        sym
    }

    /// The symbol for `s` if it was ever interned.
    pub fn get(&self, s: &str) -> Option<Sym> {
        self.index.get(s).copied()
    }

    /// Number of symbols.
    pub fn len(&self) -> usize {
        self.names.len()
    }

    /// Whether no symbol was interned.
    pub fn is_empty(&self) -> bool {
        self.names.is_empty()
    }

    /// The string behind a symbol.
    pub fn name(&self, sym: Sym) -> &str {
        &self.names[sym.0 as usize]
    }
}
