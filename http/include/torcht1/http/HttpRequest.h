#pragma once

#include <map>
#include <string>

namespace torcht1::http {

/// One complete request as a route handler sees it.
struct HttpRequest {
  /// As sent ("GET", "POST"...). A HEAD request served by a GET route keeps "HEAD".
  std::string method;
  /// The target up to '?', as sent (not percent-decoded). Always starts with '/'.
  std::string path;
  /// The target after '?', without it (not decoded); empty when there is none.
  std::string query;
  /// Lower-case names; a field sent several times is joined with ", ".
  std::map<std::string, std::string> headers;
  std::string body;
  /// The peer's IP address, e.g. "127.0.0.1".
  std::string remoteAddress;

  /// The value of header `lowerCaseName`, or `fallback` when it was not sent.
  std::string header(const std::string& lowerCaseName, const std::string& fallback = "") const;
};

}  // namespace torcht1::http
