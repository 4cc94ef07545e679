#include "HttpClient.h"

#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>

namespace torcht1::testing {

namespace beast = boost::beast;
namespace http = beast::http;
using tcp = boost::asio::ip::tcp;

HttpClient::HttpClient(std::string host, int port, std::chrono::milliseconds timeout)
    : host_(std::move(host)), port_(port), timeout_(timeout) {}

HttpResponse HttpClient::request(const std::string& method, const std::string& target, const std::string& body,
                                 const std::string& contentType) const {
  HttpResponse response;
  boost::asio::io_context context;
  beast::error_code failure;
  std::string step;
  auto fail = [&](const beast::error_code& ec, const char* what) {
    failure = ec;
    step = what;
  };

  tcp::resolver resolver(context);
  const auto endpoints = resolver.resolve(host_, std::to_string(port_), failure);
  if (failure) {
    response.error = "resolve " + host_ + ": " + failure.message();
    return response;
  }
  // Asynchronous steps only because Beast's timeouts (expires_after) bound those, not the
  // blocking calls; run() returns when the last step is done.
  beast::tcp_stream stream(context);
  http::request<http::string_body> request{http::string_to_verb(method), target, 11};
  if (!body.empty()) {
    request.body() = body;
    request.set(http::field::content_type, contentType);
    request.prepare_payload();
  }
  request.set(http::field::host, host_ + ":" + std::to_string(port_));
  request.set(http::field::user_agent, "torcht1-tests");
  request.keep_alive(false);
  beast::flat_buffer buffer;
  http::response_parser<http::string_body> parser;
  parser.body_limit(1ull << 30);  // whole DICOM instances come back as bodies

  stream.expires_after(timeout_);
  stream.async_connect(endpoints, [&](beast::error_code ec, const tcp::endpoint&) {
    if (ec) return fail(ec, "connect");
    stream.expires_after(timeout_);
    http::async_write(stream, request, [&](beast::error_code ec, std::size_t) {
      if (ec) return fail(ec, "write");
      stream.expires_after(timeout_);
      http::async_read(stream, buffer, parser, [&](beast::error_code ec, std::size_t) {
        if (ec) return fail(ec, "read");
      });
    });
  });
  context.run();

  if (failure) {
    response.error = method + " http://" + host_ + ":" + std::to_string(port_) + target + ": " + step + ": " + failure.message();
    return response;
  }
  response.status = static_cast<int>(parser.get().result_int());
  response.body = std::move(parser.get().body());
  beast::error_code ignored;
  stream.socket().shutdown(tcp::socket::shutdown_both, ignored);
  return response;
}

}  // namespace torcht1::testing
