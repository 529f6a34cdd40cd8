#include "cairn/store/formats.h"

#include <algorithm>
#include <charconv>
#include <cstring>

#include "cairn/text/utf8.h"
#include "little_endian.h"

namespace cairn::store {
namespace {

constexpr std::string_view kRecipeMagic = "CAIRNRC1";
constexpr std::string_view kManifestHeader = "cairn-manifest 1";
constexpr std::string_view kPointerHeader = "cairn-pointer 1";
constexpr size_t kRecipeChunkSize = 36;

bool ParseUint(std::string_view s, uint64_t* out) {
  if (s.empty() || (s.size() > 1 && s[0] == '0')) return false;
  auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), *out);
  return ec == std::errc() && end == s.data() + s.size();
}

// Splits text into lines; every line must end in '\n'.
bool SplitLines(std::string_view text, std::vector<std::string_view>* lines) {
  while (!text.empty()) {
    size_t nl = text.find('\n');
    if (nl == std::string_view::npos) return false;
    lines->push_back(text.substr(0, nl));
    text.remove_prefix(nl + 1);
  }
  return true;
}

}  // namespace

std::string EncodeRecipe(const Recipe& recipe) {
  std::string out(kRecipeMagic);
  PutLittleEndian<uint64_t>(&out, recipe.file_size);
  PutLittleEndian<uint64_t>(&out, recipe.chunks.size());
  for (const auto& c : recipe.chunks) {
    out.append(reinterpret_cast<const char*>(c.id.bytes.data()), 32);
    PutLittleEndian<uint32_t>(&out, c.size);
  }
  Digest self = Sha256::Of(out);
  out.append(reinterpret_cast<const char*>(self.bytes.data()), 32);
  return out;
}

Result<Recipe> DecodeRecipe(std::string_view data, const std::string& where) {
  const size_t fixed = kRecipeMagic.size() + 16 + 32;
  if (data.size() < fixed || data.substr(0, kRecipeMagic.size()) != kRecipeMagic) {
    return Status::Invalid(where, ": malformed recipe (bad header)");
  }
  Recipe r;
  r.file_size = GetLittleEndian<uint64_t>(data.data() + 8);
  uint64_t count = GetLittleEndian<uint64_t>(data.data() + 16);
  if (count > (data.size() - fixed) / kRecipeChunkSize ||
      data.size() != fixed + count * kRecipeChunkSize) {
    return Status::Invalid(where, ": malformed recipe (wrong length)");
  }
  if (Sha256::Of(data.data(), data.size() - 32).bytes !=
      *reinterpret_cast<const std::array<uint8_t, 32>*>(data.data() + data.size() - 32)) {
    return Status::Invalid(where, ": recipe checksum mismatch (corrupt)");
  }
  r.chunks.resize(count);
  const char* p = data.data() + 24;
  uint64_t total = 0;
  for (auto& c : r.chunks) {
    std::memcpy(c.id.bytes.data(), p, 32);
    c.size = GetLittleEndian<uint32_t>(p + 32);
    total += c.size;
    p += kRecipeChunkSize;
  }
  if (total != r.file_size) {
    return Status::Invalid(where, ": malformed recipe (chunk sizes do not add up)");
  }
  return r;
}

std::string EscapeNonUtf8(std::string_view text) {
  std::string out;
  while (true) {
    const int64_t bad = text::FindInvalidUtf8(text);
    if (bad < 0) break;
    out.append(text.substr(0, static_cast<size_t>(bad)));
    static const char kHex[] = "0123456789abcdef";
    const auto byte = static_cast<uint8_t>(text[static_cast<size_t>(bad)]);
    out += "\\x";
    out += kHex[byte >> 4];
    out += kHex[byte & 15];
    text.remove_prefix(static_cast<size_t>(bad) + 1);
  }
  out.append(text);
  return out;
}

Status ValidateRelativePath(std::string_view path, const std::string& where) {
  auto refuse = [&](const char* why) {
    return Status::Invalid(where, ": refusing path '", EscapeNonUtf8(path), "': ", why);
  };
  if (path.empty()) return refuse("it is empty");
  if (path.front() == '/') return refuse("it is absolute");
  for (char c : path) {
    if (c == '\0' || c == '\n' || c == '\r') return refuse("it contains NUL, CR or LF");
  }
  size_t start = 0;
  while (start <= path.size()) {
    size_t slash = path.find('/', start);
    if (slash == std::string_view::npos) slash = path.size();
    std::string_view part = path.substr(start, slash - start);
    if (part.empty()) return refuse("it has an empty component");
    if (part == "." || part == "..") return refuse("it has a '.' or '..' component");
    if (part.size() == 4 && part[0] == '.' && (part[1] | 0x20) == 'g' && (part[2] | 0x20) == 'i' &&
        (part[3] | 0x20) == 't') {
      return refuse("it has a '.git' component (git's own files are never data)");
    }
    start = slash + 1;
  }
  return Status::OK();
}

std::string EncodeManifest(std::vector<ManifestEntry> entries) {
  std::sort(entries.begin(), entries.end(),
            [](const ManifestEntry& a, const ManifestEntry& b) { return a.path < b.path; });
  std::string out(kManifestHeader);
  out += '\n';
  for (const auto& e : entries) {
    out += e.oid.ToHex();
    out += ' ';
    out += std::to_string(e.size);
    out += e.executable ? " 755 " : " 644 ";
    out += e.path;
    out += '\n';
  }
  return out;
}

Result<std::vector<ManifestEntry>> DecodeManifest(std::string_view text, const std::string& where) {
  std::vector<std::string_view> lines;
  if (!SplitLines(text, &lines) || lines.empty() || lines[0] != kManifestHeader) {
    return Status::Invalid(where, ": malformed manifest (bad header or last line)");
  }
  std::vector<ManifestEntry> entries;
  entries.reserve(lines.size() - 1);
  for (size_t i = 1; i < lines.size(); ++i) {
    std::string_view line = lines[i];
    auto bad = [&](const char* why) {
      return Status::Invalid(where, ": malformed manifest line ", i + 1, ": ", why);
    };
    // "<64 hex> <size> <mode> <path>"
    if (line.size() < 64 + 1 + 1 + 1 + 3 + 1 + 1 || line[64] != ' ') return bad("too short");
    ManifestEntry e;
    auto oid = Digest::FromHex(line.substr(0, 64));
    if (!oid.ok()) return bad("bad oid");
    e.oid = *oid;
    std::string_view rest = line.substr(65);
    size_t sp = rest.find(' ');
    if (sp == std::string_view::npos || !ParseUint(rest.substr(0, sp), &e.size)) {
      return bad("bad size");
    }
    rest.remove_prefix(sp + 1);
    if (rest.size() < 5 || rest[3] != ' ' ||
        (rest.substr(0, 3) != "644" && rest.substr(0, 3) != "755")) {
      return bad("bad mode (want 644 or 755)");
    }
    e.executable = rest.substr(0, 3) == "755";
    e.path = std::string(rest.substr(4));
    CAIRN_RETURN_NOT_OK(ValidateRelativePath(e.path, where));
    if (!entries.empty() && !(entries.back().path < e.path)) {
      return bad("paths not sorted or duplicated");
    }
    entries.push_back(std::move(e));
  }
  return entries;
}

std::string EncodePointer(const Pointer& p) {
  std::string out(kPointerHeader);
  out += '\n';
  out += p.kind == Pointer::Kind::kFile ? "kind file\n" : "kind dir\n";
  out += "oid sha256:" + p.oid.ToHex() + "\n";
  out += "size " + std::to_string(p.size) + "\n";
  if (p.kind == Pointer::Kind::kFile) {
    out += p.executable ? "mode 755\n" : "mode 644\n";
  } else {
    out += "files " + std::to_string(p.files) + "\n";
  }
  return out;
}

Result<Pointer> ParsePointer(std::string_view text, const std::string& where) {
  auto bad = [&](const std::string& why) {
    return Status::Invalid(where, ": malformed cairn pointer: ", why,
                           " (restore it with `git checkout -- ", where,
                           "` or re-run `cairn add`)");
  };
  std::vector<std::string_view> lines;
  if (text.size() > 4096) return bad("too large to be a pointer");
  if (!SplitLines(text, &lines)) return bad("the last line has no newline");
  if (lines.size() != 5 || lines[0] != kPointerHeader) {
    return bad("want 5 lines starting with '" + std::string(kPointerHeader) + "'");
  }
  auto value = [&](size_t i, std::string_view key, std::string_view* out) {
    std::string_view line = lines[i];
    if (line.size() <= key.size() || line.substr(0, key.size()) != key || line[key.size()] != ' ') {
      return false;
    }
    *out = line.substr(key.size() + 1);
    return true;
  };
  Pointer p;
  std::string_view v;
  if (!value(1, "kind", &v) || (v != "file" && v != "dir"))
    return bad("line 2 must be 'kind file' or 'kind dir'");
  p.kind = v == "file" ? Pointer::Kind::kFile : Pointer::Kind::kDir;
  if (!value(2, "oid", &v) || v.substr(0, 7) != "sha256:")
    return bad("line 3 must be 'oid sha256:<64 hex digits>'");
  auto oid = Digest::FromHex(v.substr(7));
  if (!oid.ok()) return bad("line 3 must be 'oid sha256:<64 hex digits>'");
  p.oid = *oid;
  if (!value(3, "size", &v) || !ParseUint(v, &p.size)) return bad("line 4 must be 'size <bytes>'");
  if (p.kind == Pointer::Kind::kFile) {
    if (!value(4, "mode", &v) || (v != "644" && v != "755"))
      return bad("line 5 must be 'mode 644' or 'mode 755'");
    p.executable = v == "755";
  } else {
    if (!value(4, "files", &v) || !ParseUint(v, &p.files))
      return bad("line 5 must be 'files <count>'");
  }
  return p;
}

}  // namespace cairn::store
