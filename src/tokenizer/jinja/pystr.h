// Python string semantics over UTF-8: code points, whitespace, case mapping, float
// repr, repr() quoting and JSON escaping, as CPython defines them. Case mapping covers
// Latin, Greek, Cyrillic, Armenian and fullwidth letters (chat templates only case
// ASCII role names and keywords); other scripts pass through unchanged.
//
// Thread-safety: pure functions.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace kiln::jinja::pystr {

// Decodes UTF-8; invalid bytes become U+FFFD (inputs are validated at the boundary).
std::u32string decode(std::string_view s);
std::string encode(std::u32string_view s);
void append_utf8(std::string& out, char32_t c);
bool is_valid_utf8(std::string_view s);
// Number of code points (Python len()).
size_t length(std::string_view s);
bool is_ascii(std::string_view s);

// Python str.isspace() of one code point (also what `\s` and str.split() use).
bool is_space(char32_t c);
char32_t to_upper(char32_t c);
char32_t to_lower(char32_t c);
bool is_cased(char32_t c);
bool is_alpha(char32_t c);
bool is_digit(char32_t c);

std::string upper(std::string_view s);
std::string lower(std::string_view s);
std::string capitalize(std::string_view s);  // str.capitalize()
std::string title(std::string_view s);       // str.title()
std::string swapcase(std::string_view s);

// str.strip/lstrip/rstrip; `chars` nullopt = whitespace.
std::string strip(std::string_view s, const std::optional<std::string>& chars, bool left,
                  bool right);
// str.split / str.rsplit; `sep` nullopt = runs of whitespace. maxsplit < 0 = no limit.
// Precondition: sep, when given, is not empty (callers report ValueError).
std::vector<std::string> split(std::string_view s, const std::optional<std::string>& sep,
                               int64_t maxsplit);
std::vector<std::string> rsplit(std::string_view s, const std::optional<std::string>& sep,
                                int64_t maxsplit);
// str.splitlines(keepends=False): \n, \r\n, \r, \v, \f, \x1c-\x1e, \x85, \u2028, \u2029.
std::vector<std::string> splitlines(std::string_view s, bool keepends);
// str.replace(old, new, count); count < 0 = all. Empty `old` inserts between code points.
std::string replace(std::string_view s, std::string_view from, std::string_view to, int64_t count);
// str.find / rfind in code points; -1 if absent.
int64_t find(std::string_view s, std::string_view sub, bool reverse);
int64_t count(std::string_view s, std::string_view sub);

// repr(float): shortest round-trip digits, fixed for 1e-4 <= |x| < 1e16, else
// scientific with a two-digit exponent ("1e-05", "1.5e+16"); "inf", "nan".
std::string float_repr(double x);
// repr(str): single quotes unless the text has ' and no ", escapes as CPython does.
std::string string_repr(std::string_view s);
// A JSON string literal as json.dumps writes it.
std::string json_quote(std::string_view s, bool ensure_ascii);
// markupsafe.escape: & < > ' " become &amp; &lt; &gt; &#39; &#34;.
std::string html_escape(std::string_view s);

}  // namespace kiln::jinja::pystr
