#pragma once

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

namespace torcht1::http {

/// What a route handler answers. The server sets Content-Type (from `contentType`),
/// Content-Length and Connection itself and ignores those, and Transfer-Encoding, in `headers`.
/// A header name that is not an HTTP token, a value with CR, LF or NUL, or a status outside
/// 200..599 turns the answer into a 500.
struct HttpResponse {
  int status = 200;
  std::string contentType = "text/plain; charset=utf-8";
  std::string body;
  std::vector<std::pair<std::string, std::string>> headers;

  static HttpResponse text(std::string body, int status = 200);
  static HttpResponse json(std::string body, int status = 200);
  static HttpResponse html(std::string body, int status = 200);
  static HttpResponse png(const std::vector<uint8_t>& bytes);
  /// A plain-text answer of one line: `message` and a newline.
  static HttpResponse error(int status, const std::string& message);
  static HttpResponse notFound(const std::string& message = "not found");
};

}  // namespace torcht1::http
