#pragma once

// A small HTTP/1.1 client for a test's peers on 127.0.0.1 (Orthanc's REST API).

#include <chrono>
#include <string>

namespace torcht1::testing {

struct HttpResponse {
  int status = 0;     // the HTTP status; 0 when no answer came (see error)
  std::string body;
  std::string error;  // one line when status is 0: what failed (connect, write, read, timeout)
};

/// One connection per request (Boost.Beast), each step bounded by `timeout`. Never throws
/// for a network failure: the response says what happened.
class HttpClient {
 public:
  HttpClient(std::string host, int port, std::chrono::milliseconds timeout = std::chrono::seconds(30));

  /// GET `target` (a path with an optional query, e.g. "/instances?expand").
  HttpResponse get(const std::string& target) const { return request("GET", target); }
  /// POST `target` with an empty body.
  HttpResponse post(const std::string& target) const { return request("POST", target); }
  /// POST `target` with a JSON body.
  HttpResponse postJson(const std::string& target, const std::string& json) const {
    return request("POST", target, json, "application/json");
  }
  /// Any method; a body when `body` is not empty.
  HttpResponse request(const std::string& method, const std::string& target, const std::string& body = "",
                       const std::string& contentType = "") const;

 private:
  std::string host_;
  int port_;
  std::chrono::milliseconds timeout_;
};

}  // namespace torcht1::testing
