// Hand-written single-pass word count: the practical speed limit cairn's native Bag path is
// measured against (benchmarks/wordcount.py). mmap each file, split it into per-thread
// ranges at line boundaries, tokenize on ASCII whitespace (what str.split() does for ASCII
// text), count in a per-thread open-addressing table, merge, print the top k.
//
//   g++ -O3 -std=c++20 -pthread wordcount_ref.cc -o wordcount_ref
//   ./wordcount_ref THREADS K FILE...
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

namespace {

bool IsSpace(unsigned char c) { return (c >= 9 && c <= 13) || (c >= 28 && c <= 32); }

// Words of up to 16 bytes are kept in the slot as two zero-padded 8-byte words, so a lookup
// compares two integers and never touches the corpus again (no memcmp, no pointer chase).
struct Key {
  uint64_t w0 = 0, w1 = 0;
};

Key LoadKey(const char* p, size_t n) {
  Key k;
  std::memcpy(&k.w0, p, std::min<size_t>(n, 8));
  if (n > 8) std::memcpy(&k.w1, p + 8, std::min<size_t>(n - 8, 8));
  return k;
}

uint64_t Mix(uint64_t h) {
  h *= 0x9E3779B97F4A7C15ull;
  return h ^ (h >> 29);
}

uint64_t Hash(const char* p, size_t n, const Key& k) {
  uint64_t h = Mix(Mix(n ^ k.w0) ^ k.w1);
  for (size_t i = 16; i < n; i += 8) {
    uint64_t w = 0;
    std::memcpy(&w, p + i, std::min<size_t>(n - i, 8));
    h = Mix(h ^ w);
  }
  return h ^ (h >> 32);
}

struct Table {
  struct Slot {
    uint64_t hash = 0;
    Key key;
    const char* data = nullptr;  // the word in the mmap'd corpus
    uint32_t len = 0;
    int64_t count = 0;
  };
  std::vector<Slot> slots = std::vector<Slot>(1 << 16);
  size_t used = 0;

  void Add(const char* data, uint32_t len, const Key& key, uint64_t h, int64_t count) {
    size_t mask = slots.size() - 1;
    for (size_t i = h & mask;; i = (i + 1) & mask) {
      Slot& s = slots[i];
      if (s.data == nullptr) {
        s = Slot{h, key, data, len, count};
        if (++used * 2 > slots.size()) Grow();
        return;
      }
      if (s.hash == h && s.len == len && s.key.w0 == key.w0 && s.key.w1 == key.w1 &&
          (len <= 16 || std::memcmp(s.data + 16, data + 16, len - 16) == 0)) {
        s.count += count;
        return;
      }
    }
  }
  void Grow() {
    std::vector<Slot> old(slots.size() * 2);
    old.swap(slots);
    used = 0;
    for (const Slot& s : old) {
      if (s.data != nullptr) Add(s.data, s.len, s.key, s.hash, s.count);
    }
  }
};

void CountRange(const char* begin, const char* end, Table* table) {
  const char* p = begin;
  while (p < end) {
    while (p < end && IsSpace(static_cast<unsigned char>(*p))) ++p;
    const char* start = p;
    while (p < end && !IsSpace(static_cast<unsigned char>(*p))) ++p;
    if (p > start) {
      auto len = static_cast<uint32_t>(p - start);
      Key key = LoadKey(start, len);
      table->Add(start, len, key, Hash(start, len, key), 1);
    }
  }
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 4) {
    std::fprintf(stderr, "usage: %s THREADS K FILE...\n", argv[0]);
    return 2;
  }
  int threads = std::atoi(argv[1]);
  int k = std::atoi(argv[2]);
  struct Range {
    const char* begin;
    const char* end;
  };
  std::vector<Range> ranges;
  for (int f = 3; f < argc; ++f) {
    int fd = open(argv[f], O_RDONLY);
    if (fd < 0) {
      std::perror(argv[f]);
      return 1;
    }
    struct stat st;
    fstat(fd, &st);
    if (st.st_size == 0) continue;
    auto* data = static_cast<const char*>(mmap(nullptr, st.st_size, PROT_READ, MAP_PRIVATE, fd, 0));
    madvise(const_cast<char*>(data), st.st_size, MADV_SEQUENTIAL);
    const char* end = data + st.st_size;
    size_t piece = st.st_size / threads + 1;
    const char* p = data;
    while (p < end) {
      const char* q = std::min(end, p + piece);
      while (q < end && *q != '\n') ++q;
      if (q < end) ++q;
      ranges.push_back({p, q});
      p = q;
    }
  }
  std::vector<Table> tables(ranges.size());
  std::vector<std::thread> pool;
  std::atomic<size_t> next{0};
  for (int t = 0; t < threads; ++t) {
    pool.emplace_back([&] {
      for (size_t i; (i = next++) < ranges.size();) CountRange(ranges[i].begin, ranges[i].end, &tables[i]);
    });
  }
  for (auto& t : pool) t.join();
  Table total;
  for (auto& t : tables) {
    for (const auto& s : t.slots) {
      if (s.data != nullptr) total.Add(s.data, s.len, s.key, s.hash, s.count);
    }
  }
  std::vector<const Table::Slot*> all;
  for (const auto& s : total.slots) {
    if (s.data != nullptr) all.push_back(&s);
  }
  k = std::min<int>(k, static_cast<int>(all.size()));
  std::partial_sort(all.begin(), all.begin() + k, all.end(),
                    [](auto* a, auto* b) { return a->count > b->count; });
  for (int i = 0; i < k; ++i) {
    std::printf("%.*s\t%lld\n", static_cast<int>(all[i]->len), all[i]->data,
                static_cast<long long>(all[i]->count));
  }
  return 0;
}
