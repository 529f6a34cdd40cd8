#include "pack_appender.h"

namespace cairn::store {
namespace {
constexpr uint64_t kMaxQueued = 64ull << 20;
}  // namespace

PackAppender::PackAppender(std::unique_ptr<PackWriter> writer)
    : writer_(std::move(writer)), thread_([this] { Loop(); }) {}

PackAppender::~PackAppender() {
  if (thread_.joinable()) (void)Finish();
}

Status PackAppender::Push(ObjectType type, const Digest& id, uint64_t raw_size, Codec codec,
                          StoredBytes stored) {
  std::unique_lock lock(mutex_);
  space_.wait(lock, [this] { return !error_.ok() || queued_bytes_ < kMaxQueued; });
  if (!error_.ok()) return error_;
  const size_t size = stored.bytes().size();
  if (!stored.keep) {
    queued_bytes_ += size;
  } else if (pins_[stored.keep.get()]++ == 0) {
    queued_bytes_ += stored.pinned;
  }
  pushed_bytes_ += kEntryHeaderSize + size;
  queue_.push_back({type, id, raw_size, codec, std::move(stored)});
  ready_.notify_one();
  return Status::OK();
}

void PackAppender::Loop() {
  while (true) {
    Item item;
    {
      std::unique_lock lock(mutex_);
      ready_.wait(lock, [this] { return done_ || !queue_.empty(); });
      if (queue_.empty()) return;
      item = std::move(queue_.front());
      queue_.pop_front();
    }
    bool failed;
    {
      std::lock_guard lock(mutex_);
      failed = !error_.ok();
    }
    const std::string_view bytes = item.stored.bytes();
    Status st = failed ? Status::OK()
                       : writer_->Append(item.type, item.id, item.raw_size, item.codec,
                                         bytes.data(), bytes.size());
    const void* pin = item.stored.keep.get();
    const size_t pinned = item.stored.pinned;
    item.stored = {};  // the block it viewed can be reused
    std::lock_guard lock(mutex_);
    if (pin == nullptr) {
      queued_bytes_ -= bytes.size();
    } else if (--pins_[pin] == 0) {
      pins_.erase(pin);
      queued_bytes_ -= pinned;
    }
    if (!st.ok() && error_.ok()) error_ = st;
    space_.notify_one();
  }
}

Result<std::unique_ptr<PackWriter>> PackAppender::Finish() {
  {
    std::lock_guard lock(mutex_);
    done_ = true;
    ready_.notify_one();
  }
  thread_.join();
  if (!error_.ok()) return error_;
  return std::move(writer_);
}

}  // namespace cairn::store
