// jitcore.hpp: the C++17 binding of libjitcore (header-only, over jitcore.h).
//
//   #include <jitcore.hpp>
//   auto ee  = jitcore::Engine::create(jitcore::OptLevel::O2);
//   ee.add_module(jitcore::Module::from_ir("sum", ir));
//   auto sum = ee.function<int(int, int)>("sum");
//   int r    = sum(2, -5);                                  // -3
//
// Rules (bindings/cpp/README.md says the same with examples):
//  - Every failure is a `jitcore::Error` (a std::runtime_error) carrying the
//    library's code (`code()`) and message (`what()`). Use of a moved-from or
//    reset object throws `Error` with `ErrorCode::InvalidArgument`, it never
//    reaches the C library as a dangling handle.
//  - Owners (TargetMachine, Module, Engine, Session, ResourceTracker,
//    ObjectBuffer, DiskCache, ErrorHandle) are move-only and free their
//    handle in their destructor. A default-constructed owner is empty, as a
//    moved-from one. Views (ModuleView, Dylib, TargetData) are copyable and
//    do not own; each says below what happens once its owner is gone.
//  - Callbacks are std::function. No exception ever unwinds into the
//    library: every trampoline catches everything. What happens to the
//    exception, per callback:
//      materializer          the lookup fails with a C error made from it
//                            (a jitcore::Error keeps its code, anything else
//                            is INTERNAL with its what()); when the callback
//                            ran on the thread of the binding call (no
//                            compile threads), that call rethrows the
//                            original exception instead.
//      cache notify          recorded; the binding call running on that
//      cache get_buffer      thread (lookup, finalize, ...) rethrows it when
//      symbol filter         the C call returns (get_buffer then counts as
//      error reporter        "no object": the module is compiled; a filter
//      lazy failure handler  counts as "not allowed"; a failed lazy call
//                            returns zero). On a thread with no
//                            binding call (a compile thread, a lazy stub
//                            called from jitted code) the exception goes to
//                            the owner's error reporter as an INTERNAL error,
//                            or, without a reporter (or from the reporter
//                            itself), is dropped and counted in
//                            `dropped_callback_exceptions()`.
//    The first exception of a call wins; a recorded exception is rethrown in
//    preference to the C error of the same call.
//  - Threads: as the C functions say. Engines and sessions (and dylibs and
//    trackers) may be used from several threads at once, except for their
//    destruction, reset() and moves.
#ifndef JITCORE_HPP
#define JITCORE_HPP

#include "jitcore.h"

#include <array>
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <exception>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>
#include <variant>
#include <vector>

namespace jitcore {

// ---------------------------------------------------------------------------
// Errors
// ---------------------------------------------------------------------------

// The library's stable error codes (`JitcoreErrorCode`), same numbers.
enum class ErrorCode : unsigned {
  Success = JITCORE_ERROR_SUCCESS,
  InvalidArgument = JITCORE_ERROR_INVALID_ARGUMENT,
  InvalidIR = JITCORE_ERROR_INVALID_IR,
  InvalidObject = JITCORE_ERROR_INVALID_OBJECT,
  SymbolNotFound = JITCORE_ERROR_SYMBOL_NOT_FOUND,
  DuplicateDefinition = JITCORE_ERROR_DUPLICATE_DEFINITION,
  ModuleAlreadyAdded = JITCORE_ERROR_MODULE_ALREADY_ADDED,
  ModuleNotFound = JITCORE_ERROR_MODULE_NOT_FOUND,
  UnresolvedSymbol = JITCORE_ERROR_UNRESOLVED_SYMBOL,
  Compile = JITCORE_ERROR_COMPILE,
  Link = JITCORE_ERROR_LINK,
  Cache = JITCORE_ERROR_CACHE,
  IO = JITCORE_ERROR_IO,
  Unsupported = JITCORE_ERROR_UNSUPPORTED,
  JitExecutionDenied = JITCORE_ERROR_JIT_EXECUTION_DENIED,
  Internal = JITCORE_ERROR_INTERNAL,
};

// The C enumerator's name without its prefix: "SYMBOL_NOT_FOUND".
inline const char *to_string(ErrorCode code) noexcept {
  switch (code) {
  case ErrorCode::Success: return "SUCCESS";
  case ErrorCode::InvalidArgument: return "INVALID_ARGUMENT";
  case ErrorCode::InvalidIR: return "INVALID_IR";
  case ErrorCode::InvalidObject: return "INVALID_OBJECT";
  case ErrorCode::SymbolNotFound: return "SYMBOL_NOT_FOUND";
  case ErrorCode::DuplicateDefinition: return "DUPLICATE_DEFINITION";
  case ErrorCode::ModuleAlreadyAdded: return "MODULE_ALREADY_ADDED";
  case ErrorCode::ModuleNotFound: return "MODULE_NOT_FOUND";
  case ErrorCode::UnresolvedSymbol: return "UNRESOLVED_SYMBOL";
  case ErrorCode::Compile: return "COMPILE";
  case ErrorCode::Link: return "LINK";
  case ErrorCode::Cache: return "CACHE";
  case ErrorCode::IO: return "IO";
  case ErrorCode::Unsupported: return "UNSUPPORTED";
  case ErrorCode::JitExecutionDenied: return "JIT_EXECUTION_DENIED";
  case ErrorCode::Internal: return "INTERNAL";
  }
  return "UNKNOWN";
}

// A jitcore error as a C++ exception: the library's code and message (what()).
// A plain value (the C error it came from is already consumed), so it can be
// copied, stored and rethrown freely.
class Error : public std::runtime_error {
public:
  Error(ErrorCode code, const std::string &message) : std::runtime_error(message), code_(code) {}
  ErrorCode code() const noexcept { return code_; }
  JitcoreErrorCode c_code() const noexcept { return static_cast<JitcoreErrorCode>(code_); }
  std::string message() const { return what(); }

private:
  ErrorCode code_;
};

namespace detail {

struct MessageDeleter {
  void operator()(char *p) const noexcept { JitcoreDisposeErrorMessage(p); }
};

// Consumes `err` (not NULL) and makes the exception for it.
inline Error take_error(JitcoreErrorRef err) {
  ErrorCode code = static_cast<ErrorCode>(JitcoreGetErrorCode(err));
  std::unique_ptr<char, MessageDeleter> msg(JitcoreGetErrorMessage(err));
  return Error(code, msg ? std::string(msg.get()) : std::string());
}

inline void check(JitcoreErrorRef err) {
  if (err)
    throw take_error(err);
}

[[noreturn]] inline void throw_empty(const char *type) {
  throw Error(ErrorCode::InvalidArgument,
              std::string("jitcore::") + type + ": use of an empty (moved-from, reset or default-constructed) object");
}

// The innermost binding call running on this thread: callbacks that the C
// call runs on this thread record their exception here, and the call
// rethrows it once the C function has returned.
struct CallScope {
  std::exception_ptr pending;
  CallScope *prev;

  static CallScope *&current() noexcept {
    static thread_local CallScope *top = nullptr;
    return top;
  }
  CallScope() noexcept : prev(current()) { current() = this; }
  ~CallScope() { current() = prev; }
  CallScope(const CallScope &) = delete;
  CallScope &operator=(const CallScope &) = delete;

  // Ends the call: the recorded exception first, else the C error.
  void finish(JitcoreErrorRef err) {
    current() = prev;  // callbacks from here on are not this call's
    if (pending) {
      JitcoreConsumeError(err);
      std::exception_ptr p = pending;
      pending = nullptr;
      std::rethrow_exception(p);
    }
    check(err);
  }
  void finish() { finish(nullptr); }
};

// Runs `f` (returning JitcoreErrorRef) as a binding call.
template <class F> inline void call(F &&f) {
  CallScope scope;
  JitcoreErrorRef err = f();
  scope.finish(err);
}

inline std::string describe(const std::exception_ptr &ep) {
  try {
    std::rethrow_exception(ep);
  } catch (const std::exception &e) {
    return e.what();
  } catch (...) {
    return "an exception not derived from std::exception";
  }
}

} // namespace detail

namespace detail {

// The move-only owner of one C handle, freed with `Dispose` (which accepts
// NULL, as every jitcore Dispose function does).
template <class Ref, void (*Dispose)(Ref)> class Owner {
public:
  Owner() noexcept = default;
  explicit Owner(Ref adopt) noexcept : h_(adopt) {}
  Owner(Owner &&o) noexcept : h_(std::exchange(o.h_, nullptr)) {}
  Owner &operator=(Owner &&o) noexcept {
    if (this != &o) {
      Dispose(h_);
      h_ = std::exchange(o.h_, nullptr);
    }
    return *this;
  }
  Owner(const Owner &) = delete;
  Owner &operator=(const Owner &) = delete;
  ~Owner() { Dispose(h_); }

  explicit operator bool() const noexcept { return h_ != nullptr; }
  // Frees what it owns; the object is empty afterwards.
  void reset() noexcept { Dispose(std::exchange(h_, nullptr)); }
  Ref native_handle() const noexcept { return h_; }
  // Gives up ownership of the handle.
  Ref release() noexcept { return std::exchange(h_, nullptr); }

protected:
  Ref checked(const char *type) const {
    if (!h_)
      throw_empty(type);
    return h_;
  }
  Ref h_ = nullptr;
};

} // namespace detail

// A move-only owner of a raw `JitcoreErrorRef` (for hosts mixing the C API
// in, and for materializers that want to hand back a prepared C error). An
// empty handle means success. The destructor consumes what it still owns.
class ErrorHandle : public detail::Owner<JitcoreErrorRef, JitcoreConsumeError> {
public:
  using Owner::Owner;

  // JitcoreCreateError: a new error with `code` and a copy of `message`.
  static ErrorHandle create(ErrorCode code, const std::string &message) {
    JitcoreErrorRef e = JitcoreCreateError(static_cast<unsigned>(code), message.c_str());
    if (!e)
      throw Error(ErrorCode::Internal, "JitcoreCreateError could not make an error");
    return ErrorHandle(e);
  }

  // The code, without consuming (Success for an empty handle).
  ErrorCode code() const noexcept { return static_cast<ErrorCode>(JitcoreGetErrorCode(h_)); }
  // Consumes the error and returns it as an exception object. Throws
  // Error(InvalidArgument) on an empty handle.
  Error take() {
    checked("ErrorHandle");
    return detail::take_error(release());
  }
  // Consumes and throws the error; does nothing on an empty handle (success).
  void throw_if_error() {
    if (h_)
      throw take();
  }
};

// ---------------------------------------------------------------------------
// Small value types
// ---------------------------------------------------------------------------

enum class OptLevel : int {
  O0 = JITCORE_OPT_LEVEL_O0,
  O1 = JITCORE_OPT_LEVEL_O1,
  O2 = JITCORE_OPT_LEVEL_O2,
  O3 = JITCORE_OPT_LEVEL_O3,
};

// What runs on IR before code generation (`JitcoreIRPipelineKind`).
enum class IRPipeline : int {
  Default = JITCORE_IR_PIPELINE_DEFAULT,  // default<On> at the opt level
  None = JITCORE_IR_PIPELINE_NONE,        // codegen only
  Custom = JITCORE_IR_PIPELINE_CUSTOM,    // an `opt -passes=` string
};

// A borrowed NUL-terminated string: a `const char *` or a `std::string`,
// without a copy. Used for names and paths.
class CStr {
public:
  CStr() noexcept = default;
  CStr(const char *s) noexcept : p_(s) {}               // NOLINT: implicit on purpose
  CStr(const std::string &s) noexcept : p_(s.c_str()) {} // NOLINT
  const char *c_str() const noexcept { return p_; }

private:
  const char *p_ = nullptr;
};

// A borrowed run of bytes (an object file); C++17 has no std::span.
class ByteView {
public:
  constexpr ByteView() noexcept = default;
  constexpr ByteView(const std::uint8_t *data, std::size_t size) noexcept : data_(data), size_(size) {}
  ByteView(const std::vector<std::uint8_t> &v) noexcept : data_(v.data()), size_(v.size()) {} // NOLINT
  ByteView(std::string_view s) noexcept // NOLINT
      : data_(reinterpret_cast<const std::uint8_t *>(s.data())), size_(s.size()) {}
  constexpr const std::uint8_t *data() const noexcept { return data_; }
  constexpr std::size_t size() const noexcept { return size_; }
  constexpr bool empty() const noexcept { return size_ == 0; }
  constexpr const std::uint8_t *begin() const noexcept { return data_; }
  constexpr const std::uint8_t *end() const noexcept { return data_ + size_; }
  std::vector<std::uint8_t> to_vector() const { return std::vector<std::uint8_t>(begin(), end()); }

private:
  const std::uint8_t *data_ = nullptr;
  std::size_t size_ = 0;
};

// A module's content key: 32 bytes (`JITCORE_MODULE_KEY_SIZE`).
using Key = std::array<std::uint8_t, JITCORE_MODULE_KEY_SIZE>;

// The address of a host function or object, for absolute symbols and global
// mappings: address_of(&host_fn).
// (Conversions between uintptr_t and uint64_t are implicit: the same type on
// the 64-bit hosts jitcore supports, so no cast that -Wuseless-cast flags.)
template <class T> inline std::uint64_t address_of(T *p) noexcept {
  std::uintptr_t a = reinterpret_cast<std::uintptr_t>(p);
  return a;
}
namespace detail {
template <class P> inline P from_address(std::uint64_t address) noexcept {
  std::uintptr_t a = address;
  return reinterpret_cast<P>(a);
}
} // namespace detail

// A typed jitted function: what `function<R(Args...)>(name)` returns. Calls
// go straight to the address (no check but for an empty Function).
template <class Sig> class Function;
template <class R, class... Args> class Function<R(Args...)> {
public:
  using pointer = R (*)(Args...);
  Function() noexcept = default;
  explicit Function(std::uint64_t address) noexcept
      : p_(detail::from_address<pointer>(address)) {}
  R operator()(Args... args) const {
    if (!p_)
      detail::throw_empty("Function");
    return p_(args...);
  }
  pointer get() const noexcept { return p_; }
  std::uint64_t address() const noexcept { return address_of(p_); }
  explicit operator bool() const noexcept { return p_ != nullptr; }

private:
  pointer p_ = nullptr;
};

// One symbol at an absolute address.
struct SymbolDefinition {
  std::string name;
  std::uint64_t address;
};

// Counters of an engine or a session (`JitcoreStatistics`).
struct Statistics {
  std::uint64_t modules_compiled = 0;
  std::uint64_t functions_compiled = 0;
  std::uint64_t objects_loaded = 0;
  std::uint64_t cache_hits = 0;
  std::uint64_t cache_misses = 0;
  std::uint64_t cache_rejected = 0;
  std::uint64_t object_bytes_emitted = 0;
  std::uint64_t materialization_failures = 0;
  std::uint64_t code_bytes_live = 0;

  static Statistics from_c(const JitcoreStatistics &s) noexcept {
    Statistics r;
    r.modules_compiled = s.ModulesCompiled;
    r.functions_compiled = s.FunctionsCompiled;
    r.objects_loaded = s.ObjectsLoaded;
    r.cache_hits = s.CacheHits;
    r.cache_misses = s.CacheMisses;
    r.cache_rejected = s.CacheRejected;
    r.object_bytes_emitted = s.ObjectBytesEmitted;
    r.materialization_failures = s.MaterializationFailures;
    r.code_bytes_live = s.CodeBytesLive;
    return r;
  }
};

// Counters of a disk cache (`JitcoreDiskCacheStatistics`).
struct DiskCacheStatistics {
  std::uint64_t hits = 0;
  std::uint64_t misses = 0;
  std::uint64_t writes = 0;
  std::uint64_t corrupt_dropped = 0;
  std::uint64_t evictions = 0;
  std::uint64_t bytes_on_disk = 0;
  std::uint64_t entries = 0;
  std::uint64_t io_errors = 0;

  static DiskCacheStatistics from_c(const JitcoreDiskCacheStatistics &s) noexcept {
    DiskCacheStatistics r;
    r.hits = s.Hits;
    r.misses = s.Misses;
    r.writes = s.Writes;
    r.corrupt_dropped = s.CorruptDropped;
    r.evictions = s.Evictions;
    r.bytes_on_disk = s.BytesOnDisk;
    r.entries = s.Entries;
    r.io_errors = s.IOErrors;
    return r;
  }
};

// ---------------------------------------------------------------------------
// Version and host checks
// ---------------------------------------------------------------------------

struct Version {
  unsigned major, minor, patch;
};
inline std::string version_string() { return JitcoreGetVersionString(); }
inline Version version() noexcept {
  Version v{0, 0, 0};
  JitcoreGetVersion(&v.major, &v.minor, &v.patch);
  return v;
}
// Throws Error(JitExecutionDenied) if this process may not map executable memory.
inline void check_jit_execution() { detail::check(JitcoreCheckJITExecution()); }

// ---------------------------------------------------------------------------
// Object buffers, target machines, modules
// ---------------------------------------------------------------------------

// An owned object file in memory (`JitcoreObjectBufferRef`): what an object
// cache's get_buffer and a materializer hand to jitcore.
class ObjectBuffer : public detail::Owner<JitcoreObjectBufferRef, JitcoreDisposeObjectBuffer> {
public:
  using Owner::Owner;

  // JitcoreCreateObjectBufferCopy: a buffer holding a copy of `bytes`.
  static ObjectBuffer copy(ByteView bytes) {
    JitcoreObjectBufferRef h = JitcoreCreateObjectBufferCopy(bytes.data(), bytes.size());
    if (!h)
      throw Error(ErrorCode::InvalidArgument, "jitcore::ObjectBuffer::copy: the buffer could not be made");
    return ObjectBuffer(h);
  }
};

// A description of the host machine at an opt level (`JitcoreTargetMachineRef`).
class TargetMachine : public detail::Owner<JitcoreTargetMachineRef, JitcoreDisposeTargetMachine> {
public:
  using Owner::Owner;

  static TargetMachine host(OptLevel level = OptLevel::O2) {
    JitcoreTargetMachineRef h = nullptr;
    detail::check(JitcoreCreateHostTargetMachine(&h, static_cast<JitcoreOptLevel>(level)));
    return TargetMachine(h);
  }

  std::string triple() const { return JitcoreTargetMachineGetTriple(get()); }

  // The handle; throws Error(InvalidArgument) if empty.
  JitcoreTargetMachineRef get() const { return checked("TargetMachine"); }
};

// A non-owning view of a module handle: what object cache callbacks get and
// what adding a module to an engine or dylib returns (to remove it later).
// jitcore recognizes dead module handles, so a view of a module that was
// freed is safe: its functions throw Error(InvalidArgument).
class ModuleView {
public:
  ModuleView() noexcept = default;
  explicit ModuleView(JitcoreModuleRef m) noexcept : h_(m) {}

  // Whether the handle names a live module.
  bool live() const noexcept { return h_ && JitcoreModuleGetName(h_) != nullptr; }
  std::string name() const {
    const char *n = JitcoreModuleGetName(get());
    if (!n)
      throw Error(ErrorCode::InvalidArgument, "jitcore::ModuleView::name: the module handle is not live");
    return n;
  }
  // The key (hex) inside an object cache callback: for the engine's or
  // session's own target and IR pipeline (JitcoreModuleGetKey with a NULL
  // target machine). Outside a callback it throws Error(InvalidArgument).
  std::string key() const { return hex_key(nullptr); }
  Key key_bytes() const {
    Key k{};
    detail::check(JitcoreModuleGetKey(get(), nullptr, k.data(), nullptr));
    return k;
  }
  // The key (hex) for `tm` under the default IR pipeline.
  std::string key(const TargetMachine &tm) const { return hex_key(tm.get()); }
  // The key (hex) for `tm` under an IR pipeline (JitcoreModuleGetKeyForPipeline).
  std::string key_for_pipeline(const TargetMachine &tm, IRPipeline kind, CStr passes = CStr()) const {
    char hex[JITCORE_MODULE_KEY_HEX_SIZE];
    detail::check(JitcoreModuleGetKeyForPipeline(get(), tm.get(), static_cast<JitcoreIRPipelineKind>(kind),
                                                 passes.c_str(), nullptr, hex));
    return hex;
  }

  JitcoreModuleRef native_handle() const noexcept { return h_; }
  JitcoreModuleRef get() const {
    if (!h_)
      detail::throw_empty("ModuleView");
    return h_;
  }
  friend bool operator==(ModuleView a, ModuleView b) noexcept { return a.h_ == b.h_; }
  friend bool operator!=(ModuleView a, ModuleView b) noexcept { return a.h_ != b.h_; }

private:
  std::string hex_key(JitcoreTargetMachineRef tm) const {
    char hex[JITCORE_MODULE_KEY_HEX_SIZE];
    detail::check(JitcoreModuleGetKey(get(), tm, nullptr, hex));
    return hex;
  }
  JitcoreModuleRef h_ = nullptr;
};

// An owned, parsed and verified module (`JitcoreModuleRef`). Adding it to an
// engine or a dylib moves it in (the Module is empty afterwards); if adding
// fails, the Module still owns it.
class Module : public detail::Owner<JitcoreModuleRef, JitcoreDisposeModule> {
public:
  using Owner::Owner;

  // Textual IR or bitcode (detected), named `name`. Throws InvalidIR with
  // the line and column.
  static Module from_ir(CStr name, std::string_view ir) {
    JitcoreModuleRef m = nullptr;
    detail::check(JitcoreCreateModuleFromIR(&m, name.c_str(), ir.data(), ir.size()));
    return Module(m);
  }
  static Module from_ir(CStr name, ByteView bitcode) {
    return from_ir(name, std::string_view(reinterpret_cast<const char *>(bitcode.data()), bitcode.size()));
  }
  // For input the host does not trust: parsed in a forked child first.
  static Module from_untrusted_ir(CStr name, std::string_view ir) {
    JitcoreModuleRef m = nullptr;
    detail::check(JitcoreCreateModuleFromUntrustedIR(&m, name.c_str(), ir.data(), ir.size()));
    return Module(m);
  }
  // A copy of a host's LLVM-C module (same libLLVM-22); the host keeps `m`.
  static Module from_llvm_module(struct LLVMOpaqueModule *m) {
    JitcoreModuleRef r = nullptr;
    detail::check(JitcoreCreateModuleFromLLVMModule(&r, m));
    return Module(r);
  }

  std::string name() const { return view().name(); }
  std::string key(const TargetMachine &tm) const { return view().key(tm); }
  std::string key_for_pipeline(const TargetMachine &tm, IRPipeline kind, CStr passes = CStr()) const {
    return view().key_for_pipeline(tm, kind, passes);
  }
  // A view of the handle (throws if empty).
  ModuleView view() const { return ModuleView(get()); }

  // The handle; throws Error(InvalidArgument) if empty.
  JitcoreModuleRef get() const { return checked("Module"); }
};

// ---------------------------------------------------------------------------
// Callback types
// ---------------------------------------------------------------------------

// Receives errors no call can return (a rejected cache entry, a failed lazy
// compile), and exceptions of callbacks that ran where no call could
// rethrow them (code Internal). Any thread, possibly several at once; must
// not call into its engine or session.
using ErrorReporter = std::function<void(ErrorCode code, std::string_view message)>;
// Told of each freshly compiled object; `object` is borrowed for the call.
using CacheNotify = std::function<void(ModuleView module, ByteView object)>;
// Asked before each compile: an empty ObjectBuffer means "compile".
using CacheGetBuffer = std::function<ObjectBuffer(ModuleView module)>;
// Whether a symbol source may provide `name`.
using SymbolFilter = std::function<bool(std::string_view name)>;
// What a materializer produces: a module or an object defining its symbols.
using Materialized = std::variant<Module, ObjectBuffer>;
// A custom materializer: called on the first lookup of any of its symbols
// with the names asked for; returns their code. It may be called on a
// compile thread, one call at a time, and must not call into its session.
using Materializer = std::function<Materialized(const std::vector<std::string> &symbols)>;
// What a call of a lazily compiled function that cannot be compiled does
// instead (Session::set_lazy_failure_handler): runs on the calling thread,
// in place of the function, with its name and the error (the C error is
// consumed). If it returns, the call returns zero. It may call into the
// session (for example to define the missing symbol).
using LazyFailureHandler = std::function<void(std::string_view function, const Error &error)>;

namespace detail {

struct OwnerState;

struct ReporterHolder {
  ErrorReporter fn;
  OwnerState *owner;
};
struct CacheHolder {
  CacheNotify notify;
  CacheGetBuffer get_buffer;
  OwnerState *owner;
};
struct FilterHolder {
  SymbolFilter fn;
  OwnerState *owner;
};
struct LazyFailureHolder {
  LazyFailureHandler fn;
  OwnerState *owner;
};

// What an engine or session shares with its views and callbacks. Holders
// of callbacks stay until the owner is gone: the C API may still call a
// replaced callback for a compile already under way.
struct OwnerState {
  std::mutex mu;
  std::vector<std::unique_ptr<ReporterHolder>> reporters;
  std::vector<std::unique_ptr<CacheHolder>> caches;
  std::vector<std::unique_ptr<FilterHolder>> filters;
  std::vector<std::unique_ptr<LazyFailureHolder>> lazy_handlers;
  std::atomic<ReporterHolder *> reporter{nullptr};
  std::atomic<std::uint64_t> dropped{0};

  template <class H> H *keep(std::vector<std::unique_ptr<H>> &v, std::unique_ptr<H> h) {
    std::lock_guard<std::mutex> lock(mu);
    v.push_back(std::move(h));
    return v.back().get();
  }
  // After the engine or session is disposed of nothing calls them any more:
  // views that keep this state do not keep the callbacks (and what they
  // capture) alive.
  void drop_callbacks() noexcept {
    std::lock_guard<std::mutex> lock(mu);
    reporter.store(nullptr);
    reporters.clear();
    caches.clear();
    filters.clear();
    lazy_handlers.clear();
  }
};

// A callback of `owner` threw: give the exception to the binding call on
// this thread, else to the owner's reporter, else count it.
inline void record_exception(OwnerState *owner, const char *callback, std::exception_ptr ep) noexcept {
  if (CallScope *s = CallScope::current()) {
    if (!s->pending)
      s->pending = ep;
    return;
  }
  if (!owner)
    return;
  ReporterHolder *r = owner->reporter.load();
  if (r && r->fn) {
    try {
      std::string msg = std::string("jitcore C++ binding: the ") + callback + " callback threw: " + describe(ep);
      r->fn(ErrorCode::Internal, msg);
      return;
    } catch (...) {
    }
  }
  owner->dropped.fetch_add(1);
}

inline void reporter_trampoline(void *ctx, JitcoreErrorCode code, const char *message) noexcept {
  auto *h = static_cast<ReporterHolder *>(ctx);
  try {
    h->fn(static_cast<ErrorCode>(code), message ? std::string_view(message) : std::string_view());
  } catch (...) {
    if (CallScope *s = CallScope::current()) {
      if (!s->pending)
        s->pending = std::current_exception();
    } else {
      h->owner->dropped.fetch_add(1);
    }
  }
}

inline void notify_trampoline(void *ctx, JitcoreModuleRef m, const std::uint8_t *object, std::size_t len) noexcept {
  auto *h = static_cast<CacheHolder *>(ctx);
  try {
    h->notify(ModuleView(m), ByteView(object, len));
  } catch (...) {
    record_exception(h->owner, "object cache notify", std::current_exception());
  }
}

inline JitcoreObjectBufferRef get_buffer_trampoline(void *ctx, JitcoreModuleRef m) noexcept {
  auto *h = static_cast<CacheHolder *>(ctx);
  try {
    return h->get_buffer(ModuleView(m)).release();
  } catch (...) {
    record_exception(h->owner, "object cache get_buffer", std::current_exception());
    return nullptr;
  }
}

inline int filter_trampoline(void *ctx, const char *name) noexcept {
  auto *h = static_cast<FilterHolder *>(ctx);
  try {
    return h->fn(name ? std::string_view(name) : std::string_view()) ? 1 : 0;
  } catch (...) {
    record_exception(h->owner, "symbol filter", std::current_exception());
    return 0;
  }
}

struct MaterializerHolder {
  Materializer fn;
};

inline JitcoreErrorRef materialize_trampoline(void *ctx, const char *const *symbols, std::size_t n,
                                              JitcoreModuleRef *module_out,
                                              JitcoreObjectBufferRef *object_out) noexcept {
  auto *h = static_cast<MaterializerHolder *>(ctx);
  // The C error the lookup fails with; the original exception goes to the
  // binding call on this thread, if any (which rethrows it instead).
  auto fail = [](ErrorCode code, const std::string &msg) noexcept -> JitcoreErrorRef {
    JitcoreErrorRef e = JitcoreCreateError(static_cast<unsigned>(code), msg.c_str());
    return e ? e : JitcoreCreateError(JITCORE_ERROR_INTERNAL, nullptr);
  };
  try {
    std::vector<std::string> names;
    names.reserve(n);
    for (std::size_t i = 0; i < n; i++)
      names.emplace_back(symbols[i] ? symbols[i] : "");
    Materialized r = h->fn(names);
    if (auto *m = std::get_if<Module>(&r)) {
      if (!*m)
        return fail(ErrorCode::InvalidArgument, "jitcore C++ binding: the materializer returned an empty Module");
      *module_out = m->release();
    } else {
      auto &o = std::get<ObjectBuffer>(r);
      if (!o)
        return fail(ErrorCode::InvalidArgument,
                    "jitcore C++ binding: the materializer returned an empty ObjectBuffer");
      *object_out = o.release();
    }
    return nullptr;
  } catch (...) {
    std::exception_ptr ep = std::current_exception();
    if (CallScope *s = CallScope::current()) {
      if (!s->pending)
        s->pending = ep;
    }
    try {
      std::rethrow_exception(ep);
    } catch (const Error &e) {
      return fail(e.code(), e.what());
    } catch (const std::exception &e) {
      return fail(ErrorCode::Internal, std::string("jitcore C++ binding: the materializer threw: ") + e.what());
    } catch (...) {
      return fail(ErrorCode::Internal, "jitcore C++ binding: the materializer threw a non-std exception");
    }
  }
}

inline void materializer_dispose_trampoline(void *ctx) noexcept { delete static_cast<MaterializerHolder *>(ctx); }

// The C error is consumed first (the handler owns it, and must consume it
// also if what follows fails); then the host's handler runs, guarded.
inline void lazy_failure_trampoline(void *ctx, const char *function, JitcoreErrorRef err) noexcept {
  auto *h = static_cast<LazyFailureHolder *>(ctx);
  try {
    Error e = take_error(err);
    h->fn(function ? std::string_view(function) : std::string_view(), e);
  } catch (...) {
    record_exception(h->owner, "lazy failure handler", std::current_exception());
  }
}

// Session::throw_on_lazy_failure: the failed call throws the error as a
// jitcore::Error, unwinding through the jitted frames (which the C API
// allows: its frames between the call and the handler have unwind
// information and are declared "C-unwind"). Inside a binding call (a
// constructor run by Dylib::initialize, a callback) it must not unwind: the
// error is recorded, the call returns zero and the binding call rethrows.
inline void lazy_throw_trampoline(void *ctx, const char *, JitcoreErrorRef err) {
  auto *owner = static_cast<OwnerState *>(ctx);
  if (CallScope::current()) {
    try {
      throw take_error(err);
    } catch (...) {
      record_exception(owner, "lazy failure", std::current_exception());
    }
    return;
  }
  throw take_error(err);
}

struct EngineState : OwnerState {
  JitcoreEngineRef ee = nullptr;
};
struct SessionState : OwnerState {
  JitcoreSessionRef s = nullptr;
};

inline void set_reporter(OwnerState &st, ErrorReporter fn,
                         void (*c_set)(void *handle, JitcoreErrorReporterFunction, void *), void *handle) {
  if (!fn) {
    st.reporter.store(nullptr);
    c_set(handle, nullptr, nullptr);
    return;
  }
  ReporterHolder *h = st.keep(st.reporters, std::unique_ptr<ReporterHolder>(new ReporterHolder{std::move(fn), &st}));
  st.reporter.store(h);
  c_set(handle, reporter_trampoline, h);
}

inline CacheHolder *make_cache(OwnerState &st, CacheNotify notify, CacheGetBuffer get_buffer) {
  if (!notify && !get_buffer)
    return nullptr;
  return st.keep(st.caches, std::unique_ptr<CacheHolder>(new CacheHolder{std::move(notify), std::move(get_buffer), &st}));
}

} // namespace detail

// ---------------------------------------------------------------------------
// Disk cache
// ---------------------------------------------------------------------------

// jitcore's on-disk object cache (`JitcoreObjectCacheRef`). Engines and
// sessions it is attached to keep it alive, so it may be destroyed right
// after attaching.
class DiskCache : public detail::Owner<JitcoreObjectCacheRef, JitcoreDisposeObjectCache> {
public:
  using Owner::Owner;

  // A cache in `directory` (created if missing), at most `max_bytes` (0: no cap).
  static DiskCache open(CStr directory, std::uint64_t max_bytes = 0) {
    JitcoreObjectCacheRef h = nullptr;
    detail::check(JitcoreCreateDiskCache(&h, directory.c_str(), max_bytes));
    return DiskCache(h);
  }

  DiskCacheStatistics statistics() const {
    JitcoreDiskCacheStatistics s{};
    detail::check(JitcoreDiskCacheGetStatisticsSized(get(), &s, sizeof s));
    return DiskCacheStatistics::from_c(s);
  }

  // The handle; throws Error(InvalidArgument) if empty.
  JitcoreObjectCacheRef get() const { return checked("DiskCache"); }
};

// ---------------------------------------------------------------------------
// Engine
// ---------------------------------------------------------------------------

// An engine's data layout (borrowed). Once its engine is gone its functions
// throw Error(InvalidArgument).
class TargetData {
public:
  TargetData() noexcept = default;
  unsigned pointer_size() const { return JitcoreTargetDataGetPointerSize(get()); }
  // ABI size and alignment of an IR type written as text ("i32", "{i64, ptr}").
  std::uint64_t abi_size(CStr ir_type) const {
    std::uint64_t r = 0;
    detail::check(JitcoreTargetDataGetABISize(get(), &r, ir_type.c_str()));
    return r;
  }
  std::uint64_t abi_alignment(CStr ir_type) const {
    std::uint64_t r = 0;
    detail::check(JitcoreTargetDataGetABIAlignment(get(), &r, ir_type.c_str()));
    return r;
  }
  JitcoreTargetDataRef native_handle() const noexcept { return td_; }

private:
  friend class Engine;
  TargetData(std::shared_ptr<detail::EngineState> st, JitcoreTargetDataRef td) : st_(std::move(st)), td_(td) {}
  JitcoreTargetDataRef get() const {
    if (!st_ || !st_->ee || !td_)
      throw Error(ErrorCode::InvalidArgument, "jitcore::TargetData: its engine is gone");
    return td_;
  }
  std::shared_ptr<detail::EngineState> st_;
  JitcoreTargetDataRef td_ = nullptr;
};

// An execution engine (`JitcoreEngineRef`): modules in, addresses out.
class Engine {
public:
  Engine() noexcept = default;
  Engine(Engine &&) noexcept = default;
  Engine &operator=(Engine &&o) noexcept {
    if (this != &o) {
      reset();
      st_ = std::move(o.st_);
    }
    return *this;
  }
  Engine(const Engine &) = delete;
  Engine &operator=(const Engine &) = delete;
  ~Engine() { reset(); }

  // An engine for the host at `level`.
  static Engine create(OptLevel level = OptLevel::O2) { return create(TargetMachine::host(level)); }
  // An engine for `tm` (copied; the caller keeps it).
  static Engine create(const TargetMachine &tm) {
    Module none;
    return create(tm, std::move(none));
  }
  // An engine for `tm` with `m` added; on failure `m` is still the caller's.
  static Engine create(const TargetMachine &tm, Module &&m) {
    Engine e;
    e.st_ = std::make_shared<detail::EngineState>();
    detail::check(JitcoreCreateMCJITCompiler(&e.st_->ee, m.native_handle(), tm.get()));
    m.release();
    return e;
  }

  // Adds `m` (the engine owns it from now on); returns a view to remove it.
  ModuleView add_module(Module &&m) {
    JitcoreEngineRef ee = get();
    ModuleView v(m.get());
    detail::call([&] { return JitcoreEngineAddModule(ee, v.native_handle()); });
    m.release();
    return v;
  }
  // Removes a module (frees its code) and gives it back.
  Module remove_module(ModuleView m) {
    JitcoreEngineRef ee = get();
    detail::call([&] { return JitcoreEngineRemoveModule(ee, m.get()); });
    return Module(m.native_handle());
  }
  void finalize() {
    JitcoreEngineRef ee = get();
    detail::call([&] { return JitcoreEngineFinalizeObject(ee); });
  }
  std::uint64_t function_address(CStr name) {
    JitcoreEngineRef ee = get();
    std::uint64_t a = 0;
    detail::call([&] { return JitcoreEngineGetFunctionAddress(ee, &a, name.c_str()); });
    return a;
  }
  std::uint64_t global_address(CStr name) {
    JitcoreEngineRef ee = get();
    std::uint64_t a = 0;
    detail::call([&] { return JitcoreEngineGetGlobalValueAddress(ee, &a, name.c_str()); });
    return a;
  }
  // Typed lookup: engine.function<int(int, int)>("sum")(2, 3).
  template <class Sig> Function<Sig> function(CStr name) { return Function<Sig>(function_address(name)); }
  // The address of a global variable as a T*.
  template <class T> T *global(CStr name) {
    return detail::from_address<T *>(global_address(name));
  }

  void add_object_file(CStr path) {
    JitcoreEngineRef ee = get();
    detail::call([&] { return JitcoreEngineAddObjectFile(ee, path.c_str()); });
  }
  void add_object_buffer(ByteView object) {
    JitcoreEngineRef ee = get();
    detail::call([&] { return JitcoreEngineAddObjectBuffer(ee, object.data(), object.size()); });
  }
  void add_global_mapping(CStr name, std::uint64_t address) {
    JitcoreEngineRef ee = get();
    detail::call([&] { return JitcoreEngineAddGlobalMapping(ee, name.c_str(), address); });
  }
  template <class T> void add_global_mapping(CStr name, T *p) { add_global_mapping(name, address_of(p)); }

  void run_static_constructors() {
    JitcoreEngineRef ee = get();
    detail::call([&] { return JitcoreEngineRunStaticConstructors(ee); });
  }
  void run_static_destructors() {
    JitcoreEngineRef ee = get();
    detail::call([&] { return JitcoreEngineRunStaticDestructors(ee); });
  }

  TargetData target_data() const { return TargetData(st_, JitcoreEngineGetTargetData(get())); }

  void set_ir_pipeline(IRPipeline kind, CStr passes = CStr()) {
    JitcoreEngineRef ee = get();
    detail::call([&] { return JitcoreEngineSetIRPipeline(ee, static_cast<JitcoreIRPipelineKind>(kind), passes.c_str()); });
  }
  // An empty function removes the reporter.
  void set_error_reporter(ErrorReporter fn) {
    JitcoreEngineRef ee = get();
    detail::set_reporter(*st_, std::move(fn), &c_set_reporter, ee);
  }
  // Host object cache; either may be empty, both empty removes it.
  void set_object_cache(CacheNotify notify, CacheGetBuffer get_buffer) {
    JitcoreEngineRef ee = get();
    detail::CacheHolder *h = detail::make_cache(*st_, std::move(notify), std::move(get_buffer));
    JitcoreEngineSetObjectCache(ee, h && h->notify ? detail::notify_trampoline : nullptr,
                                h && h->get_buffer ? detail::get_buffer_trampoline : nullptr, h);
  }
  void clear_object_cache() { set_object_cache(nullptr, nullptr); }
  // Attaches a disk cache (replacing any object cache).
  void set_disk_cache(const DiskCache &cache) { JitcoreEngineSetDiskCache(get(), cache.get()); }

  Statistics statistics() const {
    JitcoreStatistics s{};
    detail::check(JitcoreEngineGetStatisticsSized(get(), &s, sizeof s));
    return Statistics::from_c(s);
  }
  // Callback exceptions no call could rethrow and no reporter took.
  std::uint64_t dropped_callback_exceptions() const { return state().dropped.load(); }

  explicit operator bool() const noexcept { return st_ && st_->ee; }
  // Disposes of the engine (its code, its modules); the Engine is empty after.
  void reset() noexcept {
    if (st_ && st_->ee) {
      JitcoreDisposeEngine(st_->ee);
      st_->ee = nullptr;
      st_->drop_callbacks();
    }
    st_.reset();
  }
  JitcoreEngineRef native_handle() const noexcept { return st_ ? st_->ee : nullptr; }
  JitcoreEngineRef get() const {
    if (!st_ || !st_->ee)
      detail::throw_empty("Engine");
    return st_->ee;
  }

private:
  static void c_set_reporter(void *h, JitcoreErrorReporterFunction f, void *ctx) {
    JitcoreEngineSetErrorReporter(static_cast<JitcoreEngineRef>(h), f, ctx);
  }
  detail::EngineState &state() const {
    get();
    return *st_;
  }
  std::shared_ptr<detail::EngineState> st_;
};

// ---------------------------------------------------------------------------
// Session, dylibs, trackers
// ---------------------------------------------------------------------------

// A resource tracker (`JitcoreResourceTrackerRef`): what was added under it
// is removed as one by remove(). Destroying it without remove() keeps the
// code loaded (under the dylib's default tracker), as in ORC.
class ResourceTracker : public detail::Owner<JitcoreResourceTrackerRef, JitcoreDisposeResourceTracker> {
public:
  using Owner::Owner;

  // Removes everything added under the tracker (code, data, symbols, modules).
  void remove() {
    JitcoreResourceTrackerRef rt = get();
    detail::call([&] { return JitcoreResourceTrackerRemove(rt); });
  }

  // The handle; throws Error(InvalidArgument) if empty.
  JitcoreResourceTrackerRef get() const { return checked("ResourceTracker"); }
};

// Options of a session; the constructor takes the library's defaults
// (JitcoreSessionOptionsInit): O2, no compile threads, eager, no debugger or perf.
struct SessionOptions {
  OptLevel opt_level;
  unsigned compile_threads;
  bool lazy_by_default;
  bool enable_debugger;
  bool enable_perf;

  SessionOptions() noexcept {
    JitcoreSessionOptions o;
    JitcoreSessionOptionsInitSized(&o, sizeof o);
    opt_level = static_cast<OptLevel>(o.OptLevel);
    compile_threads = o.CompileThreads;
    lazy_by_default = o.LazyByDefault != 0;
    enable_debugger = o.EnableDebugger != 0;
    enable_perf = o.EnablePerf != 0;
  }
  JitcoreSessionOptions to_c() const noexcept {
    JitcoreSessionOptions o;
    JitcoreSessionOptionsInitSized(&o, sizeof o);
    o.OptLevel = static_cast<JitcoreOptLevel>(opt_level);
    o.CompileThreads = compile_threads;
    o.LazyByDefault = lazy_by_default;
    o.EnableDebugger = enable_debugger;
    o.EnablePerf = enable_perf;
    return o;
  }
};

// A JITDylib: a non-owning view; the session owns the dylib. Copyable. Once
// the session is gone, its functions throw Error(InvalidArgument).
class Dylib {
public:
  Dylib() noexcept = default;

  std::string name() const {
    const char *n = JitcoreDylibGetName(get());
    if (!n)
      throw Error(ErrorCode::InvalidArgument, "jitcore::Dylib: its session is gone");
    return n;
  }

  // The dylibs this one links against, in order (replaces the previous order).
  void set_link_order(const std::vector<Dylib> &order) {
    JitcoreDylibRef d = get();
    std::vector<JitcoreDylibRef> raw;
    raw.reserve(order.size());
    for (const Dylib &o : order)
      raw.push_back(o.get());
    detail::call([&] { return JitcoreDylibSetLinkOrder(d, raw.data(), raw.size()); });
  }

  // Adds `m` (the session owns it from now on), under `rt` or the default tracker.
  ModuleView add_module(Module &&m) { return add(std::move(m), nullptr, false); }
  ModuleView add_module(Module &&m, const ResourceTracker &rt) { return add(std::move(m), rt.get(), false); }
  // Adds `m` compiled one function at a time, on first call.
  ModuleView add_module_lazy(Module &&m) { return add(std::move(m), nullptr, true); }
  ModuleView add_module_lazy(Module &&m, const ResourceTracker &rt) { return add(std::move(m), rt.get(), true); }

  void add_object(ByteView object) { add_obj(object, nullptr); }
  void add_object(ByteView object, const ResourceTracker &rt) { add_obj(object, rt.get()); }

  // Host addresses under names, for the life of the dylib.
  void define_absolute_symbols(const std::vector<SymbolDefinition> &symbols) {
    JitcoreDylibRef d = get();
    std::vector<JitcoreSymbolDefinition> raw;
    raw.reserve(symbols.size());
    for (const SymbolDefinition &s : symbols)
      raw.push_back(JitcoreSymbolDefinition{s.name.c_str(), s.address});
    detail::call([&] { return JitcoreDylibDefineAbsoluteSymbols(d, raw.data(), raw.size()); });
  }
  template <class T> void define_absolute_symbol(const std::string &name, T *p) {
    define_absolute_symbols({SymbolDefinition{name, address_of(p)}});
  }

  // Symbol sources. An empty filter allows every symbol. Filters live until
  // the session is gone.
  void add_process_symbols(SymbolFilter filter = SymbolFilter()) {
    JitcoreDylibRef d = get();
    detail::FilterHolder *h = keep_filter(std::move(filter));
    detail::call([&] { return JitcoreDylibAddProcessSymbols(d, h ? detail::filter_trampoline : nullptr, h); });
  }
  void add_library_symbols(CStr path, SymbolFilter filter = SymbolFilter()) {
    JitcoreDylibRef d = get();
    detail::FilterHolder *h = keep_filter(std::move(filter));
    detail::call([&] {
      return JitcoreDylibAddLibrarySymbols(d, path.c_str(), h ? detail::filter_trampoline : nullptr, h);
    });
  }
  void add_archive(CStr path) {
    JitcoreDylibRef d = get();
    detail::call([&] { return JitcoreDylibAddArchive(d, path.c_str()); });
  }

  // A custom materializer defining `symbols` (as functions); `fn` runs on
  // the first lookup of any of them. `fn` is destroyed when the tracker is
  // removed or the session is gone.
  void add_materializer(const std::vector<std::string> &symbols, Materializer fn) {
    add_mat(symbols, std::move(fn), nullptr);
  }
  void add_materializer(const std::vector<std::string> &symbols, Materializer fn, const ResourceTracker &rt) {
    add_mat(symbols, std::move(fn), rt.get());
  }

  // Runs the static constructors due in this dylib and its link order
  // (JitcoreDylibInitialize); deinitialize() runs the exit handlers jitted
  // code registered, then the static destructors (JitcoreDylibDeinitialize).
  void initialize() {
    JitcoreDylibRef d = get();
    detail::call([&] { return JitcoreDylibInitialize(d); });
  }
  void deinitialize() {
    JitcoreDylibRef d = get();
    detail::call([&] { return JitcoreDylibDeinitialize(d); });
  }

  ResourceTracker create_resource_tracker() {
    JitcoreResourceTrackerRef rt = JitcoreDylibCreateResourceTracker(get());
    if (!rt)
      throw Error(ErrorCode::InvalidArgument, "jitcore::Dylib::create_resource_tracker: its session is gone");
    return ResourceTracker(rt);
  }

  // Looks `name` up from this dylib as a dynamic linker would.
  std::uint64_t lookup(CStr name) const {
    JitcoreDylibRef d = get();
    JitcoreSessionRef s = st_->s;
    std::uint64_t a = 0;
    detail::call([&] { return JitcoreSessionLookup(s, d, &a, name.c_str()); });
    return a;
  }
  // Looks several names up at once (compiled together).
  std::vector<std::uint64_t> lookup_many(const std::vector<std::string> &names) const {
    JitcoreDylibRef d = get();
    JitcoreSessionRef s = st_->s;
    std::vector<const char *> raw;
    raw.reserve(names.size());
    for (const std::string &n : names)
      raw.push_back(n.c_str());
    std::vector<std::uint64_t> out(names.size());
    detail::call([&] { return JitcoreSessionLookupMany(s, d, out.data(), raw.data(), raw.size()); });
    return out;
  }
  template <class Sig> Function<Sig> function(CStr name) const { return Function<Sig>(lookup(name)); }
  template <class T> T *global(CStr name) const {
    return detail::from_address<T *>(lookup(name));
  }

  JitcoreDylibRef native_handle() const noexcept { return d_; }
  JitcoreDylibRef get() const {
    if (!st_ || !d_)
      detail::throw_empty("Dylib");
    if (!st_->s)
      throw Error(ErrorCode::InvalidArgument, "jitcore::Dylib: its session is gone");
    return d_;
  }
  friend bool operator==(const Dylib &a, const Dylib &b) noexcept { return a.d_ == b.d_; }
  friend bool operator!=(const Dylib &a, const Dylib &b) noexcept { return a.d_ != b.d_; }

private:
  friend class Session;
  Dylib(std::shared_ptr<detail::SessionState> st, JitcoreDylibRef d) : st_(std::move(st)), d_(d) {}

  ModuleView add(Module &&m, JitcoreResourceTrackerRef rt, bool lazy) {
    JitcoreDylibRef d = get();
    ModuleView v(m.get());
    detail::call([&] {
      return lazy ? JitcoreDylibAddModuleLazy(d, v.native_handle(), rt) : JitcoreDylibAddModule(d, v.native_handle(), rt);
    });
    m.release();
    return v;
  }
  void add_obj(ByteView object, JitcoreResourceTrackerRef rt) {
    JitcoreDylibRef d = get();
    detail::call([&] { return JitcoreDylibAddObjectBuffer(d, object.data(), object.size(), rt); });
  }
  detail::FilterHolder *keep_filter(SymbolFilter filter) {
    if (!filter)
      return nullptr;
    return st_->keep(st_->filters, std::unique_ptr<detail::FilterHolder>(new detail::FilterHolder{std::move(filter), st_.get()}));
  }
  void add_mat(const std::vector<std::string> &symbols, Materializer fn, JitcoreResourceTrackerRef rt) {
    JitcoreDylibRef d = get();
    if (!fn)
      throw Error(ErrorCode::InvalidArgument, "jitcore::Dylib::add_materializer: empty materializer function");
    std::vector<const char *> raw;
    raw.reserve(symbols.size());
    for (const std::string &s : symbols)
      raw.push_back(s.c_str());
    // From here the C API owns the holder: it calls the dispose trampoline
    // exactly once, also when adding fails.
    auto *h = new detail::MaterializerHolder{std::move(fn)};
    detail::call([&] {
      return JitcoreDylibAddMaterializer(d, raw.data(), raw.size(), detail::materialize_trampoline,
                                         detail::materializer_dispose_trampoline, h, rt);
    });
  }

  std::shared_ptr<detail::SessionState> st_;
  JitcoreDylibRef d_ = nullptr;
};

// An ORC session (`JitcoreSessionRef`) with JITDylibs, link order, trackers,
// lazy and concurrent compilation.
class Session {
public:
  Session() noexcept = default;
  Session(Session &&) noexcept = default;
  Session &operator=(Session &&o) noexcept {
    if (this != &o) {
      reset();
      st_ = std::move(o.st_);
    }
    return *this;
  }
  Session(const Session &) = delete;
  Session &operator=(const Session &) = delete;
  ~Session() { reset(); }

  static Session create(const SessionOptions &options = SessionOptions()) {
    JitcoreSessionOptions o = options.to_c();
    Session s;
    s.st_ = std::make_shared<detail::SessionState>();
    detail::check(JitcoreCreateSessionSized(&s.st_->s, &o, sizeof o));
    return s;
  }

  Dylib main_dylib() const { return Dylib(st_, JitcoreSessionGetMainDylib(get())); }
  Dylib create_dylib(CStr name) {
    JitcoreSessionRef s = get();
    JitcoreDylibRef d = nullptr;
    detail::call([&] { return JitcoreSessionCreateDylib(s, &d, name.c_str()); });
    return Dylib(st_, d);
  }
  // The dylib named `name` ("main" is the main one), if there is one.
  std::optional<Dylib> dylib(CStr name) const {
    JitcoreDylibRef d = JitcoreSessionGetDylibByName(get(), name.c_str());
    if (!d)
      return std::nullopt;
    return Dylib(st_, d);
  }

  // Lookups from the main dylib (use Dylib::lookup for another).
  std::uint64_t lookup(CStr name) const { return main_dylib().lookup(name); }
  std::vector<std::uint64_t> lookup_many(const std::vector<std::string> &names) const {
    return main_dylib().lookup_many(names);
  }
  template <class Sig> Function<Sig> function(CStr name) const { return Function<Sig>(lookup(name)); }
  template <class T> T *global(CStr name) const { return main_dylib().global<T>(name); }

  void set_ir_pipeline(IRPipeline kind, CStr passes = CStr()) {
    JitcoreSessionRef s = get();
    detail::call([&] { return JitcoreSessionSetIRPipeline(s, static_cast<JitcoreIRPipelineKind>(kind), passes.c_str()); });
  }
  void set_error_reporter(ErrorReporter fn) {
    JitcoreSessionRef s = get();
    detail::set_reporter(*st_, std::move(fn), &c_set_reporter, s);
  }
  // What a failed call of a lazily compiled function does: `fn` runs in its
  // place, and the call returns zero. An exception from `fn` is caught at
  // the C boundary: rethrown by the binding call running on the thread if
  // there is one (Dylib::initialize running a constructor), else given to
  // the error reporter (or dropped and counted). An empty `fn` restores the
  // library's default: a line on stderr and abort().
  void set_lazy_failure_handler(LazyFailureHandler fn) {
    JitcoreSessionRef s = get();
    if (!fn) {
      JitcoreSessionSetLazyFailureHandler(s, nullptr, nullptr);
      return;
    }
    auto *h = st_->keep(st_->lazy_handlers,
                        std::unique_ptr<detail::LazyFailureHolder>(new detail::LazyFailureHolder{std::move(fn), st_.get()}));
    JitcoreSessionSetLazyFailureHandler(s, detail::lazy_failure_trampoline, h);
  }
  // A failed call of a lazily compiled function throws jitcore::Error (the
  // code of the cause, UnresolvedSymbol for a missing symbol, and a message
  // naming the function) out of the call, to the host code that called
  // jitted code. The exception unwinds through the jitted frames between:
  // those need unwind tables (LLVM emits them for functions not marked
  // nounwind, and for uwtable ones; clang's C and C++ have them). Inside a
  // binding call (a constructor run by Dylib::initialize) it is not thrown
  // through jitted code: the call returns zero and the binding call
  // rethrows the error.
  void throw_on_lazy_failure() {
    JitcoreSessionSetLazyFailureHandler(get(), detail::lazy_throw_trampoline, st_.get());
  }
  void set_object_cache(CacheNotify notify, CacheGetBuffer get_buffer) {
    JitcoreSessionRef s = get();
    detail::CacheHolder *h = detail::make_cache(*st_, std::move(notify), std::move(get_buffer));
    JitcoreSessionSetObjectCache(s, h && h->notify ? detail::notify_trampoline : nullptr,
                                 h && h->get_buffer ? detail::get_buffer_trampoline : nullptr, h);
  }
  void clear_object_cache() { set_object_cache(nullptr, nullptr); }
  void set_disk_cache(const DiskCache &cache) { JitcoreSessionSetDiskCache(get(), cache.get()); }

  Statistics statistics() const {
    JitcoreStatistics st{};
    detail::check(JitcoreSessionGetStatisticsSized(get(), &st, sizeof st));
    return Statistics::from_c(st);
  }
  std::uint64_t dropped_callback_exceptions() const {
    get();
    return st_->dropped.load();
  }

  explicit operator bool() const noexcept { return st_ && st_->s; }
  // Disposes of the session (code, modules, dylibs); Dylib views then throw.
  void reset() noexcept {
    if (st_ && st_->s) {
      JitcoreDisposeSession(st_->s);
      st_->s = nullptr;
      st_->drop_callbacks();
    }
    st_.reset();
  }
  JitcoreSessionRef native_handle() const noexcept { return st_ ? st_->s : nullptr; }
  JitcoreSessionRef get() const {
    if (!st_ || !st_->s)
      detail::throw_empty("Session");
    return st_->s;
  }

private:
  static void c_set_reporter(void *h, JitcoreErrorReporterFunction f, void *ctx) {
    JitcoreSessionSetErrorReporter(static_cast<JitcoreSessionRef>(h), f, ctx);
  }
  std::shared_ptr<detail::SessionState> st_;
};

} // namespace jitcore

#endif // JITCORE_HPP
