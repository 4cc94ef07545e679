#include "torcht1/http/HttpResponse.h"

namespace torcht1::http {

namespace {

HttpResponse make(int status, std::string contentType, std::string body) {
  HttpResponse r;
  r.status = status;
  r.contentType = std::move(contentType);
  r.body = std::move(body);
  return r;
}

}  // namespace

HttpResponse HttpResponse::text(std::string body, int status) {
  return make(status, "text/plain; charset=utf-8", std::move(body));
}

HttpResponse HttpResponse::json(std::string body, int status) {
  return make(status, "application/json", std::move(body));
}

HttpResponse HttpResponse::html(std::string body, int status) {
  return make(status, "text/html; charset=utf-8", std::move(body));
}

HttpResponse HttpResponse::png(const std::vector<uint8_t>& bytes) {
  return make(200, "image/png", std::string(bytes.begin(), bytes.end()));
}

HttpResponse HttpResponse::error(int status, const std::string& message) {
  return make(status, "text/plain; charset=utf-8", message + "\n");
}

HttpResponse HttpResponse::notFound(const std::string& message) { return error(404, message); }

}  // namespace torcht1::http
