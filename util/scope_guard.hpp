// Undo on failure: the one rollback idiom. A ScopeGuard runs its function when it goes out of
// scope, unless dismiss() was called first; a multi-step operation arms one after each step that
// must be undone if a later step throws, and dismisses them all once it has succeeded.
//
//   create(x);
//   util::ScopeGuard undo([&]() noexcept { remove(x); });
//   step2();  // throws: x is removed
//   undo.dismiss();
//
// The function runs in a destructor, during unwinding: it must not throw (it is called as
// noexcept; catch and log inside it).
#pragma once

#include <type_traits>
#include <utility>

namespace sixrd::util {

template <class F>
class [[nodiscard]] ScopeGuard {
 public:
  static_assert(std::is_nothrow_invocable_v<F&>, "an undo function must be noexcept");
  explicit ScopeGuard(F undo) noexcept(std::is_nothrow_move_constructible_v<F>)
      : undo_(std::move(undo)) {}
  ScopeGuard(const ScopeGuard&) = delete;
  ScopeGuard& operator=(const ScopeGuard&) = delete;
  ~ScopeGuard() {
    if (armed_) undo_();
  }
  void dismiss() noexcept { armed_ = false; }

 private:
  F undo_;
  bool armed_ = true;
};

}  // namespace sixrd::util
