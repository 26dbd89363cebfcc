// Small string helpers shared by the modules: trimming, splitting KEDA's
// "k=v,k2=v2" lists, strict number parsing, JSON string escaping, base64.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "common/status.h"

namespace ebb {

std::string_view Trim(std::string_view s);
std::string ToLower(std::string_view s);
bool StartsWith(std::string_view s, std::string_view prefix);
bool EndsWith(std::string_view s, std::string_view suffix);
std::vector<std::string> Split(std::string_view s, char sep);

// Parses KEDA's "k=v,k2=v2" form (customHeaders, queryParameters). Spaces
// around keys and values are trimmed; empty items are skipped. An item
// without '=' or with an empty key is kInvalidConfig naming the item.
Result<std::vector<std::pair<std::string, std::string>>> ParseKeyValueList(std::string_view s);

// Strict decimal parsing of the whole string (surrounding spaces allowed).
// Accepts what Go's strconv.ParseFloat accepts for finite numbers
// ("1", "-2.5", "1e3", ".5"); rejects "", "abc", "1.2.3", "inf", "nan".
std::optional<double> ParseDouble(std::string_view s);
std::optional<int64_t> ParseInt(std::string_view s);
// "true"/"false" (any case), "1"/"0", as Go's strconv.ParseBool.
std::optional<bool> ParseBool(std::string_view s);

// Shortest text that reads back as the same double ("2", "0.1", "1e+21").
std::string FormatDouble(double v);

// Length of the valid UTF-8 sequence starting at s[i], 0 when invalid
// (overlong, surrogate, truncated, past U+10FFFF).
size_t Utf8SequenceLength(std::string_view s, size_t i);

// Escapes s for inclusion inside a JSON string literal (no quotes added).
// Invalid UTF-8 bytes become U+FFFD, so the result is always valid JSON.
std::string JsonEscape(std::string_view s);

std::string Base64Encode(std::string_view data);
std::string Base64UrlEncode(std::string_view data);  // no padding
// Standard or URL alphabet, padding optional; whitespace ignored.
std::optional<std::string> Base64Decode(std::string_view text);

}  // namespace ebb
