// The values that flow between tasks.
#pragma once

#include <memory>
#include <utility>

namespace cairn {

/// A task's result. Executors hold values through ValuePtr and drop their reference as soon
/// as the last consumer has run, so a subclass's destructor frees the data at that moment.
/// Subclasses must be safe to destroy from any thread.
class Value {
 public:
  virtual ~Value() = default;
};

using ValuePtr = std::shared_ptr<Value>;

/// A plain C++ value carried through the graph (native kernels use it for their outputs).
template <typename T>
class BoxedValue final : public Value {
 public:
  explicit BoxedValue(T value) : value(std::move(value)) {}
  T value;
};

template <typename T>
ValuePtr MakeValue(T value) {
  return std::make_shared<BoxedValue<T>>(std::move(value));
}

/// Returns the boxed T inside `value`, or nullptr when it holds something else.
template <typename T>
const T* ValueAs(const ValuePtr& value) {
  auto* boxed = dynamic_cast<const BoxedValue<T>*>(value.get());
  return boxed ? &boxed->value : nullptr;
}

}  // namespace cairn
