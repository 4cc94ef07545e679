#pragma once

// Small POSIX helpers for files that must survive a crash: data fsync'd, then renamed into
// place, then the directory fsync'd so the new name is on disk too.

#include <functional>
#include <string>

namespace torcht1::node {

/// Creates the folder and its parents; throws NodeError naming it.
void makeDirectory(const std::string& dir);
/// fsync of a file or directory; false on failure (errno set).
bool syncPath(const std::string& path);
/// Renames `from` to `to` (same file system) and syncs `to`'s directory. Throws NodeError.
void renameDurably(const std::string& from, const std::string& to);
/// Writes `content` to `path` atomically (temporary file, fsync, rename, directory fsync).
void writeFileDurably(const std::string& path, const std::string& content);
/// The whole file, or "" when it cannot be read.
std::string readSmallFile(const std::string& path);
/// `text` with line breaks replaced by spaces: a value for one "name=value" line.
std::string oneLine(std::string text);
/// Hands each "name=value" line of a small file to `take` (lines without '=' are skipped;
/// nothing when the file cannot be read).
void readKeyValues(const std::string& path, const std::function<void(const std::string&, const std::string&)>& take);

}  // namespace torcht1::node
