//! The one error type of jitcore, with stable numeric codes.
//!
//! Every fallible operation in the crate returns [`Result<T>`]. The FFI layer
//! boxes an [`Error`] into a `JitcoreErrorRef`; the code is what
//! `JitcoreGetErrorCode` returns and the message is what
//! `JitcoreGetErrorMessage` returns.

use std::fmt;

/// Stable error codes. Numbers are part of the ABI: never reuse or renumber.
/// Retired numbers stay listed here as comments.
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum JitcoreErrorCode {
    /// Not an error: what `JitcoreGetErrorCode(NULL)` returns.
    JITCORE_ERROR_SUCCESS = 0,
    /// A NULL or otherwise unusable argument (a bad handle, an out-of-range enum value).
    JITCORE_ERROR_INVALID_ARGUMENT = 1,
    /// IR text or bitcode that does not parse or does not verify.
    JITCORE_ERROR_INVALID_IR = 2,
    /// Bytes that are not a relocatable object file for the host.
    JITCORE_ERROR_INVALID_OBJECT = 3,
    /// A looked-up symbol that nothing defines.
    JITCORE_ERROR_SYMBOL_NOT_FOUND = 4,
    /// Two definitions of the same strong symbol in one JITDylib.
    JITCORE_ERROR_DUPLICATE_DEFINITION = 5,
    /// A module that is already added to an engine.
    JITCORE_ERROR_MODULE_ALREADY_ADDED = 6,
    /// A module that is not added to this engine.
    JITCORE_ERROR_MODULE_NOT_FOUND = 7,
    /// Code that references an external symbol nobody provides.
    JITCORE_ERROR_UNRESOLVED_SYMBOL = 8,
    /// Optimization or code generation failed.
    JITCORE_ERROR_COMPILE = 9,
    /// Linking jitted code failed for a reason other than an unresolved symbol.
    JITCORE_ERROR_LINK = 10,
    /// An object cache entry or callback result that could not be used.
    JITCORE_ERROR_CACHE = 11,
    /// A file could not be read or written.
    JITCORE_ERROR_IO = 12,
    /// Something this build or host does not support (a foreign target triple).
    JITCORE_ERROR_UNSUPPORTED = 13,
    /// The process may not map executable memory.
    JITCORE_ERROR_JIT_EXECUTION_DENIED = 14,
    /// A bug in jitcore (a caught panic, a broken invariant).
    JITCORE_ERROR_INTERNAL = 15,
}

impl JitcoreErrorCode {
    /// The code with number `n`, if there is one (SUCCESS is not an error).
    pub fn from_u32(n: u32) -> Option<JitcoreErrorCode> {
        use JitcoreErrorCode::*;
        [
            JITCORE_ERROR_INVALID_ARGUMENT,
            JITCORE_ERROR_INVALID_IR,
            JITCORE_ERROR_INVALID_OBJECT,
            JITCORE_ERROR_SYMBOL_NOT_FOUND,
            JITCORE_ERROR_DUPLICATE_DEFINITION,
            JITCORE_ERROR_MODULE_ALREADY_ADDED,
            JITCORE_ERROR_MODULE_NOT_FOUND,
            JITCORE_ERROR_UNRESOLVED_SYMBOL,
            JITCORE_ERROR_COMPILE,
            JITCORE_ERROR_LINK,
            JITCORE_ERROR_CACHE,
            JITCORE_ERROR_IO,
            JITCORE_ERROR_UNSUPPORTED,
            JITCORE_ERROR_JIT_EXECUTION_DENIED,
            JITCORE_ERROR_INTERNAL,
        ]
        .into_iter()
        .find(|c| *c as u32 == n)
    }

    /// The code's name as it is spelled in the header.
    pub fn name(self) -> &'static str {
        use JitcoreErrorCode::*;
        match self {
            JITCORE_ERROR_SUCCESS => "success",
            JITCORE_ERROR_INVALID_ARGUMENT => "invalid argument",
            JITCORE_ERROR_INVALID_IR => "invalid IR",
            JITCORE_ERROR_INVALID_OBJECT => "invalid object",
            JITCORE_ERROR_SYMBOL_NOT_FOUND => "symbol not found",
            JITCORE_ERROR_DUPLICATE_DEFINITION => "duplicate definition",
            JITCORE_ERROR_MODULE_ALREADY_ADDED => "module already added",
            JITCORE_ERROR_MODULE_NOT_FOUND => "module not found",
            JITCORE_ERROR_UNRESOLVED_SYMBOL => "unresolved symbol",
            JITCORE_ERROR_COMPILE => "compile error",
            JITCORE_ERROR_LINK => "link error",
            JITCORE_ERROR_CACHE => "cache error",
            JITCORE_ERROR_IO => "I/O error",
            JITCORE_ERROR_UNSUPPORTED => "unsupported",
            JITCORE_ERROR_JIT_EXECUTION_DENIED => "JIT execution denied",
            JITCORE_ERROR_INTERNAL => "internal error",
        }
    }
}

/// A jitcore error: a code and a message that names what failed.
#[derive(Clone, PartialEq, Eq, thiserror::Error)]
pub struct Error {
    pub code: JitcoreErrorCode,
    pub message: String,
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl fmt::Debug for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:?}: {}", self.code, self.message)
    }
}

pub type Result<T> = std::result::Result<T, Error>;

macro_rules! constructors {
    ($($fn_name:ident => $code:ident),* $(,)?) => {
        impl Error {
            $(
                #[doc = concat!("An error with code `", stringify!($code), "`.")]
                pub fn $fn_name(message: impl Into<String>) -> Error {
                    Error { code: JitcoreErrorCode::$code, message: message.into() }
                }
            )*
        }
    };
}

constructors! {
    invalid_argument => JITCORE_ERROR_INVALID_ARGUMENT,
    invalid_ir => JITCORE_ERROR_INVALID_IR,
    invalid_object => JITCORE_ERROR_INVALID_OBJECT,
    symbol_not_found => JITCORE_ERROR_SYMBOL_NOT_FOUND,
    duplicate_definition => JITCORE_ERROR_DUPLICATE_DEFINITION,
    module_already_added => JITCORE_ERROR_MODULE_ALREADY_ADDED,
    module_not_found => JITCORE_ERROR_MODULE_NOT_FOUND,
    unresolved_symbol => JITCORE_ERROR_UNRESOLVED_SYMBOL,
    compile => JITCORE_ERROR_COMPILE,
    link => JITCORE_ERROR_LINK,
    cache => JITCORE_ERROR_CACHE,
    io => JITCORE_ERROR_IO,
    unsupported => JITCORE_ERROR_UNSUPPORTED,
    jit_execution_denied => JITCORE_ERROR_JIT_EXECUTION_DENIED,
    internal => JITCORE_ERROR_INTERNAL,
}

impl Error {
    /// The same error with `context: ` put in front of its message.
    pub fn context(mut self, context: impl fmt::Display) -> Error {
        self.message = format!("{context}: {}", self.message);
        self
    }

    /// Classifies a message that came from ORC (an `LLVMErrorRef`) into a code.
    ///
    /// ORC's C API only exposes error text, not error classes, so the
    /// classification is by the stable phrases ORC uses for its error classes
    /// (`SymbolsNotFound`, `DuplicateDefinition`, `FailedToMaterialize`, ...).
    pub fn from_orc_message(message: String, fallback: JitcoreErrorCode) -> Error {
        let code = if message.to_ascii_lowercase().contains("duplicate definition of symbol") {
            JitcoreErrorCode::JITCORE_ERROR_DUPLICATE_DEFINITION
        } else if message.starts_with("Symbols not found") {
            JitcoreErrorCode::JITCORE_ERROR_SYMBOL_NOT_FOUND
        } else if message.contains("not recognized as a valid object file")
            || message.contains("Invalid data was encountered while parsing the file")
            || message.contains("truncated or malformed object")
        {
            JitcoreErrorCode::JITCORE_ERROR_INVALID_OBJECT
        } else {
            fallback
        };
        Error { code, message }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_stable() {
        assert_eq!(JitcoreErrorCode::JITCORE_ERROR_INVALID_ARGUMENT as u32, 1);
        assert_eq!(JitcoreErrorCode::JITCORE_ERROR_UNRESOLVED_SYMBOL as u32, 8);
        assert_eq!(JitcoreErrorCode::JITCORE_ERROR_INTERNAL as u32, 15);
    }

    #[test]
    fn orc_messages_are_classified() {
        let e = Error::from_orc_message(
            "Duplicate definition of symbol 'foo'".into(),
            JitcoreErrorCode::JITCORE_ERROR_LINK,
        );
        assert_eq!(e.code, JitcoreErrorCode::JITCORE_ERROR_DUPLICATE_DEFINITION);
        let e = Error::from_orc_message("something else".into(), JitcoreErrorCode::JITCORE_ERROR_LINK);
        assert_eq!(e.code, JitcoreErrorCode::JITCORE_ERROR_LINK);
        assert_eq!(e.context("module 'm'").message, "module 'm': something else");
    }
}
