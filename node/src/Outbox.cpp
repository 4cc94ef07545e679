#include "torcht1/node/Outbox.h"

#include <algorithm>
#include <filesystem>
#include <sstream>

#include "torcht1/node/NodeError.h"
#include "DurableFile.h"

namespace fs = std::filesystem;

namespace torcht1::node {

namespace {

const char kJobFile[] = "job";

void readJobFile(OutboxJob& job) {
  readKeyValues((fs::path(job.dir) / kJobFile).string(), [&](const std::string& name, const std::string& value) {
    try {
      if (name == "attempts") job.attempts = std::stoi(value);
      if (name == "next_attempt_unix") job.nextAttemptUnix = std::stod(value);
      if (name == "last_error") job.lastError = value;
    } catch (const std::exception&) {
      // unreadable: counts as a fresh job
    }
  });
}

void writeJobFile(const OutboxJob& job) {
  std::string error = job.lastError;
  std::replace(error.begin(), error.end(), '\n', ' ');
  std::ostringstream out;
  out.precision(17);
  out << "attempts=" << job.attempts << "\nnext_attempt_unix=" << job.nextAttemptUnix << "\nlast_error=" << error << "\n";
  writeFileDurably((fs::path(job.dir) / kJobFile).string(), out.str());
}

}  // namespace

Outbox::Outbox(std::string spoolRoot, std::vector<std::string> destinations)
    : root_(std::move(spoolRoot)), destinations_(std::move(destinations)) {
  makeDirectory(fs::path(root_) / "staging");
  for (const auto& d : destinations_) {
    makeDirectory(fs::path(root_) / "outbox" / d);
    makeDirectory(fs::path(root_) / "failed" / d);
  }
}

std::string Outbox::stage(const std::string& id) const {
  const fs::path dir = fs::path(root_) / "staging" / id;
  std::error_code ec;
  fs::remove_all(dir, ec);
  makeDirectory(dir);
  return dir.string();
}

void Outbox::publish(const std::string& id) const {
  std::lock_guard<std::mutex> lock(mutex_);
  const fs::path staged = fs::path(root_) / "staging" / id;
  std::vector<fs::path> files;
  for (const auto& entry : fs::recursive_directory_iterator(staged)) {
    if (entry.is_regular_file()) files.push_back(entry.path());
  }
  std::sort(files.begin(), files.end());
  for (const auto& f : files) {
    if (!syncPath(f.string())) throw NodeError("cannot sync " + f.string());
  }
  for (const auto& d : destinations_) {
    // Build the job beside the outbox, then one rename makes it visible.
    const fs::path building = fs::path(root_) / "outbox" / d / (".new-" + id);
    const fs::path target = fs::path(root_) / "outbox" / d / id;
    std::error_code ec;
    fs::remove_all(building, ec);
    makeDirectory(building);
    size_t n = 0;
    for (const auto& f : files) {
      // Flat names keep each map series' files apart: <map series folder>_<file>.
      const fs::path to = building / (f.parent_path().filename().string() + "_" + f.filename().string());
      fs::create_hard_link(f, to, ec);
      if (ec) fs::copy_file(f, to, fs::copy_options::overwrite_existing);
      ++n;
    }
    if (!syncPath(building.string())) throw NodeError("cannot sync " + building.string());
    fs::remove_all(target, ec);  // an older copy of the same job (same UIDs): replaced
    renameDurably(building.string(), target.string());
    (void)n;
  }
  std::error_code ec;
  fs::remove_all(staged, ec);
}

std::vector<OutboxJob> Outbox::jobs(const std::string& base, const std::string& destination) const {
  std::vector<OutboxJob> all;
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator(fs::path(root_) / base / destination, ec)) {
    const std::string name = entry.path().filename().string();
    if (!entry.is_directory() || name.rfind(".new-", 0) == 0) continue;
    OutboxJob job;
    job.destination = destination;
    job.id = name;
    job.dir = entry.path().string();
    for (const auto& f : fs::directory_iterator(entry.path(), ec)) {
      if (f.path().extension() == ".dcm") job.files.push_back(f.path().string());
    }
    std::sort(job.files.begin(), job.files.end());
    readJobFile(job);
    all.push_back(std::move(job));
  }
  std::sort(all.begin(), all.end(), [](const OutboxJob& a, const OutboxJob& b) { return a.id < b.id; });
  return all;
}

std::vector<OutboxJob> Outbox::pending(const std::string& destination) const { return jobs("outbox", destination); }

std::vector<OutboxJob> Outbox::failed(const std::string& destination) const { return jobs("failed", destination); }

bool Outbox::recordAttempt(OutboxJob& job, const std::vector<std::string>& sent, const std::string& error,
                           double nextAttemptUnix, int maxAttempts) const {
  std::lock_guard<std::mutex> lock(mutex_);
  std::error_code ec;
  for (const auto& f : sent) fs::remove(f, ec);
  job.files.erase(std::remove_if(job.files.begin(), job.files.end(),
                                 [&](const std::string& f) { return std::find(sent.begin(), sent.end(), f) != sent.end(); }),
                  job.files.end());
  if (job.files.empty()) {
    fs::remove_all(job.dir, ec);
    return false;
  }
  ++job.attempts;
  job.lastError = error;
  job.nextAttemptUnix = nextAttemptUnix;
  writeJobFile(job);
  if (job.attempts < maxAttempts) return false;
  const fs::path target = fs::path(root_) / "failed" / job.destination / job.id;
  fs::remove_all(target, ec);
  renameDurably(job.dir, target.string());
  job.dir = target.string();
  return true;
}

size_t Outbox::requeue(const std::string& destination) const {
  std::lock_guard<std::mutex> lock(mutex_);
  size_t n = 0;
  for (const auto& d : destinations_) {
    if (!destination.empty() && d != destination) continue;
    for (OutboxJob job : jobs("failed", d)) {
      job.attempts = 0;
      job.nextAttemptUnix = 0;
      job.lastError = "requeued after: " + job.lastError;
      writeJobFile(job);
      const fs::path target = fs::path(root_) / "outbox" / d / job.id;
      std::error_code ec;
      if (fs::exists(target)) {
        // a newer copy of the same job is queued already: it carries the same instances
        fs::remove_all(job.dir, ec);
      } else {
        renameDurably(job.dir, target.string());
      }
      ++n;
    }
  }
  return n;
}

}  // namespace torcht1::node
