// A small fixed thread pool with one operation: run task indices [0, count) on all workers
// and the calling thread, dynamically scheduled. Results never depend on which worker runs a
// task: callers write each task's output to its own slot and combine slots in index order.
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <exception>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

namespace dgeval {
namespace detail {

class ThreadPool {
 public:
  /// threads = total workers including the caller; 0 = std::thread::hardware_concurrency().
  explicit ThreadPool(int threads = 0);
  ~ThreadPool();
  ThreadPool(const ThreadPool&) = delete;
  ThreadPool& operator=(const ThreadPool&) = delete;

  int size() const { return static_cast<int>(workers_.size()) + 1; }

  /// Calls fn(task, worker) for every task in [0, count); worker in [0, size()). Blocks until
  /// all are done. The first exception thrown by a task is rethrown here (remaining tasks are
  /// skipped). Not reentrant: do not call from inside fn.
  void parallel_for(std::int64_t count, const std::function<void(std::int64_t, int)>& fn);

 private:
  void worker_loop(int worker);
  void run_tasks(int worker);

  std::vector<std::thread> workers_;
  std::mutex mutex_;
  std::condition_variable wake_;
  std::condition_variable done_;
  const std::function<void(std::int64_t, int)>* fn_ = nullptr;
  std::int64_t count_ = 0;
  std::atomic<std::int64_t> next_{0};
  std::atomic<bool> failed_{false};
  std::exception_ptr error_;
  std::uint64_t generation_ = 0;
  int busy_ = 0;
  bool stop_ = false;
};

}  // namespace detail
}  // namespace dgeval
