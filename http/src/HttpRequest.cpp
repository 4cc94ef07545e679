#include "torcht1/http/HttpRequest.h"

namespace torcht1::http {

std::string HttpRequest::header(const std::string& lowerCaseName, const std::string& fallback) const {
  const auto found = headers.find(lowerCaseName);
  return found == headers.end() ? fallback : found->second;
}

}  // namespace torcht1::http
