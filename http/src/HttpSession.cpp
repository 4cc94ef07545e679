#include "HttpSession.h"

#include <cctype>

#include <boost/asio/dispatch.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/bind_handler.hpp>
#include <boost/beast/core/error.hpp>
#include <boost/beast/core/string.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/write.hpp>

#include "Router.h"
#include "torcht1/http/HttpRequest.h"

namespace torcht1::http {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace bhttp = boost::beast::http;

namespace {

constexpr size_t kMaxDrainBytes = 1 << 20;

bool validHeaderName(const std::string& name) {
  if (name.empty()) return false;
  for (const char c : name) {
    const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                    std::string("!#$%&'*+-.^_`|~").find(c) != std::string::npos;
    if (!ok) return false;
  }
  return true;
}

bool validHeaderValue(const std::string& value) { return value.find_first_of(std::string("\r\n\0", 3)) == std::string::npos; }

/// Headers the connection owns: a handler's copy would contradict what is sent.
bool managedHeader(const std::string& name) {
  return beast::iequals(name, "content-length") || beast::iequals(name, "transfer-encoding") ||
         beast::iequals(name, "connection") || beast::iequals(name, "content-type");
}

}  // namespace

HttpSession::HttpSession(asio::ip::tcp::socket socket, const Router& router, Limits limits)
    : stream_(std::move(socket)), router_(router), limits_(limits) {
  beast::error_code ec;
  const auto peer = stream_.socket().remote_endpoint(ec);
  if (!ec) remoteAddress_ = peer.address().to_string();
}

void HttpSession::start() {
  asio::dispatch(stream_.get_executor(), beast::bind_front_handler(&HttpSession::readHeader, shared_from_this()));
}

void HttpSession::close() {
  beast::error_code ec;
  stream_.socket().close(ec);
}

void HttpSession::readHeader() {
  parser_.emplace();
  parser_->body_limit(limits_.maxBodyBytes);
  parser_->header_limit(limits_.maxHeaderBytes);
  // One deadline for the whole request, headers and body: a slow client cannot stretch it.
  stream_.expires_after(limits_.timeout);
  bhttp::async_read_header(stream_, buffer_, *parser_,
                           beast::bind_front_handler(&HttpSession::onHeader, shared_from_this()));
}

void HttpSession::onHeader(beast::error_code ec, size_t) {
  if (ec) return onReadError(ec);
  const auto& request = parser_->get();
  if (!parser_->is_done() && request.version() >= 11 && beast::iequals(request[bhttp::field::expect], "100-continue")) {
    // The client waits for this before it sends the body.
    static const std::string kContinue = "HTTP/1.1 100 Continue\r\n\r\n";
    asio::async_write(stream_, asio::buffer(kContinue), [self = shared_from_this()](beast::error_code e, size_t) {
      if (e) return self->close();
      self->readBody();
    });
    return;
  }
  readBody();
}

void HttpSession::readBody() {
  bhttp::async_read(stream_, buffer_, *parser_, beast::bind_front_handler(&HttpSession::onRequest, shared_from_this()));
}

void HttpSession::onRequest(beast::error_code ec, size_t) {
  if (ec) return onReadError(ec);
  stream_.expires_never();  // the handler's time is not the client's
  auto message = parser_->release();
  parser_.reset();

  HttpRequest request;
  request.method = std::string(message.method_string());
  const std::string target(message.target());
  const size_t question = target.find('?');
  request.path = target.substr(0, question);
  if (question != std::string::npos) request.query = target.substr(question + 1);
  for (const auto& field : message) {
    std::string name(field.name_string());
    for (auto& c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    auto [it, inserted] = request.headers.emplace(name, std::string(field.value()));
    if (!inserted) it->second += ", " + std::string(field.value());
  }
  request.body = std::move(message.body());
  request.remoteAddress = remoteAddress_;

  const bool head = request.method == "HEAD";
  if (request.path.empty() || request.path[0] != '/') {
    // Absolute-form ("http://host/x") or "*": not for an origin server's routes.
    return write(HttpResponse::error(400, "bad request: the target must be a path"), message.version(), false, head);
  }
  write(router_.handle(request), message.version(), message.keep_alive(), head);
}

void HttpSession::onReadError(beast::error_code ec) {
  if (ec == bhttp::error::end_of_stream || ec == bhttp::error::partial_message || ec == beast::error::timeout ||
      ec == asio::error::operation_aborted) {
    // The client went away, or took too long (the stream has closed the socket then).
    return close();
  }
  if (ec == bhttp::error::body_limit) {
    return write(HttpResponse::error(413, "request body too large (limit " + std::to_string(limits_.maxBodyBytes) +
                                              " bytes)"),
                 11, false, false);
  }
  if (ec == bhttp::error::header_limit) {
    return write(HttpResponse::error(431, "request header fields too large (limit " +
                                              std::to_string(limits_.maxHeaderBytes) + " bytes)"),
                 11, false, false);
  }
  if (ec.category() == bhttp::make_error_code(bhttp::error::bad_method).category()) {
    return write(HttpResponse::error(400, "bad request: " + ec.message()), 11, false, false);
  }
  close();  // a socket error: nobody to answer
}

void HttpSession::write(HttpResponse checked, unsigned version, bool keepAlive, bool head) {
  bool valid = checked.status >= 200 && checked.status <= 599 && validHeaderValue(checked.contentType);
  for (const auto& [name, value] : checked.headers) valid = valid && validHeaderName(name) && validHeaderValue(value);
  if (!valid) checked = HttpResponse::error(500, "internal error: the handler's answer has an invalid status or header");

  response_.emplace();
  auto& res = *response_;
  res.version(version);
  res.result(static_cast<unsigned>(checked.status));
  res.set(bhttp::field::content_type, checked.contentType);
  for (const auto& [name, value] : checked.headers) {
    if (!managedHeader(name)) res.insert(name, value);
  }
  res.keep_alive(keepAlive);
  const bool bodiless = checked.status == 204 || checked.status == 304;
  if (head) {
    res.content_length(checked.body.size());  // what GET would send; no body follows
  } else if (!bodiless) {
    res.body() = std::move(checked.body);
    res.content_length(res.body().size());
  }
  stream_.expires_after(limits_.timeout);
  bhttp::async_write(stream_, res, beast::bind_front_handler(&HttpSession::onWrite, shared_from_this(), keepAlive));
}

void HttpSession::onWrite(bool keepAlive, beast::error_code ec, size_t) {
  response_.reset();
  if (ec) return close();
  if (!keepAlive) return lingerAndClose();
  readHeader();
}

void HttpSession::lingerAndClose() {
  beast::error_code ec;
  stream_.socket().shutdown(asio::ip::tcp::socket::shutdown_send, ec);
  if (ec) return close();
  drained_ = 0;
  stream_.expires_after(limits_.timeout);
  drain();
}

void HttpSession::drain() {
  stream_.async_read_some(asio::buffer(drainBuffer_), [self = shared_from_this()](beast::error_code ec, size_t n) {
    self->drained_ += n;
    if (ec || self->drained_ > kMaxDrainBytes) return self->close();
    self->drain();
  });
}

}  // namespace torcht1::http
