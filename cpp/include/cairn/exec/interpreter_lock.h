// The seam between executors and an embedding interpreter (the Python GIL).
#pragma once

namespace cairn {

/// Lets a ThreadPool run tasks that need an interpreter lock without exec depending on
/// Python. The pool calls these only from its own worker threads; an implementation keeps
/// whatever per-thread state it needs (a PyThreadState) in thread-local storage.
class InterpreterLock {
 public:
  virtual ~InterpreterLock() = default;
  /// Takes the lock for the calling worker thread; blocks until it is held.
  virtual void Acquire() = 0;
  /// Gives the lock back. Called only by a thread that holds it.
  virtual void Release() = 0;
  /// Called once on each worker thread just before it exits, without the lock held.
  virtual void ThreadExit() {}
};

}  // namespace cairn
