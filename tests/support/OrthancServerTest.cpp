// The Orthanc the integration tests use as their PACS: it starts, says where it listens,
// and cleans up; or it says why it did not start.

#include <gtest/gtest.h>

#include <filesystem>

#include "OrthancServer.h"

namespace fs = std::filesystem;

namespace torcht1 {
namespace {

TEST(OrthancServer, StartsWhereItSaysAndLeavesNothingBehind) {
  fs::path dir;
  {
    testing::OrthancOptions options;
    options.aeTitle = "TEST-PACS";
    testing::OrthancServer orthanc(options);
    ASSERT_TRUE(orthanc.running()) << orthanc.startError();
    EXPECT_EQ(orthanc.startError(), "");
    dir = orthanc.dir();
    EXPECT_TRUE(fs::is_directory(dir / "db"));
    const auto system = orthanc.json("/system");
    EXPECT_EQ(system.at("DicomAet"), "TEST-PACS");
    EXPECT_EQ(system.at("DicomPort"), orthanc.dicomPort());
    EXPECT_EQ(system.at("HttpPort"), orthanc.httpPort());
    EXPECT_NE(orthanc.dicomPort(), orthanc.httpPort());
    EXPECT_EQ(orthanc.instanceCount(), 0u);
    EXPECT_TRUE(orthanc.seriesDescriptions().empty());
    EXPECT_EQ(orthanc.get("/no-such-route").status, 404);
    EXPECT_THROW(orthanc.json("/instances/no-such-instance"), std::runtime_error);
    EXPECT_THROW(orthanc.downloadInstance("no-such-instance", dir / "x.dcm"), std::runtime_error);
    EXPECT_TRUE(orthanc.waitForInstances(0, std::chrono::milliseconds(0)));
    EXPECT_FALSE(orthanc.waitForInstances(1, std::chrono::milliseconds(200)));
  }
  EXPECT_FALSE(fs::exists(dir)) << "the temporary folder is removed with the server";
}

TEST(OrthancServer, SaysWhyItDidNotStart) {
  testing::OrthancOptions missing;
  missing.executable = "/nonexistent/Orthanc";
  testing::OrthancServer absent(missing);
  EXPECT_FALSE(absent.running());
  EXPECT_NE(absent.startError().find("/nonexistent/Orthanc: not found"), std::string::npos) << absent.startError();

  // A Lua script that does not parse: Orthanc exits, and its log says why.
  testing::OrthancOptions broken;
  broken.luaScript = "this is not Lua";
  testing::OrthancServer failing(broken);
  EXPECT_FALSE(failing.running());
  const std::string error = failing.startError();
  EXPECT_NE(error.find("before answering GET /system"), std::string::npos) << error;
  EXPECT_NE(error.find("orthanc.log"), std::string::npos) << error;
  EXPECT_NE(error.find("Lua"), std::string::npos) << "the log tail is part of the message:\n" << error;
}

}  // namespace
}  // namespace torcht1
