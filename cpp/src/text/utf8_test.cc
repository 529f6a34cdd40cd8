#include "cairn/text/utf8.h"

#include <gtest/gtest.h>

namespace cairn::text {
namespace {

std::string Lower(std::string_view s) {
  std::string out;
  AppendLower(s, &out);
  return out;
}
std::string Upper(std::string_view s) {
  std::string out;
  AppendUpper(s, &out);
  return out;
}

TEST(Utf8Case, AsciiAndLatin) {
  EXPECT_EQ(Lower("Hello WORLD 123"), "hello world 123");
  EXPECT_EQ(Upper("hello world"), "HELLO WORLD");
  EXPECT_EQ(Lower("ÉCOLE Ça"), "école ça");
}

TEST(Utf8Case, FullMappingsLikePython) {
  EXPECT_EQ(Upper("straße"), "STRASSE");    // 'ß'.upper() == 'SS'
  EXPECT_EQ(Upper("ﬁne"), "FINE");          // ligature expands
  EXPECT_EQ(Lower("İ"), "i\xCC\x87");       // 'İ'.lower() == 'i̇'
}

TEST(Utf8Case, GreekFinalSigma) {
  EXPECT_EQ(Lower("ΟΔΟΣ"), "οδος");    // final ς at word end
  EXPECT_EQ(Lower("ΣΑΣ ΣΟΣ"), "σας σος");
  EXPECT_EQ(Lower("Σ"), "σ");           // alone: not final
}

TEST(Utf8Validate, FindsFirstInvalidByte) {
  EXPECT_EQ(FindInvalidUtf8("plain ascii text"), -1);
  EXPECT_EQ(FindInvalidUtf8("héllo"), -1);
  EXPECT_EQ(FindInvalidUtf8(std::string_view("abc\xff", 4)), 3);
  EXPECT_EQ(FindInvalidUtf8(std::string_view("0123456789\xc3", 11)), 10);  // truncated
  EXPECT_EQ(FindInvalidUtf8("\xed\xa0\x80"), 0);  // surrogate
  EXPECT_EQ(FindInvalidUtf8("\xc0\xaf"), 0);      // overlong
}

TEST(Utf8Replace, MaximalSubpartsLikePython) {
  std::string out;
  // b'a\xf0\x9f\x98b'.decode('utf-8', 'replace') == 'a\ufffdb'
  AppendReplacingInvalid(std::string_view("a\xf0\x9f\x98" "b"), &out);
  EXPECT_EQ(out, "a\xEF\xBF\xBD" "b");
  out.clear();
  // b'\xff\xfe'.decode('utf-8', 'replace') == '\ufffd\ufffd'
  AppendReplacingInvalid(std::string_view("\xff\xfe"), &out);
  EXPECT_EQ(out, "\xEF\xBF\xBD\xEF\xBF\xBD");
}

TEST(Utf8Space, PythonWhitespace) {
  EXPECT_TRUE(IsSpace(' '));
  EXPECT_TRUE(IsSpace(0x1C));   // Python counts the ASCII separators as space
  EXPECT_TRUE(IsSpace(0xA0));   // no-break space
  EXPECT_TRUE(IsSpace(0x3000));
  EXPECT_FALSE(IsSpace(0x200B));  // zero width space is not
  EXPECT_FALSE(IsSpace('x'));
}

}  // namespace
}  // namespace cairn::text
