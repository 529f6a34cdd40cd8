#include "pack_appender.h"

namespace cairn::store {
namespace {
constexpr uint64_t kMaxQueued = 32ull << 20;
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
  queued_bytes_ += size;
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
    const std::string_view bytes = item.stored.bytes();
    Status st = error_.ok() ? writer_->Append(item.type, item.id, item.raw_size, item.codec,
                                              bytes.data(), bytes.size())
                            : Status::OK();
    item.stored = {};  // the block it viewed can be reused
    std::lock_guard lock(mutex_);
    queued_bytes_ -= bytes.size();
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
