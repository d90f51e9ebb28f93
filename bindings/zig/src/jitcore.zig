//! jitcore for Zig: the C API of libjitcore (`jitcore.h`, translated by the
//! build system's translate-c step into the module `c`, re-exported here as
//! `jitcore.c`) wrapped in Zig's idiom.
//!
//!  - Every fallible call returns an error union over `Error`, one error per
//!    `JitcoreErrorCode`, plus `error.UseAfterDeinit` for a handle this binding
//!    already disposed of. The message jitcore gave (naming the module, the
//!    symbol, the file, the IR line) is kept per thread: `lastError()` returns
//!    the code and the message of the last failed call on this thread.
//!  - Handles are structs holding an optional pointer that `deinit` disposes
//!    of and sets to null, so `defer x.deinit()` is always right, a second
//!    `deinit` does nothing and any other use after it is
//!    `error.UseAfterDeinit`, never a crash. Do not copy handle structs and
//!    use both copies: deinit one and the other still holds the pointer.
//!  - Callbacks (error reporter, object cache, symbol filters, materializers,
//!    the lazy failure handler when the header has it) are small interface
//!    structs holding a `callconv(.c)` function and a context pointer. Build
//!    one from a pointer to your own type with `.init(&thing)`, which
//!    generates the C trampolines at compile time, or fill in your own
//!    `callconv(.c)` functions. Zig errors never cross into the library.
//!
//! The header's documentation is the contract: ownership, thread-safety and
//! errors of every call are as `jitcore.h` says.
const std = @import("std");

/// The translated C header (`jitcore.h`, from pkg-config's include directory).
pub const c = @import("c");

// ---------------------------------------------------------------------------
// Errors
// ---------------------------------------------------------------------------

/// jitcore's stable error codes (`JitcoreErrorCode`), with Zig names.
pub const ErrorCode = enum(c_uint) {
    success = 0,
    invalid_argument = 1,
    invalid_ir = 2,
    invalid_object = 3,
    symbol_not_found = 4,
    duplicate_definition = 5,
    module_already_added = 6,
    module_not_found = 7,
    unresolved_symbol = 8,
    compile = 9,
    link = 10,
    cache = 11,
    io = 12,
    unsupported = 13,
    jit_execution_denied = 14,
    internal = 15,
    /// A code this binding does not know (a newer library).
    _,
};

comptime {
    // The numbers are the header's, checked against the translation.
    const pairs = .{
        .{ ErrorCode.success, c.JITCORE_ERROR_SUCCESS },
        .{ ErrorCode.invalid_argument, c.JITCORE_ERROR_INVALID_ARGUMENT },
        .{ ErrorCode.invalid_ir, c.JITCORE_ERROR_INVALID_IR },
        .{ ErrorCode.invalid_object, c.JITCORE_ERROR_INVALID_OBJECT },
        .{ ErrorCode.symbol_not_found, c.JITCORE_ERROR_SYMBOL_NOT_FOUND },
        .{ ErrorCode.duplicate_definition, c.JITCORE_ERROR_DUPLICATE_DEFINITION },
        .{ ErrorCode.module_already_added, c.JITCORE_ERROR_MODULE_ALREADY_ADDED },
        .{ ErrorCode.module_not_found, c.JITCORE_ERROR_MODULE_NOT_FOUND },
        .{ ErrorCode.unresolved_symbol, c.JITCORE_ERROR_UNRESOLVED_SYMBOL },
        .{ ErrorCode.compile, c.JITCORE_ERROR_COMPILE },
        .{ ErrorCode.link, c.JITCORE_ERROR_LINK },
        .{ ErrorCode.cache, c.JITCORE_ERROR_CACHE },
        .{ ErrorCode.io, c.JITCORE_ERROR_IO },
        .{ ErrorCode.unsupported, c.JITCORE_ERROR_UNSUPPORTED },
        .{ ErrorCode.jit_execution_denied, c.JITCORE_ERROR_JIT_EXECUTION_DENIED },
        .{ ErrorCode.internal, c.JITCORE_ERROR_INTERNAL },
    };
    for (pairs) |p| {
        if (@backingInt(p[0]) != p[1]) @compileError("ErrorCode." ++ @tagName(p[0]) ++ " differs from jitcore.h");
    }
}

/// Every error a jitcore call can return: one per `ErrorCode` (but success),
/// and `UseAfterDeinit` for a handle this binding already disposed of.
pub const Error = error{
    InvalidArgument,
    InvalidIr,
    InvalidObject,
    SymbolNotFound,
    DuplicateDefinition,
    ModuleAlreadyAdded,
    ModuleNotFound,
    UnresolvedSymbol,
    Compile,
    Link,
    Cache,
    Io,
    Unsupported,
    JitExecutionDenied,
    Internal,
    /// A handle used after its `deinit` (the binding's check; jitcore is not
    /// called). `lastError()` has code `invalid_argument` and names the handle.
    UseAfterDeinit,
};

/// The Zig error for a jitcore code (an unknown code is `error.Internal`).
pub fn errorFromCode(code: ErrorCode) Error {
    return switch (code) {
        .invalid_argument => error.InvalidArgument,
        .invalid_ir => error.InvalidIr,
        .invalid_object => error.InvalidObject,
        .symbol_not_found => error.SymbolNotFound,
        .duplicate_definition => error.DuplicateDefinition,
        .module_already_added => error.ModuleAlreadyAdded,
        .module_not_found => error.ModuleNotFound,
        .unresolved_symbol => error.UnresolvedSymbol,
        .compile => error.Compile,
        .link => error.Link,
        .cache => error.Cache,
        .io => error.Io,
        .unsupported => error.Unsupported,
        .jit_execution_denied => error.JitExecutionDenied,
        .success, .internal, _ => error.Internal,
    };
}

/// The jitcore code for an error of `Error` (`UseAfterDeinit` is
/// `invalid_argument`, what jitcore says of a bad handle); null for any
/// other error.
pub fn codeFromError(err: anyerror) ?ErrorCode {
    return switch (err) {
        error.InvalidArgument, error.UseAfterDeinit => .invalid_argument,
        error.InvalidIr => .invalid_ir,
        error.InvalidObject => .invalid_object,
        error.SymbolNotFound => .symbol_not_found,
        error.DuplicateDefinition => .duplicate_definition,
        error.ModuleAlreadyAdded => .module_already_added,
        error.ModuleNotFound => .module_not_found,
        error.UnresolvedSymbol => .unresolved_symbol,
        error.Compile => .compile,
        error.Link => .link,
        error.Cache => .cache,
        error.Io => .io,
        error.Unsupported => .unsupported,
        error.JitExecutionDenied => .jit_execution_denied,
        error.Internal => .internal,
        else => null,
    };
}

/// The code and message of the last failed call on this thread.
pub const Diagnostic = struct {
    code: ErrorCode,
    /// jitcore's message (or the binding's, for `UseAfterDeinit`). Valid
    /// until the next failed call on this thread, or `clearLastError()`.
    message: [:0]const u8,

    /// Prints `message (code N, name)`.
    pub fn format(d: Diagnostic, w: *std.Io.Writer) std.Io.Writer.Error!void {
        try w.print("{s} (code {d}, {s})", .{ d.message, @backingInt(d.code), codeName(d.code) });
    }
};

/// The name of a code as the header spells it, without `JITCORE_ERROR_`.
pub fn codeName(code: ErrorCode) []const u8 {
    return switch (code) {
        .success => "SUCCESS",
        .invalid_argument => "INVALID_ARGUMENT",
        .invalid_ir => "INVALID_IR",
        .invalid_object => "INVALID_OBJECT",
        .symbol_not_found => "SYMBOL_NOT_FOUND",
        .duplicate_definition => "DUPLICATE_DEFINITION",
        .module_already_added => "MODULE_ALREADY_ADDED",
        .module_not_found => "MODULE_NOT_FOUND",
        .unresolved_symbol => "UNRESOLVED_SYMBOL",
        .compile => "COMPILE",
        .link => "LINK",
        .cache => "CACHE",
        .io => "IO",
        .unsupported => "UNSUPPORTED",
        .jit_execution_denied => "JIT_EXECUTION_DENIED",
        .internal => "INTERNAL",
        _ => "UNKNOWN",
    };
}

threadlocal var last_code: ErrorCode = .success;
/// The message jitcore allocated for the last error (freed when replaced).
threadlocal var last_owned: ?[*:0]u8 = null;
threadlocal var last_text: [:0]const u8 = "";

/// The code and message of the last call that failed on this thread
/// (code `success` and an empty message if none did since the last
/// `clearLastError`). Calls that succeed leave it alone.
pub fn lastError() Diagnostic {
    return .{ .code = last_code, .message = last_text };
}

/// Forgets (and frees) the last error of this thread. A thread that ends
/// with an error recorded leaks its message unless it calls this.
pub fn clearLastError() void {
    if (last_owned) |m| c.JitcoreDisposeErrorMessage(m);
    last_owned = null;
    last_text = "";
    last_code = .success;
}

fn setStatic(code: ErrorCode, text: [:0]const u8) void {
    clearLastError();
    last_code = code;
    last_text = text;
}

/// Consumes `err` (NULL is success), recording its code and message.
fn check(err: c.JitcoreErrorRef) Error!void {
    const e = err orelse return;
    const code: ErrorCode = @fromBackingInt(@intCast(c.JitcoreGetErrorCode(e)));
    const msg = c.JitcoreGetErrorMessage(e);
    clearLastError();
    last_code = code;
    if (msg) |m| {
        const owned: [*:0]u8 = @ptrCast(m);
        last_owned = owned;
        last_text = std.mem.span(owned);
    } else {
        last_text = "(jitcore could not allocate the message)";
    }
    return errorFromCode(code);
}

fn internal(comptime what: [:0]const u8) Error {
    setStatic(.internal, "jitcore (zig): " ++ what);
    return error.Internal;
}

fn useAfterDeinit(comptime what: []const u8) Error {
    setStatic(.invalid_argument, "jitcore (zig): " ++ what ++ " used after deinit");
    return error.UseAfterDeinit;
}

/// Records `code` and `message` as this thread's last error and returns the
/// matching Zig error: for callbacks (a materializer) that fail with a
/// message of their own. jitcore copies the message.
pub fn fail(code: ErrorCode, message: [:0]const u8) Error {
    const err = c.JitcoreCreateError(@backingInt(code), message.ptr);
    check(err) catch |e| return e;
    setStatic(code, "(jitcore could not create the error)");
    return errorFromCode(code);
}

/// The error of a Zig callback as a jitcore error the library takes: the
/// code of `err` (`COMPILE` for errors that are not jitcore's), and this
/// thread's last message when it belongs to that code (so a materializer
/// that fails on `Module.parseIR` passes the parser's message on).
fn toJitcoreError(err: anyerror, comptime what: []const u8) c.JitcoreErrorRef {
    const code = codeFromError(err) orelse ErrorCode.compile;
    if (codeFromError(err) != null and last_code == code and last_text.len != 0)
        return c.JitcoreCreateError(@backingInt(code), last_text.ptr);
    var buf: [256]u8 = undefined;
    const msg = std.mem.printSentinel(&buf, what ++ " failed: error.{s}", .{@errorName(err)}, 0) catch what ++ " failed";
    return c.JitcoreCreateError(@backingInt(code), msg.ptr);
}

// ---------------------------------------------------------------------------
// Small types
// ---------------------------------------------------------------------------

/// `JitcoreOptLevel`.
pub const OptLevel = enum(c_uint) { o0 = 0, o1 = 1, o2 = 2, o3 = 3 };

comptime {
    std.debug.assert(@backingInt(OptLevel.o0) == c.JITCORE_OPT_LEVEL_O0);
    std.debug.assert(@backingInt(OptLevel.o3) == c.JITCORE_OPT_LEVEL_O3);
}

/// What runs on IR before code generation (`JitcoreIRPipelineKind` and its
/// pass string).
pub const Pipeline = union(enum) {
    /// LLVM's `default<On>` at the opt level (the default).
    default,
    /// No IR passes, codegen only.
    none,
    /// Passes in `opt -passes=` syntax, e.g. `"function(instcombine),globaldce"`.
    custom: [:0]const u8,

    fn kind(p: Pipeline) c.JitcoreIRPipelineKind {
        return switch (p) {
            .default => c.JITCORE_IR_PIPELINE_DEFAULT,
            .none => c.JITCORE_IR_PIPELINE_NONE,
            .custom => c.JITCORE_IR_PIPELINE_CUSTOM,
        };
    }
    fn passes(p: Pipeline) [*c]const u8 {
        return switch (p) {
            .custom => |s| s.ptr,
            else => null,
        };
    }
};

/// Statistics of an engine or a session (the header's struct; the binding
/// passes its size, so a newer library never writes past it).
pub const Statistics = c.JitcoreStatistics;
/// Statistics of a disk cache (the header's struct, size-versioned as above).
pub const DiskCacheStatistics = c.JitcoreDiskCacheStatistics;

/// Bytes of a module key.
pub const key_size = c.JITCORE_MODULE_KEY_SIZE;

/// A module's content key (`JitcoreModuleGetKey`).
pub const Key = struct {
    bytes: [key_size]u8,
    hex_z: [c.JITCORE_MODULE_KEY_HEX_SIZE]u8,

    /// The 64 lowercase hex digits (the disk cache's entry name).
    pub fn hex(k: *const Key) []const u8 {
        return k.hex_z[0 .. c.JITCORE_MODULE_KEY_HEX_SIZE - 1];
    }
};

/// One symbol at an absolute address (layout of `JitcoreSymbolDefinition`).
pub const Symbol = extern struct {
    name: [*:0]const u8,
    address: u64,

    /// `name` at the address of `ptr` (a function or a variable).
    pub fn of(name: [*:0]const u8, ptr: anytype) Symbol {
        return .{ .name = name, .address = @intFromPtr(ptr) };
    }
};

comptime {
    std.debug.assert(@sizeOf(Symbol) == @sizeOf(c.JitcoreSymbolDefinition));
    std.debug.assert(@offsetOf(Symbol, "address") == @offsetOf(c.JitcoreSymbolDefinition, "Address"));
}

/// Turns an address into a function pointer of type `*const F`; `F` must be a
/// function type with the C calling convention (`fn (i32) callconv(.c) i32`).
pub fn fnFromAddress(comptime F: type, address: u64) *const F {
    comptime checkCFn(F);
    return @ptrFromInt(address);
}

fn checkCFn(comptime F: type) void {
    const info = @typeInfo(F);
    if (info != .@"fn") @compileError("expected a function type, got " ++ @typeName(F));
    if (!info.@"fn".attrs.@"callconv".eql(std.builtin.CallingConvention.c))
        @compileError("jitted functions have the C calling convention: use fn (...) callconv(.c) ..., not " ++ @typeName(F));
}

// ---------------------------------------------------------------------------
// Version and host checks
// ---------------------------------------------------------------------------

/// The version of the header this binding was built with.
pub const header_version: std.SemanticVersion = .{
    .major = c.JITCORE_VERSION_MAJOR,
    .minor = c.JITCORE_VERSION_MINOR,
    .patch = c.JITCORE_VERSION_PATCH,
};

/// The library's version (`JitcoreGetVersion`).
pub fn version() std.SemanticVersion {
    var major: c_uint = 0;
    var minor: c_uint = 0;
    var patch: c_uint = 0;
    c.JitcoreGetVersion(&major, &minor, &patch);
    return .{ .major = major, .minor = minor, .patch = patch };
}

/// The library's version as `"MAJOR.MINOR.PATCH"` (static).
pub fn versionString() [:0]const u8 {
    return std.mem.span(@as([*:0]const u8, @ptrCast(c.JitcoreGetVersionString())));
}

/// Whether this process may map executable memory (`JitcoreCheckJITExecution`):
/// `error.JitExecutionDenied` names the refused system call.
pub fn checkJITExecution() Error!void {
    return check(c.JitcoreCheckJITExecution());
}

// ---------------------------------------------------------------------------
// Modules
// ---------------------------------------------------------------------------

/// A parsed, verified module. The caller owns it until it is added to an
/// engine or a dylib; `deinit` then does nothing (jitcore recognizes modules
/// it owns and dead ones), so `var m = try Module.parseIR(...); defer m.deinit();`
/// is right whether adding it succeeds or not.
pub const Module = struct {
    handle: ?*c.JitcoreOpaqueModule,

    /// Parses textual IR or bitcode (`JitcoreCreateModuleFromIR`).
    pub fn parseIR(module_name: [:0]const u8, ir: []const u8) Error!Module {
        var h: c.JitcoreModuleRef = null;
        try check(c.JitcoreCreateModuleFromIR(&h, module_name.ptr, ir.ptr, ir.len));
        return .{ .handle = h };
    }

    /// Parses input from a source the host does not trust in a child process
    /// first (`JitcoreCreateModuleFromUntrustedIR`).
    pub fn parseUntrustedIR(module_name: [:0]const u8, ir: []const u8) Error!Module {
        var h: c.JitcoreModuleRef = null;
        try check(c.JitcoreCreateModuleFromUntrustedIR(&h, module_name.ptr, ir.ptr, ir.len));
        return .{ .handle = h };
    }

    /// Copies a module built with LLVM-C (`JitcoreCreateModuleFromLLVMModule`).
    pub fn fromLLVMModule(m: *c.struct_LLVMOpaqueModule) Error!Module {
        var h: c.JitcoreModuleRef = null;
        try check(c.JitcoreCreateModuleFromLLVMModule(&h, m));
        return .{ .handle = h };
    }

    /// Disposes of the module if the caller owns it; always safe.
    pub fn deinit(m: *Module) void {
        if (m.handle) |h| c.JitcoreDisposeModule(h);
        m.handle = null;
    }

    fn get(m: *const Module) Error!*c.JitcoreOpaqueModule {
        return m.handle orelse useAfterDeinit("module");
    }

    /// The module's name, borrowed until it is disposed of.
    /// `error.InvalidArgument` for a module that is no longer live.
    pub fn name(m: *const Module) Error![:0]const u8 {
        const p = c.JitcoreModuleGetName(try m.get()) orelse {
            setStatic(.invalid_argument, "jitcore (zig): the module is not live (disposed of or freed with its owner)");
            return error.InvalidArgument;
        };
        return std.mem.span(@as([*:0]const u8, @ptrCast(p)));
    }

    /// The module's key for `tm` under the default IR pipeline. Inside an
    /// object cache callback pass null: the key the compiling engine or
    /// session uses (its target and its pipeline).
    pub fn key(m: *const Module, tm: ?*const TargetMachine) Error!Key {
        var k: Key = undefined;
        const tmh = if (tm) |t| try t.get() else null;
        try check(c.JitcoreModuleGetKey(try m.get(), tmh, &k.bytes, &k.hex_z));
        return k;
    }

    /// The module's key for `tm` after `pipeline` (`JitcoreModuleGetKeyForPipeline`).
    pub fn keyForPipeline(m: *const Module, tm: ?*const TargetMachine, pipeline: Pipeline) Error!Key {
        var k: Key = undefined;
        const tmh = if (tm) |t| try t.get() else null;
        try check(c.JitcoreModuleGetKeyForPipeline(try m.get(), tmh, pipeline.kind(), pipeline.passes(), &k.bytes, &k.hex_z));
        return k;
    }
};

// ---------------------------------------------------------------------------
// Targets
// ---------------------------------------------------------------------------

/// A description of the host machine at an opt level.
pub const TargetMachine = struct {
    handle: ?*c.JitcoreOpaqueTargetMachine,

    /// `JitcoreCreateHostTargetMachine`.
    pub fn initHost(opt_level: OptLevel) Error!TargetMachine {
        var h: c.JitcoreTargetMachineRef = null;
        try check(c.JitcoreCreateHostTargetMachine(&h, @backingInt(opt_level)));
        return .{ .handle = h };
    }

    pub fn deinit(tm: *TargetMachine) void {
        if (tm.handle) |h| c.JitcoreDisposeTargetMachine(h);
        tm.handle = null;
    }

    fn get(tm: *const TargetMachine) Error!*c.JitcoreOpaqueTargetMachine {
        return tm.handle orelse useAfterDeinit("target machine");
    }

    /// The target triple, borrowed until `deinit`.
    pub fn triple(tm: *const TargetMachine) Error![:0]const u8 {
        return std.mem.span(@as([*:0]const u8, @ptrCast(c.JitcoreTargetMachineGetTriple(try tm.get()))));
    }
};

/// An engine's data layout, borrowed from the engine (valid until the
/// engine's `deinit`; not checked after it).
pub const TargetData = struct {
    handle: *c.JitcoreOpaqueTargetData,

    pub fn pointerSize(td: TargetData) u32 {
        return c.JitcoreTargetDataGetPointerSize(td.handle);
    }
    /// ABI size in bytes of an IR type written as text (`"{i64, i32}"`).
    pub fn abiSize(td: TargetData, ir_type: [:0]const u8) Error!u64 {
        var r: u64 = 0;
        try check(c.JitcoreTargetDataGetABISize(td.handle, &r, ir_type.ptr));
        return r;
    }
    /// ABI alignment in bytes of an IR type written as text.
    pub fn abiAlignment(td: TargetData, ir_type: [:0]const u8) Error!u64 {
        var r: u64 = 0;
        try check(c.JitcoreTargetDataGetABIAlignment(td.handle, &r, ir_type.ptr));
        return r;
    }
};

// ---------------------------------------------------------------------------
// Callbacks
// ---------------------------------------------------------------------------

fn CtxPtr(comptime P: type) type {
    const info = @typeInfo(P);
    if (info != .pointer or info.pointer.size != .one or info.pointer.attrs.@"const")
        @compileError("expected a mutable single-item pointer (&thing), got " ++ @typeName(P));
    return info.pointer.child;
}

fn cast(comptime P: type, ctx: ?*anyopaque) P {
    return @ptrCast(@alignCast(ctx));
}

fn cString(p: [*c]const u8) [:0]const u8 {
    if (p == null) return "";
    return std.mem.span(@as([*:0]const u8, @ptrCast(p)));
}

/// Hears errors no call can return (`JitcoreErrorReporterFunction`). The
/// context must outlive the engine or session. Runs on any thread that
/// compiles and must not call into the engine or session.
pub const ErrorReporter = struct {
    ctx: ?*anyopaque,
    func: *const fn (?*anyopaque, c.enum_JitcoreErrorCode, [*c]const u8) callconv(.c) void,

    /// From `ptr: *T` where `T` has
    /// `pub fn report(self: *T, code: ErrorCode, message: []const u8) void`.
    pub fn init(ptr: anytype) ErrorReporter {
        const P = @TypeOf(ptr);
        const T = CtxPtr(P);
        const gen = struct {
            fn call(ctx: ?*anyopaque, code: c.enum_JitcoreErrorCode, message: [*c]const u8) callconv(.c) void {
                T.report(cast(P, ctx), @fromBackingInt(@intCast(code)), cString(message));
            }
        };
        return .{ .ctx = @ptrCast(ptr), .func = gen.call };
    }
};

/// A host object cache (`JitcoreObjectCacheNotifyFunction` and
/// `JitcoreObjectCacheGetBufferFunction`). The context must outlive the
/// engine or session; the callbacks run on whichever thread compiles,
/// possibly several at once, and must not call into the engine or session.
pub const ObjectCache = struct {
    ctx: ?*anyopaque,
    notify: c.JitcoreObjectCacheNotifyFunction,
    get_buffer: c.JitcoreObjectCacheGetBufferFunction,

    /// From `ptr: *T` where `T` has
    /// `pub fn notify(self: *T, module: Module, object: []const u8) void` (or `!void`) and
    /// `pub fn getBuffer(self: *T, module: Module) ?[]const u8` (or `!?[]const u8`).
    /// `module` is valid for the call only (`module.key(null)` gives its key);
    /// `object` is borrowed for the call; the bytes `getBuffer` returns are
    /// copied. An error from either is treated as "nothing cached" / ignored.
    pub fn init(ptr: anytype) ObjectCache {
        const P = @TypeOf(ptr);
        const T = CtxPtr(P);
        const gen = struct {
            fn notify(ctx: ?*anyopaque, m: c.JitcoreModuleRef, object: [*c]const u8, len: usize) callconv(.c) void {
                const bytes: []const u8 = if (len == 0) &.{} else object[0..len];
                const r = T.notify(cast(P, ctx), .{ .handle = m }, bytes);
                if (@typeInfo(@TypeOf(r)) == .error_union) r catch {};
            }
            fn getBuffer(ctx: ?*anyopaque, m: c.JitcoreModuleRef) callconv(.c) c.JitcoreObjectBufferRef {
                const r = T.getBuffer(cast(P, ctx), .{ .handle = m });
                const found: ?[]const u8 = if (@typeInfo(@TypeOf(r)) == .error_union) (r catch null) else r;
                const bytes = found orelse return null;
                return c.JitcoreCreateObjectBufferCopy(bytes.ptr, bytes.len);
            }
        };
        return .{ .ctx = @ptrCast(ptr), .notify = gen.notify, .get_buffer = gen.getBuffer };
    }
};

/// Decides which names a symbol source (process, library) provides
/// (`JitcoreSymbolFilterFunction`). The context must outlive the session.
pub const SymbolFilter = struct {
    ctx: ?*anyopaque,
    func: *const fn (?*anyopaque, [*c]const u8) callconv(.c) c_int,

    /// From `ptr: *T` where `T` has `pub fn allow(self: *T, name: [:0]const u8) bool`.
    pub fn init(ptr: anytype) SymbolFilter {
        const P = @TypeOf(ptr);
        const T = CtxPtr(P);
        const gen = struct {
            fn call(ctx: ?*anyopaque, name: [*c]const u8) callconv(.c) c_int {
                return @intFromBool(T.allow(cast(P, ctx), cString(name)));
            }
        };
        return .{ .ctx = @ptrCast(ptr), .func = gen.call };
    }
};

/// What a materializer produces: a module (ownership passes to jitcore) or
/// the bytes of a relocatable object (copied).
pub const Materialized = union(enum) {
    module: Module,
    object: []const u8,
};

/// A custom materializer (`JitcoreMaterializeFunction` and
/// `JitcoreMaterializerDisposeFunction`).
pub const Materializer = struct {
    ctx: ?*anyopaque,
    materialize: *const fn (?*anyopaque, [*c]const [*c]const u8, usize, [*c]c.JitcoreModuleRef, [*c]c.JitcoreObjectBufferRef) callconv(.c) c.JitcoreErrorRef,
    dispose: c.JitcoreMaterializerDisposeFunction = null,

    /// From `ptr: *T` where `T` has
    /// `pub fn materialize(self: *T, symbols: []const [*:0]const u8) !Materialized`
    /// and optionally `pub fn dispose(self: *T) void` (called once, when
    /// jitcore drops the materializer). An error becomes the lookup's error:
    /// jitcore's errors keep their code (and the message of this thread's
    /// last error of that code, see `fail`), others become `COMPILE`
    /// "materializer failed: error.Name".
    pub fn init(ptr: anytype) Materializer {
        const P = @TypeOf(ptr);
        const T = CtxPtr(P);
        const gen = struct {
            fn materialize(ctx: ?*anyopaque, syms: [*c]const [*c]const u8, n: usize, module_out: [*c]c.JitcoreModuleRef, object_out: [*c]c.JitcoreObjectBufferRef) callconv(.c) c.JitcoreErrorRef {
                const names: []const [*:0]const u8 = if (n == 0) &.{} else @as([*]const [*:0]const u8, @ptrCast(syms))[0..n];
                const result = T.materialize(cast(P, ctx), names) catch |err| return toJitcoreError(err, "materializer");
                switch (result) {
                    .module => |m| {
                        module_out.* = m.handle orelse return c.JitcoreCreateError(c.JITCORE_ERROR_INVALID_ARGUMENT, "materializer returned a module used after deinit");
                    },
                    .object => |bytes| {
                        object_out.* = c.JitcoreCreateObjectBufferCopy(bytes.ptr, bytes.len) orelse
                            return c.JitcoreCreateError(c.JITCORE_ERROR_INTERNAL, "materializer: could not copy the object");
                    },
                }
                return null;
            }
            fn dispose(ctx: ?*anyopaque) callconv(.c) void {
                T.dispose(cast(P, ctx));
            }
        };
        return .{
            .ctx = @ptrCast(ptr),
            .materialize = gen.materialize,
            .dispose = if (@hasDecl(T, "dispose")) gen.dispose else null,
        };
    }
};

/// Whether the header this binding was built against has the lazy failure
/// handler (`JitcoreSessionSetLazyFailureHandler`).
pub const has_lazy_failure_handler = @hasDecl(c, "JitcoreSessionSetLazyFailureHandler");

/// What a call of a lazily compiled function that cannot be compiled does
/// (`JitcoreLazyFailureHandler`), when the header has it.
pub const LazyFailureHandler = if (has_lazy_failure_handler) struct {
    ctx: ?*anyopaque,
    func: *const fn (?*anyopaque, [*c]const u8, c.JitcoreErrorRef) callconv(.c) void,

    /// From `ptr: *T` where `T` has
    /// `pub fn lazyFailure(self: *T, function: [:0]const u8, code: ErrorCode, message: []const u8) void`.
    /// The trampoline consumes the error; `message` is borrowed for the call.
    pub fn init(ptr: anytype) @This() {
        const P = @TypeOf(ptr);
        const T = CtxPtr(P);
        const gen = struct {
            fn call(ctx: ?*anyopaque, function: [*c]const u8, err: c.JitcoreErrorRef) callconv(.c) void {
                const code: ErrorCode = @fromBackingInt(@intCast(c.JitcoreGetErrorCode(err)));
                const msg = c.JitcoreGetErrorMessage(err);
                defer c.JitcoreDisposeErrorMessage(msg);
                T.lazyFailure(cast(P, ctx), cString(function), code, cString(msg));
            }
        };
        return .{ .ctx = @ptrCast(ptr), .func = gen.call };
    }
} else void;

// ---------------------------------------------------------------------------
// Object buffers and the disk cache
// ---------------------------------------------------------------------------

/// An object file in a buffer jitcore owns (`JitcoreCreateObjectBufferCopy`),
/// for hosts that write their own C callbacks.
pub const ObjectBuffer = struct {
    handle: ?*c.JitcoreOpaqueObjectBuffer,

    pub fn initCopy(bytes: []const u8) Error!ObjectBuffer {
        const h = c.JitcoreCreateObjectBufferCopy(bytes.ptr, bytes.len) orelse {
            setStatic(.internal, "jitcore (zig): JitcoreCreateObjectBufferCopy could not allocate the copy");
            return error.Internal;
        };
        return .{ .handle = h };
    }

    /// Gives the buffer away (to return it from a C get-buffer callback); the
    /// struct no longer holds it.
    pub fn release(b: *ObjectBuffer) Error!*c.JitcoreOpaqueObjectBuffer {
        const h = b.handle orelse return useAfterDeinit("object buffer");
        b.handle = null;
        return h;
    }

    pub fn deinit(b: *ObjectBuffer) void {
        if (b.handle) |h| c.JitcoreDisposeObjectBuffer(h);
        b.handle = null;
    }
};

/// jitcore's disk object cache (`JitcoreCreateDiskCache`). Engines and
/// sessions it is attached to keep it alive, so it may be deinit'ed right
/// after attaching.
pub const DiskCache = struct {
    handle: ?*c.JitcoreOpaqueObjectCache,

    /// A cache in `directory` (created if missing) of at most `max_bytes`
    /// (0: no cap).
    pub fn init(directory: [:0]const u8, max_bytes: u64) Error!DiskCache {
        var h: c.JitcoreObjectCacheRef = null;
        try check(c.JitcoreCreateDiskCache(&h, directory.ptr, max_bytes));
        return .{ .handle = h };
    }

    pub fn deinit(dc: *DiskCache) void {
        if (dc.handle) |h| c.JitcoreDisposeObjectCache(h);
        dc.handle = null;
    }

    fn get(dc: *const DiskCache) Error!*c.JitcoreOpaqueObjectCache {
        return dc.handle orelse useAfterDeinit("disk cache");
    }

    pub fn statistics(dc: *const DiskCache) Error!DiskCacheStatistics {
        var s: DiskCacheStatistics = .{};
        try check(c.JitcoreDiskCacheGetStatisticsSized(try dc.get(), &s, @sizeOf(DiskCacheStatistics)));
        return s;
    }
};

// ---------------------------------------------------------------------------
// Engine
// ---------------------------------------------------------------------------

/// An MCJIT-style execution engine (`JitcoreCreateMCJITCompiler`). Thread-safe
/// except `deinit`.
pub const Engine = struct {
    handle: ?*c.JitcoreOpaqueEngine,

    /// An engine for `tm` (copied); `module`, if given, is added (and owned
    /// by the engine on success).
    pub fn init(tm: *const TargetMachine, module: ?*const Module) Error!Engine {
        var h: c.JitcoreEngineRef = null;
        const mh = if (module) |m| try m.get() else null;
        try check(c.JitcoreCreateMCJITCompiler(&h, mh, try tm.get()));
        return .{ .handle = h };
    }

    /// Frees the engine's code and the modules it holds. Safe to call twice.
    pub fn deinit(e: *Engine) void {
        if (e.handle) |h| c.JitcoreDisposeEngine(h);
        e.handle = null;
    }

    fn get(e: *const Engine) Error!*c.JitcoreOpaqueEngine {
        return e.handle orelse useAfterDeinit("engine");
    }

    pub fn addModule(e: *const Engine, m: *const Module) Error!void {
        try check(c.JitcoreEngineAddModule(try e.get(), try m.get()));
    }
    /// Frees the module's code; the caller owns `m` again.
    pub fn removeModule(e: *const Engine, m: *const Module) Error!void {
        try check(c.JitcoreEngineRemoveModule(try e.get(), try m.get()));
    }
    pub fn finalizeObject(e: *const Engine) Error!void {
        try check(c.JitcoreEngineFinalizeObject(try e.get()));
    }
    /// The address of function `name`, compiling what it needs.
    pub fn functionAddress(e: *const Engine, name: [:0]const u8) Error!u64 {
        var a: u64 = 0;
        try check(c.JitcoreEngineGetFunctionAddress(try e.get(), &a, name.ptr));
        return a;
    }
    /// Function `name` as a `*const F` (`F` a `callconv(.c)` function type).
    pub fn function(e: *const Engine, comptime F: type, name: [:0]const u8) Error!*const F {
        comptime checkCFn(F);
        return fnFromAddress(F, try e.functionAddress(name));
    }
    pub fn globalAddress(e: *const Engine, name: [:0]const u8) Error!u64 {
        var a: u64 = 0;
        try check(c.JitcoreEngineGetGlobalValueAddress(try e.get(), &a, name.ptr));
        return a;
    }
    pub fn addObjectFile(e: *const Engine, path: [:0]const u8) Error!void {
        try check(c.JitcoreEngineAddObjectFile(try e.get(), path.ptr));
    }
    pub fn addObjectBuffer(e: *const Engine, object: []const u8) Error!void {
        try check(c.JitcoreEngineAddObjectBuffer(try e.get(), object.ptr, object.len));
    }
    pub fn addGlobalMapping(e: *const Engine, name: [:0]const u8, address: u64) Error!void {
        try check(c.JitcoreEngineAddGlobalMapping(try e.get(), name.ptr, address));
    }
    pub fn runStaticConstructors(e: *const Engine) Error!void {
        try check(c.JitcoreEngineRunStaticConstructors(try e.get()));
    }
    pub fn runStaticDestructors(e: *const Engine) Error!void {
        try check(c.JitcoreEngineRunStaticDestructors(try e.get()));
    }
    pub fn targetData(e: *const Engine) Error!TargetData {
        return .{ .handle = c.JitcoreEngineGetTargetData(try e.get()) orelse return internal("JitcoreEngineGetTargetData returned NULL") };
    }
    pub fn setIRPipeline(e: *const Engine, pipeline: Pipeline) Error!void {
        try check(c.JitcoreEngineSetIRPipeline(try e.get(), pipeline.kind(), pipeline.passes()));
    }
    /// null removes the reporter.
    pub fn setErrorReporter(e: *const Engine, reporter: ?ErrorReporter) Error!void {
        const r = reporter orelse ErrorReporter{ .ctx = null, .func = undefined };
        c.JitcoreEngineSetErrorReporter(try e.get(), if (reporter != null) r.func else null, r.ctx);
    }
    /// null removes the cache.
    pub fn setObjectCache(e: *const Engine, cache: ?ObjectCache) Error!void {
        const oc = cache orelse ObjectCache{ .ctx = null, .notify = null, .get_buffer = null };
        c.JitcoreEngineSetObjectCache(try e.get(), oc.notify, oc.get_buffer, oc.ctx);
    }
    /// null detaches the engine's cache.
    pub fn setDiskCache(e: *const Engine, cache: ?*const DiskCache) Error!void {
        const h = if (cache) |dc| try dc.get() else null;
        c.JitcoreEngineSetDiskCache(try e.get(), h);
    }
    pub fn statistics(e: *const Engine) Error!Statistics {
        var s: Statistics = .{};
        try check(c.JitcoreEngineGetStatisticsSized(try e.get(), &s, @sizeOf(Statistics)));
        return s;
    }
};

// ---------------------------------------------------------------------------
// Session, dylibs, trackers
// ---------------------------------------------------------------------------

/// Options of a session: null fields take the library's defaults
/// (`JitcoreSessionOptionsInitSized`: O2, no compile threads, eager, no
/// debugger, no perf map).
pub const SessionOptions = struct {
    opt_level: ?OptLevel = null,
    compile_threads: ?u32 = null,
    lazy_by_default: ?bool = null,
    enable_debugger: ?bool = null,
    enable_perf: ?bool = null,
};

/// An ORC session with JITDylibs (`JitcoreCreateSessionSized`). Thread-safe
/// except `deinit`.
pub const Session = struct {
    handle: ?*c.JitcoreOpaqueSession,

    pub fn init(options: SessionOptions) Error!Session {
        var o: c.JitcoreSessionOptions = .{};
        c.JitcoreSessionOptionsInitSized(&o, @sizeOf(c.JitcoreSessionOptions));
        if (options.opt_level) |v| o.OptLevel = @backingInt(v);
        if (options.compile_threads) |v| o.CompileThreads = v;
        if (options.lazy_by_default) |v| o.LazyByDefault = @intFromBool(v);
        if (options.enable_debugger) |v| o.EnableDebugger = @intFromBool(v);
        if (options.enable_perf) |v| o.EnablePerf = @intFromBool(v);
        var h: c.JitcoreSessionRef = null;
        try check(c.JitcoreCreateSessionSized(&h, &o, @sizeOf(c.JitcoreSessionOptions)));
        return .{ .handle = h };
    }

    /// Frees all code, modules and dylibs of the session (dylib handles
    /// become dead: jitcore refuses them). Safe to call twice.
    pub fn deinit(s: *Session) void {
        if (s.handle) |h| c.JitcoreDisposeSession(h);
        s.handle = null;
    }

    fn get(s: *const Session) Error!*c.JitcoreOpaqueSession {
        return s.handle orelse useAfterDeinit("session");
    }

    /// The main JITDylib (sees the host process's symbols).
    pub fn mainDylib(s: *const Session) Error!Dylib {
        return .{ .handle = c.JitcoreSessionGetMainDylib(try s.get()) orelse return internal("JitcoreSessionGetMainDylib returned NULL") };
    }
    /// A new, empty JITDylib named `name`.
    pub fn createDylib(s: *const Session, name: [:0]const u8) Error!Dylib {
        var d: c.JitcoreDylibRef = null;
        try check(c.JitcoreSessionCreateDylib(try s.get(), &d, name.ptr));
        return .{ .handle = d.? };
    }
    /// The JITDylib named `name`, or null.
    pub fn dylibByName(s: *const Session, name: [:0]const u8) Error!?Dylib {
        const d = c.JitcoreSessionGetDylibByName(try s.get(), name.ptr) orelse return null;
        return .{ .handle = d };
    }
    /// Looks `name` up from `dylib` as a dynamic linker would.
    pub fn lookup(s: *const Session, dylib: Dylib, name: [:0]const u8) Error!u64 {
        var a: u64 = 0;
        try check(c.JitcoreSessionLookup(try s.get(), dylib.handle, &a, name.ptr));
        return a;
    }
    /// Function `name` from `dylib` as a `*const F` (`F` a `callconv(.c)` type).
    pub fn function(s: *const Session, dylib: Dylib, comptime F: type, name: [:0]const u8) Error!*const F {
        comptime checkCFn(F);
        return fnFromAddress(F, try s.lookup(dylib, name));
    }
    /// Looks all `names` up at once (compiled together), writing
    /// `results[i]` for `names[i]`; the lengths must match.
    pub fn lookupMany(s: *const Session, dylib: Dylib, names: []const [*:0]const u8, results: []u64) Error!void {
        const h = try s.get();
        if (names.len != results.len) {
            setStatic(.invalid_argument, "jitcore (zig): lookupMany needs as many results as names");
            return error.InvalidArgument;
        }
        try check(c.JitcoreSessionLookupMany(h, dylib.handle, results.ptr, @ptrCast(names.ptr), names.len));
    }
    pub fn setIRPipeline(s: *const Session, pipeline: Pipeline) Error!void {
        try check(c.JitcoreSessionSetIRPipeline(try s.get(), pipeline.kind(), pipeline.passes()));
    }
    /// null removes the reporter.
    pub fn setErrorReporter(s: *const Session, reporter: ?ErrorReporter) Error!void {
        const r = reporter orelse ErrorReporter{ .ctx = null, .func = undefined };
        c.JitcoreSessionSetErrorReporter(try s.get(), if (reporter != null) r.func else null, r.ctx);
    }
    /// null removes the cache.
    pub fn setObjectCache(s: *const Session, cache: ?ObjectCache) Error!void {
        const oc = cache orelse ObjectCache{ .ctx = null, .notify = null, .get_buffer = null };
        c.JitcoreSessionSetObjectCache(try s.get(), oc.notify, oc.get_buffer, oc.ctx);
    }
    /// null detaches the session's cache.
    pub fn setDiskCache(s: *const Session, cache: ?*const DiskCache) Error!void {
        const h = if (cache) |dc| try dc.get() else null;
        c.JitcoreSessionSetDiskCache(try s.get(), h);
    }
    /// null restores the default (print and abort). Only when the header has it.
    pub fn setLazyFailureHandler(s: *const Session, handler: ?LazyFailureHandler) Error!void {
        if (!has_lazy_failure_handler) @compileError("this jitcore.h has no JitcoreSessionSetLazyFailureHandler");
        const h = handler orelse LazyFailureHandler{ .ctx = null, .func = undefined };
        c.JitcoreSessionSetLazyFailureHandler(try s.get(), if (handler != null) h.func else null, h.ctx);
    }
    pub fn statistics(s: *const Session) Error!Statistics {
        var st: Statistics = .{};
        try check(c.JitcoreSessionGetStatisticsSized(try s.get(), &st, @sizeOf(Statistics)));
        return st;
    }
};

/// A JITDylib, owned by its session. A plain value: after the session's
/// `deinit` jitcore recognizes the handle and refuses it
/// (`error.InvalidArgument`).
pub const Dylib = extern struct {
    handle: *c.JitcoreOpaqueDylib,

    fn tracker(rt: ?*const ResourceTracker) Error!c.JitcoreResourceTrackerRef {
        return if (rt) |t| try t.get() else null;
    }

    /// The dylib's name ("main" for the main one).
    pub fn name(d: Dylib) Error![:0]const u8 {
        const p = c.JitcoreDylibGetName(d.handle) orelse {
            setStatic(.invalid_argument, "jitcore (zig): the dylib's session was disposed of");
            return error.InvalidArgument;
        };
        return std.mem.span(@as([*:0]const u8, @ptrCast(p)));
    }
    /// The dylibs `d` links against, searched in order after its own definitions.
    pub fn setLinkOrder(d: Dylib, order: []const Dylib) Error!void {
        try check(c.JitcoreDylibSetLinkOrder(d.handle, @ptrCast(order.ptr), order.len));
    }
    /// Adds `m` (owned by the session on success) under `rt` (null: the
    /// dylib's default tracker).
    pub fn addModule(d: Dylib, m: *const Module, rt: ?*const ResourceTracker) Error!void {
        try check(c.JitcoreDylibAddModule(d.handle, try m.get(), try tracker(rt)));
    }
    /// Adds `m` compiled one function at a time, on first call.
    pub fn addModuleLazy(d: Dylib, m: *const Module, rt: ?*const ResourceTracker) Error!void {
        try check(c.JitcoreDylibAddModuleLazy(d.handle, try m.get(), try tracker(rt)));
    }
    /// Adds a relocatable object (copied).
    pub fn addObjectBuffer(d: Dylib, object: []const u8, rt: ?*const ResourceTracker) Error!void {
        try check(c.JitcoreDylibAddObjectBuffer(d.handle, object.ptr, object.len, try tracker(rt)));
    }
    /// Defines host addresses under names, for the life of the dylib.
    pub fn defineAbsoluteSymbols(d: Dylib, symbols: []const Symbol) Error!void {
        try check(c.JitcoreDylibDefineAbsoluteSymbols(d.handle, @ptrCast(symbols.ptr), symbols.len));
    }
    /// Defines `symbols` (copied) as functions that `materializer` produces
    /// on the first lookup of any of them.
    pub fn addMaterializer(d: Dylib, symbols: []const [*:0]const u8, materializer: Materializer, rt: ?*const ResourceTracker) Error!void {
        const t = tracker(rt) catch |err| {
            if (materializer.dispose) |f| f(materializer.ctx);
            return err;
        };
        try check(c.JitcoreDylibAddMaterializer(d.handle, @ptrCast(symbols.ptr), symbols.len, materializer.materialize, materializer.dispose, materializer.ctx, t));
    }
    /// The host process's exported symbols that `filter` allows (null: all).
    pub fn addProcessSymbols(d: Dylib, filter: ?SymbolFilter) Error!void {
        const f = filter orelse SymbolFilter{ .ctx = null, .func = undefined };
        try check(c.JitcoreDylibAddProcessSymbols(d.handle, if (filter != null) f.func else null, f.ctx));
    }
    /// The shared library at `path` (dlopen), filtered as above.
    pub fn addLibrarySymbols(d: Dylib, path: [:0]const u8, filter: ?SymbolFilter) Error!void {
        const f = filter orelse SymbolFilter{ .ctx = null, .func = undefined };
        try check(c.JitcoreDylibAddLibrarySymbols(d.handle, path.ptr, if (filter != null) f.func else null, f.ctx));
    }
    /// The static archive at `path` as a symbol source.
    pub fn addArchive(d: Dylib, path: [:0]const u8) Error!void {
        try check(c.JitcoreDylibAddArchive(d.handle, path.ptr));
    }
    /// A tracker: what is added under it is removed as one.
    pub fn createResourceTracker(d: Dylib) Error!ResourceTracker {
        const h = c.JitcoreDylibCreateResourceTracker(d.handle) orelse {
            setStatic(.invalid_argument, "jitcore (zig): no tracker for a dylib whose session was disposed of");
            return error.InvalidArgument;
        };
        return .{ .handle = h };
    }
};

/// What was added to a dylib under it, removable as one. Owned by the caller.
pub const ResourceTracker = struct {
    handle: ?*c.JitcoreOpaqueResourceTracker,

    fn get(rt: *const ResourceTracker) Error!*c.JitcoreOpaqueResourceTracker {
        return rt.handle orelse useAfterDeinit("resource tracker");
    }

    /// Frees the code, data and modules added under it.
    pub fn remove(rt: *const ResourceTracker) Error!void {
        try check(c.JitcoreResourceTrackerRemove(try rt.get()));
    }

    /// Disposes of the handle (what is still added stays, under the dylib's
    /// default tracker). Safe to call twice.
    pub fn deinit(rt: *ResourceTracker) void {
        if (rt.handle) |h| c.JitcoreDisposeResourceTracker(h);
        rt.handle = null;
    }
};
