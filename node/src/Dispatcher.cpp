#include "torcht1/node/Dispatcher.h"

#include <algorithm>
#include <chrono>
#include <cmath>

#include "torcht1/dicom/DicomError.h"
#include "torcht1/dicom/StoreClient.h"

namespace torcht1::node {

namespace {

double unixNow() {
  return std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
}

}  // namespace

Dispatcher::Dispatcher(const Outbox& outbox, std::vector<config::DestinationSettings> destinations, Listener listener)
    : outbox_(outbox), destinations_(std::move(destinations)), listener_(std::move(listener)) {}

Dispatcher::~Dispatcher() { stop(); }

double Dispatcher::backoffSeconds(const config::DestinationSettings& d, int attempts) {
  const double seconds = d.retryInitialSeconds * std::pow(2.0, std::max(0, attempts - 1));
  return std::min(seconds, d.retryMaxSeconds);
}

void Dispatcher::start() {
  stopping_ = false;
  for (const auto& d : destinations_) threads_.emplace_back([this, d] { run(d); });
}

void Dispatcher::stop() {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    stopping_ = true;
  }
  wake_.notify_all();
  for (auto& t : threads_) {
    if (t.joinable()) t.join();
  }
  threads_.clear();
}

void Dispatcher::wake() {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    ++generation_;
  }
  wake_.notify_all();
}

void Dispatcher::run(const config::DestinationSettings& d) {
  dicom::StorePeer peer;
  peer.host = d.host;
  peer.port = d.port;
  peer.calledAeTitle = d.aeTitle;
  peer.callingAeTitle = d.callingAeTitle;
  peer.timeoutSeconds = d.timeoutSeconds;
  peer.tls = {d.tls.enabled, d.tls.caCertificates, d.tls.certificate, d.tls.privateKey};
  const dicom::StoreClient client(peer);
  while (!stopping_) {
    uint64_t seen;
    {
      std::lock_guard<std::mutex> lock(mutex_);
      seen = generation_;
    }
    double nextDue = 1.0;  // poll at least every second (requeues from another process)
    for (OutboxJob job : outbox_.pending(d.name)) {
      if (stopping_) break;
      const double now = unixNow();
      if (job.nextAttemptUnix > now) {
        nextDue = std::min(nextDue, job.nextAttemptUnix - now);
        continue;
      }
      if (job.files.empty()) {
        outbox_.recordAttempt(job, {}, "", 0, d.maxAttempts);  // nothing left: done
        continue;
      }
      std::vector<std::string> sent;
      std::string error;
      try {
        for (const auto& r : client.send(job.files)) {
          if (r.ok) {
            sent.push_back(r.file);
          } else if (error.empty()) {
            error = r.error;
          }
        }
      } catch (const dicom::DicomError& e) {
        error = e.what();
      }
      DispatchEvent event;
      event.destination = d.name;
      event.peer = d.aeTitle + "@" + d.host + ":" + std::to_string(d.port);
      event.jobId = job.id;
      event.instances = sent.size();
      const double backoff = backoffSeconds(d, job.attempts + 1);
      const bool gaveUp = outbox_.recordAttempt(job, sent, error, unixNow() + backoff, d.maxAttempts);
      event.remaining = job.files.size();
      event.attempts = job.attempts;
      event.error = error;
      if (job.files.empty()) {
        event.kind = DispatchEvent::Sent;
      } else if (gaveUp) {
        event.kind = DispatchEvent::GaveUp;
      } else {
        event.kind = DispatchEvent::Retry;
        event.nextAttemptInSeconds = backoff;
        nextDue = std::min(nextDue, backoff);
      }
      if (listener_) listener_(event);
    }
    std::unique_lock<std::mutex> lock(mutex_);
    wake_.wait_for(lock, std::chrono::duration<double>(std::max(0.01, nextDue)),
                   [&] { return stopping_.load() || generation_ != seen; });
  }
}

}  // namespace torcht1::node
