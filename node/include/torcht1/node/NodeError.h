#pragma once

#include <stdexcept>
#include <string>

namespace torcht1::node {

/// A node problem as one line naming the file, series or destination and the reason.
class NodeError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

}  // namespace torcht1::node
