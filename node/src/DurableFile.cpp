#include "DurableFile.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "torcht1/node/NodeError.h"

namespace fs = std::filesystem;

namespace torcht1::node {

void makeDirectory(const std::string& dir) {
  std::error_code ec;
  fs::create_directories(dir, ec);
  if (ec && !fs::is_directory(dir)) throw NodeError("cannot create folder " + dir + " (" + ec.message() + ")");
}

bool syncPath(const std::string& path) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return false;
  const bool ok = ::fsync(fd) == 0;
  const int error = errno;
  ::close(fd);
  errno = error;
  return ok;
}

void renameDurably(const std::string& from, const std::string& to) {
  if (::rename(from.c_str(), to.c_str()) != 0) {
    throw NodeError("cannot move " + from + " to " + to + " (" + std::strerror(errno) + ")");
  }
  const std::string dir = fs::path(to).parent_path().string();
  if (!syncPath(dir.empty() ? "." : dir)) throw NodeError("cannot sync folder " + dir + " (" + std::strerror(errno) + ")");
}

void writeFileDurably(const std::string& path, const std::string& content) {
  const std::string temporary = path + ".tmp";
  {
    std::ofstream out(temporary, std::ios::binary | std::ios::trunc);
    out << content;
    out.flush();
    if (!out) throw NodeError("cannot write " + temporary);
  }
  if (!syncPath(temporary)) throw NodeError("cannot sync " + temporary + " (" + std::strerror(errno) + ")");
  renameDurably(temporary, path);
}

std::string readSmallFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return "";
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

std::string oneLine(std::string text) {
  for (char& c : text) {
    if (c == '\n' || c == '\r') c = ' ';
  }
  return text;
}

void readKeyValues(const std::string& path, const std::function<void(const std::string&, const std::string&)>& take) {
  std::istringstream in(readSmallFile(path));
  std::string line;
  while (std::getline(in, line)) {
    const size_t eq = line.find('=');
    if (eq != std::string::npos) take(line.substr(0, eq), line.substr(eq + 1));
  }
}

}  // namespace torcht1::node
