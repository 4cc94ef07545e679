#pragma once

#include <string>
#include <vector>

#include "torcht1/http/HttpServer.h"

namespace torcht1::http {

/// Chooses the handler for a request, checks the bearer token and turns whatever goes wrong
/// into an answer: HttpServer's routing rules, with no sockets involved.
class Router {
 public:
  explicit Router(std::string bearerToken);

  /// See HttpServer::route().
  void add(std::string method, std::string path, HttpServer::Handler handler, bool isPublic);

  /// The answer to `request`; never throws. For HEAD the body is still there: the connection
  /// leaves it out.
  HttpResponse handle(const HttpRequest& request) const;

 private:
  struct Route {
    std::string method;
    std::string path;  // without the trailing '*' of a prefix
    bool prefix;
    bool isPublic;
    HttpServer::Handler handler;
  };

  bool authorised(const HttpRequest& request) const;

  std::string token_;
  std::vector<Route> routes_;
};

}  // namespace torcht1::http
