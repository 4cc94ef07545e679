#pragma once

#include <condition_variable>
#include <deque>
#include <functional>
#include <mutex>
#include <string>
#include <thread>

#include "torcht1/config/NodeConfig.h"
#include "torcht1/node/EcvPairer.h"
#include "torcht1/node/EcvStore.h"
#include "torcht1/node/EventLog.h"
#include "torcht1/node/HematocritStore.h"
#include "torcht1/node/Outbox.h"
#include "torcht1/node/SeriesTracker.h"
#include "torcht1/node/Spool.h"

namespace torcht1::node {

/// The node's ECV maps, on a thread of their own after the fit: a study is handed in when a
/// T1 series of it was fitted or its hematocrit was posted; every fitted post-contrast series
/// of the study is then paired with the study's native series (EcvPairer, from what the spool
/// keeps: the images and the T1 maps, so a partner fitted before a restart counts), and its
/// ECV maps are made and published when their inputs (partner, fit versions, hematocrit)
/// differ from those of its last outcome. A later input makes the next version, with new UIDs.
/// Runs on the CPU: a registration and a few voxel-wise formulas per slice, once per study.
class EcvStage {
 public:
  EcvStage(const config::Settings& settings, const Spool& spool, SeriesTracker& tracker, const Outbox* outbox,
           EventLog& log, const HematocritStore& hematocrit, std::function<void()> published);
  ~EcvStage();

  void start();
  /// Finishes the study in hand; queued studies are found again at the next start.
  void stop();
  /// Pairs the study's post-contrast series (again) in the background; never blocks.
  void submit(const std::string& studyUid);
  /// No study queued or in hand.
  bool idle() const;

 private:
  void loop();
  void run(const std::string& studyUid);

  const config::Settings& settings_;
  const Spool& spool_;
  SeriesTracker& tracker_;
  const Outbox* outbox_;
  EventLog& log_;
  const HematocritStore& hematocrit_;
  std::function<void()> published_;
  EcvStore store_;
  EcvPairer pairer_;
  mutable std::mutex mutex_;
  std::condition_variable wake_;
  std::deque<std::string> queue_;
  bool busy_ = false;
  bool stopping_ = false;
  std::thread thread_;
};

}  // namespace torcht1::node
