#pragma once

#include <array>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>

#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/string_body.hpp>

#include "torcht1/http/HttpResponse.h"

namespace torcht1::http {

class Router;

/// One client connection: reads requests (keep-alive, pipelined), asks the Router, writes the
/// answers. Everything runs on the socket's strand; it lives as long as an operation is pending.
class HttpSession : public std::enable_shared_from_this<HttpSession> {
 public:
  struct Limits {
    size_t maxBodyBytes;
    uint32_t maxHeaderBytes;
    std::chrono::seconds timeout;
  };

  HttpSession(boost::asio::ip::tcp::socket socket, const Router& router, Limits limits);

  /// Starts reading the first request.
  void start();
  /// Closes the socket at once. Only while no thread runs the io_context (HttpServer::stop()).
  void close();

 private:
  void readHeader();
  void onHeader(boost::beast::error_code ec, size_t bytes);
  void readBody();
  void onRequest(boost::beast::error_code ec, size_t bytes);
  void onReadError(boost::beast::error_code ec);
  void write(HttpResponse answer, unsigned version, bool keepAlive, bool head);
  void onWrite(bool keepAlive, boost::beast::error_code ec, size_t bytes);
  /// Stops sending, then reads and drops what the client still sends until it closes (or the
  /// timeout), so that closing with unread data does not reset the connection before the
  /// client has read our last answer.
  void lingerAndClose();
  void drain();

  boost::beast::tcp_stream stream_;
  const Router& router_;
  Limits limits_;
  std::string remoteAddress_;
  boost::beast::flat_buffer buffer_;
  std::optional<boost::beast::http::request_parser<boost::beast::http::string_body>> parser_;
  std::optional<boost::beast::http::response<boost::beast::http::string_body>> response_;
  std::array<char, 4096> drainBuffer_{};
  size_t drained_ = 0;
};

}  // namespace torcht1::http
