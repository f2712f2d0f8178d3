//! The hasher of the core's hash maps, whose keys are its own link ids and configured master
//! names: nothing an outsider picks, so the flooding resistance of the default SipHash buys
//! nothing, and SipHash cost ~3 % of every input (hashing a link id or a master name per
//! lookup). `rustc-hash` is the hasher rustc uses for its own tables. Iteration order differs
//! from SipHash's, which was random per process anyway: nothing depends on it.

/// `HashMap<K, V, FastHash>`.
pub type FastHash = rustc_hash::FxBuildHasher;
