#pragma once

#include <cstddef>
#include <functional>
#include <memory>
#include <string>

#include "torcht1/http/HttpRequest.h"
#include "torcht1/http/HttpResponse.h"

namespace torcht1::http {

struct HttpServerOptions {
  /// An IP address, or a host name resolved once at start().
  std::string bind = "127.0.0.1";
  /// 0 takes an ephemeral port; port() tells which.
  int port = 8080;
  /// When not empty, every route not registered as public needs "Authorization: Bearer <token>".
  std::string bearerToken;
  /// Threads serving connections (and running handlers).
  int threads = 2;
  /// Larger request bodies are answered 413; request headers are limited to 16 KiB (431).
  size_t maxBodyBytes = 1 << 20;
  /// A request must arrive, and a response be taken, within this; idle keep-alive
  /// connections are closed after it.
  int timeoutSeconds = 10;
};

/// A small HTTP/1.1 server (Boost.Beast, asynchronous): keep-alive, HEAD, bearer tokens.
///
/// Routes are registered before start(). A path is matched exactly, or as a prefix when it
/// ends with '*'; an exact path beats a prefix and a longer prefix a shorter one. The server
/// answers by itself: 404 for an unknown path, 405 with Allow for a known path and another
/// method, HEAD with a GET route's headers and no body, 401 with WWW-Authenticate when the
/// token is missing or wrong (404 and 405 do not look at the token), 500 with one line when a
/// handler throws (and keeps serving), 400 for a malformed request, 413 for a body over
/// maxBodyBytes, 431 for headers over 16 KiB. A connection is closed after an error answer,
/// when the client asks (Connection: close, HTTP/1.0), and after timeoutSeconds idle.
///
/// Handlers run on the server's threads, several at once: they must be thread-safe, and a slow
/// handler holds one thread while it runs. Waiting for a client never holds a thread.
class HttpServer {
 public:
  using Handler = std::function<HttpResponse(const HttpRequest&)>;

  /// Throws std::invalid_argument for a port outside 0..65535, threads < 1 or timeoutSeconds < 1.
  explicit HttpServer(HttpServerOptions options);
  /// Stops the server.
  ~HttpServer();
  HttpServer(const HttpServer&) = delete;
  HttpServer& operator=(const HttpServer&) = delete;

  /// `method` is matched exactly ("GET"); a public route needs no token. Throws std::logic_error
  /// after start() or for a method and path registered twice, std::invalid_argument for a path
  /// not starting with '/'.
  void route(std::string method, std::string path, Handler handler, bool isPublic = false);

  /// Binds, listens and serves on the server's own threads; returns at once. Throws
  /// std::runtime_error "http: cannot listen on ADDRESS:PORT: REASON" when it cannot bind, and
  /// std::logic_error when called twice.
  void start();

  /// The bound port once started (the ephemeral one for port 0), 0 before.
  int port() const;

  /// Closes the listener and every connection and joins the threads; a handler that is running
  /// finishes first. Idempotent. Must not be called from a handler (std::logic_error).
  void stop();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace torcht1::http
