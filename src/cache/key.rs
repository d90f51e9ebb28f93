//! The content key of a compiled module: what the disk cache names its
//! entries by, and what `JitcoreModuleGetKey` gives hosts for their own
//! caches.
//!
//! The key is BLAKE3 (LLVM's copy, `llvm-c/blake3.h`) over, in this order,
//! each field prefixed by its length as a little-endian u64:
//!
//! 1. the domain `jitcore.object-cache.key`,
//! 2. jitcore's cache-format version ([`CACHE_FORMAT_VERSION`], u32 LE),
//! 3. jitcore's version (`0.1.0`), because the compile pipeline is jitcore's,
//! 4. the LLVM version the process runs against (`22.1.8`),
//! 5. the target triple, 6. the CPU name, 7. the CPU features,
//! 8. the opt level (u32 LE), 9. the relocation model and 10. the code model
//!    (their LLVM-C enum values, u32 LE),
//! 11. the IR passes that run before codegen, as `opt -passes=` spells them
//!     (`default<O2>` for the default pipeline at O2, empty when none run;
//!     see `compile/pipeline.rs`),
//! 12. the module's content digest (`Module::content_digest`): BLAKE3 over
//!     its name and the bytes it was made from (the host's IR text or
//!     bitcode, or the bitcode an LLVM-C module was copied through),
//!     computed once per module, without serializing its IR.
//!
//! Two modules get the same key exactly when they were made from the same
//! bytes under the same name and are compiled for the same machine at the
//! same opt level, with the same IR passes, by the same LLVM and jitcore
//! (what jitcore compiles is a function of those). The same IR given once
//! as text and once as bitcode gets two keys: two entries, never a wrong
//! object.

use std::cell::RefCell;

use once_cell::sync::Lazy;

#[cfg(test)]
use crate::llvm::blake3::blake3;
use crate::llvm::blake3::Blake3;

use crate::compile::pipeline::IrPipeline;
use crate::llvm::target_machine::TargetSpec;
use crate::module::Module;

/// Bumped whenever the entry format or what goes into the key changes.
pub(crate) const CACHE_FORMAT_VERSION: u32 = 3;

pub(crate) use crate::llvm::blake3::KEY_LEN;

/// A module's content key.
pub type Key = [u8; KEY_LEN];

static LLVM_VERSION: Lazy<String> = Lazy::new(crate::llvm::llvm_version);

/// The content key of `module` compiled for `spec` after `pipeline`.
pub fn module_key(module: &Module, spec: &TargetSpec, pipeline: &IrPipeline) -> Key {
    let passes = pipeline.passes(spec.opt_level).unwrap_or_default();
    let mut hasher = PREFIX.with(|cell| {
        let mut last = cell.borrow_mut();
        match &*last {
            Some(p) if p.spec == *spec && p.passes == passes => p.hasher.clone(),
            _ => {
                let hasher = key_prefix(spec, &passes);
                *last = Some(Prefix { spec: spec.clone(), passes, hasher: hasher.clone() });
                hasher
            }
        }
    });
    hasher.field(&module.content_digest()).finish()
}

/// Fields 1 to 11 of the key, hashed.
fn key_prefix(spec: &TargetSpec, passes: &str) -> Blake3 {
    let mut h = Blake3::new();
    h.field(b"jitcore.object-cache.key")
        .field(&CACHE_FORMAT_VERSION.to_le_bytes())
        .field(env!("CARGO_PKG_VERSION").as_bytes())
        .field(LLVM_VERSION.as_bytes())
        .field(spec.triple.as_bytes())
        .field(spec.cpu.as_bytes())
        .field(spec.features.as_bytes())
        .field(&spec.opt_level.to_le_bytes())
        .field(&spec.reloc.llvm_value().to_le_bytes())
        .field(&spec.code_model.llvm_value().to_le_bytes())
        .field(passes.as_bytes());
    h
}

/// The hashed fields 1 to 11 for the target and passes this thread keyed
/// for last: the same for every module an engine or session keys (the
/// CPU features alone are a kilobyte and more), so each key hashes only
/// the module's content digest after them.
struct Prefix {
    spec: TargetSpec,
    passes: String,
    hasher: Blake3,
}

thread_local! {
    static PREFIX: RefCell<Option<Prefix>> = const { RefCell::new(None) };
}

/// Lowercase hexadecimal (64 characters for a key).
pub fn to_hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut s = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        s.push(DIGITS[(b >> 4) as usize] as char);
        s.push(DIGITS[(b & 15) as usize] as char);
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    const SUM: &str = "define i32 @sum(i32 %a, i32 %b) {\n  %r = add i32 %a, %b\n  ret i32 %r\n}\n";

    #[test]
    fn blake3_matches_the_reference_vectors() {
        assert_eq!(to_hex(&blake3(b"")), "af1349b9f5f9a1a6a0404dea36dcc9499bcb25c9adc112b7cc9a93cae41f3262");
        assert_eq!(to_hex(&blake3(b"abc")), "6437b3ac38465133ffb63b75273a8db548c558465d79db03fd359c6cd5bd9d85");
        // incremental == one shot, over a chunk boundary
        let data: Vec<u8> = (0..5000u32).map(|i| (i % 251) as u8).collect();
        let mut h = Blake3::new();
        for part in data.chunks(333) {
            h.update(part);
        }
        assert_eq!(h.finish(), blake3(&data));
    }

    #[test]
    fn fields_are_length_prefixed() {
        let a = Blake3::new().field(b"ab").field(b"c").finish();
        let b = Blake3::new().field(b"a").field(b"bc").finish();
        assert_ne!(a, b);
    }

    #[test]
    fn key_follows_content_and_target() {
        let spec = TargetSpec::host(2);
        let m1 = Module::from_ir("sum", SUM.as_bytes()).unwrap();
        let m2 = Module::from_ir("sum", SUM.as_bytes()).unwrap();
        let key = |m: &Module, s: &TargetSpec| module_key(m, s, &IrPipeline::Default);
        let k = key(&m1, &spec);
        assert_eq!(k, key(&m2, &spec), "same IR, same name: same key");
        assert_eq!(k, key(&m1, &spec), "stable");
        let other = Module::from_ir("sum", SUM.replace("add", "sub").as_bytes()).unwrap();
        assert_ne!(k, key(&other, &spec));
        assert_ne!(k, key(&m1, &TargetSpec::host(3)));
        let mut s = spec.clone();
        s.features.push_str(",+fake");
        assert_ne!(k, key(&m1, &s));
        let mut s = spec.clone();
        s.cpu = "generic".into();
        assert_ne!(k, key(&m1, &s));
        let mut s = spec.clone();
        s.code_model = crate::llvm::target_machine::CodeModel::Large;
        assert_ne!(k, key(&m1, &s));
        let mut s = spec.clone();
        s.reloc = crate::llvm::target_machine::RelocModel::Static;
        assert_ne!(k, key(&m1, &s));
        assert_eq!(to_hex(&k).len(), 64);
    }

    /// The key as the module comment spells it: every field, prefixed by
    /// its length, in one buffer hashed at once.
    fn recipe(module: &Module, spec: &TargetSpec, pipeline: &IrPipeline) -> Key {
        let passes = pipeline.passes(spec.opt_level).unwrap_or_default();
        let version = crate::llvm::llvm_version();
        let numbers = [spec.opt_level, spec.reloc.llvm_value(), spec.code_model.llvm_value()].map(u32::to_le_bytes);
        let digest = module.content_digest();
        let strings = [spec.triple.as_bytes(), spec.cpu.as_bytes(), spec.features.as_bytes()];
        let format = CACHE_FORMAT_VERSION.to_le_bytes();
        let fields = [b"jitcore.object-cache.key".as_slice(), &format]
            .into_iter()
            .chain([env!("CARGO_PKG_VERSION").as_bytes(), version.as_bytes()])
            .chain(strings)
            .chain(numbers.iter().map(|n| n.as_slice()))
            .chain([passes.as_bytes(), digest.as_slice()]);
        let mut all = Vec::new();
        for f in fields {
            all.extend_from_slice(&(f.len() as u64).to_le_bytes());
            all.extend_from_slice(f);
        }
        blake3(&all)
    }

    #[test]
    fn key_is_the_documented_recipe_whatever_was_keyed_before() {
        let m = Module::from_ir("sum", SUM.as_bytes()).unwrap();
        let other = Module::from_ir("other", SUM.as_bytes()).unwrap();
        let mut features = TargetSpec::host(2);
        features.features.push_str(",+fake");
        let specs = [TargetSpec::host(2), TargetSpec::host(0), features, TargetSpec::host(2)];
        let pipelines = [IrPipeline::Default, IrPipeline::None, IrPipeline::Custom("function(instcombine)".into())];
        // Alternating targets and passes: the kept prefix is never stale.
        for spec in &specs {
            for pipeline in &pipelines {
                for module in [&m, &other, &m] {
                    assert_eq!(module_key(module, spec, pipeline), recipe(module, spec, pipeline));
                }
            }
        }
        // Each thread keeps its own prefix.
        std::thread::scope(|s| {
            for spec in &specs {
                s.spawn(|| {
                    for pipeline in &pipelines {
                        assert_eq!(module_key(&m, spec, pipeline), recipe(&m, spec, pipeline));
                    }
                });
            }
        });
    }

    #[test]
    fn a_cloned_hasher_goes_on_alone() {
        let mut a = Blake3::new();
        a.field(b"prefix");
        let mut b = a.clone();
        assert_eq!(a.field(b"x").finish(), Blake3::new().field(b"prefix").field(b"x").finish());
        assert_eq!(b.field(b"y").finish(), Blake3::new().field(b"prefix").field(b"y").finish());
        // Over a chunk boundary too.
        let long = vec![7u8; 3000];
        let mut c = Blake3::new();
        c.update(&long);
        let mut d = c.clone();
        d.update(b"tail");
        assert_eq!(d.finish(), Blake3::new().update(&long).update(b"tail").finish());
        assert_eq!(c.finish(), blake3(&long));
    }

    #[test]
    fn key_follows_the_passes_that_run() {
        let spec = TargetSpec::host(2);
        let m = Module::from_ir("sum", SUM.as_bytes()).unwrap();
        let default = module_key(&m, &spec, &IrPipeline::Default);
        let none = module_key(&m, &spec, &IrPipeline::None);
        let custom = module_key(&m, &spec, &IrPipeline::Custom("function(instcombine)".into()));
        assert_ne!(default, none);
        assert_ne!(default, custom);
        assert_ne!(none, custom);
        // The same passes, however chosen, compile alike: the same key.
        assert_eq!(default, module_key(&m, &spec, &IrPipeline::Custom("default<O2>".into())));
        // Without IR passes the opt level still sets codegen's level.
        assert_ne!(none, module_key(&m, &TargetSpec::host(0), &IrPipeline::None));
    }
}
