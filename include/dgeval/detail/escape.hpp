// printable(): file content and paths made safe to quote in a message.
#pragma once

#include <string>

namespace dgeval {

/// `text` with every byte that is not printable written as \xNN: control bytes (NUL, newline,
/// tab, escape...), DEL, and bytes that are not part of valid UTF-8. Printable ASCII and valid
/// UTF-8 are kept as they are. Used by every message that quotes file content or a path, so
/// that a message never carries raw binary and never ends early at a NUL byte.
inline std::string printable(const std::string& text) {
  static const char hex[] = "0123456789abcdef";
  std::string out;
  out.reserve(text.size());
  const auto* s = reinterpret_cast<const unsigned char*>(text.data());
  const std::size_t n = text.size();
  auto escape = [&](unsigned char c) {
    out += "\\x";
    out += hex[c >> 4];
    out += hex[c & 15];
  };
  for (std::size_t i = 0; i < n;) {
    const unsigned char c = s[i];
    if (c >= 0x20 && c < 0x7f) {
      out += static_cast<char>(c);
      ++i;
      continue;
    }
    // A valid UTF-8 sequence of 2-4 bytes (no overlong forms, no surrogates, <= U+10FFFF).
    std::size_t len = 0;
    if (c >= 0xc2 && c <= 0xdf) len = 2;
    else if (c >= 0xe0 && c <= 0xef) len = 3;
    else if (c >= 0xf0 && c <= 0xf4) len = 4;
    bool ok = len > 0 && i + len <= n;
    for (std::size_t k = 1; ok && k < len; ++k) ok = (s[i + k] & 0xc0) == 0x80;
    if (ok && len == 3) {
      if (c == 0xe0 && s[i + 1] < 0xa0) ok = false;   // overlong
      if (c == 0xed && s[i + 1] >= 0xa0) ok = false;  // surrogate
    }
    if (ok && len == 4) {
      if (c == 0xf0 && s[i + 1] < 0x90) ok = false;   // overlong
      if (c == 0xf4 && s[i + 1] >= 0x90) ok = false;  // beyond U+10FFFF
    }
    if (ok && len == 2 && c == 0xc2 && s[i + 1] < 0xa0) ok = false;  // C1 controls U+0080..U+009F
    if (ok) {
      out.append(text, i, len);
      i += len;
    } else {
      escape(c);
      ++i;
    }
  }
  return out;
}

}  // namespace dgeval
