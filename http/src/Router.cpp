#include "Router.h"

#include <algorithm>
#include <cctype>
#include <exception>
#include <set>
#include <stdexcept>

namespace torcht1::http {

namespace {

/// Compares in time that depends on the expected token's length only, never on where the
/// given one first differs.
bool sameToken(const std::string& given, const std::string& expected) {
  unsigned char diff = given.size() == expected.size() ? 0 : 1;
  for (size_t i = 0; i < expected.size(); ++i) {
    const unsigned char g = i < given.size() ? static_cast<unsigned char>(given[i]) : 0;
    diff |= static_cast<unsigned char>(g ^ static_cast<unsigned char>(expected[i]));
  }
  return diff == 0;
}

std::string trim(const std::string& s) {
  const size_t first = s.find_first_not_of(" \t");
  if (first == std::string::npos) return "";
  return s.substr(first, s.find_last_not_of(" \t") - first + 1);
}

/// The exception's message on one line, and not endless.
std::string oneLine(std::string message) {
  std::replace_if(message.begin(), message.end(), [](char c) { return c == '\n' || c == '\r'; }, ' ');
  if (message.size() > 300) message = message.substr(0, 300) + "...";
  return message;
}

}  // namespace

Router::Router(std::string bearerToken) : token_(std::move(bearerToken)) {}

void Router::add(std::string method, std::string path, HttpServer::Handler handler, bool isPublic) {
  if (method.empty()) throw std::invalid_argument("http: route " + path + " has no method");
  if (path.empty() || path[0] != '/') throw std::invalid_argument("http: route path '" + path + "' must start with '/'");
  if (!handler) throw std::invalid_argument("http: route " + method + " " + path + " has no handler");
  const bool prefix = path.back() == '*';
  if (prefix) path.pop_back();
  for (const auto& r : routes_) {
    if (r.method == method && r.path == path && r.prefix == prefix) {
      throw std::logic_error("http: route " + method + " " + path + (prefix ? "*" : "") + " registered twice");
    }
  }
  routes_.push_back(Route{std::move(method), std::move(path), prefix, isPublic, std::move(handler)});
}

bool Router::authorised(const HttpRequest& request) const {
  if (token_.empty()) return true;
  const std::string value = trim(request.header("authorization"));
  // The scheme is case-insensitive (RFC 7235); then one or more spaces and the token.
  if (value.size() < 7) return false;
  std::string scheme = value.substr(0, 6);
  std::transform(scheme.begin(), scheme.end(), scheme.begin(), [](unsigned char c) { return std::tolower(c); });
  if (scheme != "bearer" || (value[6] != ' ' && value[6] != '\t')) return false;
  return sameToken(trim(value.substr(7)), token_);
}

HttpResponse Router::handle(const HttpRequest& request) const {
  // Every route whose path matches, most specific first: exact, then longer prefixes.
  std::vector<const Route*> candidates;
  for (const auto& r : routes_) {
    const bool matches = r.prefix ? request.path.compare(0, r.path.size(), r.path) == 0 : request.path == r.path;
    if (matches) candidates.push_back(&r);
  }
  if (candidates.empty()) return HttpResponse::notFound();
  std::stable_sort(candidates.begin(), candidates.end(), [](const Route* a, const Route* b) {
    if (a->prefix != b->prefix) return !a->prefix;
    return a->path.size() > b->path.size();
  });

  // The first that takes the method; HEAD falls back to GET unless that path has its own HEAD.
  const auto takes = [&](const Route* c) {
    if (c->method == request.method) return true;
    if (request.method != "HEAD" || c->method != "GET") return false;
    return std::none_of(candidates.begin(), candidates.end(), [c](const Route* d) {
      return d->path == c->path && d->prefix == c->prefix && d->method == "HEAD";
    });
  };
  const auto found = std::find_if(candidates.begin(), candidates.end(), takes);
  const Route* chosen = found == candidates.end() ? nullptr : *found;
  if (chosen == nullptr) {
    std::set<std::string> allowed;
    for (const Route* c : candidates) {
      allowed.insert(c->method);
      if (c->method == "GET") allowed.insert("HEAD");
    }
    std::string allow;
    for (const auto& m : allowed) allow += (allow.empty() ? "" : ", ") + m;
    HttpResponse r = HttpResponse::error(405, "method " + request.method + " not allowed on " + request.path);
    r.headers.emplace_back("Allow", allow);
    return r;
  }

  if (!chosen->isPublic && !authorised(request)) {
    HttpResponse r = HttpResponse::error(401, "unauthorised: send Authorization: Bearer <token>");
    r.headers.emplace_back("WWW-Authenticate", "Bearer realm=\"torcht1\"");
    return r;
  }

  try {
    return chosen->handler(request);
  } catch (const std::exception& e) {
    return HttpResponse::error(500, "internal error: " + oneLine(e.what()));
  } catch (...) {
    return HttpResponse::error(500, "internal error");
  }
}

}  // namespace torcht1::http
