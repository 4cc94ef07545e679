#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <map>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/read_until.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http.hpp>

#include "torcht1/http/HttpServer.h"
#include "torcht1/http/MetricsRegistry.h"

namespace torcht1 {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace bhttp = boost::beast::http;
using tcp = asio::ip::tcp;
using http::HttpRequest;
using http::HttpResponse;
using http::HttpServer;
using http::HttpServerOptions;
using http::MetricsRegistry;

/// No exchange waits longer than this, so a broken server fails a test instead of hanging it.
/// Nothing is asserted about time.
constexpr std::chrono::seconds kGuard{30};

struct Reply {
  int status = 0;
  std::map<std::string, std::string> headers;  // lower-case names
  std::string body;

  std::string header(const std::string& name) const {
    const auto found = headers.find(name);
    return found == headers.end() ? "" : found->second;
  }
};

/// A connection to 127.0.0.1:port that speaks HTTP/1.1 through Beast, kept alive across send()s.
class Client {
 public:
  explicit Client(int port) : stream_(ioc_) {
    beast::error_code result;
    stream_.expires_after(kGuard);
    stream_.async_connect(tcp::endpoint(asio::ip::make_address("127.0.0.1"), static_cast<unsigned short>(port)),
                          [&](beast::error_code ec) { result = ec; });
    run();
    if (result) throw std::runtime_error("connect: " + result.message());
  }

  Reply send(const std::string& method, const std::string& target, const std::map<std::string, std::string>& headers = {},
             const std::string& body = "") {
    bhttp::request<bhttp::string_body> request;
    request.method_string(method);
    request.target(target);
    request.version(11);
    request.set(bhttp::field::host, "127.0.0.1");
    for (const auto& [name, value] : headers) request.set(name, value);
    if (!body.empty() || method == "POST") {
      request.body() = body;
      request.prepare_payload();
    }
    bhttp::response_parser<bhttp::string_body> parser;
    parser.body_limit(64 << 20);
    if (method == "HEAD") parser.skip(true);  // Content-Length is GET's; no body follows

    beast::error_code result;
    stream_.expires_after(kGuard);
    bhttp::async_write(stream_, request, [&](beast::error_code ec, size_t) {
      if (ec) {
        result = ec;
        return;
      }
      bhttp::async_read(stream_, buffer_, parser, [&](beast::error_code e, size_t) { result = e; });
    });
    run();
    if (result) throw std::runtime_error(method + " " + target + ": " + result.message());

    Reply reply;
    const auto& response = parser.get();
    reply.status = static_cast<int>(response.result_int());
    for (const auto& field : response) {
      std::string name(field.name_string());
      for (auto& c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
      reply.headers[name] = std::string(field.value());
    }
    reply.body = response.body();
    return reply;
  }

  /// Waits until the server closes the connection: true on end of stream (or reset), false
  /// when it sends something instead or the guard runs out.
  bool closedByServer() {
    char byte;
    beast::error_code result;
    stream_.expires_after(kGuard);
    stream_.async_read_some(asio::buffer(&byte, 1), [&](beast::error_code ec, size_t) { result = ec; });
    run();
    return result == asio::error::eof || result == asio::error::connection_reset;
  }

 private:
  void run() {
    ioc_.restart();
    ioc_.run();
  }

  asio::io_context ioc_;
  beast::tcp_stream stream_;
  beast::flat_buffer buffer_;
};

/// A connection for bytes that are not (quite) HTTP.
class RawConnection {
 public:
  explicit RawConnection(int port) : stream_(ioc_) {
    beast::error_code result;
    stream_.expires_after(kGuard);
    stream_.async_connect(tcp::endpoint(asio::ip::make_address("127.0.0.1"), static_cast<unsigned short>(port)),
                          [&](beast::error_code ec) { result = ec; });
    run();
    if (result) throw std::runtime_error("connect: " + result.message());
  }

  void write(const std::string& bytes) {
    beast::error_code result;
    stream_.expires_after(kGuard);
    asio::async_write(stream_, asio::buffer(bytes), [&](beast::error_code ec, size_t) { result = ec; });
    run();
    if (result) throw std::runtime_error("write: " + result.message());
  }

  /// Everything up to and including `delimiter`.
  std::string readUntil(const std::string& delimiter) {
    beast::error_code result;
    size_t n = 0;
    stream_.expires_after(kGuard);
    asio::async_read_until(stream_, asio::dynamic_buffer(pending_), delimiter, [&](beast::error_code ec, size_t bytes) {
      result = ec;
      n = bytes;
    });
    run();
    if (result) throw std::runtime_error("read: " + result.message());
    std::string out = pending_.substr(0, n);
    pending_.erase(0, n);
    return out;
  }

  /// Everything the server sends until it closes the connection.
  std::string readToEnd() {
    beast::error_code result;
    stream_.expires_after(kGuard);
    asio::async_read(stream_, asio::dynamic_buffer(pending_), [&](beast::error_code ec, size_t) { result = ec; });
    run();
    if (result != asio::error::eof) throw std::runtime_error("read to end: " + result.message());
    return std::exchange(pending_, {});
  }

  /// True when the server closes the connection without sending anything: end of stream, or a
  /// reset when it closed with our bytes unread (or before it accepted the connection).
  bool closedByServer() {
    beast::error_code result;
    stream_.expires_after(kGuard);
    asio::async_read(stream_, asio::dynamic_buffer(pending_), [&](beast::error_code ec, size_t) { result = ec; });
    run();
    return pending_.empty() && (result == asio::error::eof || result == asio::error::connection_reset);
  }

 private:
  void run() {
    ioc_.restart();
    ioc_.run();
  }

  asio::io_context ioc_;
  beast::tcp_stream stream_;
  std::string pending_;
};

std::string exchangeRaw(int port, const std::string& bytes) {
  RawConnection c(port);
  c.write(bytes);
  return c.readToEnd();
}

bool startsWith(const std::string& s, const std::string& prefix) { return s.compare(0, prefix.size(), prefix) == 0; }

HttpServerOptions ephemeral() {
  HttpServerOptions o;
  o.port = 0;
  return o;
}

HttpResponse hello(const HttpRequest&) { return HttpResponse::text("hello"); }

TEST(HttpServer, PortZeroBindsAnEphemeralPort) {
  HttpServer server(ephemeral());
  server.route("GET", "/hello", hello);
  EXPECT_EQ(server.port(), 0);
  server.start();
  EXPECT_GT(server.port(), 0);
  EXPECT_EQ(Client(server.port()).send("GET", "/hello").body, "hello");
}

TEST(HttpServer, HandlerGetsTheRequestAsSent) {
  HttpServer server(ephemeral());
  server.route("GET", "/hello", hello);
  server.route("POST", "/echo", [](const HttpRequest& r) {
    return HttpResponse::json("{\"method\":\"" + r.method + "\",\"path\":\"" + r.path + "\",\"query\":\"" + r.query +
                              "\",\"x-test\":\"" + r.header("x-test") + "\",\"body\":\"" + r.body + "\",\"from\":\"" +
                              r.remoteAddress + "\"}");
  });
  server.start();
  Client client(server.port());

  const Reply plain = client.send("GET", "/hello");
  EXPECT_EQ(plain.status, 200);
  EXPECT_EQ(plain.body, "hello");
  EXPECT_EQ(plain.header("content-type"), "text/plain; charset=utf-8");
  EXPECT_EQ(plain.header("content-length"), "5");

  const Reply echo = client.send("POST", "/echo?a=1&b=%20", {{"X-Test", "Value"}}, "payload");
  EXPECT_EQ(echo.status, 200);
  EXPECT_EQ(echo.header("content-type"), "application/json");
  EXPECT_EQ(echo.body,
            "{\"method\":\"POST\",\"path\":\"/echo\",\"query\":\"a=1&b=%20\",\"x-test\":\"Value\","
            "\"body\":\"payload\",\"from\":\"127.0.0.1\"}");
}

TEST(HttpServer, UnknownPathIs404) {
  HttpServer server(ephemeral());
  server.route("GET", "/hello", hello);
  server.start();
  Client client(server.port());
  EXPECT_EQ(client.send("GET", "/nothing").status, 404);
  EXPECT_EQ(client.send("GET", "/hello/more").status, 404);  // exact paths are exact
  EXPECT_EQ(client.send("GET", "/hello").status, 200);       // and the connection lives on
}

TEST(HttpServer, WrongMethodIs405WithAllow) {
  HttpServer server(ephemeral());
  server.route("GET", "/thing", hello);
  server.route("DELETE", "/thing", hello);
  server.start();
  const Reply r = Client(server.port()).send("PUT", "/thing", {}, "x");
  EXPECT_EQ(r.status, 405);
  EXPECT_EQ(r.header("allow"), "DELETE, GET, HEAD");
}

TEST(HttpServer, HeadIsServedLikeGetWithoutBody) {
  HttpServer server(ephemeral());
  std::atomic<int> calls{0};
  server.route("GET", "/hello", [&](const HttpRequest& r) {
    ++calls;
    HttpResponse answer = HttpResponse::text("hello");
    answer.headers.emplace_back("X-Method", r.method);
    return answer;
  });
  server.start();

  // On the wire: GET's length, then nothing.
  const std::string raw = exchangeRaw(server.port(), "HEAD /hello HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
  EXPECT_TRUE(startsWith(raw, "HTTP/1.1 200 OK\r\n")) << raw;
  EXPECT_NE(raw.find("Content-Length: 5\r\n"), std::string::npos) << raw;
  ASSERT_GE(raw.size(), 4u);
  EXPECT_EQ(raw.substr(raw.size() - 4), "\r\n\r\n") << raw;

  // Keep-alive after HEAD: no stray body bytes confuse the next answer.
  Client client(server.port());
  const Reply head = client.send("HEAD", "/hello");
  EXPECT_EQ(head.status, 200);
  EXPECT_EQ(head.body, "");
  EXPECT_EQ(head.header("x-method"), "HEAD");
  EXPECT_EQ(head.header("content-length"), "5");
  EXPECT_EQ(client.send("GET", "/hello").body, "hello");
  EXPECT_EQ(calls, 3);
}

TEST(HttpServer, PrefixRoutesAndTheMostSpecificMatch) {
  HttpServer server(ephemeral());
  server.route("GET", "/api/*", [](const HttpRequest& r) { return HttpResponse::text("prefix " + r.path); });
  server.route("GET", "/api/v1/*", [](const HttpRequest&) { return HttpResponse::text("v1"); });
  server.route("GET", "/api/exact", [](const HttpRequest&) { return HttpResponse::text("exact"); });
  server.route("POST", "/api/v1/jobs", [](const HttpRequest&) { return HttpResponse::text("post"); });
  server.start();
  Client client(server.port());
  EXPECT_EQ(client.send("GET", "/api/exact").body, "exact");
  EXPECT_EQ(client.send("GET", "/api/v1/jobs").body, "v1");  // the exact POST route falls through to GET's prefix
  EXPECT_EQ(client.send("POST", "/api/v1/jobs").body, "post");
  EXPECT_EQ(client.send("GET", "/api/other?x=1").body, "prefix /api/other");
  EXPECT_EQ(client.send("GET", "/apix").status, 404);
}

TEST(HttpServer, HandlerExceptionIs500AndServingGoesOn) {
  HttpServer server(ephemeral());
  server.route("GET", "/hello", hello);
  server.route("GET", "/boom", [](const HttpRequest&) -> HttpResponse { throw std::runtime_error("disk\nfull"); });
  server.route("GET", "/odd", [](const HttpRequest&) -> HttpResponse { throw 42; });
  server.start();
  Client client(server.port());
  const Reply r = client.send("GET", "/boom");
  EXPECT_EQ(r.status, 500);
  EXPECT_EQ(r.body, "internal error: disk full\n");
  EXPECT_EQ(client.send("GET", "/odd").status, 500);
  EXPECT_EQ(client.send("GET", "/hello").status, 200);
  EXPECT_EQ(Client(server.port()).send("GET", "/hello").status, 200);
}

TEST(HttpServer, BearerTokenGuardsNonPublicRoutes) {
  HttpServerOptions options = ephemeral();
  options.bearerToken = "s3cret-token";
  HttpServer server(options);
  server.route("GET", "/private", hello);
  server.route("GET", "/health", [](const HttpRequest&) { return HttpResponse::text("ok"); }, true);
  server.start();
  Client client(server.port());

  const Reply none = client.send("GET", "/private");
  EXPECT_EQ(none.status, 401);
  EXPECT_TRUE(startsWith(none.header("www-authenticate"), "Bearer")) << none.header("www-authenticate");
  for (const std::string wrong : {"Bearer nope", "Bearer s3cret-toke", "Bearer s3cret-token2", "Basic s3cret-token",
                                  "Bearers3cret-token", "Bearer ", "s3cret-token"}) {
    const Reply r = client.send("GET", "/private", {{"Authorization", wrong}});
    EXPECT_EQ(r.status, 401) << wrong;
    EXPECT_TRUE(startsWith(r.header("www-authenticate"), "Bearer")) << wrong;
  }
  const Reply right = client.send("GET", "/private", {{"Authorization", "Bearer s3cret-token"}});
  EXPECT_EQ(right.status, 200);
  EXPECT_EQ(right.body, "hello");
  EXPECT_EQ(client.send("GET", "/private", {{"Authorization", "bearer   s3cret-token "}}).status, 200);
  EXPECT_EQ(client.send("GET", "/health").status, 200);
  EXPECT_EQ(client.send("GET", "/health").body, "ok");
}

TEST(HttpServer, KeepAliveAndConnectionClose) {
  HttpServer server(ephemeral());
  server.route("GET", "/hello", hello);
  server.start();
  Client client(server.port());
  for (int i = 0; i < 5; ++i) EXPECT_EQ(client.send("GET", "/hello").body, "hello");  // one connection

  const Reply last = client.send("GET", "/hello", {{"Connection", "close"}});
  EXPECT_EQ(last.status, 200);
  EXPECT_EQ(last.header("connection"), "close");
  EXPECT_TRUE(client.closedByServer());

  // HTTP/1.0 without keep-alive: one answer, then the server closes.
  const std::string raw = exchangeRaw(server.port(), "GET /hello HTTP/1.0\r\n\r\n");
  EXPECT_TRUE(startsWith(raw, "HTTP/1.0 200 OK\r\n")) << raw;
  EXPECT_EQ(raw.substr(raw.size() - 5), "hello");
}

TEST(HttpServer, PipelinedRequestsAreAnsweredInOrder) {
  HttpServer server(ephemeral());
  server.route("GET", "/echo", [](const HttpRequest& r) { return HttpResponse::text("<" + r.query + ">"); });
  server.start();
  const std::string raw = exchangeRaw(server.port(),
                                      "GET /echo?1 HTTP/1.1\r\nHost: x\r\n\r\n"
                                      "GET /echo?2 HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
  const size_t first = raw.find("<1>");
  const size_t second = raw.find("<2>");
  ASSERT_NE(first, std::string::npos) << raw;
  ASSERT_NE(second, std::string::npos) << raw;
  EXPECT_LT(first, second);
}

TEST(HttpServer, TwentyConcurrentClientsAreAllAnswered) {
  HttpServer server(ephemeral());
  std::atomic<int> served{0};
  server.route("GET", "/echo", [&](const HttpRequest& r) {
    ++served;
    return HttpResponse::text(r.query);
  });
  server.start();

  const int clients = 20, requests = 5;
  std::vector<std::thread> threads;
  std::vector<int> correct(clients, 0);
  std::vector<std::string> errors(clients);
  for (int c = 0; c < clients; ++c) {
    threads.emplace_back([&, c] {
      try {
        Client client(server.port());
        for (int i = 0; i < requests; ++i) {
          const std::string tag = std::to_string(c) + "-" + std::to_string(i);
          const Reply r = client.send("GET", "/echo?" + tag);
          if (r.status == 200 && r.body == tag) ++correct[c];
        }
      } catch (const std::exception& e) {
        errors[c] = e.what();
      }
    });
  }
  for (auto& t : threads) t.join();
  for (int c = 0; c < clients; ++c) {
    EXPECT_EQ(correct[c], requests) << "client " << c << ": " << errors[c];
  }
  EXPECT_EQ(served, clients * requests);
}

TEST(HttpServer, WaitingClientsHoldNoThread) {
  HttpServerOptions options = ephemeral();
  options.threads = 1;
  HttpServer server(options);
  server.route("GET", "/hello", hello);
  server.start();
  RawConnection silent(server.port());  // connected, says nothing
  RawConnection slow(server.port());
  slow.write("GET /hello HTTP/1.1\r\nHo");  // half a request
  EXPECT_EQ(Client(server.port()).send("GET", "/hello").body, "hello");
  slow.write("st: x\r\nConnection: close\r\n\r\n");
  EXPECT_TRUE(startsWith(slow.readToEnd(), "HTTP/1.1 200 OK\r\n"));
}

TEST(HttpServer, IdleAndSlowClientsAreDisconnected) {
  HttpServerOptions options = ephemeral();
  options.timeoutSeconds = 1;
  HttpServer server(options);
  server.route("GET", "/hello", hello);
  server.start();

  RawConnection silent(server.port());
  EXPECT_EQ(silent.readToEnd(), "");  // closed by the server, nothing said

  RawConnection slow(server.port());
  slow.write("GET /hello HTTP/1.1\r\n");  // and never the rest
  EXPECT_EQ(slow.readToEnd(), "");

  Client idle(server.port());  // idle after a keep-alive answer
  EXPECT_EQ(idle.send("GET", "/hello").status, 200);
  EXPECT_TRUE(idle.closedByServer());
}

TEST(HttpServer, BindFailureNamesAddressAndReason) {
  HttpServer first(ephemeral());
  first.start();
  HttpServerOptions options;
  options.port = first.port();
  HttpServer second(options);
  try {
    second.start();
    FAIL() << "a second server listened on the same port";
  } catch (const std::runtime_error& e) {
    const std::string message = e.what();
    EXPECT_NE(message.find("127.0.0.1:" + std::to_string(first.port())), std::string::npos) << message;
    EXPECT_NE(message.find("in use"), std::string::npos) << message;
    EXPECT_EQ(message.find('\n'), std::string::npos) << message;
  }

  options.bind = "192.0.2.1";  // TEST-NET-1: never an address of this machine
  options.port = 0;
  HttpServer foreign(options);
  try {
    foreign.start();
    FAIL() << "listened on 192.0.2.1";
  } catch (const std::runtime_error& e) {
    EXPECT_TRUE(startsWith(e.what(), "http: cannot listen on 192.0.2.1:0: ")) << e.what();
  }
}

TEST(HttpServer, MalformedRequestsAre400) {
  HttpServer server(ephemeral());
  server.route("GET", "/hello", hello);
  server.start();
  for (const std::string bad : {
           "GARBAGE\r\n\r\n",
           "GET /hello HTTP/1.1\r\nBad Header Line\r\n\r\n",
           "GET /hello HTTP/1.1\r\nHost: x\r\nContent-Length: abc\r\n\r\n",
           "GET /hello HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n",
           "GET http://example.com/hello HTTP/1.1\r\nHost: x\r\n\r\n",
           "GET /hello HTTP/x.y\r\n\r\n",
       }) {
    const std::string raw = exchangeRaw(server.port(), bad);
    EXPECT_TRUE(startsWith(raw, "HTTP/1.1 400 Bad Request\r\n")) << bad << " -> " << raw;
  }
  EXPECT_EQ(Client(server.port()).send("GET", "/hello").status, 200);
}

TEST(HttpServer, OversizedBodyIs413) {
  HttpServerOptions options = ephemeral();
  options.maxBodyBytes = 1024;
  HttpServer server(options);
  server.route("POST", "/echo", [](const HttpRequest& r) { return HttpResponse::text(std::to_string(r.body.size())); });
  server.start();

  EXPECT_EQ(Client(server.port()).send("POST", "/echo", {}, std::string(1024, 'a')).body, "1024");
  // Announced too large: refused before any body is read.
  const std::string announced =
      exchangeRaw(server.port(), "POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 1025\r\n\r\n");
  EXPECT_TRUE(startsWith(announced, "HTTP/1.1 413 Payload Too Large\r\n")) << announced;
  // Chunked, found too large while reading; the rest of what the client sends is drained.
  std::string chunked = "POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n";
  for (int i = 0; i < 64; ++i) chunked += "400\r\n" + std::string(1024, 'b') + "\r\n";
  chunked += "0\r\n\r\n";
  const std::string streamed = exchangeRaw(server.port(), chunked);
  EXPECT_TRUE(startsWith(streamed, "HTTP/1.1 413 Payload Too Large\r\n")) << streamed.substr(0, 200);
}

TEST(HttpServer, OversizedHeaderIs431) {
  HttpServer server(ephemeral());
  server.route("GET", "/hello", hello);
  server.start();
  EXPECT_EQ(Client(server.port()).send("GET", "/hello", {{"X-Big", std::string(8000, 'a')}}).status, 200);
  const std::string raw =
      exchangeRaw(server.port(), "GET /hello HTTP/1.1\r\nHost: x\r\nX-Big: " + std::string(20000, 'a') + "\r\n\r\n");
  EXPECT_TRUE(startsWith(raw, "HTTP/1.1 431 Request Header Fields Too Large\r\n")) << raw.substr(0, 200);
}

TEST(HttpServer, ExpectContinueGetsA100BeforeTheBody) {
  HttpServer server(ephemeral());
  server.route("POST", "/echo", [](const HttpRequest& r) { return HttpResponse::text(r.body); });
  server.start();
  RawConnection c(server.port());
  c.write("POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 4\r\nExpect: 100-continue\r\nConnection: close\r\n\r\n");
  EXPECT_EQ(c.readUntil("\r\n\r\n"), "HTTP/1.1 100 Continue\r\n\r\n");
  c.write("data");
  const std::string raw = c.readToEnd();
  EXPECT_TRUE(startsWith(raw, "HTTP/1.1 200 OK\r\n")) << raw;
  EXPECT_EQ(raw.substr(raw.size() - 4), "data");
}

TEST(HttpServer, ResponseHelpersAndHandlerHeaders) {
  MetricsRegistry registry;
  registry.counter("requests_total", "Requests.").inc(2);
  HttpServer server(ephemeral());
  server.route("GET", "/metrics", [&](const HttpRequest&) {
    HttpResponse r = HttpResponse::text(registry.render());
    r.contentType = MetricsRegistry::kContentType;
    return r;
  });
  server.route("GET", "/image", [](const HttpRequest&) {
    HttpResponse r = HttpResponse::png({0x89, 'P', 'N', 'G', 0, 255});
    r.headers.emplace_back("Cache-Control", "no-store");
    r.headers.emplace_back("Content-Length", "999");  // the server's own wins
    return r;
  });
  server.route("GET", "/page", [](const HttpRequest&) { return HttpResponse::html("<p>hi</p>", 201); });
  server.route("GET", "/missing", [](const HttpRequest&) { return HttpResponse::notFound("no such series"); });
  server.route("GET", "/injected", [](const HttpRequest&) {
    HttpResponse r = HttpResponse::text("x");
    r.headers.emplace_back("X-Bad", "a\r\nSet-Cookie: stolen=1");
    return r;
  });
  server.route("GET", "/nocontent", [](const HttpRequest&) { return HttpResponse::text("ignored", 204); });
  server.start();
  Client client(server.port());

  const Reply metrics = client.send("GET", "/metrics");
  EXPECT_EQ(metrics.header("content-type"), "text/plain; version=0.0.4; charset=utf-8");
  EXPECT_NE(metrics.body.find("requests_total 2\n"), std::string::npos) << metrics.body;

  const Reply image = client.send("GET", "/image");
  EXPECT_EQ(image.header("content-type"), "image/png");
  EXPECT_EQ(image.header("cache-control"), "no-store");
  EXPECT_EQ(image.body, std::string("\x89PNG\0\xff", 6));

  const Reply page = client.send("GET", "/page");
  EXPECT_EQ(page.status, 201);
  EXPECT_EQ(page.header("content-type"), "text/html; charset=utf-8");

  const Reply missing = client.send("GET", "/missing");
  EXPECT_EQ(missing.status, 404);
  EXPECT_EQ(missing.body, "no such series\n");

  const Reply injected = client.send("GET", "/injected");
  EXPECT_EQ(injected.status, 500);
  EXPECT_EQ(injected.header("set-cookie"), "");

  const Reply empty = client.send("GET", "/nocontent");
  EXPECT_EQ(empty.status, 204);
  EXPECT_EQ(empty.body, "");
  EXPECT_EQ(client.send("GET", "/page").status, 201);  // the connection is still in step
}

TEST(HttpServer, StopClosesConnectionsAndIsIdempotent) {
  auto server = std::make_unique<HttpServer>(ephemeral());
  server->route("GET", "/hello", hello);
  server->route("GET", "/stop", [&](const HttpRequest&) -> HttpResponse {
    server->stop();  // refused: it would wait for this very thread
    return HttpResponse::text("not reached");
  });
  server->start();
  Client client(server->port());
  EXPECT_EQ(client.send("GET", "/hello").status, 200);
  const Reply self = client.send("GET", "/stop");
  EXPECT_EQ(self.status, 500);
  EXPECT_NE(self.body.find("stop() called from a handler"), std::string::npos) << self.body;

  RawConnection halfway(server->port());
  halfway.write("GET /hello HTTP/1.1\r\n");
  server->stop();
  EXPECT_TRUE(client.closedByServer());
  EXPECT_TRUE(halfway.closedByServer());
  server->stop();
  server.reset();  // the destructor stops a third time

  HttpServer neverStarted(ephemeral());
  neverStarted.stop();
}

TEST(HttpServer, RoutesAreFixedOnceStarted) {
  HttpServer server(ephemeral());
  server.route("GET", "/hello", hello);
  EXPECT_THROW(server.route("GET", "/hello", hello), std::logic_error);
  EXPECT_THROW(server.route("GET", "relative", hello), std::invalid_argument);
  server.start();
  EXPECT_THROW(server.route("GET", "/later", hello), std::logic_error);
  EXPECT_THROW(server.start(), std::logic_error);
  HttpServerOptions bad;
  bad.port = 70000;
  EXPECT_THROW(HttpServer{bad}, std::invalid_argument);
}

}  // namespace
}  // namespace torcht1
